"""DB health pages. Access: platform staff (no organization) with dashboard.view_dbhealth.

Index statistics are the whole database's, not one tenant's, so an organization-bound user may not see them
even with the permission; violation records are filtered by organization as well (selectors), in case that
rule is ever relaxed.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from dashboard.charts import render_figure
from dashboard.dbhealth import (
    charts,
    index_findings,
    listings,
    nodes,
    reports,
    selectors,
    services,
    trends,
    violations,
)
from dashboard.dbhealth.forms import (
    WINDOW_CHOICES,
    ConstraintCheckForm,
    IndexKeyForm,
    IndexListingForm,
    WindowForm,
)
from dashboard.dbhealth.models import SnapshotRun
from dashboard.exports import FORMATS_TEXT, export_format_get, report_response
from dashboard.pages import page_context, page_refuse, page_tabs
from dashboard.permissions import VIEW_DBHEALTH
from dashboard.scoping import staff_permission_required

# A second "take snapshot" within this many seconds is a double submit.
SNAPSHOT_MIN_INTERVAL = timedelta(seconds=30)


def dbhealth_refuse(
    request: HttpRequest, message: str, status: int = 400, title: str = "DB health"
) -> HttpResponse:
    """A DB health page's refusal (bad input, double submit), with a way back to the index usage page."""
    return page_refuse(
        request, message, status=status, title=title, back=reverse("dashboard:dbhealth:index_usage")
    )


def _window_days(request: HttpRequest) -> int | None:
    form = WindowForm(request.GET)
    return form.cleaned_data["days"] if form.is_valid() else None


def tabs_context(request: HttpRequest, active: str, days: int | None) -> dict[str, Any]:
    """The DB health tabs, and the window selector on the pages that have a window (`days`)."""
    days_query = f"?days={days}" if days else ""
    return {
        "tabs": page_tabs(
            request,
            [
                (
                    reverse("dashboard:dbhealth:index_usage") + days_query,
                    "Index usage",
                    "index_usage",
                    "monitor_heart",
                ),
                (
                    reverse("dashboard:dbhealth:violations") + days_query,
                    "Constraint violations",
                    "violations",
                    "gpp_maybe",
                ),
                (reverse("dashboard:dbhealth:advisor"), "Index advisor", "advisor", "lightbulb"),
            ],
            active,
        ),
        "windows": [
            {"days": value, "label": label, "active": value == days, "link": f"?days={value}"}
            for value, label in WINDOW_CHOICES
        ]
        if days
        else [],
        "days": days,
    }


def _index_links(indexes: list[selectors.CatalogIndex], days: int) -> dict[str, str]:
    """ "table.index" -> the index's own page; the path reversed once, not once per index (hundreds)."""
    path = reverse("dashboard:dbhealth:index_detail")
    links = {}
    for i in indexes:
        query = urlencode({"schema": i.schema, "table": i.table, "index": i.name, "days": days})
        links[f"{i.table}.{i.name}"] = f"{path}?{query}"
    return links


@require_GET
@staff_permission_required(VIEW_DBHEALTH, platform_only=True)
def index_usage_view(request: HttpRequest) -> HttpResponse:
    days = _window_days(request)
    if days is None:
        return dbhealth_refuse(request, "The window must be 7, 30 or 90 days.")
    listing = IndexListingForm(request.GET)
    if not listing.is_valid():
        return dbhealth_refuse(request, "Unknown finding kind, sort order or page: " + listing.errors_text())
    window = selectors.window_for(days)
    replicas = nodes.replica_readings_in_window(window.start)
    indexes = selectors.index_usage_list(window, replicas)
    tables = trends.table_usage_list(window)
    findings = index_findings.index_findings_list(window, indexes, tables)
    links = _index_links(indexes, days)
    by_key = {(i.table, i.name): i for i in indexes}
    declared = {f"{i.table}.{i.name}": i.declaration or i.provenance for i in indexes}
    daily = trends.index_scans_daily(window)
    start = (window.baseline.taken_at if window.baseline else window.start).date()
    today = timezone.now().date()
    since = f"{window.effective_start:%Y-%m-%d %H:%M} UTC" if window.effective_start else "the last reset"
    context = {
        **page_context(request),
        **tabs_context(request, "index_usage", days),
        **listings.findings_context(request, listing.cleaned_data, findings, by_key, links),
        **listings.indexes_context(request, listing.cleaned_data, indexes, links),
        "title": "DB health: index usage",
        "window": window,
        "latest": trends.snapshot_latest(),
        "replicas": replicas.latest,
        "nodes_chart": render_figure(
            charts.scans_per_node_figure(
                nodes.scans_per_node_daily(daily.day_totals, replicas, window.start)
            ),
            "dbh-nodes",
        )
        if replicas.latest
        else None,
        "unchecked": sum(1 for index in indexes if index.drift == "unchecked"),
        "unused_small": index_findings.index_unused_small(window, indexes, tables=tables),
        "scans_chart": render_figure(
            charts.scans_daily_figure(
                daily, start, today, trends.snapshot_count(), links=links, declarations=declared
            ),
            "dbh-scans",
        ),
        "size_chart": render_figure(charts.index_size_figure(indexes, links), "dbh-sizes"),
        "tables_chart": render_figure(charts.busiest_tables_figure(tables, since), "dbh-tables"),
    }
    return render(request, "dbhealth/index_usage.html", context)


