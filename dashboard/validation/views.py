"""Pages of the validation reports (thin: reads in selectors, writes in services)."""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.text import capfirst
from django.views.decorators.http import require_GET, require_POST

from dashboard.exports import FORMATS_TEXT, export_format_get, report_response
from dashboard.exports.files import export_exceeds_sync
from dashboard.exports.views import export_file_start_response
from dashboard.pages import page_refuse, page_render
from dashboard.permissions import RUN_VALIDATION_SCAN, VIEW_VALIDATION_REPORT
from dashboard.scoping import get_object_in_scope, staff_permission_required
from dashboard.validation import charts, reports, selectors, services


def _refuse(request: HttpRequest, message: str, status: int = 400, back: str | None = None) -> HttpResponse:
    return page_refuse(request, message, status=status, back=back or reverse("dashboard:validation:index"))


@require_GET
@staff_permission_required(VIEW_VALIDATION_REPORT)
def validation_overview_view(request: HttpRequest) -> HttpResponse:
    scan = selectors.scan_show_to(selectors.scan_for_report(request.GET.get("scan")), request.user)
    rows = selectors.scan_results(scan, request.user) if scan else []
    trend = selectors.scan_trend(request.user)
    running = selectors.scan_in_progress()
    return page_render(
        request,
        "validation/overview.html",
        {
            "title": "Validation reports",
            "scan": scan,
            "rows": rows,
            "errored": [r for r in rows if r.errored],
            "totals": {
                "violations": sum(r.violations for r in rows),
                "waived": sum(r.waived for r in rows),
                "new": sum(r.new for r in rows),
                "resolved": sum(r.resolved for r in rows),
            },
            "by_rule_figure": charts.violations_by_rule_figure(rows) if rows else None,
            "trend_figure": charts.violations_trend_figure(trend) if len(trend) > 1 else None,
            "recent_scans": selectors.scans_recent(request.user),
            "running": running,
            "can_run": request.user.has_perm(RUN_VALIDATION_SCAN),
        },
    )


@require_POST
@staff_permission_required(RUN_VALIDATION_SCAN)
def validation_scan_start_view(request: HttpRequest) -> HttpResponse:
    try:
        scan = services.validation_scan_start(request.user)
    except services.ScanRefused as exc:
        return _refuse(request, f"{exc} Wait for it to finish before starting another.", status=409)
    messages.success(request, f"Scan #{scan.pk} is queued; this page follows its progress.")
    return redirect("dashboard:validation:index")


def field_title(model: type[models.Model], name: str) -> str:
    """A field's verbose name ("SLA breach"), not its column name ("sla_breach"); rules may name a
    non-field ("__all__") or a computed one."""
    try:
        return capfirst(str(model._meta.get_field(name).verbose_name))
    except FieldDoesNotExist:
        return capfirst(name.replace("_", " ").strip()) or "—"


@require_GET
@staff_permission_required(VIEW_VALIDATION_REPORT)
def validation_rule_view(request: HttpRequest, model_name: str, rule_name: str) -> HttpResponse:
    model, rule = selectors.rule_resolve(model_name, rule_name)
    try:
        rows, next_after = selectors.failing_rows_page(
            model, rule, request.user, after=request.GET.get("after")
        )
    except ValueError as exc:
        return _refuse(request, str(exc), back=request.path)
    return page_render(
        request,
        "validation/rule.html",
        {
            "title": f"{capfirst(str(model._meta.verbose_name))}: {rule.name}",
            "model": model,
            "model_name": model._meta.model_name,
            "model_title": capfirst(str(model._meta.verbose_name)),
            "field_title": field_title(model, rule.field_name),
            "rule": rule,
            "rows": rows,
            "next_after": next_after,
            "is_first_page": not request.GET.get("after"),
            "summary": selectors.rule_summary(model, rule, request.user),
            "waivers": selectors.waivers_in_scope(request.user, model, rule)[:50],
            "can_waive": request.user.has_perm(RUN_VALIDATION_SCAN),
            "default_expiry": (timezone.now() + datetime.timedelta(days=90)).date().isoformat(),
            "max_expiry": (timezone.now() + datetime.timedelta(days=services.MAX_WAIVER_DAYS))
            .date()
            .isoformat(),
            "now": timezone.now(),
            "export_cap": selectors.EXPORT_CAP,
        },
    )


@require_GET
@staff_permission_required(VIEW_VALIDATION_REPORT)
def validation_rule_export_view(request: HttpRequest, model_name: str, rule_name: str) -> HttpResponse:
    model, rule = selectors.rule_resolve(model_name, rule_name)
    format_key = request.GET.get("format", "csv")
    file_format = export_format_get(format_key)
    if file_format is None:
        return _refuse(request, f"Unknown export format: use {FORMATS_TEXT}.")
    if export_exceeds_sync(lambda limit: reports.failing_records_count(model, rule, request.user, limit)):
        # Written by a background job; this answers with the file's page.
        query = urlencode({"model": model_name, "rule": rule_name, "format": format_key})
        return export_file_start_response(
            request,
            source=reports.VALIDATION_EXPORT_SOURCE,
            query=query,
            format_key=format_key,
            back=reverse("dashboard:validation:rule", args=[model_name, rule_name]),
        )
    return report_response(reports.failing_records_report(model, rule, request.user), file_format)


def _parse_expiry(value: str | None) -> datetime.datetime:
    try:
        day = datetime.date.fromisoformat((value or "").strip())
    except ValueError as exc:
        raise ValidationError({"expires_at": "Give the expiry as a date (YYYY-MM-DD)."}) from exc
    # The waiver holds through the whole expiry day.
    return datetime.datetime.combine(day, datetime.time.max, tzinfo=datetime.UTC)


@require_POST
@staff_permission_required(RUN_VALIDATION_SCAN)
def validation_waiver_create_view(request: HttpRequest, model_name: str, rule_name: str) -> HttpResponse:
    model, rule = selectors.rule_resolve(model_name, rule_name)
    back = reverse("dashboard:validation:rule", args=[model_name, rule_name])
    instance = get_object_in_scope(
        model._default_manager.all(),
        request.user,
        request.POST.get("object_id"),
        scoped=selectors.rows_in_scope(model, request.user),
    )
    try:
        services.waiver_accept(
            user=request.user,
            model=model,
            rule=rule,
            instance=instance,
            reason=request.POST.get("reason", ""),
            expires_at=_parse_expiry(request.POST.get("expires_at")),
        )
    except ValidationError as exc:
        return _refuse(request, " ".join(exc.messages), back=back)
    messages.success(
        request, f"The violation of {instance} is accepted until {request.POST.get('expires_at')}."
    )
    return redirect(back)


@require_POST
@staff_permission_required(RUN_VALIDATION_SCAN)
def validation_waiver_revoke_view(request: HttpRequest, waiver_id: int) -> HttpResponse:
    waiver = selectors.waiver_get_for_user(request.user, waiver_id)
    services.waiver_revoke(user=request.user, waiver=waiver)
    messages.success(request, "The waiver is revoked; the violation counts again.")
    model_name = waiver.model_label.split(".")[-1]
    return redirect("dashboard:validation:rule", model_name, waiver.rule_name)
