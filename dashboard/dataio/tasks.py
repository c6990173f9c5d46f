"""procrastinate tasks of import and export (autodiscovered: PROCRASTINATE_AUTODISCOVER_MODULE_NAME)."""

from django.db.models import Q
from django.urls import reverse
from procrastinate.contrib.django import app

from dashboard.dataio.exports import ADMIN_EXPORT_SOURCE, admin_export_build
from dashboard.dataio.models import ImportUpload
from dashboard.dataio.services import import_uploads_prune
from dashboard.dataio.uploads import (
    CONFIRM_JOB,
    PREVIEW_JOB,
    import_stored_uploads_prune,
    import_upload_confirm,
    import_upload_preview,
)
from dashboard.exports.files import export_source_register
from dashboard.jobs.kinds import job_kind_register
from dashboard.jobs.models import JobRun
from dashboard.jobs.services import job_run_tracked

# Changelist exports above CUSTODIAN_EXPORT_SYNC_MAX_ROWS rows are written by dashboard.exports.files' job.
export_source_register(ADMIN_EXPORT_SOURCE, admin_export_build)


def _upload_url(run: JobRun) -> str:
    # The upload's page follows the run and then shows its outcome; none once the upload was pruned.
    upload_id = (
        ImportUpload.objects.filter(Q(preview_job=run.pk) | Q(confirm_job=run.pk))
        .values_list("pk", flat=True)
        .first()
    )
    return reverse("dashboard:dataio_upload", args=[upload_id]) if upload_id is not None else ""


# No permission: an upload and its runs are the uploader's alone (its page answers 404 to anyone else).
job_kind_register(
    PREVIEW_JOB,
    permission=None,
    label="Import preview",
    result_url=_upload_url,
    result_title="See the preview",
)
job_kind_register(
    CONFIRM_JOB,
    permission=None,
    label="Import",
    result_url=_upload_url,
    result_title="See what the import did",
)


@app.task(name="dataio.preview_upload", queue="dataio")
@job_run_tracked
def preview_upload(upload_id: int, job_run_id: int | None = None) -> dict:
    """The dry run of a large upload (dashboard.dataio.uploads); its rows are kept for the preview page."""
    return import_upload_preview(upload_id=upload_id, job_run_id=job_run_id)


@app.task(name="dataio.confirm_upload", queue="dataio")
@job_run_tracked
def confirm_upload(upload_id: int, job_run_id: int | None = None) -> dict:
    """The import of a previewed large upload, all rows or none; a second run imports nothing."""
    return import_upload_confirm(upload_id=upload_id, job_run_id=job_run_id)


@app.periodic(cron="47 * * * *")  # hourly, off the hour and apart from the other hourly jobs (7, 23)
@app.task(name="dataio.prune_uploads", queue="housekeeping")
@job_run_tracked
def prune_import_uploads(timestamp: int | None = None, job_run_id: int | None = None) -> dict:
    """Delete uploads previewed but never confirmed, older than CUSTODIAN_IMPORT_UPLOAD_TTL_HOURS.

    `timestamp` is passed by procrastinate when the periodic schedule defers it.
    """
    return {"deleted": import_uploads_prune(), "stored_deleted": import_stored_uploads_prune()}
