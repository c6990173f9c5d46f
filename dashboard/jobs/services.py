"""Writes for background job runs: start one, report progress, finish or fail it."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce, Now
from django.utils import timezone

from dashboard.jobs.models import JobRun

# Keep tracebacks from filling the table; the worker's log has the full one.
ERROR_MAX_CHARS = 4000


def job_run_start(kind: str, user: Any, task: Any, **task_kwargs: Any) -> JobRun:
    """Record a JobRun and queue `task(job_run_id=..., **task_kwargs)` for a worker.

    The JobRun row and the procrastinate job are written in one transaction on the same connection
    (procrastinate's Django connector uses Django's connection), so either both exist or neither:
    a worker cannot pick the job up before the JobRun is committed.
    """
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
    """Mark the run as running; False when it no longer exists or already finished."""
    return bool(
        _unfinished(job_run_id).update(
            status=JobRun.Status.RUNNING, started_at=Coalesce(F("started_at"), Now())
        )
    )


def job_run_progress(job_run_id: int, done: int, total: int | None = None) -> bool:
    """Report progress; one UPDATE, cheap enough to call every chunk."""
    if done < 0 or (total is not None and (total < 0 or done > total)):
        raise ValueError(f"Invalid progress {done}/{total}")
    fields: dict[str, Any] = {
        "status": JobRun.Status.RUNNING,
        "started_at": Coalesce(F("started_at"), Now()),
        "progress_done": done,
    }
    if total is not None:
        fields["progress_total"] = total
    return bool(_unfinished(job_run_id).update(**fields))


def job_run_finish(job_run_id: int, result: Any = None) -> bool:
    """Mark the run succeeded with its (JSON-serialisable) result."""
    return bool(
        _unfinished(job_run_id).update(
            status=JobRun.Status.SUCCEEDED,
            result=result,
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
    The exception is re-raised so procrastinate records the failure and applies its retry policy too.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, job_run_id: int | None = None, **kwargs: Any) -> Any:
        if job_run_id is not None:
            job_run_begin(job_run_id)
        try:
            result = func(*args, job_run_id=job_run_id, **kwargs)
        except Exception as exc:
            if job_run_id is not None:
                job_run_fail(job_run_id, f"{type(exc).__name__}: {exc}")
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
