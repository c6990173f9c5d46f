"""Reads for background job runs, always through the viewer's scope."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from dashboard.jobs.models import JobRun
from dashboard.scoping import get_object_in_scope, is_console_user, is_platform_staff


def job_runs_visible_to(user: Any) -> QuerySet[JobRun]:
    """Your own runs; platform staff (no organization) may follow any run."""
    if not is_console_user(user):
        return JobRun.objects.none()
    if is_platform_staff(user):
        return JobRun.objects.all()
    return JobRun.objects.filter(started_by=user)


def job_run_get_for_user(user: Any, job_run_id: Any) -> JobRun:
    """One run the user may see; Http404 otherwise (also for ids that are not numbers)."""
    return get_object_in_scope(JobRun.objects.all(), user, job_run_id, scoped=job_runs_visible_to(user))


def job_runs_recent_for_user(user: Any, limit: int = 5) -> list[JobRun]:
    """The user's own latest runs, for the home page (index jobrun_user_recent_idx)."""
    if not is_console_user(user):
        return []
    return list(JobRun.objects.filter(started_by=user).order_by("-created_at", "-id")[:limit])


def job_run_status(job_run: JobRun) -> dict[str, Any]:
    """The JSON the progress poller reads."""
    return {
        "id": job_run.pk,
        "kind": job_run.kind,
        "status": job_run.status,
        "status_label": job_run.get_status_display(),
        "finished": job_run.is_finished,
        "done": job_run.progress_done,
        "total": job_run.progress_total,
        "percent": job_run.percent,
        "result": job_run.result,
        "error": job_run.error,
        "created_at": job_run.created_at.isoformat(),
        "started_at": job_run.started_at.isoformat() if job_run.started_at else None,
        "finished_at": job_run.finished_at.isoformat() if job_run.finished_at else None,
    }
