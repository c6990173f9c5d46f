"""Retention of the trash: which rows are past their deadline, the purge of them (the `purge_expired` command
and its daily job) and each organization's retention policy."""

from __future__ import annotations

import datetime
from collections import defaultdict
from typing import Any

from django.contrib.admin.models import CHANGE
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone

from dashboard.adminlog import admin_log_write
from dashboard.jobs.services import Progress
from dashboard.scoping import is_in_scope
from dashboard.trash.models import PurgeRecord
from dashboard.trash.selectors import trash_models
from dashboard.trash.services import trash_batch_purge
from models_core.keyset import keyset_chunks
from models_core.models import Organization
from models_core.purge import FileRemoval
from models_core.retention import MAX_RETENTION_DAYS, RETENTION_KEY, retention_settings_validate
from models_core.softdelete import EnhancedSoftDeleteModel, SoftDeleteModel


def trash_due_counts(now: datetime.datetime | None = None) -> dict[type[models.Model], int]:
    """Rows past their `auto_delete_at`, per model (each a count over the idx_<x>_purge_due index)."""
    now = now or timezone.now()
    counts = {}
    for model in trash_models():
        if issubclass(model, EnhancedSoftDeleteModel):
            n = model._base_manager.filter(deleted_at__isnull=False, auto_delete_at__lte=now).count()
            if n:
                counts[model] = n
    return counts


def trash_purge_expired(
    now: datetime.datetime | None = None,
    *,
    dry_run: bool = False,
    chunk_size: int = 500,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Purge every row whose retention ended, parents first, one transaction per batch; the result says how
    many of their files went and how many could not be removed yet.

    Rows a purge cannot take (a customer whose tickets are live, a batch reaching live rows) are skipped and
    reported; the next run tries again. With `dry_run`, only counts what is due.
    """
    now = now or timezone.now()
    due = trash_due_counts(now)
    result: dict[str, Any] = {
        "due": {m._meta.label: n for m, n in due.items()},
        "purged": {},
        "skipped": 0,
        "problems": [],
        "dry_run": dry_run,
        "files_removed": 0,
        "files_not_removed": 0,
    }
    if dry_run or not due:
        return result
    total = sum(due.values())
    done = 0
    purged: dict[str, int] = defaultdict(int)
    files: list[FileRemoval] = []
    for model in due:
        due_rows = model._base_manager.filter(deleted_at__isnull=False, auto_delete_at__lte=now)
        for chunk in keyset_chunks(due_rows, chunk_size):
            groups: dict[Any, list[SoftDeleteModel]] = defaultdict(list)
            for row in chunk:
                groups[row.deletion_batch or ("single", row.pk)].append(row)
            for roots in groups.values():
                try:
                    for _root, counts in trash_batch_purge(
                        roots,
                        user=None,
                        trigger=PurgeRecord.Trigger.RETENTION,
                        reason="Retention period ended",
                        files_removed=files.append,
                    ):
                        for label, n in counts.items():
                            purged[label] += n
                except ValidationError as error:
                    result["skipped"] += len(roots)
                    if len(result["problems"]) < 20:
                        result["problems"].append(" ".join(error.messages))
            done = min(
                sum(n for label, n in purged.items() if label in result["due"]) + result["skipped"], total
            )
            if progress:
                progress(done, total)
    result["purged"] = dict(purged)
    # Removed after each batch's commit; what could not be stays recorded for the hourly sweep.
    result["files_removed"] = sum(f.removed for f in files)
    result["files_not_removed"] = sum(f.failed for f in files)
    return result


def retention_policy_update(
    user: Any, organization: Organization, days: dict[str, int | None]
) -> Organization:
    """Set the organization's retention days per model key ("default", "ticket", ...; None: inherit).

    The organization's `settings["retention_days"]` is the one place retention is configured (the soft delete
    reads it in SQL when it stamps `auto_delete_at`); it applies to deletes from now on.
    """
    if not is_in_scope(user, organization):
        raise PermissionDenied("You set the retention of your own organization only.")
    with transaction.atomic():
        org = Organization.all_objects.select_for_update().get(pk=organization.pk)
        new_settings = dict(org.settings or {})
        overrides = {k: v for k, v in days.items() if v is not None}
        for value in overrides.values():
            if not 0 <= value <= MAX_RETENTION_DAYS:
                raise ValidationError(f"Retention must be 0 to {MAX_RETENTION_DAYS} days.", code="invalid")
        if overrides:
            new_settings[RETENTION_KEY] = overrides
        else:
            new_settings.pop(RETENTION_KEY, None)
        retention_settings_validate(new_settings)
        before = (org.settings or {}).get(RETENTION_KEY)
        org.settings = new_settings
        org.save(update_fields=["settings", "updated_at"])
        if before != overrides:
            admin_log_write(
                user,
                [org],
                flag=CHANGE,
                message=lambda obj: f"Retention changed: {before or {}} → {overrides}",
            )
    return org
