"""Imports of large files as background jobs: the upload is stored, previewed by a job, confirmed by a job.

Files of more than CUSTODIAN_IMPORT_SYNC_MAX_ROWS rows take this path (a 2,000-row preview outlasts a web
request); smaller ones keep import-export's two requests (dashboard.dataio.admin). Both go through the same
rules (dashboard.dataio.services: parsing, columns, `import_confirm`; the resources' row rules).

- `import_upload_start` stores the file with what it is for and starts its preview job.
- The preview job (`import_upload_preview`) runs the dry run, reporting progress per row, and keeps every
  row's outcome, cells and errors (ImportPreviewRow) for the paged preview page.
- `import_upload_confirm_start` starts the confirm job of a previewed upload; the job
  (`import_upload_confirm`) locks the upload, imports the whole file and marks the upload imported in one
  transaction: killed part-way, nothing was written and the upload is still waiting; run twice (a retry),
  the second run finds it imported and imports nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import tablib
from django.conf import settings
from django.contrib.admin.models import ADDITION, CHANGE, DELETION
from django.contrib.auth import get_permission_codename
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from import_export.results import Result, RowResult

from dashboard.adminlog import admin_log_write
from dashboard.exports import EXPORT_FORMATS
from dashboard.jobs.models import JobRun
from dashboard.jobs.services import Progress, job_progress_beside, job_run_start
from dashboard.scoping import is_console_user

from .models import ImportPreviewRow, ImportUpload
from .resources import ScopedModelResource
from .services import import_columns_check, import_confirm, import_dataset_parse, import_result_failed

PREVIEW_JOB = "import_preview"  # "Import preview" on the home page
CONFIRM_JOB = "import_confirm"
# import_type of a row that failed validation (import-export's RowResult.IMPORT_TYPE_INVALID)
FAILED_TYPES = (RowResult.IMPORT_TYPE_INVALID, RowResult.IMPORT_TYPE_ERROR)
LOG_FLAGS = {
    RowResult.IMPORT_TYPE_NEW: ADDITION,
    RowResult.IMPORT_TYPE_UPDATE: CHANGE,
    RowResult.IMPORT_TYPE_DELETE: DELETION,
}


def import_in_background(row_count: int) -> bool:
    """Does a file of `row_count` rows import through jobs (above CUSTODIAN_IMPORT_SYNC_MAX_ROWS)?"""
    return row_count > settings.CUSTODIAN_IMPORT_SYNC_MAX_ROWS


def import_permitted(user: Any, model: type[models.Model]) -> bool:
    """An import creates and updates rows: the model's add and change rights, on a console account."""
    opts = model._meta
    return is_console_user(user) and all(
        user.has_perm(f"{opts.app_label}.{get_permission_codename(action, opts)}")
        for action in ("add", "change")
    )


def _refuse_unless_permitted(user: Any, model: type[models.Model]) -> None:
    if not import_permitted(user, model):
        raise PermissionDenied(f"You may not import {model._meta.verbose_name_plural}.")


def import_upload_start(
    *,
    user: Any,
    resource_class: type[ScopedModelResource],
    format_key: str,
    file_name: str,
    data: bytes,
    row_count: int,
) -> ImportUpload:
    """Store a checked upload and start its preview job (the upload and the job are one transaction)."""
    model = resource_class._meta.model
    _refuse_unless_permitted(user, model)
    if format_key not in EXPORT_FORMATS:
        raise ValidationError(f"Unknown import format {format_key!r}.", code="format")
    with transaction.atomic():
        upload = ImportUpload.objects.create(
            model_label=model._meta.label_lower,
            resource_path=f"{resource_class.__module__}.{resource_class.__qualname__}",
            format_key=format_key,
            original_file_name=file_name[:255],
            data=data,
            row_count=row_count,
            uploaded_by=user,
            organization_id=getattr(user, "organization_id", None),
        )
        upload.preview_job = job_run_start(PREVIEW_JOB, user, "dataio.preview_upload", upload_id=upload.pk)
        upload.save(update_fields=["preview_job"])
    return upload


def _resource_for(upload: ImportUpload) -> ScopedModelResource:
    """The upload's resource, built for its uploader, whose right to import is checked again now."""
    resource_class = import_string(upload.resource_path)
    if not (
        isinstance(resource_class, type)
        and issubclass(resource_class, ScopedModelResource)
        and resource_class._meta.model._meta.label_lower == upload.model_label
    ):
        raise ValidationError("This upload names no import of its model.", code="resource")
    _refuse_unless_permitted(upload.uploaded_by, resource_class._meta.model)
    return resource_class(user=upload.uploaded_by)


