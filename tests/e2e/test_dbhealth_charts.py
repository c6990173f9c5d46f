"""The DB health charts read what plotly drew: tick labels, axis types, bar widths, empty states, clicks.

Each check runs in the light and the dark theme (charts.js redraws when unfold toggles `dark` on <html>).
"""

import pytest
from django.db import IntegrityError, connection, transaction
from playwright.sync_api import expect

from dashboard.dbhealth import selectors, trends
from dashboard.dbhealth.recorder import violation_context
from dashboard.dbhealth.services import dbhealth_snapshot_take, declared_definitions_store
from models_core.models import Ticket
from tests.factories import TicketFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

THEMES = ("light", "dark")


@pytest.fixture(autouse=True)
def declared_definitions():
    declared_definitions_store()


def set_theme(page, theme: str) -> None:
    page.evaluate(f"document.documentElement.classList.toggle('dark', {str(theme == 'dark').lower()})")
    page.wait_for_function(
        "(t) => [...document.querySelectorAll('.custodian-chart')].every("
        "el => el.getAttribute('data-rendered-theme') === t)",
        arg=theme,
    )


def drawn(page, chart: str) -> dict:
    """What plotly drew for one chart: axis types and ranges, tick labels, bar widths, margins, texts."""
    return page.evaluate(
        """(id) => {
            const el = document.getElementById(id);
            const L = el._fullLayout;
            const ticks = (axis) => [...el.querySelectorAll(`.${axis}tick text`)].map(t => t.textContent);
            const box = el.getBoundingClientRect();
            const rect = (node) => node.getBoundingClientRect();
            // Plotly hides a tick label that would stick out of the chart (zero-sized box): skip those.
            const labels = [...el.querySelectorAll('.ytick text, .xtick text')].map(rect)
                .filter(r => r.width > 0 && r.height > 0);
            const bars = [...el.querySelectorAll('.bars .point path')].map(p => rect(p).width);
            return {
                xtype: L.xaxis && L.xaxis.type, ytype: L.yaxis && L.yaxis.type,
                xvisible: L.xaxis ? L.xaxis.visible : null, yvisible: L.yaxis ? L.yaxis.visible : null,
                xrange: L.xaxis && L.xaxis.range, xticks: ticks('x'), yticks: ticks('y'),
                annotations: [...el.querySelectorAll('.annotation-text')].map(t => t.textContent),
                plotWidth: L._size.w, bars,
                labelsInside: labels.every(r => r.left >= box.left - 1 && r.right <= box.right + 1),
                hovertemplate: el.data.length ? (el.data[0].hovertemplate || '') : '',
            };
        }""",
        chart,
    )


def scan_some_indexes() -> None:
    with connection.cursor() as cursor:
        for _ in range(3):
            cursor.execute("SELECT id FROM models_core_ticket WHERE organization_id = 1 AND status = 'new'")
        cursor.execute("SELECT pg_stat_force_next_flush()")


def test_index_charts_draw_names_types_one_day_and_clicks(page, sign_in, dba):
    TicketFactory()
    dbhealth_snapshot_take()
    scan_some_indexes()
    dbhealth_snapshot_take()
    window = selectors.window_for(30)
    indexes = selectors.index_usage_list(window)
    ordered = sorted(indexes, key=lambda i: (-i.size_bytes, i.table, i.name))
    biggest = [i.name for i in ordered[:20]]
    biggest_table = ordered[0].table
    # The chart counts live counters since the last reset, so the busiest fifteen move as the sign-in and
    # the page itself read tables (and with whatever ran before): check whole names, not one ranking.
    scanned = [t.table for t in trends.table_usage_list(window) if t.scans]
    table_names = {t.table for t in trends.table_usage_list(window)}
    sign_in(dba)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(page.url + "dashboard/dbhealth/indexes/")
    for theme in THEMES:
        set_theme(page, theme)
        sizes = drawn(page, "dbh-sizes")
        assert sizes["ytype"] == "category" and sizes["xtype"] == "linear"
        assert sorted(sizes["yticks"]) == sorted(biggest)  # whole names, not 1-2 letters
        assert sizes["labelsInside"]
        assert "table %{customdata[1]}" in sizes["hovertemplate"]
        tables = drawn(page, "dbh-tables")
        assert tables["ytype"] == "category" and tables["xtype"] == "linear"
        assert min(15, len(scanned)) <= len(tables["yticks"]) <= 15
        assert set(tables["yticks"]) <= table_names  # whole names, not 1-2 letters
        assert tables["labelsInside"]
        scans = drawn(page, "dbh-scans")
        assert scans["xtype"] == "date" and scans["ytype"] == "linear"
        # One day of data in a 30-day axis: narrow bars, not one bar the chart's width.
        assert scans["bars"] and max(scans["bars"]) < scans["plotWidth"] / 10
        assert not scans["annotations"]
    # Click the largest index's bar: its own page with its history.
    # Through the mouse, as a user does: plotly's drag layer takes the events and finds the bar under them.
    first_bar = page.locator("#dbh-sizes .bars .point path").first
    first_bar.scroll_into_view_if_needed()
    bar = first_bar.bounding_box()
    page.mouse.move(bar["x"] + bar["width"] / 2, bar["y"] + bar["height"] / 2)
    hover = page.locator("#dbh-sizes .hoverlayer .hovertext")
    expect(hover).to_contain_text(f"table {biggest_table}")  # hover names the table and the declaration
    page.mouse.down()
    page.mouse.up()
    page.wait_for_url("**/dbhealth/indexes/index/?*")
    expect(page.get_by_test_id("index-facts")).to_contain_text(biggest[0])
    for theme in THEMES:
        set_theme(page, theme)
        history = drawn(page, "dbh-index-scans")
        assert history["xtype"] == "date" and history["ytype"] == "linear"
        assert max(history["bars"]) < history["plotWidth"] / 10


