"""Restoring from the trash: what a restore brings back (plans for a root or a batch), what stands in its way
(conflicts), and the set-based restore, one batch at a time under its advisory lock.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from functools import reduce
from operator import or_
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, router, transaction
from django.db.models import Count, Exists, F, Min, OuterRef, Q, Value
from django.utils import timezone
from django.utils.text import capfirst

from .hooks import HookType
from .hooks import registry as hook_registry
from .locks import advisory_xact_lock
from .schema import TRASH_ROOT
from .trashing import (
    BatchResult,
    Edge,
    cascade_reachable,
    is_enhanced_soft_delete_model,
    parent_edges,
    soft_delete_models,
)

# Restore
# ----------------------------------------------------------------------------------------------------


def _lock_batch(batch_id: uuid.UUID, using: str) -> None:
    """Serialize restores of one batch: the second waits, then finds nothing left in the trash."""
    advisory_xact_lock("restore", str(batch_id), using=using)


def _batch_has_other_roots(instance: models.Model) -> bool:
    """Whether the instance's batch holds another root than it (a queryset delete of several rows), or it is
    no root itself (it went along with one): one UNION ALL query on the idx_<x>_batch_roots indexes."""
    if not is_enhanced_soft_delete_model(type(instance)) or instance.deletion_metadata.get("cascaded"):
        return True
    arms = []
    for model in soft_delete_models():
        rows = model._base_manager.filter(TRASH_ROOT, deletion_batch=instance.deletion_batch)
        if model is type(instance):
            rows = rows.exclude(pk=instance.pk)
        arms.append(rows.order_by().values("pk")[:1])
    return arms[0].union(*arms[1:], all=True).exists()


def restore_plan_for_root(instance: models.Model) -> dict[type[models.Model], models.QuerySet]:
    """The rows a restore of `instance` brings back: it, and what its soft delete took with it (same batch,
    reached through the cascade relations from it), as lazy querysets in cascade order.

    When the instance is its batch's only root (deleting an organization, a ticket), that is the whole batch:
    the plan is then `deletion_batch = B` per model, query shapes that stay index range reads whatever the
    planner believes about a batch it has no statistics for yet. Only a batch of several roots needs the
    nested `fk IN (parent's plan)` form; right after a big delete that form, planned for a batch estimated at
    one row, turns into nested loops rescanning the batch for every child row.
    """
    model = type(instance)
    if instance.deletion_batch is not None and not _batch_has_other_roots(instance):
        return restore_plan_for_batch(instance.deletion_batch)
    plan: dict[type[models.Model], models.QuerySet] = {
        model: model._base_manager.filter(pk=instance.pk, deleted_at__isnull=False)
    }
    if instance.deletion_batch is None:
        return plan
    for child in cascade_reachable(model)[1:]:
        reasons = [
            Q(**{f"{edge.fk}__in": plan[edge.parent].values("pk")})
            for edge in parent_edges(child)
            if edge.parent in plan
        ]
        if reasons:
            plan[child] = child._base_manager.filter(
                reduce(or_, reasons), deletion_batch=instance.deletion_batch, deleted_at__isnull=False
            )
    return plan


class BatchPlan(dict):
    """A restore plan that is one whole batch ({model: rows of the batch in the trash}): its checks can ask
    "is the parent in this batch" with a join instead of `NOT IN (the parent's plan)`."""

    def __init__(self, batch_id: uuid.UUID, plan: dict) -> None:
        super().__init__(plan)
        self.batch_id = batch_id


def restore_plan_for_batch(batch_id: uuid.UUID) -> BatchPlan:
    return BatchPlan(
        batch_id,
        {
            model: model._base_manager.filter(deletion_batch=batch_id, deleted_at__isnull=False)
            for model in soft_delete_models()
        },
    )


def _any(rows: models.QuerySet) -> Any:
    """One row of `rows` (None if none), in no particular order."""
    return next(iter(rows.order_by()[:1]), None)


def _label_of(model: type[models.Model], pk: Any) -> str:
    row = model._base_manager.filter(pk=pk).first()
    return row.trash_label if row is not None else f"#{pk}"


def _unique_clash(model: type[models.Model], rows: models.QuerySet) -> RestoreConflict | None:
    """A live row now holds a value one of `rows` needs under a live-only unique constraint."""
    for constraint in model._meta.constraints:
        if not isinstance(constraint, models.UniqueConstraint) or constraint.condition is None:
            continue
        keys = [F(name) for name in constraint.fields] or list(constraint.expressions)
        names = {f"_restore_key_{i}": key for i, key in enumerate(keys)}
        holders = (
            model._default_manager.filter(constraint.condition)
            .annotate(**names)
            .filter(**{name: OuterRef(name) for name in names})
        )
        pk = _any(rows.annotate(**names).filter(Exists(holders)).values_list("pk", flat=True))
        if pk is not None:
            label = _label_of(model, pk)
            return RestoreConflict(
                "unique_clash",
                model,
                pk,
                f"Cannot restore {model._meta.verbose_name} {label}: a live record took its place. "
                f"{constraint.violation_error_message}",
            )
    return None


@dataclass(frozen=True)
class RestoreConflict:
    """One reason a restore plan cannot go ahead whole, for the trash's plan page.

    kind: "not_restorable" (`can_be_restored=False`), "parent_in_trash" (a cascade parent that is not coming
    back with the plan; `parent_model`/`parent_pk`/`parent_batch` name it) or "unique_clash" (a live row took
    a value under a live-only unique constraint).
    """

    kind: str
    model: type[models.Model]
    pk: Any
    message: str
    parent_model: type[models.Model] | None = None
    parent_pk: Any = None
    parent_batch: uuid.UUID | None = None


def _not_restorable(model: type[models.Model], pk: Any) -> RestoreConflict:
    return RestoreConflict(
        "not_restorable",
        model,
        pk,
        f"{capfirst(model._meta.verbose_name)} {_label_of(model, pk)} is marked as not restorable.",
    )


def _parent_in_trash(edge: Edge, orphans: models.QuerySet) -> RestoreConflict | None:
    """The conflict of any one of `orphans` (rows whose parent stays in the trash); None if there is none."""
    found = _any(orphans.values_list("pk", edge.child._meta.get_field(edge.fk).attname))
    if found is None:
        return None
    pk, parent_pk = found
    parent_batch = (
        edge.parent._base_manager.filter(pk=parent_pk).values_list("deletion_batch", flat=True).first()
    )
    return RestoreConflict(
        "parent_in_trash",
        edge.child,
        pk,
        f"Restore {edge.parent._meta.verbose_name} {_label_of(edge.parent, parent_pk)} first: "
        "it is in the trash.",
        parent_model=edge.parent,
        parent_pk=parent_pk,
        parent_batch=parent_batch,
    )


def _orphans(rows: models.QuerySet, edge: Edge, batch_id: uuid.UUID) -> models.QuerySet:
    """Rows of a whole batch whose parent along `edge` is in the trash but not in that batch."""
    return rows.filter(**{f"{edge.fk}__deleted_at__isnull": False}).exclude(
        **{f"{edge.fk}__deletion_batch": batch_id}
    )


def _taken_along_via(edge: Edge) -> Q:
    """Rows the batch's soft delete took along through `edge`: their parent there is in the same batch.

    It stays so while they are in the trash: a parent leaves a batch only by a restore that brings back
    what it took along (its restore plan reaches them; it is refused whole otherwise) or by a purge that
    removes them with it, and a row in the trash keeps its foreign keys (saves are refused)."""
    return Q(deletion_metadata__contains={"via": edge.fk})


@dataclass
class BatchCheck:
    """A whole batch's rows in the trash per model (models without any left out) and why its restore must be
    refused (empty: it may go ahead)."""

    counts: dict[type[models.Model], int]
    conflicts: list[RestoreConflict]


def restore_batch_check(plan: BatchPlan) -> BatchCheck:
    """Counts and conflicts of a whole batch's restore, reading each model's rows of the batch once.

    Right after a big delete nothing has statistics for the new batch (estimated at one row), so every join
    from the batch's rows to their parents runs as nested loops over all of them: 90k tickets rescanning the
    organizations, 270k comments probing their tickets, seconds each. One aggregate per model counts its
    rows, finds one the restore may not bring back, and counts per parent relation the rows that did not
    come along with that parent (roots, rows taken along by another parent, rows of deletes before "via"
    was recorded); only those are joined to their parent, and only when there are any. Nothing here needs
    statistics: one index range read of the batch per model, however many rows it holds."""
    counts: dict[type[models.Model], int] = {}
    problems: list[RestoreConflict] = []
    for model, rows in plan.items():
        edges = parent_edges(model)
        enhanced = is_enhanced_soft_delete_model(model)
        aggregates: dict[str, Any] = {"n": Count("pk")}
        if enhanced:
            aggregates["not_restorable"] = Min("pk", filter=Q(can_be_restored=False))
        for i, edge in enumerate(edges):
            unchecked = Q(**{f"{model._meta.get_field(edge.fk).attname}__isnull": False})
            if enhanced:
                unchecked &= ~_taken_along_via(edge)
            aggregates[f"edge_{i}"] = Count("pk", filter=unchecked)
        found = rows.order_by().aggregate(**aggregates)
        if not found["n"]:
            continue
        counts[model] = found["n"]
        if found.get("not_restorable") is not None:
            problems.append(_not_restorable(model, found["not_restorable"]))
        for i, edge in enumerate(edges):
            if not found[f"edge_{i}"]:
                continue
            candidates = rows.exclude(_taken_along_via(edge)) if enhanced else rows
            if conflict := _parent_in_trash(edge, _orphans(candidates, edge, plan.batch_id)):
                problems.append(conflict)
        if clash := _unique_clash(model, rows):
            problems.append(clash)
    return BatchCheck(counts, problems)


def restore_conflict_list(plan: dict[type[models.Model], models.QuerySet]) -> list[RestoreConflict]:
    """Why a restore of `plan` must be refused (empty: it may go ahead), one query per model and rule: rows
    that may not be restored, rows whose trash parent is not coming back with them, rows whose unique value
    a live row took meanwhile. A whole batch: restore_batch_check."""
    if isinstance(plan, BatchPlan):
        return restore_batch_check(plan).conflicts
    problems: list[RestoreConflict] = []
    # Each check asks for any one offending row, unordered: `.first()` would order by pk, and a LIMIT 1 over
    # the primary key may walk the whole table when nothing matches.
    for model, rows in plan.items():
        if is_enhanced_soft_delete_model(model):
            pk = _any(rows.filter(can_be_restored=False).values_list("pk", flat=True))
            if pk is not None:
                problems.append(_not_restorable(model, pk))
        for edge in parent_edges(model):
            orphans = rows.filter(**{f"{edge.fk}__deleted_at__isnull": False})
            if edge.parent in plan:
                orphans = orphans.exclude(**{f"{edge.fk}__in": plan[edge.parent].values("pk")})
            if conflict := _parent_in_trash(edge, orphans):
                problems.append(conflict)
        if clash := _unique_clash(model, rows):
            problems.append(clash)
    return problems


def restore_conflicts(plan: dict[type[models.Model], models.QuerySet]) -> list[str]:
    """Why a restore of `plan` must be refused, as messages for people (empty: it may go ahead)."""
    return [conflict.message for conflict in restore_conflict_list(plan)]


def _constraint_message(models_: Iterable[type[models.Model]], error: IntegrityError) -> str:
    name = getattr(getattr(error.__cause__, "diag", None), "constraint_name", None)
    for model in models_:
        for constraint in model._meta.constraints:
            if constraint.name == name:
                return str(constraint.violation_error_message)
    return "It conflicts with live records."


def _run_restore(
    plan: dict[type[models.Model], models.QuerySet],
    batch_id: uuid.UUID | None,
    user: models.Model | None,
    root: models.Model | None = None,
) -> BatchResult:
    """Run a checked restore. Restore hooks: before-hooks see the plan's rows (still in the trash) before any
    UPDATE; after-hooks see them restored, found again by the ids taken beforehand (only for models that
    have after-restore hooks). `root` is the caller's instance, given to hooks in place of its row."""
    result = BatchResult(batch_id)
    now = timezone.now()
    problems = restore_conflicts(plan)
    if problems:
        raise ValidationError(problems, code="restore_refused")
    context = {"user": user, "batch_id": batch_id}
    for model, rows in plan.items():
        hook_registry.fire_for_rows(HookType.BEFORE_RESTORE, model, rows, context, substitute=root)
    restored_ids = {
        model: list(rows.order_by("pk").values_list("pk", flat=True))
        for model, rows in plan.items()
        if hook_registry.has_hooks(HookType.AFTER_RESTORE, model)
    }
    try:
        with transaction.atomic():
            # Children first: their querysets find them through parents that are still in the trash.
            for model in reversed(list(plan)):
                count = plan[model].update_hooks_fired(**model.restore_values(now, user))
                result.add(model, count)
    except IntegrityError as error:
        # A rule the pre-checks do not model (an overlapping SLA policy, two rows of one batch): refuse
        # clearly.
        raise ValidationError(
            f"Cannot restore: {_constraint_message(plan, error)}", code="restore_refused"
        ) from error
    if restored_ids:
        if root is not None and type(root) in restored_ids:
            root._refresh_soft_delete_fields()
        for model, ids in restored_ids.items():
            hook_registry.fire_for_rows(HookType.AFTER_RESTORE, model, ids, context, substitute=root)
    return result


