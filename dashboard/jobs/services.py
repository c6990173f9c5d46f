"""Writes for background job runs: the one job pattern every capability uses.

- A capability's service decides and starts the work with `job_run_start` (never a view), naming exactly what
  the job acts on (batch ids, scan ids) so running it twice or late does the right thing or nothing.
- The task body is wrapped in `@job_run_tracked` and reports through `job_progress(job_run_id)`.
- `job_runs_reconcile` (every minute, `dashboard.reconcile_jobs`) keeps JobRun in step with procrastinate's
  own job: jobs of a worker whose heartbeat stopped are retried or failed (procrastinate's stalled-job API),
  and a run whose queue job ended without it (a failure recorded during a database outage) stops "Running".
- People who may (`job_run_may_manage`) retry a failed run and cancel an unfinished one.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, connection, transaction
from django.db.models import F, OuterRef, Subquery
from django.db.models.functions import Coalesce, Now
from django.utils import timezone
from procrastinate import jobs as procrastinate_jobs
from procrastinate import manager as procrastinate_manager
from procrastinate import sql as procrastinate_sql
from procrastinate.contrib.django import app
from procrastinate.contrib.django.django_connector import DjangoConnector
from procrastinate.contrib.django.models import ProcrastinateJob
from procrastinate.exceptions import JobAborted

from dashboard.jobs.models import JobRun
from dashboard.jobs.selectors import job_run_may_manage
from dashboard.sidedb import side_connection, side_exists, side_update
from models_core.locks import advisory_xact_lock

logger = logging.getLogger(__name__)

# Keep tracebacks from filling the table; the worker's log has the full one.
ERROR_MAX_CHARS = 4000

QueueStatus = procrastinate_jobs.Status
# procrastinate_jobs.status as stored (ProcrastinateJob.status is the plain string).
TODO, FAILED, ABORTED, CANCELLED = (
    s.value for s in (QueueStatus.TODO, QueueStatus.FAILED, QueueStatus.ABORTED, QueueStatus.CANCELLED)
)


def _connector() -> DjangoConnector:
    return DjangoConnector(alias=settings.PROCRASTINATE_DATABASE_ALIAS)


def _queue() -> procrastinate_manager.JobManager:
    """procrastinate's job manager on Django's own connection, so its writes join the caller's transaction
    (the worker's app uses a pool of its own; this one is for the web, commands and reconciling)."""
    return procrastinate_manager.JobManager(_connector())


def _stalled_jobs(seconds_since_heartbeat: float) -> list[procrastinate_jobs.Job]:
    """JobManager.get_stalled_jobs, through the connector's synchronous path: the manager only offers it as a
    coroutine, and async_to_sync refuses to run in a thread that has an event loop (a test's browser)."""
    rows = _connector().execute_query_all(
        query=procrastinate_sql.queries["select_stalled_jobs_by_heartbeat"],
        queue=None,
        task_name=None,
        seconds_since_heartbeat=seconds_since_heartbeat,
    )
    return [procrastinate_jobs.Job.from_row(row) for row in rows]


def _job_fail(job_id: int) -> None:
    """JobManager.finish_job_by_id_async(status=FAILED), synchronously (see _stalled_jobs)."""
    _connector().execute_query(
        query=procrastinate_sql.queries["finish_job"], job_id=job_id, status=FAILED, delete_job=False
    )


def _db_now() -> Any:
    """The database's now(): a retry "now" by this process's clock could be in the queue's future."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        return cursor.fetchone()[0]


# What long services accept to report their progress: progress(done, total), e.g. a job's job_run_progress.
Progress = Callable[[int, int], Any]


def job_run_start(kind: str, user: Any, task: str | Any, **task_kwargs: Any) -> JobRun:
    """Record a JobRun and queue `task(job_run_id=..., **task_kwargs)` for a worker.

    `task` is a procrastinate task or its registered name. Services pass the name: a capability's tasks
    module imports its services, so importing the task back would close an import circle.

    The JobRun row and the procrastinate job are written in one transaction on the same connection
    (procrastinate's Django connector uses Django's connection), so either both exist or neither:
    a worker cannot pick the job up before the JobRun is committed.
    """
    if isinstance(task, str):
        task = app.tasks[task]  # every tasks module is imported at start-up (procrastinate's autodiscovery)
    organization_id = getattr(user, "organization_id", None) if user is not None else None
    with transaction.atomic():
        job_run = JobRun.objects.create(kind=kind, started_by=user, organization_id=organization_id)
        job_run.procrastinate_job_id = task.defer(job_run_id=job_run.pk, **task_kwargs)
        job_run.save(update_fields=["procrastinate_job_id"])
    return job_run


def _unfinished(job_run_id: int):
    # A finished run stays finished: a late progress report must not bring it back to life.
    return JobRun.objects.filter(pk=job_run_id).exclude(status__in=JobRun.FINISHED)


def job_run_begin(job_run_id: int) -> bool:
    """Mark the run as running; False when it no longer exists or already finished (or was cancelled)."""
    return bool(
        _unfinished(job_run_id).update(
            status=JobRun.Status.RUNNING, started_at=Coalesce(F("started_at"), Now())
        )
    )


def _progress_fields(done: int, total: int | None) -> dict[str, Any]:
    if done < 0 or (total is not None and (total < 0 or done > total)):
        raise ValueError(f"Invalid progress {done}/{total}")
    fields: dict[str, Any] = {
        "status": JobRun.Status.RUNNING,
        "started_at": Coalesce(F("started_at"), Now()),
        "progress_done": done,
    }
    if total is not None:
        fields["progress_total"] = total
    return fields


def _cancelled(job_run_id: int):
    return JobRun.objects.filter(pk=job_run_id, status=JobRun.Status.CANCELLED)


def job_run_progress(job_run_id: int, done: int, total: int | None = None) -> bool:
    """Report progress; one UPDATE, cheap enough to call every chunk."""
    return bool(_unfinished(job_run_id).update(**_progress_fields(done, total)))


def job_progress(job_run_id: int | None) -> Progress:
    """The progress reporter every task passes to its service: `report(done, total)`.

    It is also where a cancel reaches a running job: once the run was cancelled, the next report raises
    procrastinate's JobAborted, between two units of work (each of which is its own transaction), so the
    queue records the job as aborted and nothing is left half-done.
    """

    def report(done: int, total: int) -> None:
        if job_run_id is None:
            return
        reported = job_run_progress(job_run_id, min(done, total), total)
        if not reported and _cancelled(job_run_id).exists():
            raise JobAborted(f"Job run #{job_run_id} was cancelled.")

    return report


@contextlib.contextmanager
def job_progress_beside(job_run_id: int | None) -> Iterator[Progress]:
    """`job_progress` for work that is one transaction from start to end (an import of a whole file).

    Reports made inside that transaction would stay invisible until it commits (and vanish if it rolls
    back), so these go through a connection of their own (dashboard.sidedb), in autocommit: the same
    UPDATE as job_run_progress. A cancel still reaches the job at its next report: JobAborted raised
    inside the work's transaction rolls all of it back.
    """
    if job_run_id is None:
        yield lambda done, total: None
        return
    with side_connection(settings.PROCRASTINATE_DATABASE_ALIAS) as side:

        def report(done: int, total: int) -> None:
            fields = _progress_fields(min(done, total), total)
            if not side_update(side, _unfinished(job_run_id), **fields) and side_exists(
                side, _cancelled(job_run_id)
            ):
                raise JobAborted(f"Job run #{job_run_id} was cancelled.")

        yield report


def job_run_finish(job_run_id: int, result: Any = None) -> bool:
    """Mark the run succeeded with its (JSON-serialisable) result.

    A run cancelled after its last progress report did finish its work: it says so rather than "Cancelled".
    """
    return bool(
        JobRun.objects.filter(pk=job_run_id)
        .exclude(status__in=(JobRun.Status.SUCCEEDED, JobRun.Status.FAILED))
        .update(
            status=JobRun.Status.SUCCEEDED,
            result=result,
            error="",
            started_at=Coalesce(F("started_at"), Now()),
            finished_at=Now(),
            # A run that reported a total has done all of it.
            progress_done=Coalesce(F("progress_total"), F("progress_done")),
        )
    )


def job_run_fail(job_run_id: int, error: str) -> bool:
    """Mark the run failed, keeping the (truncated) error for the person who started it."""
    return bool(
        _unfinished(job_run_id).update(
            status=JobRun.Status.FAILED,
            error=error[:ERROR_MAX_CHARS],
            started_at=Coalesce(F("started_at"), Now()),
            finished_at=Now(),
        )
    )


def job_run_tracked(func: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a task body so its JobRun follows it: running, then succeeded with the return value, or failed.

    The task is called with `job_run_id` (None when it runs without a JobRun, e.g. as a periodic job).
    A run that already finished (it ran before, or was cancelled) is not run again: a job delivered twice
    does its work once. The exception is re-raised so procrastinate records the failure too.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, job_run_id: int | None = None, **kwargs: Any) -> Any:
        if job_run_id is not None and not job_run_begin(job_run_id):
            finished = JobRun.objects.filter(pk=job_run_id).first()
            if finished is not None:
                logger.info("Job run #%s is already %s; not running it again.", job_run_id, finished.status)
                if finished.status == JobRun.Status.CANCELLED:
                    raise JobAborted(f"Job run #{job_run_id} was cancelled.")
                return finished.result
        try:
            result = func(*args, job_run_id=job_run_id, **kwargs)
        except Exception as exc:
            if job_run_id is not None and not isinstance(exc, JobAborted):
                try:
                    job_run_fail(job_run_id, f"{type(exc).__name__}: {exc}")
                except DatabaseError:
                    # The database went away with the job; the reconciler marks the run once it is back.
                    logger.exception("Could not record the failure of job run #%s", job_run_id)
            raise
        if job_run_id is not None:
            job_run_finish(job_run_id, result)
        return result

    return wrapper


def job_runs_prune(older_than_days: int) -> int:
    """Delete job runs created more than `older_than_days` ago; returns how many.

    One set-based DELETE (JobRun has no dependants and no delete signals, so Django does not fetch rows).
    """
    cutoff = timezone.now() - timedelta(days=older_than_days)
    deleted, _ = JobRun.objects.filter(created_at__lt=cutoff).delete()
    return deleted


# Reconciling with the queue
# ----------------------------------------------------------------------------------------------------

STOPPED_WORKER = "Its worker stopped while running it (killed, or it lost the database connection)."


def job_runs_reconcile(*, seconds_since_heartbeat: float | None = None) -> dict[str, int]:
    """Bring every unfinished JobRun in step with its procrastinate job; returns what it did.

    1. Jobs in `doing` whose worker sent no heartbeat for `seconds_since_heartbeat`
       (CUSTODIAN_JOB_STALLED_SECONDS) are retried by procrastinate, up to CUSTODIAN_JOB_STALLED_RETRIES
       times, then failed. Every job names exactly what it acts on, so running it again is harmless.
    2. A run whose queue job ended without it (failed, aborted, cancelled, deleted) is failed or cancelled;
       one whose job went back to `todo` shows "Queued" again.
    """
    with transaction.atomic():
        # Reconcilers take turns (one per worker, every minute): one must not retry a job that another
        # retried and a live worker has picked up since (it would run twice).
        advisory_xact_lock("jobs", "reconcile")
        return _reconcile(seconds_since_heartbeat)


def _reconcile(seconds_since_heartbeat: float | None) -> dict[str, int]:
    seconds = (
        settings.CUSTODIAN_JOB_STALLED_SECONDS if seconds_since_heartbeat is None else seconds_since_heartbeat
    )
    queue = _queue()
    counts = {"retried": 0, "failed": 0, "marked_failed": 0, "marked_cancelled": 0, "requeued": 0}
    for job in _stalled_jobs(seconds):
        assert job.id is not None
        if job.attempts < settings.CUSTODIAN_JOB_STALLED_RETRIES:
            queue.retry_job_by_id(job_id=job.id, retry_at=_db_now())
            JobRun.objects.filter(procrastinate_job_id=job.id, status__in=JobRun.UNFINISHED).update(
                status=JobRun.Status.QUEUED, error=f"{STOPPED_WORKER} Retried automatically."
            )
            counts["retried"] += 1
            logger.warning(
                "Retrying stalled job %s (%s), attempt %s", job.id, job.task_name, job.attempts + 1
            )
        else:
            _job_fail(job.id)
            counts["failed"] += 1
            logger.error("Stalled job %s (%s) failed after %s attempts", job.id, job.task_name, job.attempts)

    queue_status = ProcrastinateJob.objects.filter(pk=OuterRef("procrastinate_job_id")).values("status")[:1]
    unfinished = JobRun.objects.filter(status__in=JobRun.UNFINISHED, procrastinate_job_id__isnull=False)
    grace = timezone.now() - timedelta(seconds=seconds)
    for run in unfinished.annotate(queue_status=Subquery(queue_status)).only("pk", "status", "created_at"):
        status = run.queue_status
        if status == FAILED:
            if job_run_fail(run.pk, f"{STOPPED_WORKER} Retry it when the cause is fixed."):
                counts["marked_failed"] += 1
        elif status in (ABORTED, CANCELLED):
            if _unfinished(run.pk).update(status=JobRun.Status.CANCELLED, finished_at=Now()):
                counts["marked_cancelled"] += 1
        elif status is None and run.created_at < grace:
            if job_run_fail(run.pk, "Its queue job is gone; start it again."):
                counts["marked_failed"] += 1
        elif status == TODO and run.status == JobRun.Status.RUNNING:
            counts["requeued"] += JobRun.objects.filter(pk=run.pk, status=JobRun.Status.RUNNING).update(
                status=JobRun.Status.QUEUED
            )
    return counts


# Retry and cancel
# ----------------------------------------------------------------------------------------------------


def job_run_retry(*, user: Any, job_run: JobRun) -> JobRun:
    """Queue a failed or cancelled run again (the same task with the same arguments, the same JobRun)."""
    if not job_run_may_manage(user, job_run):
        raise PermissionDenied("You may not retry this job.")
    with transaction.atomic():
        run = JobRun.objects.select_for_update().get(pk=job_run.pk)
        if run.status not in JobRun.RETRYABLE:
            raise ValidationError(
                "Only a failed or cancelled job can be retried; "
                f"this one is {run.get_status_display().lower()}.",
                code="not_retryable",
            )
        job = ProcrastinateJob.objects.filter(pk=run.procrastinate_job_id).first()
        if job is None:
            raise ValidationError(
                "Its queue job was removed; start the work again from its page.", code="gone"
            )
        if job.status == FAILED:
            _queue().retry_job_by_id(job_id=job.id, retry_at=_db_now())
        elif job.status in (CANCELLED, ABORTED):
            # procrastinate retries only failed jobs; a cancelled one is queued again as a new job.
            task = app.configure_task(name=job.task_name, queue=job.queue_name, lock=job.lock)
            run.procrastinate_job_id = task.defer(**job.args)
        else:
            raise ValidationError("Its queue job is still waiting or running.", code="not_retryable")
        run.status = JobRun.Status.QUEUED
        run.error = ""
        run.result = None
        run.progress_done, run.progress_total = 0, None
        run.started_at = run.finished_at = None
        run.save()
    logger.info("Job run #%s (%s) retried by %s", run.pk, run.kind, user.pk)
    return run


def job_run_cancel(*, user: Any, job_run: JobRun) -> JobRun:
    """Cancel a queued run, or ask a running one to stop at its next progress report."""
    if not job_run_may_manage(user, job_run):
        raise PermissionDenied("You may not cancel this job.")
    with transaction.atomic():
        run = JobRun.objects.select_for_update().get(pk=job_run.pk)
        if run.is_finished:
            raise ValidationError(
                f"This job has already {run.get_status_display().lower()}.", code="finished"
            )
        if run.procrastinate_job_id is not None:
            # abort=True: a job still waiting is cancelled, a running one is marked for abortion.
            _queue().cancel_job_by_id(run.procrastinate_job_id, abort=True)
        run.status = JobRun.Status.CANCELLED
        run.error = f"Cancelled by {user.get_username()}."
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "error", "finished_at"])
    logger.info("Job run #%s (%s) cancelled by %s", run.pk, run.kind, user.pk)
    return run
