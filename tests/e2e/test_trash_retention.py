"""Browser tests of the trash's retention page: an Admin sets days per model; a bad value stores nothing."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from models_core.models import Organization, Ticket
from models_core.retention import RETENTION_KEY
from tests.factories import TicketFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def open_retention(page, live_server):
    page.locator('#nav-sidebar a[href="/dashboard/trash/"]').click()
    page.wait_for_url(f"{live_server.url}/dashboard/trash/")
    page.get_by_test_id("trash-page").get_by_role("link", name="Retention", exact=True).click()
    page.wait_for_url(f"{live_server.url}/dashboard/trash/retention/")


def test_an_admin_changes_ticket_retention_and_new_deletes_use_it(
    page, live_server, sign_in, org_admin, organization
):
    sign_in(org_admin)
    open_retention(page, live_server)
    form = page.get_by_test_id("retention-form")
    expect(form).to_be_visible()
    tickets = form.get_by_label("Tickets (days)")
    expect(tickets).to_have_value("")  # inherits

    tickets.fill("7")
    form.get_by_role("button", name="Save").click()

    page.wait_for_url(f"{live_server.url}/dashboard/trash/retention/")
    expect(page.get_by_text("Retention of Acme Support saved; it applies to new deletes.")).to_be_visible()
    expect(page.get_by_test_id("retention-form").get_by_label("Tickets (days)")).to_have_value("7")
    organization.refresh_from_db()
    assert organization.settings[RETENTION_KEY] == {"ticket": 7}

    ticket = TicketFactory(organization=organization, subject="Deleted after the change")
    before = timezone.now()
    ticket.soft_delete(user=org_admin, reason="duplicate")
    after = timezone.now()
    auto_delete_at = Ticket.all_objects.get(pk=ticket.pk).auto_delete_at
    assert before + datetime.timedelta(days=7) <= auto_delete_at <= after + datetime.timedelta(days=7)


@pytest.mark.parametrize("bad_value", ["-3", "soon"])
def test_a_bad_retention_value_shows_a_form_error_and_stores_nothing(
    page, live_server, sign_in, org_admin, organization, bad_value
):
    organization.settings = {RETENTION_KEY: {"ticket": 60}}
    organization.save()

    sign_in(org_admin)
    open_retention(page, live_server)
    form = page.get_by_test_id("retention-form")
    tickets = form.get_by_label("Tickets (days)")
    expect(tickets).to_have_value("60")
    # A person typing a negative number is stopped by the browser itself (min=0), before any POST.
    tickets.fill("-3")
    form.get_by_role("button", name="Save").click()
    assert tickets.evaluate("input => input.validity.rangeUnderflow")
    expect(page).to_have_url(f"{live_server.url}/dashboard/trash/retention/")

    # The number input's own checks (min=0, digits only) would stop the browser from posting; the server must
    # still refuse what a script, an old browser or a crafted POST sends.
    form.evaluate("form => form.noValidate = true")
    tickets.evaluate("(input, value) => { input.type = 'text'; input.value = value; }", bad_value)
    form.get_by_role("button", name="Save").click()

    form = page.get_by_test_id("retention-form")
    expected = (
        "Ensure this value is greater than or equal to 0." if bad_value == "-3" else "Enter a whole number."
    )
    expect(form).to_contain_text(expected)
    expect(page.get_by_text("saved; it applies to new deletes")).to_have_count(0)
    assert Organization.objects.get(pk=organization.pk).settings == {RETENTION_KEY: {"ticket": 60}}


def test_a_support_manager_has_no_retention_tab_and_is_refused_the_page(page, live_server, sign_in, manager):
    sign_in(manager)
    page.locator('#nav-sidebar a[href="/dashboard/trash/"]').click()
    page.wait_for_url(f"{live_server.url}/dashboard/trash/")
    tabs = page.get_by_test_id("trash-page")
    expect(tabs.get_by_role("link", name="Purge records", exact=True)).to_be_visible()
    expect(tabs.get_by_role("link", name="Retention", exact=True)).to_have_count(0)

    response = page.goto(f"{live_server.url}/dashboard/trash/retention/")
    assert response.status == 403
