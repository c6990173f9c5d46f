"""An Admin runs a scan in the browser, a real worker runs it, and the Admin drills into a failing ticket."""

import datetime

import pytest
from django.contrib import admin
from django.utils import timezone
from playwright.sync_api import expect

from dashboard.validation import services
from dashboard.validation.models import Waiver
from models_core.models import Ticket
from tests.factories import CustomerFactory, TicketFactory
from tests.worker import run_queued_jobs

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_admin_runs_a_scan_and_drills_into_a_failing_ticket(
    page, live_server, sign_in, org_admin, organization
):
    customer = CustomerFactory(organization=organization)
    broken = TicketFactory(organization=organization, customer=customer, subject="placeholder")
    TicketFactory(organization=organization, customer=customer)
    Ticket.objects.filter(pk=broken.pk).update(subject="   ")  # a legacy row: no constraint stops it

    sign_in(org_admin)
    page.locator("#nav-sidebar").get_by_role("link", name="Validation reports").click()
    expect(page.get_by_test_id("no-scan")).to_be_visible()

    page.get_by_role("button", name="Run scan").click()
    expect(page.get_by_test_id("scan-running")).to_be_visible()
    run_queued_jobs()
    # The poller sees the job finish and the page reloads with the report.
    expect(page.get_by_test_id("total-violations")).to_have_text("1")
    expect(page.locator("#validation-by-rule .main-svg").first).to_be_attached()

    page.locator('[data-rule="models_core.ticket.subject_required"]').get_by_role("link").click()
    row = page.locator(f'[data-object-id="{broken.pk}"]')
    expect(row).to_be_visible()
    expect(page.get_by_test_id("failing-records").locator("tbody tr")).to_have_count(1)

    # Accept the violation with a reason; it shows as waived.
    row.get_by_text("Accept…").click()
    row.locator("input[name=reason]").fill("Imported from the old helpdesk")
    row.get_by_role("button", name="Accept violation").click()
    expect(page.locator(f'[data-object-id="{broken.pk}"]').get_by_test_id("waived")).to_be_visible()

    link = page.locator(f'[data-object-id="{broken.pk}"]').get_by_test_id("record-link")
    if admin.site.is_registered(Ticket):
        link.click()
        page.wait_for_url(f"**/models_core/ticket/{broken.pk}/change/")
    else:
        expect(link).to_have_count(0)  # no admin page to link to on this branch


def test_support_manager_sees_the_report_but_no_run_button(page, sign_in, manager):
    sign_in(manager)
    page.locator("#nav-sidebar").get_by_role("link", name="Validation reports").click()
    expect(page.get_by_test_id("page-title")).to_have_text("Validation reports")
    expect(page.get_by_role("button", name="Run scan")).to_have_count(0)


def test_admin_revokes_a_waiver_and_the_violation_counts_again(
    page, live_server, sign_in, org_admin, organization
):
    customer = CustomerFactory(organization=organization)
    broken = TicketFactory(organization=organization, customer=customer, subject="placeholder")
    Ticket.objects.filter(pk=broken.pk).update(subject="   ")
    waiver = Waiver.objects.create(
        model_label="models_core.ticket",
        rule_name="subject_required",
        object_id=broken.pk,
        organization=organization,
        reason="Imported from the old helpdesk",
        expires_at=timezone.now() + datetime.timedelta(days=10),
        created_by=org_admin,
    )
    # Rule pages list the latest scan's violations.
    services.validation_scan_run(services.validation_scan_create(None).pk)

    sign_in(org_admin)
    page.goto(f"{live_server.url}/dashboard/validation/rules/ticket/subject_required/")
    row = page.locator(f'[data-object-id="{broken.pk}"]')
    expect(row.get_by_test_id("waived")).to_be_visible()
    waivers = page.get_by_test_id("waivers")
    expect(waivers).to_contain_text(f"#{broken.pk} · Imported from the old helpdesk")

    waivers.get_by_role("button", name="Revoke").click()
    page.wait_for_url(f"{live_server.url}/dashboard/validation/rules/ticket/subject_required/")
    expect(page.get_by_text("The waiver is revoked; the violation counts again.")).to_be_visible()
    expect(page.get_by_test_id("waivers")).to_have_count(0)
    expect(page.locator(f'[data-object-id="{broken.pk}"]').get_by_text("Accept…")).to_be_visible()
    assert not Waiver.objects.filter(pk=waiver.pk).exists()
