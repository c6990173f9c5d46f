"""procrastinate tasks of the dashboard (the Django integration autodiscovers every app's `tasks` module)."""

from django.conf import settings
from procrastinate.contrib.django import app

from dashboard.jobs.services import job_run_tracked, job_runs_prune


@app.periodic(cron="17 3 * * *")  # daily, off the hour so it does not pile onto other midnight jobs
@app.task(name="dashboard.prune_job_runs", queue="housekeeping")
@job_run_tracked
def prune_job_runs(timestamp: int | None = None, job_run_id: int | None = None) -> dict:
    """Delete job runs older than CUSTODIAN_JOB_RUN_RETENTION_DAYS.

    `timestamp` is passed by procrastinate when the periodic schedule defers it.
    """
    return {"deleted": job_runs_prune(settings.CUSTODIAN_JOB_RUN_RETENTION_DAYS)}
