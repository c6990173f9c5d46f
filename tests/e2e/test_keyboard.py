"""Restore and purge with the keyboard alone: every step is reached with Tab and done with Space, Enter or
typing, never a click."""

import pytest
from playwright.sync_api import expect

from models_core.models import Ticket, TicketComment
from tests.factories import TicketCommentFactory, TicketFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

MAX_TABS = 120


def tab_to(page, target) -> None:
    """Press Tab until `target` has the focus; fail if the keyboard cannot reach it."""
    handle = target.element_handle()
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if page.evaluate("el => el === document.activeElement", handle):
            return
    raise AssertionError(f"Tab never reached {target}")


def test_restore_with_the_keyboard_alone(page, live_server, sign_in, manager, organization):
    ticket = TicketFactory(organization=organization, subject="Printer on fire")
    TicketCommentFactory.create_batch(2, ticket=ticket)
    ticket.soft_delete(user=manager, reason="opened twice")
    sign_in(manager)
    page.goto(f"{live_server.url}/dashboard/trash/")

    checkbox = page.locator(f'input[name=items][value="models_core.ticket:{ticket.pk}"]')
    tab_to(page, checkbox)
    page.keyboard.press("Space")
    expect(checkbox).to_be_checked()
    tab_to(page, page.get_by_test_id("restore-selected"))
    page.keyboard.press("Enter")

    expect(page.get_by_test_id("restore-plan")).to_contain_text("2 ticket comments")
    tab_to(page, page.get_by_test_id("confirm-restore"))
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/dashboard/trash/")
    assert Ticket.objects.filter(pk=ticket.pk).exists()
    assert TicketComment.objects.filter(ticket=ticket).count() == 2


def test_purge_with_the_keyboard_alone(page, live_server, sign_in, org_admin, organization):
    tickets = [TicketFactory(organization=organization, subject=f"Spam {n}") for n in range(2)]
    for ticket in tickets:
        ticket.soft_delete(user=org_admin, reason="spam")
    sign_in(org_admin)
    page.goto(f"{live_server.url}/dashboard/trash/")

    for ticket in tickets:
        checkbox = page.locator(f'input[name=items][value="models_core.ticket:{ticket.pk}"]')
        tab_to(page, checkbox)
        page.keyboard.press("Space")
        expect(checkbox).to_be_checked()
    tab_to(page, page.get_by_test_id("purge-selected"))
    page.keyboard.press("Enter")

    expect(page.get_by_test_id("purge-preview")).to_be_visible()
    tab_to(page, page.get_by_label("Type PURGE to confirm"))
    page.keyboard.type("PURGE")
    tab_to(page, page.get_by_test_id("confirm-purge"))
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/dashboard/trash/")
    assert not Ticket.all_objects.filter(pk__in=[t.pk for t in tickets]).exists()
