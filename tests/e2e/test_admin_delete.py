"""Browser tests of deleting in the normal admin: the record moves to the trash, with a reason."""

import pytest
from playwright.sync_api import expect

from models_core.models import Ticket, TicketComment
from tests.factories import TicketCommentFactory, TicketFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_admin_deletes_a_ticket_from_its_change_page_into_the_trash(
    page, live_server, sign_in, org_admin, organization
):
    ticket = TicketFactory(organization=organization, subject="Printer on fire")
    comments = TicketCommentFactory.create_batch(2, ticket=ticket)
    other = TicketFactory(organization=organization, subject="Keep me")

    sign_in(org_admin)
    page.goto(f"{live_server.url}/models_core/ticket/{ticket.pk}/change/")
    page.get_by_role("link", name="Delete ticket").click()
    page.wait_for_url(f"{live_server.url}/models_core/ticket/{ticket.pk}/delete/")

    form = page.get_by_test_id("move-to-trash")
    expect(form).to_contain_text("Move to the trash: 1 ticket")
    expect(form).to_contain_text("ticket comments, ticket attachments of it go along")
    reason = form.get_by_label("Why is this going to the trash?")
    # Blank is stopped by the browser (required); spaces only reach the server, which strips them and asks.
    reason.fill("   ")
    form.get_by_role("button", name="Move to the trash").click()
    expect(page.get_by_test_id("move-to-trash")).to_contain_text("Say why this is going to the trash.")
    assert Ticket.objects.filter(pk=ticket.pk).exists()

    page.get_by_test_id("move-to-trash").get_by_label("Why is this going to the trash?").fill("opened twice")
    page.get_by_test_id("move-to-trash").get_by_role("button", name="Move to the trash").click()

    page.wait_for_url(f"{live_server.url}/models_core/ticket/")
    expect(
        page.get_by_text(
            "Moved 1 ticket to the trash with 2 related rows. They can be restored from the trash."
        )
    ).to_be_visible()

    deleted = Ticket.all_objects.get(pk=ticket.pk)
    assert deleted.deleted_at is not None
    assert deleted.deleted_by == org_admin
    assert deleted.delete_reason == "opened twice"
    assert deleted.deletion_batch is not None
    batches = set(
        TicketComment.all_objects.filter(pk__in=[c.pk for c in comments]).values_list(
            "deletion_batch", flat=True
        )
    )
    assert batches == {deleted.deletion_batch}
    assert Ticket.objects.filter(pk=other.pk).exists()

    page.locator('#nav-sidebar a[href="/dashboard/trash/"]').click()
    page.wait_for_url(f"{live_server.url}/dashboard/trash/")
    row = page.get_by_test_id("trash-row").filter(has_text="Printer on fire")
    expect(row).to_contain_text("opened twice")
    expect(page.get_by_test_id("trash-row").filter(has_text="Keep me")).to_have_count(0)


def test_an_admin_moves_selected_tickets_to_the_trash_from_the_changelist(
    page, live_server, sign_in, org_admin, organization
):
    spam = [TicketFactory(organization=organization, subject=f"Spam {n}") for n in range(2)]
    TicketCommentFactory(ticket=spam[0])
    kept = TicketFactory(organization=organization, subject="Real question")

    sign_in(org_admin)
    page.goto(f"{live_server.url}/models_core/ticket/")
    for ticket in spam:
        page.locator(f'input[name=_selected_action][value="{ticket.pk}"]').check()
    page.select_option("select[name=action]", value="move_to_trash")
    page.get_by_role("button", name="Run", exact=True).click()

    form = page.get_by_test_id("move-to-trash")
    expect(form).to_contain_text("Move to the trash: 2 tickets")
    reason = form.get_by_label("Why is this going to the trash?")
    reason.fill("  ")
    form.get_by_role("button", name="Move to the trash").click()
    expect(page.get_by_test_id("move-to-trash")).to_contain_text("Say why this is going to the trash.")
    expect(page.get_by_test_id("move-to-trash")).to_contain_text("Move to the trash: 2 tickets")
    assert Ticket.objects.filter(pk__in=[t.pk for t in spam]).count() == 2

    page.get_by_test_id("move-to-trash").get_by_label("Why is this going to the trash?").fill("spam")
    page.get_by_test_id("move-to-trash").get_by_role("button", name="Move to the trash").click()

    page.wait_for_url(f"{live_server.url}/models_core/ticket/")
    expect(page.get_by_text("Moved 2 tickets to the trash with 1 related row.")).to_be_visible()
    rows = Ticket.all_objects.filter(pk__in=[t.pk for t in spam])
    assert all(t.deleted_at and t.delete_reason == "spam" for t in rows)
    assert Ticket.objects.filter(pk=kept.pk).exists()

    page.goto(f"{live_server.url}/dashboard/trash/")
    for ticket in spam:
        expect(page.get_by_test_id("trash-row").filter(has_text=ticket.subject)).to_contain_text("spam")