@require_GET
@staff_permission_required(VIEW_DBHEALTH, platform_only=True)
def index_detail_view(request: HttpRequest) -> HttpResponse:
    """One index: what it is, where it comes from, its findings and its own history in the window."""
    days = _window_days(request)
    form = IndexKeyForm(request.GET)
    if days is None or not form.is_valid():
        return dbhealth_refuse(
            request, "Name an index by schema, table and index, with a window of 7, 30 or 90 days."
        )
    schema, table, name = (form.cleaned_data[k] for k in ("schema", "table", "index"))
    window = selectors.window_for(days)
    indexes = selectors.index_usage_list(window)
    index = next((i for i in indexes if i.key == (schema, table, name)), None)
    history = trends.index_history(schema, table, name, window)
    if index is None and not history:
        return dbhealth_refuse(
            request, f"No index {schema}.{name} on table {table}, now or in the window.", status=404
        )
    findings = [
        f for f in index_findings.index_findings_list(window, indexes) if f.table == table and f.index == name
    ]
    start = (window.baseline.taken_at if window.baseline else window.start).date()
    scans_fig, size_fig = charts.index_history_figures(history, start, timezone.now().date())
    context = {
        **page_context(request),
        **tabs_context(request, "index_usage", days),
        "title": f"Index {name}",
        "index": index,
        "schema": schema,
        "table": table,
        "name": name,
        "window": window,
        "findings": findings,
        "days_with_data": len(history),
        "back": reverse("dashboard:dbhealth:index_usage") + "?" + urlencode({"days": days, "itable": table}),
        "scans_chart": render_figure(scans_fig, "dbh-index-scans"),
        "size_chart": render_figure(size_fig, "dbh-index-size"),
    }
    return render(request, "dbhealth/index_detail.html", context)


@require_POST
@staff_permission_required(VIEW_DBHEALTH, platform_only=True)
def snapshot_take_view(request: HttpRequest) -> HttpResponse:
    latest = trends.snapshot_latest()
    if latest is not None and timezone.now() - latest.taken_at < SNAPSHOT_MIN_INTERVAL:
        return dbhealth_refuse(
            request,
            f"A snapshot was taken at {latest.taken_at:%H:%M:%S} UTC, moments ago; "
            "wait a little before taking another.",
            status=409,
        )
    run = services.dbhealth_snapshot_take(SnapshotRun.Source.PAGE)
    messages.success(request, f"Snapshot taken: {run.index_count} indexes, {run.table_count} tables.")
    return redirect(reverse("dashboard:dbhealth:index_usage") + f"?days={_window_days(request) or 30}")


@require_GET
@staff_permission_required(VIEW_DBHEALTH, platform_only=True)
def violations_view(request: HttpRequest) -> HttpResponse:
    days = _window_days(request)
    if days is None:
        return dbhealth_refuse(request, "The window must be 7, 30 or 90 days.")
    user = request.user
    since = timezone.now() - timedelta(days=days)
    daily = violations.violations_per_constraint_daily(user, since)
    today = timezone.now().date()
    context = {
        **page_context(request),
        **tabs_context(request, "violations", days),
        "title": "DB health: constraint violations",
        "since": since,
        "total": sum(row["count"] for row in daily),
        "constraints": violations.violation_constraint_summary(user, since),
        "recent": violations.violations_recent(user),
        "checks": violations.recent_constraint_checks(user),
        "over_time_chart": render_figure(
            charts.violations_over_time_figure(daily, since.date(), today), "dbh-violations-time"
        ),
        "sqlstate_chart": render_figure(
            charts.violations_by_sqlstate_figure(violations.violations_by_sqlstate(user, since)),
            "dbh-violations-class",
        ),
        "organization_chart": render_figure(
            charts.violations_by_organization_figure(violations.violations_by_organization(user, since)),
            "dbh-violations-org",
        ),
    }
    return render(request, "dbhealth/violations.html", context)


@require_POST
@staff_permission_required(VIEW_DBHEALTH, platform_only=True)
def constraint_check_view(request: HttpRequest) -> HttpResponse:
    form = ConstraintCheckForm(request.POST)
    if not form.is_valid():
        return dbhealth_refuse(request, "Choose a constraint to check.")
    name = form.cleaned_data["constraint"]
    if violations.constraint_check_pending(name):
        return dbhealth_refuse(request, f"A check of {name} is already queued or running.", status=409)
    try:
        services.constraint_check_start(request.user, name)
    except ValidationError as exc:
        return dbhealth_refuse(request, " ".join(exc.messages))
    messages.success(request, f"Counting the rows that violate {name}: the result appears below when done.")
    return redirect(reverse("dashboard:dbhealth:violations") + f"?days={_window_days(request) or 30}#checks")


@require_GET
@staff_permission_required(VIEW_DBHEALTH, platform_only=True)
def index_findings_export_view(request: HttpRequest) -> HttpResponse:
    file_format = export_format_get(request.GET.get("format", ""))
    if file_format is None:
        return dbhealth_refuse(request, f"Choose an export format: {FORMATS_TEXT}.")
    form = WindowForm(request.GET)
    if not form.is_valid():
        return dbhealth_refuse(request, "The window must be 7, 30 or 90 days.")
    return report_response(reports.index_findings_report(form.cleaned_data["days"]), file_format)
