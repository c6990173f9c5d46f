"""Writes of the trash: soft delete (from the admin), restore and purge (retention:
dashboard.trash.retention). Views, admin actions and the background jobs all come through here.

Every restore and purge by a person writes the admin log (LogEntry: CHANGE for a restore, DELETION for a
purge; one entry per root row, written in bulk in the same transaction as the change).
"""

from __future__ import annotations

import datetime
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.admin.models import CHANGE, DELETION
from django.core.exceptions import ValidationError
from django.db import models, router, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.text import capfirst

from dashboard import ceilings
from dashboard.adminlog import admin_log_write
from dashboard.jobs.services import Progress, job_run_start
from dashboard.trash import selectors as trash_selectors
from dashboard.trash.models import PurgeRecord
from dashboard.trash.plans import batch_in_scope, trash_purge_preview, trash_restore_size
from dashboard.trash.selectors import trash_item_value, trash_items_get, trash_model_get, trash_models
from models_core.models import Organization
from models_core.purge import FileRemoval, PurgeStrategy, purge_roots, record_label
from models_core.restore import batch_restore, restore_subtree
from models_core.softdelete import EnhancedSoftDeleteModel, SoftDeleteModel
from models_core.tenancy import organization_of
from models_core.trashing import BatchResult


@dataclass
class Outcome:
    """What happened to one selected row (or one parent batch) of a bulk action."""

    label: str
    ok: bool
    message: str
    counts: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"label": self.label, "ok": self.ok, "message": self.message, "counts": self.counts}


def _files_left_text(left: int) -> str:
    return (
        f"{left} of its file{'s' if left != 1 else ''} could not be removed from the storage yet: "
        "they are listed on the purge records page and retried hourly."
    )


# A submit repeated within this long (a double click, a re-sent POST) is answered with what the first did.
REPEATED_SUBMIT_WINDOW = datetime.timedelta(minutes=10)


def _earlier_outcome(user: Any, model: type[models.Model], pk: Any, label: str, verb: str) -> Outcome | None:
    """What already became of a row that left the trash before this request got to it, or None.

    A double click sends two POSTs and the browser shows only the answer to the last one, which finds the
    row gone: it must say what the first did ("Purged ... by your earlier request"), not that it failed.
    Someone else's purge is named with its time. Purge records are read through the user's scope and
    restores only from the user's own admin log, so nothing of another organization is told.
    """
    since = timezone.now() - REPEATED_SUBMIT_WINDOW
    record = trash_selectors.purge_record_latest(user, model, pk)
    if record is not None:
        when = f"{timezone.localtime(record.purged_at):%H:%M:%S}"
        mine = record.purged_by_id is not None and record.purged_by_id == getattr(user, "pk", None)
        if verb == "purge" and mine and record.purged_at >= since:
            counts = _count_text(record.counts)
            return Outcome(
                label, True, f"Purged {counts} — by your earlier request at {when}.", record.counts
            )
        who = record.purged_by.get_username() if record.purged_by else "the retention job"
        if mine:
            who = "you"
        return Outcome(label, False, f"Already purged by {who} at {when}; nothing left to do.")
    if verb == "restore" and (entry := trash_selectors.trash_own_restore_latest(user, model, pk, since)):
        when = f"{timezone.localtime(entry.action_time):%H:%M:%S}"
        return Outcome(label, True, f"Restored by your earlier request at {when}.")
    return None


def trash_earlier_outcomes(user: Any, values: list[str], verb: str) -> list[Outcome] | None:
    """For a submit whose rows are not in the user's trash any more: what became of each (see
    _earlier_outcome), or None when that does not explain every row (then the page answers 404)."""
    outcomes = []
    for value in dict.fromkeys(v.strip() for v in values if v.strip()):
        key, _, pk = value.rpartition(":")
        if not pk.isdigit() or len(pk) > 18:
            return None
        try:
            model = trash_model_get(key)
        except Http404:
            return None
        label = f"{capfirst(model._meta.verbose_name)} #{pk}"
        earlier = _earlier_outcome(user, model, pk, label, verb)
        if earlier is None:
            return None
        outcomes.append(earlier)
    return outcomes or None


