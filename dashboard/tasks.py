"""procrastinate tasks of the dashboard (the Django integration autodiscovers every app's `tasks` module)."""

from django.conf import settings
from procrastinate import builtin_tasks
from procrastinate.contrib.django import app

from dashboard.jobs.services import job_run_tracked, job_runs_prune, job_runs_reconcile


@app.periodic(cron="17 3 * * *")  # daily, off the hour so it does not pile onto other midnight jobs
@app.task(name="dashboard.prune_job_runs", queue="housekeeping")
@job_run_tracked
def prune_job_runs(timestamp: int | None = None, job_run_id: int | None = None) -> dict:
    """Delete job runs older than CUSTODIAN_JOB_RUN_RETENTION_DAYS.

    `timestamp` is passed by procrastinate when the periodic schedule defers it.
    """
    return {"deleted": job_runs_prune(settings.CUSTODIAN_JOB_RUN_RETENTION_DAYS)}


# One reconciler at a time (queueing_lock): a slow one must not pile up a queue of copies behind it.
@app.periodic(cron="* * * * *", periodic_id="reconcile_jobs")
@app.task(name="dashboard.reconcile_jobs", queue="housekeeping", queueing_lock="dashboard.reconcile_jobs")
def reconcile_jobs(timestamp: int | None = None) -> dict:
    """Retry or fail the jobs of stopped workers; align JobRun with the queue (dashboard.jobs.services)."""
    return job_runs_reconcile()


@app.periodic(cron="37 3 * * *", periodic_id="remove_old_jobs")
@app.task(
    name="dashboard.remove_old_jobs",
    queue="housekeeping",
    queueing_lock="dashboard.remove_old_jobs",
    pass_context=True,
)
async def remove_old_jobs(context, timestamp: int | None = None) -> None:
    """procrastinate's own cleanup of procrastinate_jobs and _events (its events go with their jobs).

    Succeeded jobs go after CUSTODIAN_QUEUE_JOB_RETENTION_HOURS; failed, cancelled and aborted ones are kept
    as long as their JobRun (a retry needs the queue job's arguments).
    """
    await builtin_tasks.remove_old_jobs(context, max_hours=settings.CUSTODIAN_QUEUE_JOB_RETENTION_HOURS)
    await builtin_tasks.remove_old_jobs(
        context,
        max_hours=settings.CUSTODIAN_JOB_RUN_RETENTION_DAYS * 24,
        remove_failed=True,
        remove_cancelled=True,
        remove_aborted=True,
    )
