"""Reads of the trash for its two confirmations: what a restore brings back and what stands in its way
(restore plans), and everything a purge removes (purge previews). Changes nothing; scoped like the list
(dashboard.trash.selectors).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.contrib.admin.utils import NestedObjects
from django.db import models, router
from django.db.models import QuerySet
from django.utils.text import capfirst

from dashboard.scoping import is_platform_staff
from dashboard.trash.listing import batch_sizes
from dashboard.trash.selectors import BACKGROUND_THRESHOLD, trash_item_value
from models_core.cascade import CascadePlan, Unsupported, cascade_plan
from models_core.purge import record_label
from models_core.restore import (
    BatchPlan,
    RestoreConflict,
    restore_batch_check,
    restore_conflict_list,
    restore_plan_for_batch,
    restore_plan_for_root,
)
from models_core.softdelete import SoftDeleteModel
from models_core.tenancy import organization_path

PREVIEW_ITEMS_SHOWN = 200
# Previews reaching more rows than this count them set-based and list PREVIEW_SAMPLE rows per model.
PREVIEW_NESTED_MAX = PREVIEW_ITEMS_SHOWN
PREVIEW_SAMPLE = 20


# Restore plans
# ----------------------------------------------------------------------------------------------------


def _checked(
    plan: dict[type[models.Model], QuerySet],
) -> tuple[dict[type[models.Model], int], list[RestoreConflict]]:
    """What a plan brings back per model and what stands in its way (a whole batch: one pass per model)."""
    if isinstance(plan, BatchPlan):
        check = restore_batch_check(plan)
        return check.counts, check.conflicts
    counts = {model: n for model, rows in plan.items() if (n := rows.count())}
    return counts, restore_conflict_list(plan)


@dataclass
class ParentOffer:
    """A cascade parent in the trash that blocks a restore; restoring its batch first would unblock it."""

    model: type[models.Model]
    pk: Any
    batch_id: uuid.UUID
    label: str
    counts: dict[str, int]
    conflicts: list[RestoreConflict]
    in_scope: bool


class _SelectedTrashItem:
    """What the restore plan and the purge preview both show of one selected row: its checkbox value,
    its title and how many rows it takes along. Subclasses are dataclasses with `obj` and `counts`."""

    obj: SoftDeleteModel
    counts: dict

    @property
    def value(self) -> str:
        return trash_item_value(self.obj)

    @property
    def title(self) -> str:
        return record_label(self.obj)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class RestorePlanItem(_SelectedTrashItem):
    obj: SoftDeleteModel
    counts: dict[type[models.Model], int]
    conflicts: list[RestoreConflict]
    offers: list[ParentOffer]

    @property
    def count_lines(self) -> list[str]:
        return [
            f"{n} {m._meta.verbose_name if n == 1 else m._meta.verbose_name_plural}"
            for m, n in self.counts.items()
        ]

    def blocking(self, parent_batches: set[uuid.UUID]) -> list[RestoreConflict]:
        """The conflicts left when the chosen parent batches come back first."""
        usable = {o.batch_id for o in self.offers if o.in_scope and o.batch_id in parent_batches}
        return [c for c in self.conflicts if not (c.kind == "parent_in_trash" and c.parent_batch in usable)]


def batch_in_scope(user: Any, batch_id: uuid.UUID) -> bool:
    """Every row of the batch lies in the user's organization (a platform user's batch may span several)."""
    if is_platform_staff(user):
        return True
    for model, rows in restore_plan_for_batch(batch_id).items():
        path = organization_path(model)
        outside = rows if path is None else rows.exclude(**{path: user.organization_id})
        if outside.exists():
            return False
    return True


def trash_restore_size(items: list[SoftDeleteModel], parent_batches: list[uuid.UUID]) -> int:
    """At most how many rows restoring `items` (and the chosen parent batches) brings back, counted up to
    just past BACKGROUND_THRESHOLD per model and batch (one query): enough to decide "in the background"."""
    batches = {o.deletion_batch for o in items if o.deletion_batch} | set(parent_batches)
    sizes, _ = batch_sizes(batches, cap=BACKGROUND_THRESHOLD + 1)
    return sum(sizes.values()) + sum(1 for o in items if not o.deletion_batch)


def trash_restore_plan(user: Any, items: list[SoftDeleteModel]) -> list[RestorePlanItem]:
    """What restoring each selected row brings back and what stands in the way; changes nothing."""
    plan_items = []
    offers_by_batch: dict[uuid.UUID, ParentOffer] = {}
    for obj in items:
        counts, conflicts = _checked(restore_plan_for_root(obj))
        offers = []
        for conflict in conflicts:
            if conflict.kind != "parent_in_trash" or conflict.parent_batch is None:
                continue
            offer = offers_by_batch.get(conflict.parent_batch)
            if offer is None:
                parent = conflict.parent_model._base_manager.get(pk=conflict.parent_pk)
                batch_counts, batch_conflicts = _checked(restore_plan_for_batch(conflict.parent_batch))
                offer = ParentOffer(
                    model=conflict.parent_model,
                    pk=conflict.parent_pk,
                    batch_id=conflict.parent_batch,
                    label=record_label(parent),
                    counts={m._meta.verbose_name_plural: n for m, n in batch_counts.items()},
                    # The parent's batch contains the selected row's parent, so its own orphan check is
                    # the one that matters (a grandparent still in the trash).
                    conflicts=batch_conflicts,
                    in_scope=batch_in_scope(user, conflict.parent_batch),
                )
                offers_by_batch[conflict.parent_batch] = offer
            offers.append(offer)
        plan_items.append(RestorePlanItem(obj=obj, counts=counts, conflicts=conflicts, offers=offers))
    return plan_items


# Purge previews
# ----------------------------------------------------------------------------------------------------


@dataclass
class PurgePreviewItem(_SelectedTrashItem):
    obj: SoftDeleteModel
    nested: list
    counts: dict[str, int]
    problems: list[str]
    truncated: bool = False


def _preview_label(obj: models.Model) -> str:
    meta = obj._meta
    if isinstance(obj, SoftDeleteModel):
        state = " (in the trash)" if obj.deleted_at is not None else " (live)"
        return f"{capfirst(meta.verbose_name)}: {obj.trash_label}{state}"
    return f"{capfirst(meta.verbose_name)}: {obj}"


def _truncate_nested(nested: list, budget: list[int]) -> list:
    out = []
    for item in nested:
        if budget[0] <= 0:
            break
        if isinstance(item, list):
            out.append(_truncate_nested(item, budget))
        else:
            budget[0] -= 1
            out.append(item)
    return out


def _preview_nested(obj: SoftDeleteModel) -> PurgePreviewItem:
    """The admin's delete confirmation: every reached row loaded (NestedObjects), shown as a tree."""
    collector = NestedObjects(using=router.db_for_write(type(obj)))
    collector.collect([obj])
    nested = collector.nested(_preview_label)
    counts = {
        capfirst(model._meta.verbose_name_plural): len(objs) for model, objs in collector.model_objs.items()
    }
    problems = [f"Protected: {_preview_label(p)}" for p in collector.protected]
    live = [
        o
        for objs in collector.model_objs.values()
        for o in objs
        if isinstance(o, SoftDeleteModel) and o.deleted_at is None
    ]
    if live:
        problems.append(
            f"It would also remove {len(live)} live record(s), e.g. {_preview_label(live[0])}; "
            "move them to the trash first."
        )
    budget = [PREVIEW_ITEMS_SHOWN]
    shown = _truncate_nested(nested, budget)
    return PurgePreviewItem(obj=obj, nested=shown, counts=counts, problems=problems, truncated=budget[0] <= 0)


