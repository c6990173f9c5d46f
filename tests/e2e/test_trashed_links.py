"""Browser: a ticket whose agent and customer are in the trash shows them marked and saves unchanged; two
sessions at once never bring a trashed ticket back."""

import pytest
from playwright.sync_api import expect

from models_core.models import Ticket
from tests.factories import DEFAULT_PASSWORD, CustomerFactory, TicketFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_unchanged_save_keeps_trashed_agent_and_customer(page, live_server, sign_in, org_admin, organization):
    agent = UserFactory(organization=organization, role="agent", first_name="Ada", last_name="Agent")
    customer = CustomerFactory(organization=organization, first_name="Cy", last_name="Customer")
    ticket = TicketFactory(organization=organization, customer=customer, assigned_agent=agent)
    agent.soft_delete(reason="left")
    customer.soft_delete(reason="gdpr")

    sign_in(org_admin)
    page.goto(f"{live_server.url}/models_core/ticket/{ticket.pk}/change/")
    expect(page.locator("#ticket_form")).to_contain_text("Ada Agent (in the trash)")
    expect(page.locator("#ticket_form")).to_contain_text("Cy Customer (in the trash)")
    page.locator('button[name="_save"]').first.click()
    page.wait_for_url(f"{live_server.url}/models_core/ticket/")
    ticket.refresh_from_db()
    assert (ticket.assigned_agent_id, ticket.customer_id) == (agent.pk, customer.pk)


def test_a_second_session_trashing_the_ticket_wins_over_a_stale_form(
    browser, page, live_server, sign_in, org_admin, make_staff, organization
):
    ticket = TicketFactory(organization=organization, subject="Printer on fire")
    colleague = make_staff("Admins", username="colleague", role="admin")
    sign_in(org_admin)
    page.goto(f"{live_server.url}/models_core/ticket/{ticket.pk}/change/")  # session A opens the form

    other = browser.new_context()
    b = other.new_page()
    b.goto(f"{live_server.url}/login/")
    b.fill("input[name=username]", colleague.username)
    b.fill("input[name=password]", DEFAULT_PASSWORD)
    b.click("button[type=submit]")
    b.wait_for_url(f"{live_server.url}/")
    b.goto(f"{live_server.url}/models_core/ticket/{ticket.pk}/delete/")
    b.get_by_label("Why is this going to the trash?").fill("duplicate")
    b.get_by_test_id("move-to-trash").get_by_role("button", name="Move to the trash").click()
    b.wait_for_url(f"{live_server.url}/models_core/ticket/")
    other.close()

    page.fill("input[name=subject]", "A's stale edit")
    page.locator('button[name="_save"]').first.click()
    expect(page.get_by_text("Perhaps it was deleted?")).to_be_visible()
    row = Ticket.all_objects.get(pk=ticket.pk)
    assert row.is_deleted and row.subject == "Printer on fire"
