"""Browser tests of large imports: the upload lands on a page that follows the preview job, then shows the
preview in pages; the confirm runs as a job too. Import previews fit 1280 px and pass axe (WCAG 2.1 A/AA)."""

import threading

import pytest
from playwright.sync_api import expect

from dashboard.dataio.resources import TicketResource
from models_core.models import Ticket
from tests.e2e.site_walk import OVERFLOW_JS, SiteWalker, Walk
from tests.e2e.test_dataio import csv_file
from tests.factories import CustomerFactory, TicketFactory
from tests.worker import run_queued_jobs

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WIDE = "A printer on the third floor keeps printing the same page " * 3


def ticket_rows(tickets: list[Ticket], customer, new: int, bad: int = 0) -> tuple[list, list]:
    """Every column of the ticket import (the preview's widest table): updates, new rows, refused rows."""
    headers = [f.column_name for f in TicketResource().get_import_fields() if not f.readonly]
    rows = []
    for ticket in tickets:
        values = {
            "id": ticket.pk,
            "subject": f"Updated {ticket.pk}",
            "customer": customer.pk,
            "description": WIDE,
        }
        rows.append([values.get(h, "") for h in headers])
    for i in range(new + bad):
        values = {"subject": f"Bulk {i}", "customer": customer.pk, "description": WIDE, "priority": "low"}
        if i >= new:
            values["priority"] = "whenever"
        rows.append([values.get(h, "") for h in headers])
    return headers, rows


def fits_and_passes_axe(page) -> None:
    size = page.evaluate(OVERFLOW_JS)
    assert size["scrollWidth"] <= size["clientWidth"], f"scrolls sideways: {size}"
    walker = SiteWalker(origin="", result=Walk())
    walker.sidebar_checked = set()  # what walk() sets up; this page is checked with its sidebar
    problems = walker.axe_problems(page, "org-admin")
    assert not problems, "\n".join(problems)


def run_jobs_in_background() -> threading.Thread:
    # The page follows the job through its poller while a worker runs it.
    thread = threading.Thread(target=run_queued_jobs, name="import-jobs")
    thread.start()
    return thread


@pytest.fixture
def wide_page(page):
    page.set_viewport_size({"width": 1280, "height": 900})
    return page


def upload_file(page, live_server, file: dict) -> None:
    page.goto(f"{live_server.url}/models_core/ticket/import/")
    page.set_input_files("input[name=import_file]", file)
    page.select_option("select[name=format]", value="0")
    page.get_by_role("button", name="Submit").click()


def test_a_small_files_preview_fits_1280px(wide_page, live_server, sign_in, org_admin, settings):
    customer = CustomerFactory(organization=org_admin.organization)
    tickets = [TicketFactory(organization=org_admin.organization, customer=customer) for _ in range(2)]
    sign_in(org_admin)
    headers, rows = ticket_rows(tickets, customer, new=2)
    upload_file(wide_page, live_server, csv_file("tickets.csv", headers, rows))
    expect(wide_page.get_by_role("button", name="Confirm import")).to_be_visible()
    fits_and_passes_axe(wide_page)


def test_a_large_import_runs_as_jobs_with_a_paged_preview_that_fits_1280px(
    wide_page, live_server, sign_in, org_admin, settings
):
    settings.CUSTODIAN_IMPORT_SYNC_MAX_ROWS = 10
    settings.CUSTODIAN_IMPORT_PREVIEW_PAGE_ROWS = 20
    page = wide_page
    customer = CustomerFactory(organization=org_admin.organization)
    tickets = [TicketFactory(organization=org_admin.organization, customer=customer) for _ in range(3)]
    sign_in(org_admin)

    # A file with refused rows: the preview job's page shows the summary and the rows in pages.
    headers, rows = ticket_rows(tickets, customer, new=30, bad=25)
    upload_file(page, live_server, csv_file("tickets.csv", headers, rows))
    page.wait_for_url("**/dashboard/imports/*/")
    expect(page.get_by_test_id("import-job")).to_be_visible()
    worker = run_jobs_in_background()
    expect(page.get_by_test_id("import-summary")).to_be_visible()  # the page reloaded once the job finished
    worker.join()
    expect(page.get_by_test_id("import-total-refused")).to_have_text("25")
    expect(page.get_by_test_id("import-error-columns")).to_contain_text("priority: 25")
    expect(page.get_by_test_id("import-preview-row")).to_have_count(20)
    expect(page.get_by_role("button", name="Confirm import")).to_have_count(0)
    fits_and_passes_axe(page)
    page.get_by_role("link", name="Refused rows only").click()
    expect(page.get_by_test_id("import-row-error").first).to_contain_text("priority: Value 'whenever'")
    page.get_by_role("link", name="Next rows").click()
    expect(page.get_by_test_id("import-preview-row")).to_have_count(5)
    with page.expect_download() as download_info:
        page.get_by_test_id("import-errors-csv").click()
    assert download_info.value.suggested_filename.endswith(".csv")

    # The corrected file: previewed, then confirmed by a job that the page follows.
    headers, rows = ticket_rows(tickets, customer, new=30)
    upload_file(page, live_server, csv_file("tickets.csv", headers, rows))
    page.wait_for_url("**/dashboard/imports/*/")
    worker = run_jobs_in_background()
    confirm = page.get_by_role("button", name="Confirm import")
    expect(confirm).to_be_visible()
    worker.join()
    fits_and_passes_axe(page)
    assert not Ticket.objects.filter(subject__startswith="Bulk").exists()
    confirm.click()
    expect(page.get_by_test_id("import-job")).to_contain_text("Importing")
    worker = run_jobs_in_background()
    expect(page.get_by_test_id("import-done")).to_have_text("Imported: 30 new, 3 updated, 0 unchanged.")
    worker.join()
    assert Ticket.objects.filter(subject__startswith="Bulk").count() == 30
    fits_and_passes_axe(page)
