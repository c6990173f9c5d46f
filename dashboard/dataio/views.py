"""Report downloads (thin: dashboard.dataio.reports builds, services.export_response answers).

Each view checks the permission of the page it exports, reads the same filters from the query string, and
answers 400 for a bad format or bad filters. GET only: a download changes nothing.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from dashboard.scoping import staff_permission_required

from . import reports
from .services import export_format_get, export_response

FORMATS_TEXT = "csv, xlsx or json"


def _refused(request: HttpRequest, message: str, status: int = 400) -> HttpResponse:
    context = {**admin.site.each_context(request), "title": "Export", "message": message}
    return render(request, "dataio/refused.html", context, status=status)


def _download(request: HttpRequest, report: reports.Report, file_format) -> HttpResponse:
    response = export_response(report.dataset, file_format, report.filename_stem)
    # Says so when the cap cut the report short (the file itself stays plain data).
    response["X-Export-Truncated"] = "true" if report.truncated else "false"
    return response


@require_GET
@staff_permission_required("dashboard.view_trash")
def trash_export_view(request: HttpRequest) -> HttpResponse:
    from dashboard.trash.forms import TrashFilterForm
    from dashboard.trash.selectors import TrashFilters

    file_format = export_format_get(request.GET.get("format", ""))
    if file_format is None:
        return _refused(request, f"Choose an export format: {FORMATS_TEXT}.")
    query = request.GET.copy()
    query.pop("format", None)
    query.pop("after", None)
    form = TrashFilterForm(query or None, user=request.user)
    if form.is_bound and not form.is_valid():
        errors = "; ".join(" ".join(messages) for messages in form.errors.values())
        return _refused(request, f"Invalid filter: {errors}")
    filters = form.filters() if form.is_bound else TrashFilters()
    return _download(request, reports.trash_report(request.user, filters), file_format)


@require_GET
@staff_permission_required("dashboard.view_dbhealth", platform_only=True)
def index_findings_export_view(request: HttpRequest) -> HttpResponse:
    from dashboard.dbhealth.forms import WindowForm

    file_format = export_format_get(request.GET.get("format", ""))
    if file_format is None:
        return _refused(request, f"Choose an export format: {FORMATS_TEXT}.")
    form = WindowForm(request.GET)
    if not form.is_valid():
        return _refused(request, "The window must be 7, 30 or 90 days.")
    return _download(request, reports.index_findings_report(form.cleaned_data["days"]), file_format)
