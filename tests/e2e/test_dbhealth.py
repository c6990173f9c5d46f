"""Browser tests of the DB health pages: a DBA follows the sidebar, reads the charts, acts on the pages."""

import pytest
from django.db import IntegrityError, transaction
from playwright.sync_api import expect

from dashboard.dbhealth.models import SnapshotRun
from dashboard.dbhealth.recorder import violation_context
from dashboard.jobs.models import JobRun
from models_core.models import Ticket
from tests.factories import TicketFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def declared_definitions():
    # Transactional tests flush every table; migrate computed these once, so compute them again here.
    from dashboard.dbhealth.services import declared_definitions_store

    declared_definitions_store()


def sidebar(page):
    return page.locator("#nav-sidebar")


def test_dba_reads_index_usage_and_takes_a_snapshot(page, sign_in, dba):
    sign_in(dba)
    sidebar(page).get_by_role("link", name="Index usage").click()
    page.wait_for_url("**/dashboard/dbhealth/indexes/")
    expect(page).to_have_title("DB health: index usage | Custodian")
    # plotly drew the three charts (charts.js turns the JSON islands into SVG).
    for chart in ("dbh-scans", "dbh-sizes", "dbh-tables"):
        expect(page.locator(f"#{chart} .main-svg").first).to_be_visible()
    # Filter every index by table, then the findings by kind.
    page.locator("#index-filter-table").select_option("models_core_ticket")
    page.locator("#index-filter").get_by_role("button", name="Filter").click()
    row = page.locator('[data-index-row="idx_ticket_org_status"]')
    expect(row.locator("[data-provenance]")).to_have_text("Meta.indexes")
    expect(row.locator("[data-drift]")).to_have_text("ok")
    page.get_by_test_id("findings").get_by_role("link", name="duplicate (").click()
    expect(page.locator('[data-finding="duplicate"][data-index="idx_ticket_org_status"]')).to_be_visible()
    # Two clicks from the list to one index's own page.
    row.locator("[data-index-link]").click()
    page.wait_for_url("**/dbhealth/indexes/index/?*")
    expect(page.get_by_test_id("declaration")).to_contain_text("Ticket.Meta.indexes")
    page.get_by_test_id("back").click()

    page.get_by_role("button", name="Take a snapshot now").click()
    page.wait_for_url("**/dashboard/dbhealth/indexes/?days=30")
    expect(page.get_by_text("Snapshot taken:")).to_be_visible()
    # One snapshot: the scans chart says when it will have data instead of drawing empty axes.
    expect(page.locator("#dbh-scans .annotation-text")).to_contain_text("One snapshot so far")
    expect(page.get_by_test_id("snapshot-card")).to_contain_text("Latest snapshot:")
    assert SnapshotRun.objects.count() == 1

    page.locator('[data-testid="window-selector"] a', has_text="7 days").click()
    page.wait_for_url("**/dashboard/dbhealth/indexes/?days=7")


def test_dba_sees_a_rolled_back_violation_and_checks_existing_data(page, sign_in, dba, recorded_violations):
    ticket = TicketFactory()
    with violation_context("view", "tickets:edit", dba), pytest.raises(IntegrityError), transaction.atomic():
        Ticket.all_objects.filter(pk=ticket.pk).update(status="bogus")

    sign_in(dba)
    sidebar(page).get_by_role("link", name="Constraint violations").click()
    page.wait_for_url("**/dashboard/dbhealth/violations/")
    expect(page.get_by_test_id("violation-total")).to_contain_text("1 violation since")
    for chart in ("dbh-violations-time", "dbh-violations-class", "dbh-violations-org"):
        expect(page.locator(f"#{chart} .main-svg").first).to_be_visible()
    row = page.locator('[data-constraint="check_ticket_status_valid"]')
    expect(row.locator("[data-errors]")).to_have_text("1")
    expect(row.locator("[data-declaration]")).to_have_text("Ticket.Meta.constraints")
    expect(row.locator("[data-message]")).to_contain_text("Status must be one of")
    expect(page.get_by_test_id("recent-violations")).to_contain_text("tickets:edit")

    row.get_by_role("button", name="Check existing data").click()
    page.wait_for_url("**/dashboard/dbhealth/violations/?days=30#checks")
    expect(page.get_by_text("Counting the rows that violate check_ticket_status_valid")).to_be_visible()
    expect(page.locator('[data-check="check_ticket_status_valid"]')).to_be_visible()
    assert JobRun.objects.filter(kind="dbhealth_constraint_check").count() == 1