def _preview_set_based(
    obj: SoftDeleteModel, plan: CascadePlan, model_counts: dict[type[models.Model], int] | None = None
) -> PurgePreviewItem:
    """The same preview from COUNT queries over the cascade and the first PREVIEW_SAMPLE rows of each model:
    memory and queries do not grow with the rows reached. The list is flat per model, not a tree."""
    model_counts = plan.counts() if model_counts is None else model_counts
    counts = {capfirst(model._meta.verbose_name_plural): n for model, n in model_counts.items()}
    problems = []
    for blocking in plan.blockers():
        # Counted before sampled: the sample's ORDER BY pk LIMIT walks the whole table when no row blocks.
        if not (blockers := blocking.rows.count()):
            continue
        sample = list(blocking.rows[:PREVIEW_SAMPLE])
        problems.extend(f"Protected: {_preview_label(p)}" for p in sample)
        if (more := blockers - len(sample)) > 0:
            problems.append(f"Protected: {more} more {blocking.model._meta.verbose_name_plural}")
    live, example = 0, None
    for rows in plan.live_rows().values():
        n = rows.count()
        if n and example is None:
            example = rows.first()
        live += n
    if live:
        problems.append(
            f"It would also remove {live} live record(s), e.g. {_preview_label(example)}; "
            "move them to the trash first."
        )
    nested: list = [_preview_label(obj)]
    children: list = []
    for model, n in model_counts.items():
        rows = list(plan.rows[model].order_by("pk")[:PREVIEW_SAMPLE])
        if model is type(obj):
            rows = [r for r in rows if r.pk != obj.pk]
            n -= 1
        if not n:
            continue
        children.append(
            f"{n} {capfirst(model._meta.verbose_name if n == 1 else model._meta.verbose_name_plural)}"
        )
        children.append([_preview_label(r) for r in rows])
    if children:
        nested.append(children)
    truncated = any(n > PREVIEW_SAMPLE for n in model_counts.values())
    return PurgePreviewItem(obj=obj, nested=nested, counts=counts, problems=problems, truncated=truncated)


def trash_purge_preview(user: Any, items: list[SoftDeleteModel]) -> list[PurgePreviewItem]:
    """Everything a hard delete of each selected row removes, by Django's on_delete rules (as the admin's
    delete confirmation shows it), and what would stop it; changes nothing.

    Up to PREVIEW_NESTED_MAX rows the admin's tree (NestedObjects, every row loaded); above it, or when the
    cascade can only be collected row by row, counts and samples from set-based queries (same counts)."""
    previews = []
    for obj in items:
        try:
            using = router.db_for_write(type(obj))
            plan = cascade_plan(type(obj), [obj.pk], using, trust_copies=True)
            if not plan.copies_hold():  # a copied key written past the triggers: every path, as the purge
                plan = cascade_plan(type(obj), [obj.pk], using)
        except Unsupported:
            plan = None
        model_counts = plan.counts() if plan is not None else {}
        if plan is None or sum(model_counts.values()) <= PREVIEW_NESTED_MAX:
            previews.append(_preview_nested(obj))
        else:
            previews.append(_preview_set_based(obj, plan, model_counts))
    return previews