def restore_subtree(instance: models.Model, user: models.Model | None = None) -> BatchResult:
    """Restore `instance` and the rows of its batch that its soft delete took with it (not other roots of the
    batch, not rows deleted separately before)."""
    model = type(instance)
    using = router.db_for_write(model)
    with transaction.atomic(using=using):
        if instance.deletion_batch is not None:
            _lock_batch(instance.deletion_batch, using)
        current = model._base_manager.select_for_update().filter(pk=instance.pk).first()
        if current is None or current.deleted_at is None or current.deletion_batch != instance.deletion_batch:
            raise ValidationError(
                f"{capfirst(model._meta.verbose_name)} {instance.trash_label} "
                "is not in the trash any more "
                "(restored or purged meanwhile).",
                code="not_deleted",
            )
        return _run_restore(restore_plan_for_root(instance), instance.deletion_batch, user, root=instance)


def batch_restore(batch_id: uuid.UUID | str, user: models.Model | None = None) -> BatchResult:
    """Restore every row of one batch that is still in the trash, in one transaction.

    Two concurrent restores of one batch: the advisory lock makes the second wait; it then finds nothing left
    and gets a ValidationError, so no row is restored twice.
    """
    batch_id = uuid.UUID(str(batch_id))
    using = router.db_for_write(soft_delete_models()[0])
    with transaction.atomic(using=using):
        _lock_batch(batch_id, using)
        if not batch_summary(batch_id):
            raise ValidationError(
                f"Nothing of batch {batch_id} is in the trash (restored or purged meanwhile).",
                code="not_deleted",
            )
        return _run_restore(restore_plan_for_batch(batch_id), batch_id, user)


def batch_summary(batch_id: uuid.UUID | str) -> dict[str, int]:
    """How many rows of each model one batch holds in the trash ({model label: count}; empty if none).

    One UNION ALL query, each arm served by the model's partial index on deletion_batch.
    """
    batch_id = uuid.UUID(str(batch_id))
    querysets = [
        model._base_manager.filter(deletion_batch=batch_id, deleted_at__isnull=False)
        .order_by()
        .values("deletion_batch")
        .annotate(model=Value(model._meta.label, output_field=models.CharField()), count=models.Count("pk"))
        .values_list("model", "count")
        for model in soft_delete_models()
    ]
    if not querysets:
        return {}
    rows = querysets[0].union(*querysets[1:], all=True)
    return {label: count for label, count in rows if count}
