"""An export file's page (it follows the job writing it, then offers the download) and the download.

Only the requester sees either: 404 for anyone else. The download answers 409 until the file is ready, so
a file a killed worker left half-written is never handed out.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET

from dashboard.exports import EXPORT_FORMATS
from dashboard.exports.files import export_file_start
from dashboard.exports.models import ExportFile
from dashboard.exports.selectors import export_file_bytes, export_file_get_for_user
from dashboard.pages import page_refuse, page_render
from dashboard.scoping import staff_permission_required


def export_file_start_response(
    request: HttpRequest, *, source: str, query: str, format_key: str, back: str
) -> HttpResponse:
    """Start the background export of `source` for the requester and send them to its file's page (which
    follows the job, then offers the download). A query or format the source refuses answers 400 with its
    message and starts nothing. The one answer of every export too big for a request."""
    try:
        export = export_file_start(user=request.user, source=source, query=query, format_key=format_key)
    except ValidationError as error:
        return page_refuse(request, " ".join(error.messages), title="Cannot export that", back=back)
    return redirect("dashboard:exports:file", export.pk)


@require_GET
@staff_permission_required()
def export_file_view(request: HttpRequest, export_id: int) -> HttpResponse:
    export = export_file_get_for_user(request.user, export_id)
    job = export.job
    context = {
        "title": f"Export: {export.file_name}",
        "export": export,
        "job": job,
        "job_status_url": reverse("dashboard:job_run_status", args=[job.pk]) if job else "",
        "download_url": reverse("dashboard:exports:file_download", args=[export.pk]),
        "ttl_hours": settings.CUSTODIAN_EXPORT_FILE_TTL_HOURS,
    }
    return page_render(request, "dashboard/export_file.html", context)


@require_GET
@staff_permission_required()
def export_file_download_view(request: HttpRequest, export_id: int) -> HttpResponse:
    export = export_file_get_for_user(request.user, export_id)
    if export.status != ExportFile.Status.READY:
        return page_refuse(
            request,
            "This file is not ready: its job is still writing it, or failed. Its page says which.",
            back=reverse("dashboard:exports:file", args=[export.pk]),
            status=409,
            title="Not ready",
        )
    response = StreamingHttpResponse(
        export_file_bytes(export), content_type=EXPORT_FORMATS[export.format_key]().get_content_type()
    )
    response["Content-Disposition"] = f'attachment; filename="{export.file_name}"'
    response["Content-Length"] = str(export.size_bytes)
    response["X-Export-Truncated"] = "true" if export.truncated else "false"
    return response