def _gone_or_refused(user: Any, obj: models.Model, label: str, error: ValidationError, verb: str) -> Outcome:
    """The outcome for a row a batch could not act on: what an earlier request did, if that was why."""
    if any(e.code == "not_deleted" for e in error.error_list):
        earlier = _earlier_outcome(user, type(obj), obj.pk, label, verb)
        if earlier is not None:
            return earlier
    return Outcome(label, False, _messages(error))


def _count_text(counts: dict[str, int]) -> str:
    parts = []
    for label, n in counts.items():
        if not n:
            continue
        try:
            from django.apps import apps

            meta = apps.get_model(label)._meta
            name = meta.verbose_name if n == 1 else meta.verbose_name_plural
        except (LookupError, ValueError):
            name = label
        parts.append(f"{n} {name}")
    return ", ".join(parts) or "nothing"


# Soft delete (the admin's delete)
# ----------------------------------------------------------------------------------------------------


def trash_soft_delete(user: Any, queryset: models.QuerySet, reason: str) -> BatchResult:
    """Move the live rows of `queryset` (and their cascade groups) to the trash as one batch, logging each
    root; ValidationError when none of them is live any more."""
    reason = reason.strip()
    if not reason:
        raise ValidationError("Say why these records go to the trash.", code="no_reason")
    model = queryset.model
    _organizations_platform_only(user, [model])
    with transaction.atomic(using=router.db_for_write(model)):
        # Locked: a second move of the same rows (a replayed POST, another tab) waits here, then finds them
        # in the trash and moves and logs nothing, instead of logging a batch that took no row.
        roots = list(
            model._base_manager.select_for_update(of=("self",))
            .filter(pk__in=queryset.values("pk"), deleted_at__isnull=True)
            .order_by("pk")
        )
        if not roots:
            raise ValidationError(
                "Nothing was moved: the records are already in the trash.", code="already_deleted"
            )
        result = model._base_manager.filter(pk__in=[r.pk for r in roots]).soft_delete(
            user=user, reason=reason
        )
        admin_log_write(
            user,
            roots,
            flag=CHANGE,
            message=lambda obj: f"Moved to the trash (batch {result.batch_id}): {reason}",
        )
    return result


# Restore
# ----------------------------------------------------------------------------------------------------


def _organizations_platform_only(user: Any, models_: Iterable[type[models.Model]]) -> None:
    """Organizations are the tenants: only platform staff trash, restore or purge one (the retention job,
    with no user, purges what is due)."""
    if user is not None and any(issubclass(m, Organization) for m in models_):
        ceilings.platform_required(user, "Moving, restoring or purging an organization")


def _messages(error: ValidationError) -> str:
    return " ".join(error.messages)


def trash_restore(
    user: Any,
    items: list[SoftDeleteModel],
    parent_batches: Iterable[uuid.UUID] = (),
    progress: Progress | None = None,
) -> list[Outcome]:
    """Restore the selected rows, each with the rows its soft delete took along, after the chosen parent
    batches. Each batch is atomic; a conflicting one stays in the trash and the rest go ahead."""
    outcomes: list[Outcome] = []
    _organizations_platform_only(user, {type(obj) for obj in items})
    steps = len(items) + len(set(parent_batches))
    done = 0
    for batch_id in dict.fromkeys(parent_batches):
        if not batch_in_scope(user, batch_id):
            outcomes.append(Outcome(f"Batch {batch_id}", False, "Not all of this batch is yours to restore."))
            continue
        try:
            with transaction.atomic():
                roots = _batch_roots(batch_id)
                result = batch_restore(batch_id, user=user)
                admin_log_write(
                    user,
                    roots,
                    flag=CHANGE,
                    message=lambda obj, b=batch_id: f"Restored from the trash (batch {b})",
                )
            outcomes.append(
                Outcome(
                    f"Batch {batch_id}",
                    True,
                    f"Restored {_count_text(result.counts)}.",
                    result.counts,
                )
            )
        except ValidationError as error:
            outcomes.append(Outcome(f"Batch {batch_id}", False, _messages(error)))
        done += 1
        if progress:
            progress(done, steps)
    for obj in items:
        label = record_label(obj)
        try:
            with transaction.atomic():
                result = restore_subtree(obj, user=user)
                admin_log_write(
                    user,
                    [obj],
                    flag=CHANGE,
                    message=lambda o, r=result: (
                        f"Restored from the trash (batch {r.batch_id}): {_count_text(r.counts)}"
                    ),
                )
            outcomes.append(Outcome(label, True, f"Restored {_count_text(result.counts)}.", result.counts))
        except ValidationError as error:
            outcomes.append(_gone_or_refused(user, obj, label, error, "restore"))
        done += 1
        if progress:
            progress(done, steps)
    return outcomes


