"""Browser tests of the trash: restore with its plan, bulk purge with the typed confirmation, conflicts."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from models_core.models import KnowledgeBaseArticle, Ticket, TicketComment
from tests.factories import KnowledgeBaseArticleFactory, TicketCommentFactory, TicketFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def open_trash(page, live_server):
    page.locator('#nav-sidebar a[href="/dashboard/trash/"]').click()
    page.wait_for_url(f"{live_server.url}/dashboard/trash/")


def select(page, obj):
    value = f"models_core.{obj._meta.model_name}:{obj.pk}"
    page.locator(f'input[name=items][value="{value}"]').check()


def test_a_support_manager_restores_a_ticket_with_its_comments(
    page, live_server, sign_in, manager, organization
):
    ticket = TicketFactory(organization=organization, subject="Printer on fire")
    TicketCommentFactory.create_batch(2, ticket=ticket)
    ticket.soft_delete(user=manager, reason="opened twice")

    sign_in(manager)
    open_trash(page, live_server)
    row = page.get_by_test_id("trash-row").filter(has_text="Printer on fire")
    expect(row).to_contain_text("opened twice")
    expect(page.get_by_test_id("purge-selected")).to_have_count(0)  # managers do not purge
    row.get_by_role("link", name="#1 Printer on fire").click()
    expect(page.get_by_test_id("trash-batch")).to_contain_text("2 Ticket comments")
    expect(page.get_by_test_id("trash-summary")).to_contain_text("opened twice")
    page.go_back()
    select(page, ticket)
    page.get_by_test_id("restore-selected").click()

    plan = page.get_by_test_id("restore-plan")
    expect(plan).to_contain_text("2 ticket comments")
    expect(plan).to_contain_text("No conflicts.")
    page.get_by_test_id("confirm-restore").click()

    page.wait_for_url(f"{live_server.url}/dashboard/trash/")
    expect(page.get_by_text("Restored 1 of 1:")).to_be_visible()
    expect(page.get_by_test_id("trash-empty")).to_be_visible()
    assert Ticket.objects.filter(pk=ticket.pk).exists()
    assert TicketComment.objects.filter(ticket=ticket).count() == 2


def test_an_admin_bulk_purges_with_the_typed_confirmation(
    page, live_server, sign_in, org_admin, organization
):
    tickets = [TicketFactory(organization=organization, subject=f"Spam {n}") for n in range(2)]
    for ticket in tickets:
        TicketCommentFactory(ticket=ticket)
        ticket.soft_delete(user=org_admin, reason="spam")
    kept = TicketFactory(organization=organization, subject="Keep me")
    kept.soft_delete(reason="later")

    sign_in(org_admin)
    open_trash(page, live_server)
    for ticket in tickets:
        select(page, ticket)
    page.get_by_test_id("purge-selected").click()

    preview = page.get_by_test_id("purge-preview")
    expect(preview.get_by_test_id("preview-item")).to_have_count(2)
    expect(preview).to_contain_text("Ticket comment:")
    page.get_by_label("Type PURGE to confirm").fill("purge")
    page.get_by_test_id("confirm-purge").click()
    expect(page.get_by_test_id("form-error")).to_contain_text("Type PURGE")
    assert Ticket.all_objects.filter(pk__in=[t.pk for t in tickets]).count() == 2

    page.get_by_label("Type PURGE to confirm").fill("PURGE")
    page.get_by_test_id("confirm-purge").click()
    page.wait_for_url(f"{live_server.url}/dashboard/trash/")
    expect(page.get_by_text("Purged 2 of 2:")).to_be_visible()
    assert not Ticket.all_objects.filter(pk__in=[t.pk for t in tickets]).exists()
    assert Ticket.all_objects.filter(pk=kept.pk).exists()

    page.get_by_role("link", name="Purge records", exact=True).click()
    expect(page.get_by_test_id("purge-record")).to_have_count(2)


def test_a_restore_conflict_is_a_message_not_an_error_page(page, live_server, sign_in, manager, organization):
    article = KnowledgeBaseArticleFactory(organization=organization, title="Reset password", slug="reset")
    article.soft_delete(reason="outdated")
    KnowledgeBaseArticleFactory(organization=organization, title="Reset password (new)", slug="reset")

    sign_in(manager)
    open_trash(page, live_server)
    select(page, article)
    page.get_by_test_id("restore-selected").click()
    expect(page.get_by_test_id("plan-conflicts")).to_contain_text("a live record took its place")
    page.get_by_test_id("confirm-restore").click()

    page.wait_for_url(f"{live_server.url}/dashboard/trash/")
    expect(page.get_by_text("Left in the trash: Knowledge base article")).to_be_visible()
    assert KnowledgeBaseArticle.all_objects.get(pk=article.pk).is_deleted


def test_files_that_could_not_be_removed_are_said_and_listed(
    page, live_server, sign_in, org_admin, organization, monkeypatch
):
    from django.core.files.storage import InMemoryStorage

    from tests.factories import TicketAttachmentFactory

    ticket = TicketFactory(organization=organization, subject="Scanned invoices")
    TicketAttachmentFactory.create_batch(2, ticket=ticket)
    ticket.soft_delete(user=org_admin, reason="gdpr")

    def refuse(storage, name):
        raise PermissionError(13, "Permission denied", name)

    # An undeletable folder (the class: the tests' storage is a fresh instance per test).
    monkeypatch.setattr(InMemoryStorage, "delete", refuse)

    sign_in(org_admin)
    open_trash(page, live_server)
    select(page, ticket)
    page.get_by_test_id("purge-selected").click()
    page.get_by_test_id("confirm-purge").click()  # one record: no typed confirmation
    page.wait_for_url(f"{live_server.url}/dashboard/trash/")
    expect(page.get_by_text("2 of its files could not be removed from the storage yet")).to_be_visible()

    page.get_by_role("link", name="Purge records", exact=True).click()
    pending = page.get_by_test_id("pending-files")
    expect(pending).to_contain_text("2 files of purged records not removed from the storage yet")
    expect(pending.get_by_test_id("pending-file")).to_have_count(2)
    expect(pending).to_contain_text("PermissionError: Permission denied (1 attempt")
    page.screenshot(path="/tmp/trash_pending_files.png", full_page=True)


def test_a_double_click_on_purge_shows_the_purge_not_a_failure(
    page, live_server, sign_in, org_admin, organization
):
    ticket = TicketFactory(organization=organization, subject="Clicked twice")
    TicketCommentFactory.create_batch(2, ticket=ticket)
    ticket.soft_delete(user=org_admin, reason="spam")

    sign_in(org_admin)
    open_trash(page, live_server)
    select(page, ticket)
    page.get_by_test_id("purge-selected").click()
    page.get_by_test_id("confirm-purge").dblclick()  # two POSTs; the browser shows the last answer
    page.wait_for_url(f"{live_server.url}/dashboard/trash/")
    expect(page.get_by_text("Purged 1 of 1: Ticket #")).to_be_visible()
    expect(page.get_by_text("Left in the trash")).to_have_count(0)
    page.screenshot(path="/tmp/trash_double_click.png", full_page=True)
    assert not Ticket.all_objects.filter(pk=ticket.pk).exists()

    # The preview of a record that is gone (an old tab, a colleague's purge): a clear 404 in the console.
    page.goto(f"{live_server.url}/dashboard/trash/purge/?items=models_core.ticket:{ticket.pk}")
    expect(page.get_by_test_id("error-page")).to_contain_text("not in the trash any more")
    page.screenshot(path="/tmp/trash_gone.png", full_page=True)


def test_purging_soon_lists_what_goes_first_and_pages_on_in_that_order(
    page, live_server, sign_in, manager, organization
):
    now = timezone.now()
    tickets = [TicketFactory(organization=organization, subject=f"Due {n:02d}") for n in range(27)]
    for ticket in tickets:
        ticket.soft_delete(user=manager)
    # Due in reverse order of deletion: the newest deletion goes first.
    for n, ticket in enumerate(tickets):
        due = now + datetime.timedelta(hours=6 * (len(tickets) - n))
        Ticket.all_objects.filter(pk=ticket.pk).update(auto_delete_at=due)
    Ticket.all_objects.filter(pk=tickets[0].pk).update(auto_delete_at=now + datetime.timedelta(days=30))

    sign_in(manager)
    open_trash(page, live_server)
    expect(page.get_by_test_id("trash-order")).to_have_text("Newest deletion first")
    page.get_by_label("Purging within 7 days").check()
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_test_id("trash-order")).to_have_text("Soonest purge first")
    rows = page.get_by_test_id("trash-row")
    expect(rows).to_have_count(25)
    expect(rows.first).to_contain_text("Due 26")
    expect(rows.last).to_contain_text("Due 02")
    page.get_by_role("link", name="Later »").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Due 01")  # "Due 00" is not due within 7 days
    expect(page.get_by_role("link", name="Later »")).to_have_count(0)
