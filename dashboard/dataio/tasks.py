"""procrastinate tasks of import and export (autodiscovered: PROCRASTINATE_AUTODISCOVER_MODULE_NAME)."""

from procrastinate.contrib.django import app

from dashboard.dataio.services import import_uploads_prune
from dashboard.dataio.uploads import import_stored_uploads_prune, import_upload_confirm, import_upload_preview
from dashboard.jobs.services import job_run_tracked


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