def _dataset(upload: ImportUpload, resource: ScopedModelResource) -> tablib.Dataset:
    dataset = import_dataset_parse(bytes(upload.data), EXPORT_FORMATS[upload.format_key])
    import_columns_check(dataset, resource)
    return dataset


def _row_reporter(report: Progress, total: int) -> Callable[[int], None]:
    """Report about 50 times per file: each report is a write of its own."""
    step = max(1, total // 50)

    def on_row(number: int) -> None:
        if number % step == 0 or number == total:
            report(number, total)

    return on_row


def _run(upload: ImportUpload, report: Progress, run: Callable[..., Result]) -> tuple[tablib.Dataset, Result]:
    resource = _resource_for(upload)
    dataset = _dataset(upload, resource)
    report(0, len(dataset))
    resource.on_row = _row_reporter(report, len(dataset))
    return dataset, run(resource, dataset)


def _errors_of(row_result: RowResult) -> list[list[str]]:
    errors: list[list[str]] = []
    error = row_result.validation_error
    if error is not None:
        by_column = error.message_dict if hasattr(error, "error_dict") else {NON_FIELD_ERRORS: error.messages}
        for column, messages in by_column.items():
            errors.extend(["" if column == NON_FIELD_ERRORS else column, str(m)] for m in messages)
    for failure in row_result.errors:
        text = str(failure.error).strip().splitlines()
        errors.append(["", (text[0] if text else type(failure.error).__name__)[:500]])
    return errors


def _preview_store(upload: ImportUpload, dataset: tablib.Dataset, result: Result) -> None:
    """Keep the run's rows (replacing any earlier run's) and its totals on the upload."""
    headers = list(result.diff_headers)
    file_headers = list(dataset.headers or [])
    rows, error_columns = [], {}
    for number, (row_result, values) in enumerate(zip(result.rows, dataset, strict=False), 1):
        cells = getattr(row_result.diff, "pairs", None)
        if cells is None:  # a failing row has no diff: show the file's values
            by_header = dict(zip(file_headers, values, strict=False))
            cells = [["", "" if by_header.get(h) is None else str(by_header[h])] for h in headers]
        errors = _errors_of(row_result)
        for column in dict.fromkeys(column for column, _ in errors):
            error_columns[column] = error_columns.get(column, 0) + 1
        rows.append(
            ImportPreviewRow(
                upload=upload, number=number, import_type=row_result.import_type, cells=cells, errors=errors
            )
        )
    ImportPreviewRow.objects.filter(upload=upload).delete()
    ImportPreviewRow.objects.bulk_create(rows, batch_size=500)
    upload.headers = headers
    upload.totals = dict(result.totals)
    upload.error_columns = error_columns
    upload.error = "; ".join(str(e.error) for e in result.base_errors)[:2000]


def _summary(upload: ImportUpload, **extra: Any) -> dict:
    return {"upload": upload.pk, "status": upload.status, "totals": upload.totals, **extra}


def _refused(upload: ImportUpload, error: ValidationError | PermissionDenied) -> dict:
    messages = error.messages if isinstance(error, ValidationError) else [str(error)]
    upload.status = ImportUpload.Status.REFUSED
    upload.error = " ".join(messages)[:2000]
    upload.save(update_fields=["status", "error"])
    return _summary(upload, error=upload.error)


def import_upload_preview(*, upload_id: int, job_run_id: int | None = None) -> dict:
    """The preview job's body: the dry run of the stored file, every row kept for the preview page."""
    upload = ImportUpload.objects.select_related("uploaded_by").get(pk=upload_id)
    if upload.status != ImportUpload.Status.PREVIEWING:
        return _summary(upload)  # previewed already (a job delivered twice)

    def dry_run(resource: ScopedModelResource, dataset: tablib.Dataset) -> Result:
        return resource.import_data(
            dataset, dry_run=True, raise_errors=False, file_name=upload.original_file_name, user=resource.user
        )

    with job_progress_beside(job_run_id) as report:
        try:
            dataset, result = _run(upload, report, dry_run)
        except (ValidationError, PermissionDenied) as error:
            return _refused(upload, error)
    with transaction.atomic():
        upload = ImportUpload.objects.select_for_update().select_related("uploaded_by").get(pk=upload_id)
        if upload.status != ImportUpload.Status.PREVIEWING:
            return _summary(upload)
        _preview_store(upload, dataset, result)
        failed = import_result_failed(result) or bool(upload.error)
        upload.status = ImportUpload.Status.REFUSED if failed else ImportUpload.Status.PREVIEWED
        upload.save()
    return _summary(upload)


def import_upload_confirm_start(*, user: Any, upload: ImportUpload) -> ImportUpload:
    """Start the confirm job of an upload this user previewed; ValidationError when it cannot be (now)."""
    if upload.uploaded_by_id != user.pk:
        raise PermissionDenied("Only the person who uploaded a file confirms its import.")
    with transaction.atomic():
        upload = (
            ImportUpload.objects.select_for_update(of=("self",))
            .select_related("confirm_job")
            .get(pk=upload.pk)
        )
        _refuse_unless_permitted(user, _resource_for(upload)._meta.model)
        if upload.status == ImportUpload.Status.IMPORTED:
            raise ValidationError("This file was imported already: nothing was imported now.", code="done")
        if upload.status != ImportUpload.Status.PREVIEWED:
            raise ValidationError("This file's preview is not ready, or has errors.", code="not_ready")
        if upload.confirm_job is not None and not upload.confirm_job.is_finished:
            raise ValidationError("This import is already running.", code="running")
        upload.confirm_job = job_run_start(CONFIRM_JOB, user, "dataio.confirm_upload", upload_id=upload.pk)
        upload.save(update_fields=["confirm_job"])
    return upload


def import_upload_confirm(*, upload_id: int, job_run_id: int | None = None) -> dict:
    """The confirm job's body: the whole file, the admin log and "imported" in one transaction, or nothing.

    The upload's row lock makes a second run (a retry, a job delivered twice) wait for the first and then
    find the upload imported. Rows that fail now (the data changed since the preview) roll the import back;
    the upload then shows those rows' errors.
    """
    with job_progress_beside(job_run_id) as report, transaction.atomic():
        upload = ImportUpload.objects.select_for_update().select_related("uploaded_by").get(pk=upload_id)
        if upload.status == ImportUpload.Status.IMPORTED:
            return _summary(upload, imported=False, message="Imported already; nothing was imported again.")
        if upload.status != ImportUpload.Status.PREVIEWED:
            return _summary(upload, imported=False, message="This file's preview has errors.")

        def confirm(resource: ScopedModelResource, dataset: tablib.Dataset) -> Result:
            return import_confirm(
                resource,
                dataset,
                file_name=upload.original_file_name,
                user=resource.user,
                retain_instance_in_row_result=True,
            )

        try:
            dataset, result = _run(upload, report, confirm)
        except (ValidationError, PermissionDenied) as error:
            return _refused(upload, error)
        if import_result_failed(result):
            _preview_store(upload, dataset, result)
            upload.status = ImportUpload.Status.REFUSED
            upload.save()
            return _summary(upload, imported=False, message="Nothing was imported: some rows fail now.")
        _admin_log(upload.uploaded_by, result)
        ImportPreviewRow.objects.filter(upload=upload).delete()
        upload.status = ImportUpload.Status.IMPORTED
        upload.totals = dict(result.totals)
        upload.imported_at = timezone.now()
        upload.data = b""
        upload.save()
    return _summary(upload, imported=True)


def _admin_log(user: Any, result: Result) -> None:
    """One admin log entry per imported row, as import-export's admin writes them for small files."""
    for import_type, flag in LOG_FLAGS.items():
        instances = [row.instance for row in result.rows if row.import_type == import_type and row.instance]
        admin_log_write(
            user, instances, flag=flag, message=lambda obj, t=import_type: f"{t} through import_export"
        )


def import_stored_uploads_prune(older_than_hours: int | None = None) -> int:
    """Delete stored uploads (and their previews) older than CUSTODIAN_IMPORT_UPLOAD_TTL_HOURS; how many.

    An upload whose confirm job is still queued or running is kept: the job holds or will take its lock.
    """
    hours = older_than_hours if older_than_hours is not None else settings.CUSTODIAN_IMPORT_UPLOAD_TTL_HOURS
    cutoff = timezone.now() - timedelta(hours=hours)
    old = ImportUpload.objects.filter(created_at__lt=cutoff).exclude(
        confirm_job__status__in=JobRun.UNFINISHED
    )
    _, deleted = old.delete()
    return deleted.get(ImportUpload._meta.label, 0)
