"""procrastinate tasks of DB health: the hourly snapshot (with pruning) and "check existing data"."""

from django.urls import reverse
from procrastinate.contrib.django import app

from dashboard.dbhealth.advisor.selectors import ADVISOR_KIND
from dashboard.dbhealth.advisor.services import AdvisorRunPending, advisor_run, advisor_run_start
from dashboard.dbhealth.models import SnapshotRun
from dashboard.dbhealth.recorder import violation_context
from dashboard.dbhealth.services import constraint_check_run, dbhealth_prune, dbhealth_snapshot_take
from dashboard.dbhealth.violations import CONSTRAINT_CHECK_KIND
from dashboard.jobs.kinds import job_kind_register
from dashboard.jobs.models import JobRun
from dashboard.jobs.services import job_run_tracked
from dashboard.permissions import VIEW_DBHEALTH

# DB health is platform-wide: its runs have no organization, so only platform staff with the right share them.
job_kind_register(
    CONSTRAINT_CHECK_KIND,
    permission=VIEW_DBHEALTH,
    label="Constraint check",
    result_url=lambda run: reverse("dashboard:dbhealth:violations"),
    result_title="See the constraint violations",
)
job_kind_register(
    ADVISOR_KIND,
    permission=VIEW_DBHEALTH,
    label="Index advisor run",
    result_url=lambda run: reverse("dashboard:dbhealth:advisor"),
    result_title="See the index advice",
)


@app.periodic(cron="7 * * * *")  # hourly, off the hour
@app.task(name="dbhealth.snapshot", queue="housekeeping")
@job_run_tracked
def snapshot_and_prune(timestamp: int | None = None, job_run_id: int | None = None) -> dict:
    """Take a statistics snapshot, then drop snapshots and violation records past the retention."""
    with violation_context("task", "dbhealth.snapshot"):
        run = dbhealth_snapshot_take(SnapshotRun.Source.JOB)
        pruned = dbhealth_prune()
    return {"run": run.pk, "indexes": run.index_count, "tables": run.table_count, "pruned": pruned}


@app.task(name="dbhealth.check_constraint", queue="housekeeping")
@job_run_tracked
def check_constraint(constraint: str, job_run_id: int | None = None) -> dict:
    """Count the rows that would violate one constraint (a full read of its table)."""
    with violation_context("task", "dbhealth.check_constraint"):
        return constraint_check_run(constraint, job_run_id=job_run_id)


@app.task(name="dbhealth.advisor_run", queue="housekeeping")
@job_run_tracked
def advisor_run_task(job_run_id: int | None = None) -> dict:
    """Plan the costliest statements and prove candidate indexes (dashboard.dbhealth.advisor)."""
    starter = JobRun.objects.filter(pk=job_run_id).values_list("started_by", flat=True).first()
    with violation_context("task", "dbhealth.advisor_run"):
        run = advisor_run(started_by_id=starter, job_run_id=job_run_id)
    return {"advisor_run": run.pk, "advice": run.advice.count()}


# Daily, in the quiet hours but apart from the other daily jobs (3:17, 3:27, 3:37): pg_stat_statements has
# a day's workload by then, and a run plans dozens of statements.
@app.periodic(cron="43 4 * * *")
@app.task(name="dbhealth.advisor_schedule", queue="housekeeping")
@job_run_tracked
def advisor_schedule(timestamp: int | None = None, job_run_id: int | None = None) -> dict:
    """Queue the daily advisor run as a tracked job of its own (so the page shows it queued, running and in
    the history like a DBA's), unless a run is already queued or running.

    `timestamp` is passed by procrastinate when the periodic schedule defers it.
    """
    try:
        run = advisor_run_start(user=None)
    except AdvisorRunPending as exc:
        return {"skipped": str(exc)}
    return {"queued": run.pk}