def _batch_roots(batch_id: uuid.UUID) -> list[models.Model]:
    """The rows of a batch that were deleted (not taken along), read before a restore clears the batch id."""
    roots: list[models.Model] = []
    for model in trash_models():
        rows = model._base_manager.filter(deletion_batch=batch_id, deleted_at__isnull=False)
        if issubclass(model, EnhancedSoftDeleteModel):
            rows = rows.exclude(deletion_metadata__cascaded=True)
        roots.extend(rows)
    return roots


# Purge
# ----------------------------------------------------------------------------------------------------


def trash_batch_purge(
    roots: list[SoftDeleteModel],
    *,
    user: Any,
    trigger: str,
    reason: str,
    strategy: PurgeStrategy = "auto",
    files_removed: Callable[[FileRemoval], Any] | None = None,
) -> list[tuple[SoftDeleteModel, dict[str, int]]]:
    """Purge `roots` (rows of one batch) with models_core.purge.purge_roots, leaving a purge record and (for
    a person) the admin log per root in the same transaction; ValidationError when nothing was removed.
    `files_removed` hears, after the commit, how many of the rows' files went (see purge_roots).

    Returns each root with the rows its delete removed ({model label: count}).
    """
    now = timezone.now()
    records: list[PurgeRecord] = []

    def record(row: SoftDeleteModel) -> None:
        # Read before the delete: the organization may go with it.
        organization = organization_of(row)
        # Logged before the delete, while the row (and what its label reads) is still there.
        admin_log_write(
            user,
            [row],
            flag=DELETION,
            message=lambda obj, b=row.deletion_batch: f"Purged from the trash (batch {b})",
            object_repr=record_label,
        )
        records.append(
            PurgeRecord(
                model_label=type(row)._meta.label,
                object_id=str(row.pk),
                organization_id=getattr(organization, "pk", None),
                batch_id=row.deletion_batch,
                purged_by=user if getattr(user, "pk", None) else None,
                purged_at=now,
                trigger=trigger,
                reason=reason[:255],
                deleted_at=row.deleted_at,
            )
        )

    with transaction.atomic(using=router.db_for_write(type(roots[0]))):
        done = purge_roots(roots, strategy=strategy, before_delete=record, files_removed=files_removed)
        for purge_record, (_root, counts) in zip(records, done, strict=True):
            purge_record.counts = counts
            purge_record.total = sum(counts.values())
        PurgeRecord.objects.bulk_create(records)
    return done


def trash_purge(
    user: Any,
    items: list[SoftDeleteModel],
    reason: str = "",
    *,
    trigger: str = PurgeRecord.Trigger.MANUAL,
    progress: Progress | None = None,
    strategy: PurgeStrategy = "auto",
) -> list[Outcome]:
    """Purge the selected rows, one transaction per batch; a batch that cannot go stays whole.

    `strategy`: see `models_core.purge.purge_roots` ("auto" unless a test or the benchmark picks one)."""
    _organizations_platform_only(user, {type(obj) for obj in items})
    groups: dict[Any, list[SoftDeleteModel]] = defaultdict(list)
    for obj in items:
        groups[obj.deletion_batch or ("single", type(obj), obj.pk)].append(obj)
    outcomes: list[Outcome] = []
    done = 0
    for roots in groups.values():
        labels = {id(r): record_label(r) for r in roots}
        files: list[FileRemoval] = []
        try:
            purged = trash_batch_purge(
                roots,
                user=user,
                trigger=trigger,
                reason=reason,
                strategy=strategy,
                files_removed=files.append,
            )
        except ValidationError as error:
            outcomes.extend(_gone_or_refused(user, r, labels[id(r)], error, "purge") for r in roots)
        else:
            # The files go after the commit (files.append heard how many could not); say so, never "Purged"
            # alone while they are still on disk.
            left = sum(f.failed for f in files)
            for root, counts in purged:
                message = f"Purged {_count_text(counts)}."
                if left:
                    message += f" {_files_left_text(left)}"
                outcomes.append(Outcome(labels[id(root)], True, message, counts))
        done += len(roots)
        if progress:
            progress(done, len(items))
    return outcomes


