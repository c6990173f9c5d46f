"""procrastinate tasks of the trash: big restores and purges started from its pages; the retention purge.

Restore and purge jobs name each row with the deletion batch it was in when the job was queued, so a retry
(automatic after a killed worker, or by a person) does the rest of that work or nothing.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils.http import urlencode
from procrastinate.contrib.django import app

from dashboard.exports.files import export_source_register
from dashboard.jobs.kinds import job_kind_register
from dashboard.jobs.services import job_progress, job_run_tracked
from dashboard.permissions import PURGE_TRASH, RESTORE_TRASH
from dashboard.trash.reports import TRASH_EXPORT_SOURCE, trash_export_build
from dashboard.trash.retention import trash_purge_expired
from dashboard.trash.services import trash_purge_named, trash_restore_named
from models_core.purge import pending_files_sweep


def _trash_job_url(run: Any) -> str:
    # The trash page with the job's card: its progress, then each batch's outcome.
    return f"{reverse('dashboard:trash:list')}?{urlencode({'job': run.pk})}"


job_kind_register(
    "trash_restore",
    permission=RESTORE_TRASH,
    label="Restore from the trash",
    result_url=_trash_job_url,
    result_title="See what the restore did",
)
job_kind_register(
    "trash_purge",
    permission=PURGE_TRASH,
    label="Purge from the trash",
    result_url=_trash_job_url,
    result_title="See what the purge did",
)

# Trash exports above CUSTODIAN_EXPORT_SYNC_MAX_ROWS rows are written by dashboard.exports.files' job.
export_source_register(TRASH_EXPORT_SOURCE, trash_export_build)


def _user(user_id: int) -> Any:
    # Scope and permissions are checked again as the job runs: the user may have lost them since.
    return get_user_model().objects.get(pk=user_id)


@app.task(name="trash.restore_items", queue="trash")
@job_run_tracked
def trash_restore_task(
    user_id: int, items: list[list[str]], parent_batches: list[str], job_run_id: int | None = None
) -> dict:
    user = _user(user_id)
    if not user.has_perm(RESTORE_TRASH):
        raise PermissionError("The user may no longer restore from the trash.")
    outcomes = trash_restore_named(user, items, parent_batches, progress=job_progress(job_run_id))
    return {"outcomes": [o.as_dict() for o in outcomes]}


@app.task(name="trash.purge_items", queue="trash")
@job_run_tracked
def trash_purge_task(
    user_id: int, items: list[list[str]], reason: str = "", job_run_id: int | None = None
) -> dict:
    user = _user(user_id)
    if not user.has_perm(PURGE_TRASH):
        raise PermissionError("The user may no longer purge the trash.")
    outcomes = trash_purge_named(user, items, reason, progress=job_progress(job_run_id))
    return {"outcomes": [o.as_dict() for o in outcomes]}


@app.periodic(cron="53 * * * *")  # hourly, off the hour and apart from the other hourly jobs (7, 23, 47)
@app.task(name="trash.sweep_files", queue="housekeeping", queueing_lock="trash.sweep_files")
def trash_sweep_files(timestamp: int | None = None) -> dict:
    """Remove the files of purged rows that their purge could not remove (or was killed before removing)."""
    outcome = pending_files_sweep()
    return {"removed": outcome.removed, "failed": outcome.failed}


@app.periodic(cron="23 * * * *")  # hourly, off the hour
@app.task(name="trash.purge_expired", queue="housekeeping")
@job_run_tracked
def trash_purge_expired_task(timestamp: int | None = None, job_run_id: int | None = None) -> dict:
    """Purge what is past its `auto_delete_at` (the same work as `manage.py purge_expired`)."""
    return trash_purge_expired(progress=job_progress(job_run_id))
