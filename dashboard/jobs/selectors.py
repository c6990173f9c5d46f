"""Reads for background job runs, always through the viewer's scope."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.urls import reverse

from dashboard.jobs.kinds import job_kind_permission, job_kinds_with_permission, job_run_result_link
from dashboard.jobs.models import JobRun
from dashboard.scoping import get_object_in_scope, is_console_user, is_platform_staff


def job_runs_visible_to(user: Any) -> QuerySet[JobRun]:
    """Your own runs, and your organization's runs of the kinds whose permission you hold (a colleague
    may retry a purge that failed); platform staff (no organization) may follow any run."""
    if not is_console_user(user):
        return JobRun.objects.none()
    if is_platform_staff(user):
        return JobRun.objects.all()
    return JobRun.objects.filter(
        Q(started_by=user) | Q(organization_id=user.organization_id, kind__in=job_kinds_with_permission(user))
    )


def job_run_may_manage(user: Any, job_run: JobRun) -> bool:
    """May `user` retry or cancel `job_run`? The starter, or someone holding the kind's permission in the
    run's organization (platform staff: any organization's). Organization-bound staff never manage another
    tenant's or the platform's runs."""
    if not is_console_user(user):
        return False
    if job_run.started_by_id is not None and job_run.started_by_id == user.pk:
        return True
    if user.is_superuser and is_platform_staff(user):
        return True
    permission = job_kind_permission(job_run.kind)
    if permission is None or not user.has_perm(permission):
        return False
    return is_platform_staff(user) or (
        job_run.organization_id is not None and job_run.organization_id == user.organization_id
    )


def job_run_actions(user: Any, job_run: JobRun) -> dict[str, Any]:
    """Which of retry and cancel this viewer is offered for the run, with their POST urls."""
    may = job_run_may_manage(user, job_run)
    return {
        "can_retry": may and job_run.status in JobRun.RETRYABLE,
        "can_cancel": may and not job_run.is_finished,
        "retry_url": reverse("dashboard:job_run_retry", args=[job_run.pk]),
        "cancel_url": reverse("dashboard:job_run_cancel", args=[job_run.pk]),
    }


def job_run_get_for_user(user: Any, job_run_id: Any) -> JobRun:
    """One run the user may see; Http404 otherwise (also for ids that are not numbers)."""
    return get_object_in_scope(JobRun.objects.all(), user, job_run_id, scoped=job_runs_visible_to(user))


def job_runs_recent_for_user(user: Any, limit: int = 5) -> list[JobRun]:
    """The user's own latest runs, for the home page (index jobrun_user_recent_idx)."""
    if not is_console_user(user):
        return []
    return list(JobRun.objects.filter(started_by=user).order_by("-created_at", "-id")[:limit])


def job_run_status(job_run: JobRun, user: Any = None) -> dict[str, Any]:
    """The JSON the progress poller reads (with the viewer's retry/cancel offers when `user` is given)."""
    actions = job_run_actions(user, job_run) if user is not None else {}
    result = job_run_result_link(job_run)
    return {
        **actions,
        # Where its result is shown: it can change on finish (a scan's report page names the scan).
        "result_url": result.url if result else None,
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
