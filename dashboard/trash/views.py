"""The trash pages (thin: selectors read, services write, forms validate). Each checks its permission itself,
scopes to the viewer's organization, and changes nothing on GET."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods

from dashboard.exports import (
    FORMATS_TEXT,
    export_csv_stream,
    export_format_get,
    report_response,
)
from dashboard.exports.files import export_exceeds_sync
from dashboard.exports.views import export_file_start_response
from dashboard.jobs.selectors import job_run_get_for_user
from dashboard.pages import page_refuse, page_render, page_tabs
from dashboard.permissions import MANAGE_RETENTION, PURGE_TRASH, RESTORE_TRASH, VIEW_TRASH
from dashboard.scoping import get_object_in_scope, is_platform_staff, staff_permission_required
from dashboard.trash import listing, plans, record, reports, retention, selectors, services
from dashboard.trash.forms import (
    CHECKBOX,
    PURGE_CONFIRMATION,
    PurgeForm,
    RetentionForm,
    TrashFilterForm,
    trash_filter_html,
)
from dashboard.trash.reports import TRASH_EXPORT_SOURCE
from dashboard.trash.table import trash_table_rows
from models_core.keyset import keyset_page
from models_core.models import Organization
from models_core.retention import RETENTION_KEY
from models_core.tenancy import organization_of


def _render(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    user = request.user
    tabs = [
        (reverse("dashboard:trash:list"), "Trash", "list", ""),
        (reverse("dashboard:trash:purge_records"), "Purge records", "purge_records", ""),
    ]
    if user.has_perm(MANAGE_RETENTION):
        tabs.append((reverse("dashboard:trash:retention"), "Retention", "retention", ""))
    context = {"checkbox_class": CHECKBOX, "tabs": page_tabs(request, tabs), **context}
    return page_render(request, template, context, status)


def _bad_request(request: HttpRequest, message: str, back: str | None = None) -> HttpResponse:
    return page_refuse(request, message, title="Cannot do that", back=back or reverse("dashboard:trash:list"))


def _summarize(request: HttpRequest, outcomes: list[services.Outcome], verb: str) -> None:
    """One message for what was done (with what each row took along), one per row left in the trash.

    A second success message per row would repeat the first ("Restored 1 of 1." and "Ticket #1: Restored
    1 ticket.")."""
    ok = [o for o in outcomes if o.ok]
    if ok:
        details = "; ".join(f"{o.label} ({o.message.removeprefix(f'{verb} ').rstrip('.')})" for o in ok)
        messages.success(request, f"{verb} {len(ok)} of {len(outcomes)}: {details}.")
    for outcome in outcomes:
        if not outcome.ok:
            messages.error(request, f"Left in the trash: {outcome.label}: {outcome.message}")


def _job_context(request: HttpRequest) -> dict:
    job_id = request.GET.get("job")
    if not job_id:
        return {}
    job = job_run_get_for_user(request.user, job_id)  # 404 for other people's and malformed ids
    return {"job": job, "job_status_url": reverse("dashboard:job_run_status", args=[job.pk])}


@require_GET
@staff_permission_required(VIEW_TRASH)
def trash_list_view(request: HttpRequest) -> HttpResponse:
    form = TrashFilterForm(request.GET or None, user=request.user)
    if request.GET and not form.is_valid():
        errors = "; ".join(
            f"{k}: {' '.join(v)}" if k != "__all__" else " ".join(v) for k, v in form.errors.items()
        )
        return _bad_request(request, f"Invalid filter: {errors}")
    filters = form.filters() if form.is_bound else listing.TrashFilters()
    cursor = None
    if request.GET.get("after"):
        try:
            cursor = listing.TrashCursor.decode(request.GET["after"], listing.trash_order(filters))
        except ValidationError as error:
            return _bad_request(request, " ".join(error.messages))
    page = listing.trash_list(request.user, filters, cursor)
    query = request.GET.copy()
    query.pop("after", None)
    query.pop("job", None)
    next_url = None
    if page.next_cursor:
        query["after"] = page.next_cursor
        next_url = f"?{query.urlencode()}"
        query.pop("after")
    return _render(
        request,
        "trash/list.html",
        {
            "title": "Trash",
            "form": form,
            "page": page,
            "rows_html": trash_table_rows(
                page.rows, is_platform=is_platform_staff(request.user), checkbox_class=CHECKBOX
            ),
            "filter_html": trash_filter_html(form, is_platform=is_platform_staff(request.user)),
            "next_url": next_url,
            "first_url": f"?{query.urlencode()}" if not page.first_page else None,
            "purge_order": listing.trash_order(filters) is listing.SOONEST_PURGED,
            "is_platform": is_platform_staff(request.user),
            "can_restore": request.user.has_perm(RESTORE_TRASH),
            "can_purge": request.user.has_perm(PURGE_TRASH),
            **_job_context(request),
        },
    )


def _choices_response(request: HttpRequest, choices: list[tuple[int, str]]) -> JsonResponse:
    return JsonResponse(
        {"results": [{"id": pk, "text": text} for pk, text in choices], "pagination": {"more": False}}
    )


@require_GET
@staff_permission_required(VIEW_TRASH)
def trash_organization_choices_view(request: HttpRequest) -> JsonResponse:
    """The organization filter's suggestions (platform staff; others get none, and no names)."""
    term = request.GET.get("term", "")[:100]
    return _choices_response(request, selectors.trash_organization_choices(request.user, term))


@require_GET
@staff_permission_required(VIEW_TRASH)
def trash_deleter_choices_view(request: HttpRequest) -> JsonResponse:
    """The "deleted by" filter's suggestions: staff of the viewer's organization (every one for platform)."""
    term = request.GET.get("term", "")[:100]
    return _choices_response(request, selectors.trash_deleter_choices(request.user, term))


@require_GET
@staff_permission_required(VIEW_TRASH)
def trash_detail_view(request: HttpRequest, key: str, pk: str) -> HttpResponse:
    obj = selectors.trash_item_get(request.user, key, pk)
    row = listing.TrashRow(obj=obj, organization=organization_of(obj))
    groups = record.trash_batch_rows(obj)
    row.batch_size = sum(g.count for g in groups) or 1
    return _render(
        request,
        "trash/detail.html",
        {
            "title": f"{row.type_name} {obj.trash_label}",
            "row": row,
            "fields": record.trash_item_fields(obj, request.user),
            "groups": groups,
            "rows_shown": record.BATCH_ROWS_SHOWN,
            "history": record.trash_item_history(obj),
            "can_restore": request.user.has_perm(RESTORE_TRASH),
            "can_purge": request.user.has_perm(PURGE_TRASH),
        },
    )


def _items(request: HttpRequest, data: Any) -> list:
    return selectors.trash_items_get(request.user, data.getlist("items"))


GONE = (
    "Some selected records are not in the trash any more: restored or purged meanwhile, or the address is "
    "wrong."
)


def _gone(request: HttpRequest, verb: str) -> HttpResponse:
    """A selection that left the trash before this request got to it (purged or restored by another request,
    or by this user's own first click of a double click): what became of it, or the console's 404 page
    saying so (the same words for a row that was never the user's to see: nothing is told about it)."""
    if request.method == "POST":
        outcomes = services.trash_earlier_outcomes(request.user, request.POST.getlist("items"), verb)
        if outcomes is not None:
            _summarize(request, outcomes, "Purged" if verb == "purge" else "Restored")
            return redirect("dashboard:trash:list")
    raise Http404(GONE)


def _parent_batches(data: Any) -> list[uuid.UUID]:
    try:
        return [uuid.UUID(v) for v in data.getlist("parent_batches")]
    except ValueError as exc:
        raise ValidationError("Not a batch id.") from exc


@require_http_methods(["GET", "POST"])
@staff_permission_required(RESTORE_TRASH)
def trash_restore_view(request: HttpRequest) -> HttpResponse:
    data = request.POST if request.method == "POST" else request.GET
    try:
        items = _items(request, data)
        parent_batches = _parent_batches(data)
    except ValidationError as error:
        return _bad_request(request, " ".join(error.messages))
    except Http404:
        return _gone(request, "restore")
    if request.method == "POST":
        started = services.trash_restore_start(user=request.user, items=items, parent_batches=parent_batches)
        if started.job is not None:
            messages.info(
                request,
                f"Restoring more than {selectors.BACKGROUND_THRESHOLD:,} rows in the background; "
                "progress is shown below.",
            )
            return redirect(f"{reverse('dashboard:trash:list')}?{urlencode({'job': started.job.pk})}")
        _summarize(request, started.outcomes, "Restored")
        return redirect("dashboard:trash:list")
    plan = plans.trash_restore_plan(request.user, items)
    return _render(
        request,
        "trash/restore_plan.html",
        {
            "title": "Restore from the trash",
            "plan": plan,
            "total": sum(p.total for p in plan),
            "background_threshold": selectors.BACKGROUND_THRESHOLD,
        },
    )


@require_http_methods(["GET", "POST"])
@staff_permission_required(PURGE_TRASH)
def trash_purge_view(request: HttpRequest) -> HttpResponse:
    data = request.POST if request.method == "POST" else request.GET
    try:
        items = _items(request, data)
    except ValidationError as error:
        return _bad_request(request, " ".join(error.messages))
    except Http404:
        return _gone(request, "purge")
    bulk = len(items) > 1
    form = PurgeForm(request.POST if request.method == "POST" else None, bulk=bulk)
    try:
        previews = plans.trash_purge_preview(request.user, items)
    except ObjectDoesNotExist:
        return _gone(request, "purge")  # a row the walk reached went meanwhile
    if request.method == "GET" and not selectors.trash_items_present(items):
        # Purged (or restored) while the preview was walked: it would show what is no longer there. (A
        # POST goes on: the purge locks the rows and reports what became of each.)
        return _gone(request, "purge")
    total = sum(p.total for p in previews)
    if request.method == "POST" and form.is_valid():
        reason = form.cleaned_data["reason"].strip()
        started = services.trash_purge_start(user=request.user, items=items, reason=reason, total=total)
        if started.job is not None:
            messages.info(request, f"Purging {started.rows} rows in the background; progress is shown below.")
            return redirect(f"{reverse('dashboard:trash:list')}?{urlencode({'job': started.job.pk})}")
        _summarize(request, started.outcomes, "Purged")
        return redirect("dashboard:trash:list")
    return _render(
        request,
        "trash/purge_preview.html",
        {
            "title": "Purge from the trash",
            "previews": previews,
            "total": total,
            "form": form,
            "bulk": bulk,
            "confirmation_word": PURGE_CONFIRMATION,
            "background_threshold": selectors.BACKGROUND_THRESHOLD,
        },
        status=400 if form.is_bound else 200,
    )


PURGE_RECORDS_PAGE = 50
ORGANIZATION_MATCHES = 20


@require_GET
@staff_permission_required(VIEW_TRASH)
def purge_records_view(request: HttpRequest) -> HttpResponse:
    records = selectors.purge_records_visible_to(request.user)
    model = request.GET.get("model", "")
    if model:
        records = records.filter(model_label=model)
    if request.GET.get("export") == "csv":
        return export_csv_stream(
            reports.PURGE_RECORD_HEADERS, reports.purge_record_rows(records), "purge-records"
        )
    before = request.GET.get("before", "")
    try:
        rows, next_before = keyset_page(
            records.select_related("purged_by"), before, PURGE_RECORDS_PAGE, descending=True
        )
    except ValueError as error:
        return _bad_request(request, str(error))
    query = request.GET.copy()
    query.pop("before", None)
    next_url = None
    if next_before is not None:
        query["before"] = next_before
        next_url = f"?{query.urlencode()}"
        query.pop("before")
    query["export"] = "csv"
    return _render(
        request,
        "trash/purge_records.html",
        {
            "title": "Purge records",
            "records": selectors.purge_record_rows(rows),
            "next_url": next_url,
            "first_url": f"?{urlencode({'model': model})}" if before else None,
            "export_url": f"?{query.urlencode()}",
            "model_choices": [(m._meta.label, label) for m, (_k, label) in _labels()],
            "model": model,
            **selectors.pending_files_visible_to(request.user),
        },
    )


def _labels() -> list:
    return list(zip(selectors.trash_models(), selectors.trash_model_choices(), strict=True))


@require_http_methods(["GET", "POST"])
@staff_permission_required(MANAGE_RETENTION)
def retention_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    organization = None
    organizations = None
    if is_platform_staff(user):
        # A search, not a <select> of every organization: there are thousands.
        query = request.GET.get("q", "").strip()[:100]
        matches = Organization.objects.filter(name__icontains=query) if query else Organization.objects.all()
        organizations = list(matches.order_by("name").values_list("pk", "name")[:ORGANIZATION_MATCHES])
        org_id = request.POST.get("organization") or request.GET.get("organization")
        if org_id:
            organization = get_object_in_scope(Organization.objects.all(), user, org_id)
    else:
        organization = get_object_in_scope(Organization.objects.all(), user, user.organization_id)
    current = (organization.settings or {}).get(RETENTION_KEY) or {} if organization else {}
    form = RetentionForm(request.POST if request.method == "POST" else None, current=current)
    if request.method == "POST":
        if organization is None:
            return _bad_request(
                request, "Choose an organization first.", reverse("dashboard:trash:retention")
            )
        if form.is_valid():
            try:
                retention.retention_policy_update(user, organization, form.cleaned_data)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(
                    request, f"Retention of {organization.name} saved; it applies to new deletes."
                )
                url = reverse("dashboard:trash:retention")
                if organizations is not None:
                    url += f"?{urlencode({'organization': organization.pk})}"
                return redirect(url)
    return _render(
        request,
        "trash/retention.html",
        {
            "title": "Retention",
            "form": form,
            "organization": organization,
            "organizations": organizations,
            "organization_query": request.GET.get("q", "")[:100],
            "organization_matches_max": ORGANIZATION_MATCHES,
            "platform_default": settings.CUSTODIAN_DEFAULT_RETENTION_DAYS,
        },
        status=400 if form.is_bound and form.errors else 200,
    )


@require_GET
@staff_permission_required(VIEW_TRASH)
def trash_export_view(request: HttpRequest) -> HttpResponse:
    """The trash list as a file, with the list's filters from the query string; above
    CUSTODIAN_EXPORT_SYNC_MAX_ROWS rows a background job writes it and this answers with the file's page."""
    format_key = request.GET.get("format", "")
    file_format = export_format_get(format_key)
    if file_format is None:
        return _bad_request(request, f"Choose an export format: {FORMATS_TEXT}.")
    try:
        filters = reports.trash_export_filters(request.user, request.GET)
    except ValidationError as error:
        return _bad_request(request, " ".join(error.messages))
    if export_exceeds_sync(lambda limit: listing.trash_count(request.user, filters, limit)):
        query = request.GET.copy()
        query.pop("after", None)
        return export_file_start_response(
            request,
            source=TRASH_EXPORT_SOURCE,
            query=query.urlencode(),
            format_key=format_key,
            back=reverse("dashboard:trash:list"),
        )
    if file_format.get_extension() == "csv":
        # Streamed: every row, a keyset page at a time.
        response = export_csv_stream(
            reports.TRASH_HEADERS, reports.trash_rows(request.user, filters), "trash"
        )
        response["X-Export-Truncated"] = "false"
        return response
    return report_response(reports.trash_report(request.user, filters), file_format)
