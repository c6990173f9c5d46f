"""procrastinate task of the validation reports (autodiscovered: PROCRASTINATE_AUTODISCOVER_MODULE_NAME)."""

from django.urls import reverse
from procrastinate.contrib.django import app

from dashboard.exports.files import export_source_register
from dashboard.jobs.kinds import job_kind_register, job_run_result_value
from dashboard.jobs.models import JobRun
from dashboard.jobs.services import job_progress, job_run_tracked
from dashboard.permissions import RUN_VALIDATION_SCAN
from dashboard.validation.history import validation_history_prune
from dashboard.validation.reports import VALIDATION_EXPORT_SOURCE, failing_records_build
from dashboard.validation.selectors import scan_job_totals
from dashboard.validation.services import validation_scan_run

# A rule's failing records above CUSTODIAN_EXPORT_SYNC_MAX_ROWS are written by dashboard.exports.files' job.
export_source_register(VALIDATION_EXPORT_SOURCE, failing_records_build)


def _scan_report_url(run: JobRun) -> str:
    # The report of this scan once it is done; until then the page follows the scan in progress.
    scan_id = job_run_result_value(run, "scan_id")
    url = reverse("dashboard:validation:index")
    return f"{url}?scan={int(scan_id)}" if isinstance(scan_id, int) else url


job_kind_register(
    "validation_scan",
    permission=RUN_VALIDATION_SCAN,
    label="Validation scan",
    result_url=_scan_report_url,
    result_title="See the validation report",
)


@app.task(name="validation.scan", queue="validation")
@job_run_tracked
def validation_scan_task(scan_id: int, job_run_id: int | None = None) -> dict:
    """Run (or resume) one scan; progress is counted in (model, rule) pairs."""
    scan = validation_scan_run(scan_id, progress=job_progress(job_run_id))
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
