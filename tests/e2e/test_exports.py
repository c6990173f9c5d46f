"""Browser tests of big exports: clicking export on a list above CUSTODIAN_EXPORT_SYNC_MAX_ROWS lands on the
file's page, which follows the job and then offers the download; the home page links the job to it."""

import csv

import pytest
from playwright.sync_api import expect

from tests.e2e.test_dataio_large import fits_and_passes_axe, run_jobs_in_background
from tests.factories import CustomerFactory, TicketFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def downloaded_rows(page) -> tuple[str, list[dict]]:
    with page.expect_download() as download_info:
        page.get_by_test_id("export-download").click()
    download = download_info.value
    with open(download.path(), encoding="utf-8") as exported:
        return download.suggested_filename, list(csv.DictReader(exported))


def test_a_big_trash_export_follows_its_job_then_downloads(page, live_server, sign_in, manager, settings):
    settings.CUSTODIAN_EXPORT_SYNC_MAX_ROWS = 3
    settings.CUSTODIAN_EXPORT_CHUNK_ROWS = 2
    customer = CustomerFactory(organization=manager.organization)
    for reason, n in (("spam", 6), ("duplicate", 2)):
        for ticket in TicketFactory.create_batch(n, organization=manager.organization, customer=customer):
            ticket.soft_delete(user=manager, reason=reason)
    sign_in(manager)

    page.goto(f"{live_server.url}/dashboard/trash/?reason=spam")
    page.get_by_test_id("export-links").get_by_role("link", name="CSV").click()
    page.wait_for_url("**/dashboard/exports/files/*/")
    expect(page.get_by_test_id("export-job")).to_be_visible()
    worker = run_jobs_in_background()
    expect(page.get_by_test_id("export-download")).to_be_visible()  # reloaded once the job finished
    worker.join()
    expect(page.get_by_test_id("export-summary")).to_contain_text("6 rows")
    fits_and_passes_axe(page)
    name, rows = downloaded_rows(page)
    assert name.startswith("trash-") and name.endswith(".csv")
    assert len(rows) == 6 and {row["reason"] for row in rows} == {"spam"}

    file_page = page.url
    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="Download the file").first.click()
    page.wait_for_url(file_page)


def test_a_big_changelist_export_runs_as_a_job(page, live_server, sign_in, manager, settings):
    settings.CUSTODIAN_EXPORT_SYNC_MAX_ROWS = 1
    customer = CustomerFactory(organization=manager.organization)
    urgent = TicketFactory.create_batch(
        3, organization=manager.organization, customer=customer, priority="urgent"
    )
    TicketFactory(organization=manager.organization, customer=customer, priority="low")
    sign_in(manager)

    page.goto(f"{live_server.url}/models_core/ticket/?priority__exact=urgent")
    page.get_by_role("link", name="Export").click()
    page.wait_for_url("**/models_core/ticket/export/?priority__exact=urgent")
    page.select_option("select[name=format]", value="0")
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url("**/dashboard/exports/files/*/")
    worker = run_jobs_in_background()
    expect(page.get_by_test_id("export-download")).to_be_visible()
    worker.join()
    name, rows = downloaded_rows(page)
    assert name.startswith("tickets-")
    assert sorted(int(row["id"]) for row in rows) == sorted(t.pk for t in urgent)