# Starting restores and purges (inline, or as a background job above BACKGROUND_THRESHOLD rows)
# ----------------------------------------------------------------------------------------------------


@dataclass
class Started:
    """What a restore or purge request led to: outcomes when it ran here, or the job that will run it."""

    rows: int
    outcomes: list[Outcome] | None = None
    job: Any = None


def trash_items_named(items: Iterable[SoftDeleteModel]) -> list[list[str]]:
    """[item value, batch id] per row: a job acts on the deletion it was asked about, not a later one."""
    return [[trash_item_value(o), str(o.deletion_batch or "")] for o in items]


def _items_as_named(user: Any, named: list[Any], verb: str) -> tuple[list[SoftDeleteModel], list[Outcome]]:
    """The named rows still in the trash from the same deletion; an outcome saying "nothing done" for the
    others (restored, purged, or deleted again since the job was queued), or what an earlier request of the
    same user did to them (a double click queues two jobs; the second reports the first's work)."""
    objs: list[SoftDeleteModel] = []
    skipped: list[Outcome] = []
    for entry in named:
        # A bare value is a job queued before jobs named their batch: it acts on the row's current deletion.
        value, batch = (entry, None) if isinstance(entry, str) else entry
        try:
            (obj,) = trash_items_get(user, [value])
        except Http404:
            earlier = trash_earlier_outcomes(user, [value], verb)
            skipped.extend(
                earlier
                or [
                    Outcome(
                        value, False, "Not in the trash any more (restored or purged since); nothing done."
                    )
                ]
            )
            continue
        if batch is not None and str(obj.deletion_batch or "") != batch:
            skipped.append(
                Outcome(
                    record_label(obj),
                    False,
                    "Deleted again since this job was queued; that deletion is left alone.",
                )
            )
            continue
        objs.append(obj)
    return objs, skipped


def trash_restore_start(
    *, user: Any, items: list[SoftDeleteModel], parent_batches: list[uuid.UUID]
) -> Started:
    """Restore here and now, or as a background job when it brings back more than BACKGROUND_THRESHOLD rows.

    The size is one capped count of the batches (trash_restore_size), decided before any planning: the plan
    of an organization's batch is seconds of work, the job's, not the request's."""
    rows = trash_restore_size(items, parent_batches)
    if rows <= trash_selectors.BACKGROUND_THRESHOLD:
        return Started(rows, outcomes=trash_restore(user, items, parent_batches))
    job = job_run_start(
        "trash_restore",
        user,
        "trash.restore_items",
        user_id=user.pk,
        items=trash_items_named(items),
        parent_batches=[str(b) for b in dict.fromkeys(parent_batches)],
    )
    return Started(rows, job=job)


def trash_purge_start(
    *, user: Any, items: list[SoftDeleteModel], reason: str, total: int | None = None
) -> Started:
    """Purge here and now, or as a background job when it removes more than BACKGROUND_THRESHOLD rows.

    `total` is the row count of the preview the page already built for these items."""
    if total is None:
        total = sum(p.total for p in trash_purge_preview(user, items))
    if total <= trash_selectors.BACKGROUND_THRESHOLD:
        return Started(total, outcomes=trash_purge(user, items, reason))
    job = job_run_start(
        "trash_purge",
        user,
        "trash.purge_items",
        user_id=user.pk,
        items=trash_items_named(items),
        reason=reason,
    )
    return Started(total, job=job)


def trash_restore_named(
    user: Any, named: list[list[str]], parent_batches: list[str], progress: Progress | None = None
) -> list[Outcome]:
    """The restore job's body: exactly the deletions it names; running it again restores nothing more."""
    objs, skipped = _items_as_named(user, named, "restore")
    return skipped + trash_restore(user, objs, [uuid.UUID(b) for b in parent_batches], progress=progress)


def trash_purge_named(
    user: Any, named: list[list[str]], reason: str, progress: Progress | None = None
) -> list[Outcome]:
    """The purge job's body: exactly the deletions it names; a row purged already is reported."""
    objs, skipped = _items_as_named(user, named, "purge")
    return skipped + trash_purge(user, objs, reason, progress=progress)
