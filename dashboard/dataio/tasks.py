"""procrastinate task of import and export (autodiscovered: PROCRASTINATE_AUTODISCOVER_MODULE_NAME)."""

from procrastinate.contrib.django import app

from dashboard.dataio.services import import_uploads_prune
from dashboard.jobs.services import job_run_tracked


@app.periodic(cron="47 * * * *")  # hourly, off the hour and apart from the other hourly jobs (7, 23)
@app.task(name="dataio.prune_uploads", queue="housekeeping")
@job_run_tracked
def prune_import_uploads(timestamp: int | None = None, job_run_id: int | None = None) -> dict:
    """Delete uploads previewed but never confirmed, older than CUSTODIAN_IMPORT_UPLOAD_TTL_HOURS.

    `timestamp` is passed by procrastinate when the periodic schedule defers it.
    """
    return {"deleted": import_uploads_prune()}