def test_empty_charts_say_why_and_when(page, sign_in, dba, recorded_violations):
    sign_in(dba)
    page.goto(page.url + "dashboard/dbhealth/indexes/")
    for theme in THEMES:
        set_theme(page, theme)
        scans = drawn(page, "dbh-scans")
        assert scans["xvisible"] is False and scans["yvisible"] is False  # no axes from -1 to 6
        assert "No snapshot yet" in " ".join(scans["annotations"])
        assert "UTC" in " ".join(scans["annotations"])
    page.goto(page.url.split("/dashboard/")[0] + "/dashboard/dbhealth/violations/")
    for theme in THEMES:
        set_theme(page, theme)
        for chart in ("dbh-violations-time", "dbh-violations-class", "dbh-violations-org"):
            empty = drawn(page, chart)
            assert empty["xvisible"] is False, chart
            assert "No violation" in " ".join(empty["annotations"]), chart


def test_violation_charts_draw_categories_and_counts_not_dates(page, sign_in, dba, recorded_violations):
    for _ in range(3):
        ticket = TicketFactory()
        with (
            violation_context("view", "tickets:edit", dba),
            pytest.raises(IntegrityError),
            transaction.atomic(),
        ):
            Ticket.all_objects.filter(pk=ticket.pk).update(status="bogus")
    sign_in(dba)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(page.url + "dashboard/dbhealth/violations/")
    for theme in THEMES:
        set_theme(page, theme)
        states = drawn(page, "dbh-violations-class")
        assert states["xtype"] == "category" and states["ytype"] == "linear"
        assert states["xticks"] == ["23514 check violation"]
        orgs = drawn(page, "dbh-violations-org")
        assert orgs["xtype"] == "linear" and orgs["ytype"] == "category"
        assert orgs["yticks"] == ["no organization (platform or system)"]
        assert "%{x:,} violations" in orgs["hovertemplate"]  # a count, not "Jan 1, 1970"
        over_time = drawn(page, "dbh-violations-time")
        assert over_time["xtype"] == "date"
        assert over_time["bars"] and max(over_time["bars"]) < over_time["plotWidth"] / 10


def test_tables_fit_their_cards(page, sign_in, dba):
    with connection.cursor() as cursor:
        # A long undeclared index on a long-named table: the Why and migration columns must wrap.
        cursor.execute(
            "CREATE INDEX dbh_a_rather_long_index_name_for_testing_widths ON models_core_ticket (subject)"
        )
    try:
        sign_in(dba)
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(page.url + "dashboard/dbhealth/indexes/?kind=undeclared")
        for theme in THEMES:
            set_theme(page, theme)
            for testid in ("findings", "indexes"):
                fits = page.evaluate(
                    """(id) => {
                        const box = document.querySelector(`[data-testid="${id}"]`);
                        const table = box.querySelector('table');
                        return table && table.scrollWidth <= box.clientWidth + 1;
                    }""",
                    testid,
                )
                assert fits, testid
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP INDEX IF EXISTS dbh_a_rather_long_index_name_for_testing_widths")
