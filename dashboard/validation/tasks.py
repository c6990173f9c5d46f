"""procrastinate task of the validation reports (autodiscovered: PROCRASTINATE_AUTODISCOVER_MODULE_NAME)."""

from procrastinate.contrib.django import app

from dashboard.jobs.models import JobRun
from dashboard.jobs.services import job_run_progress, job_run_tracked
from dashboard.validation.selectors import scan_job_totals
from dashboard.validation.services import validation_history_prune, validation_scan_run


@app.task(name="validation.scan", queue="validation")
@job_run_tracked
def validation_scan_task(scan_id: int, job_run_id: int | None = None) -> dict:
    """Run one queued scan; progress is counted in (model, rule) pairs."""

    def progress(done: int, total: int) -> None:
        if job_run_id is not None:
            job_run_progress(job_run_id, done, total)

    scan = validation_scan_run(scan_id, progress=progress)
    # The result is shown to whoever started the job: an organization-bound starter gets their
    # organization's totals, never the platform's.
    organization_id = JobRun.objects.filter(pk=job_run_id).values_list("organization_id", flat=True).first()
    return {"scan_id": scan.pk, **scan_job_totals(scan, organization_id), "rules_errored": scan.rules_errored}


@app.periodic(cron="27 3 * * *")  # daily, off the hour and ten minutes after prune_job_runs
@app.task(name="validation.prune", queue="housekeeping")
@job_run_tracked
def prune_validation_history(timestamp: int | None = None, job_run_id: int | None = None) -> dict:
    """Drop scans, resolved violations and expired waivers older than CUSTODIAN_VALIDATION_HISTORY_DAYS.

    `timestamp` is passed by procrastinate when the periodic schedule defers it.
    """
    return validation_history_prune()
