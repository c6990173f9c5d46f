"""procrastinate tasks of the dashboard (the Django integration autodiscovers every app's `tasks` module)."""

from django.conf import settings
from django.urls import reverse
from procrastinate import builtin_tasks
from procrastinate.contrib.django import app

from dashboard.exports.files import EXPORT_JOB, EXPORT_TASK, export_file_write, export_files_prune
from dashboard.exports.models import ExportFile
from dashboard.jobs.kinds import job_kind_register
from dashboard.jobs.services import job_run_tracked, job_runs_prune, job_runs_reconcile


def _export_file_url(run) -> str:
    # The file's page: it follows the job, then offers the download; none once the file was pruned.
    export_id = ExportFile.objects.filter(job_id=run.pk).values_list("pk", flat=True).first()
    return reverse("dashboard:exports:file", args=[export_id]) if export_id is not None else ""


job_kind_register(
    EXPORT_JOB,
    permission=None,  # the requester's alone: the file holds what they may see
    label="Export file",
    result_url=_export_file_url,
    result_title="Download the file",
)


@app.task(name=EXPORT_TASK, queue="dataio")
@job_run_tracked
def export_file(export_id: int, job_run_id: int | None = None) -> dict:
    """Write an export too big for a request (dashboard.exports.files); a retry starts the file again."""
    return export_file_write(export_id=export_id, job_run_id=job_run_id)


@app.periodic(cron="53 * * * *")  # hourly, apart from the other hourly jobs (7, 23, 47)
@app.task(name="dashboard.prune_export_files", queue="housekeeping")
@job_run_tracked
def prune_export_files(timestamp: int | None = None, job_run_id: int | None = None) -> dict:
    """Delete export files older than CUSTODIAN_EXPORT_FILE_TTL_HOURS."""
    return {"deleted": export_files_prune()}


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
