"""Browser tests of import and export in the admin: row errors, preview and confirm, a filtered export."""

import csv
import io

import pytest
from playwright.sync_api import expect

from models_core.models import Ticket
from tests.factories import CustomerFactory, TicketFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def csv_file(name: str, headers: list, rows: list) -> dict:
    stream = io.StringIO()
    writer = csv.writer(stream)
    writer.writerow(headers)
    writer.writerows(rows)
    return {"name": name, "mimeType": "text/csv", "buffer": stream.getvalue().encode()}


def test_import_shows_row_errors_then_imports_the_corrected_file(page, live_server, sign_in, org_admin):
    customer = CustomerFactory(organization=org_admin.organization, username="cust.jones")
    trashed = TicketFactory(organization=org_admin.organization, customer=customer, subject="Old printer")
    trashed.soft_delete(user=org_admin)
    sign_in(org_admin)

    page.goto(f"{live_server.url}/models_core/ticket/")
    page.get_by_role("link", name="Import").click()
    page.wait_for_url("**/models_core/ticket/import/")
    expect(page.get_by_test_id("import-rules")).to_contain_text("either every row is imported or none")

    page.set_input_files(
        "input[name=import_file]",
        csv_file(
            "tickets.csv",
            ["id", "subject", "customer", "priority"],
            [
                [trashed.pk, "Old printer again", customer.pk, "high"],
                ["", "Toner low", customer.pk, "whenever"],
            ],
        ),
    )
    page.select_option("select[name=format]", value="0")
    page.get_by_role("button", name="Submit").click()

    errors = page.get_by_test_id("import-row-error")
    expect(errors).to_have_count(2)
    expect(errors.nth(0)).to_contain_text(
        f"Row 1 · id: Ticket {trashed.pk} is in the trash: restore it first"
    )
    expect(errors.nth(1)).to_contain_text("Row 2 · priority: Value 'whenever' is not a valid choice.")
    expect(page.get_by_role("button", name="Confirm import")).to_have_count(0)

    page.set_input_files(
        "input[name=import_file]",
        csv_file("tickets.csv", ["subject", "customer", "priority"], [["Toner low", customer.pk, "low"]]),
    )
    page.select_option("select[name=format]", value="0")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("button", name="Confirm import")).to_be_visible()
    expect(page.locator("table.import-preview-table")).to_contain_text("Toner low")
    assert not Ticket.objects.filter(subject="Toner low").exists()

    page.get_by_role("button", name="Confirm import").click()
    page.wait_for_url("**/models_core/ticket/")
    finished = "Import finished: 1 new, 0 updated, 0 deleted and 0 skipped tickets."
    expect(page.get_by_text(finished)).to_be_visible()
    assert Ticket.objects.get(subject="Toner low").organization == org_admin.organization
    assert Ticket.all_objects.get(pk=trashed.pk).is_deleted


def test_manager_exports_the_filtered_changelist(page, live_server, sign_in, manager):
    customer = CustomerFactory(organization=manager.organization)
    urgent = TicketFactory(organization=manager.organization, customer=customer, priority="urgent")
    TicketFactory(organization=manager.organization, customer=customer, priority="low")
    sign_in(manager)

    page.goto(f"{live_server.url}/models_core/ticket/?priority__exact=urgent")
    expect(page.get_by_role("link", name="Import")).to_have_count(0)
    page.get_by_role("link", name="Export").click()
    page.wait_for_url("**/models_core/ticket/export/?priority__exact=urgent")
    page.select_option("select[name=format]", value="0")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Submit").click()
    download = download_info.value
    assert download.suggested_filename.startswith("tickets-") and download.suggested_filename.endswith(".csv")
    with open(download.path(), encoding="utf-8") as exported:
        rows = list(csv.reader(exported))
    assert rows[0][0] == "id"
    assert [row[0] for row in rows[1:]] == [str(urgent.pk)]


def test_manager_downloads_the_filtered_trash_listing(page, live_server, sign_in, manager):
    customer = CustomerFactory(organization=manager.organization)
    spam = TicketFactory(organization=manager.organization, customer=customer, subject="Buy now")
    kept = TicketFactory(organization=manager.organization, customer=customer, subject="Broken printer")
    spam.soft_delete(user=manager, reason="spam")
    kept.soft_delete(user=manager, reason="duplicate")
    sign_in(manager)

    page.goto(f"{live_server.url}/dashboard/trash/?reason=spam")
    links = page.get_by_test_id("export-links")
    expect(links).to_be_visible()
    with page.expect_download() as download_info:
        links.get_by_role("link", name="CSV").click()
    download = download_info.value
    assert download.suggested_filename.startswith("trash-")
    with open(download.path(), encoding="utf-8") as exported:
        rows = list(csv.DictReader(exported))
    assert [(row["id"], row["reason"]) for row in rows] == [(str(spam.pk), "spam")]
