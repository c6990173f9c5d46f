"""The page of a large upload (dashboard.dataio.uploads): it follows the preview job, then shows the preview
in pages with a summary, and confirms through a job; the download of all its errors.

Only the uploader sees an upload (404 for anyone else's), and only while they may still import its model.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.apps import apps
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from dashboard.exports import export_csv_stream
from dashboard.pages import page_refuse, page_render
from dashboard.scoping import staff_permission_required

from .models import ImportUpload
from .selectors import import_preview_errors, import_preview_page, import_upload_get_for_user
from .uploads import import_permitted, import_upload_confirm_start

MAX_ROW_NUMBER = 2**31 - 1  # ImportPreviewRow.number is a PostgreSQL integer
KINDS = {
    "new": ("New", "success"),
    "update": ("Update", "info"),
    "skip": ("Unchanged", "warning"),
    "delete": ("Delete", "danger"),
    "invalid": ("Refused", "danger"),
    "error": ("Refused", "danger"),
}


def _get_own(request: HttpRequest, upload_id: int) -> tuple[ImportUpload, type]:
    upload = import_upload_get_for_user(request.user, upload_id)
    model = apps.get_model(upload.model_label)
    if not import_permitted(request.user, model):
        raise PermissionDenied
    return upload, model


def _changelist(model: type) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


@require_GET
@staff_permission_required()
def import_upload_view(request: HttpRequest, upload_id: int) -> HttpResponse:
    upload, model = _get_own(request, upload_id)
    import_url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_import")
    failing_only = request.GET.get("show") == "errors"
    try:
        after = int(request.GET.get("after") or 0)
    except ValueError:
        after = -1
    if not 0 <= after <= MAX_ROW_NUMBER:
        return page_refuse(request, "This page of the preview does not exist.", back=request.path)
    job = upload.confirm_job or upload.preview_job
    page = None
    if upload.status in (ImportUpload.Status.PREVIEWED, ImportUpload.Status.REFUSED):
        page = import_preview_page(
            upload, failing_only=failing_only, after=after, size=settings.CUSTODIAN_IMPORT_PREVIEW_PAGE_ROWS
        )
        for row in page.rows:
            row.kind_label, row.kind_variant = KINDS.get(row.import_type, (row.import_type, "info"))
    query = {"show": "errors"} if failing_only else {}
    context = {
        "title": f"Import {model._meta.verbose_name_plural}: {upload.original_file_name}",
        "upload": upload,
        "opts": model._meta,
        "job": job,
        "job_status_url": reverse("dashboard:job_run_status", args=[job.pk]) if job else "",
        "page": page,
        "failing_only": failing_only,
        "totals": _totals(upload),
        "next_url": _url(request.path, {**query, "after": page.next_after})
        if page and page.next_after
        else "",
        "first_url": _url(request.path, query) if after else "",
        "all_url": request.path,
        "errors_url": _url(request.path, {"show": "errors"}),
        "errors_export_url": reverse("dashboard:exports:import_errors", args=[upload.pk]),
        "confirm_url": reverse("dashboard:dataio_upload_confirm", args=[upload.pk]),
        "import_url": import_url,
        "changelist_url": _changelist(model),
        "may_confirm": upload.status == ImportUpload.Status.PREVIEWED
        and (upload.confirm_job is None or upload.confirm_job.status in ("failed", "cancelled")),
    }
    return page_render(request, "dataio/upload.html", context)


def _url(path: str, query: dict) -> str:
    return f"{path}?{urlencode(query)}" if query else path


def _totals(upload: ImportUpload) -> list[tuple[str, int]]:
    totals = upload.totals or {}
    refused = totals.get("invalid", 0) + totals.get("error", 0)
    return [
        ("New", totals.get("new", 0)),
        ("Changed", totals.get("update", 0)),
        ("Unchanged", totals.get("skip", 0)),
        ("Refused", refused),
    ]


@require_POST
@staff_permission_required()
def import_upload_confirm_view(request: HttpRequest, upload_id: int) -> HttpResponse:
    upload, _ = _get_own(request, upload_id)
    back = reverse("dashboard:dataio_upload", args=[upload.pk])
    try:
        import_upload_confirm_start(user=request.user, upload=upload)
    except ValidationError as error:
        if error.code not in ("done", "running"):
            return page_refuse(request, " ".join(error.messages), back=back, title="Not imported")
        # A double submit (or a second tab): the page shows the import this upload already has.
        messages.info(request, " ".join(error.messages))
    else:
        messages.info(request, "The import has started; this page follows it.")
    return redirect(back)


@require_GET
@staff_permission_required()
def import_errors_export_view(request: HttpRequest, upload_id: int) -> HttpResponse:
    upload, model = _get_own(request, upload_id)
    rows = ((number, column or "(row)", message) for number, column, message in import_preview_errors(upload))
    return export_csv_stream(
        ["row", "column", "error"], rows, f"{model._meta.verbose_name_plural} import errors"
    )
