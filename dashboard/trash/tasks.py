"""procrastinate tasks of the trash: big restores and purges started from its pages; the retention purge."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from procrastinate.contrib.django import app

from dashboard.jobs.services import job_run_progress, job_run_tracked


def _progress(job_run_id: int | None):
    def report(done: int, total: int) -> None:
        if job_run_id is not None:
            job_run_progress(job_run_id, min(done, total), total)

    return report


def _user(user_id: int) -> Any:
    # Scope and permissions are checked again as the job runs: the user may have lost them since.
    return get_user_model().objects.get(pk=user_id)


@app.task(name="trash.restore_items", queue="trash")
@job_run_tracked
def trash_restore_task(
    user_id: int, items: list[str], parent_batches: list[str], job_run_id: int | None = None
) -> dict:
    import uuid

    from dashboard.trash.selectors import trash_items_get
    from dashboard.trash.services import trash_restore

    user = _user(user_id)
    if not user.has_perm("dashboard.restore_trash"):
        raise PermissionError("The user may no longer restore from the trash.")
    objs = trash_items_get(user, items)
    outcomes = trash_restore(
        user, objs, [uuid.UUID(b) for b in parent_batches], progress=_progress(job_run_id)
    )
    return {"outcomes": [o.as_dict() for o in outcomes]}


@app.task(name="trash.purge_items", queue="trash")
@job_run_tracked
def trash_purge_task(user_id: int, items: list[str], reason: str = "", job_run_id: int | None = None) -> dict:
    from dashboard.trash.selectors import trash_items_get
    from dashboard.trash.services import trash_purge

    user = _user(user_id)
    if not user.has_perm("dashboard.purge_trash"):
        raise PermissionError("The user may no longer purge the trash.")
    objs = trash_items_get(user, items)
    outcomes = trash_purge(user, objs, reason, progress=_progress(job_run_id))
    return {"outcomes": [o.as_dict() for o in outcomes]}


@app.periodic(cron="23 * * * *")  # hourly, off the hour
@app.task(name="trash.purge_expired", queue="housekeeping")
@job_run_tracked
def trash_purge_expired_task(timestamp: int | None = None, job_run_id: int | None = None) -> dict:
    """Purge what is past its `auto_delete_at` (the same work as `manage.py purge_expired`)."""
    from dashboard.trash.services import trash_purge_expired

    return trash_purge_expired(progress=_progress(job_run_id))
