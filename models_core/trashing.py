"""Moving rows to the trash: the cascade graph the models declare, the batch a soft delete stamps, and the
set-based soft delete itself (models_core.restore brings a batch back, models_core.purge removes it).

The base models and querysets (models_core.softdelete) call `soft_delete_roots`; this module knows them only
by their `soft_delete_kind` and their `soft_delete_values()`, so the imports run one way.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models, router, transaction
from django.utils import timezone

from .hooks import HookAwareQuerySet, HookType, bypass_note, fire
from .hooks import registry as hook_registry

# The columns a soft delete or restore writes; refreshed on the instance afterwards.
SOFT_DELETE_FIELDS = ("is_active", "deleted_at", "deleted_by", "delete_reason", "deletion_batch")
ENHANCED_FIELDS = ("deletion_metadata", "can_be_restored", "auto_delete_at")
# The trash state: written by soft delete, restore and purge (set-based UPDATEs) only, never by save().
# (`is_active` has a meaning of its own on users and SLA policies; a save writes it on live rows only.)
TRASH_STATE_COLUMNS = (
    "deleted_at",
    "deleted_by",
    "delete_reason",
    "deletion_batch",
    "deletion_metadata",
    "auto_delete_at",
)
TRASH_STATE_FIELDS = frozenset(TRASH_STATE_COLUMNS)


class RowInTrashError(ValidationError):
    """A save of an instance whose row went to the trash (or was purged) after it was loaded.

    A ValidationError, so forms, imports and the admin show it as a message; the row is left as it is.
    """


@dataclass
class BatchResult:
    """What one soft delete or restore did: its batch and the rows it changed per model label."""

    batch_id: uuid.UUID | None
    counts: dict[str, int] = field(default_factory=dict)
    deactivated: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def as_delete_result(self) -> tuple[int, dict[str, int]]:
        """What Django's delete() answers: (total, {model label: count}) without the zero counts."""
        return self.total, {label: count for label, count in self.counts.items() if count}

    def add(self, model: type[models.Model], count: int, *, deactivated: bool = False) -> None:
        target = self.deactivated if deactivated else self.counts
        if count or model._meta.label not in target:
            target[model._meta.label] = target.get(model._meta.label, 0) + count


def is_soft_delete_model(model: type[models.Model]) -> bool:
    """Whether `model` keeps a trash (a subclass of models_core.softdelete.SoftDeleteModel).

    Read from the class's `soft_delete_kind` rather than by issubclass: the base models call this module, so
    it cannot import them back.
    """
    return getattr(model, "soft_delete_kind", None) is not None


def is_enhanced_soft_delete_model(model: type[models.Model]) -> bool:
    """Whether `model` keeps deletion metadata, a restore veto and a retention deadline
    (EnhancedSoftDeleteModel)."""
    return getattr(model, "soft_delete_kind", None) == "enhanced"


# The cascade graph
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Edge:
    """A cascade relation: `child.fk` points at `parent`; `deactivate` edges only switch `is_active` off."""

    parent: type[models.Model]
    child: type[models.Model]
    fk: str
    deactivate: bool = False


def _declared_edges(model: type[models.Model]) -> list[Edge]:
    spec = getattr(model, "SoftDeleteMeta", None)
    edges = []
    for names, deactivate in ((getattr(spec, "cascade", ()), False), (getattr(spec, "deactivate", ()), True)):
        for name in names:
            rel = model._meta.get_field(name)
            if not (rel.one_to_many and rel.auto_created):
                raise TypeError(f"{model.__name__}.SoftDeleteMeta: {name!r} is not a reverse foreign key.")
            child = rel.related_model
            if not deactivate and not is_soft_delete_model(child):
                raise TypeError(f"{model.__name__}.SoftDeleteMeta: {child.__name__} cannot be soft-deleted.")
            if deactivate and not any(f.name == "is_active" for f in child._meta.concrete_fields):
                raise TypeError(
                    f"{model.__name__}.SoftDeleteMeta: {child.__name__} has no is_active to switch off."
                )
            edges.append(Edge(parent=model, child=child, fk=rel.field.name, deactivate=deactivate))
    return edges


@cache
def soft_delete_models() -> tuple[type[models.Model], ...]:
    """Every concrete soft-delete model, parents before children in the cascade graph."""
    found = [m for m in apps.get_models() if is_soft_delete_model(m)]
    depth: dict[type, int] = {}

    def depth_of(model: type, seen: tuple = ()) -> int:
        if model in seen:
            raise TypeError(f"Soft-delete cascade cycle through {model.__name__}.")
        if model not in depth:
            parents = [e.parent for e in cascade_edges() if e.child is model and not e.deactivate]
            depth[model] = 1 + max((depth_of(p, (*seen, model)) for p in parents), default=-1)
        return depth[model]

    return tuple(sorted(found, key=lambda m: (depth_of(m), m._meta.label)))


@cache
def cascade_edges() -> tuple[Edge, ...]:
    """Every declared cascade relation of the project."""
    return tuple(edge for m in apps.get_models() if is_soft_delete_model(m) for edge in _declared_edges(m))


def parent_edges(model: type[models.Model]) -> list[Edge]:
    """The soft-delete cascades that lead into `model` (its trash "parents")."""
    return [e for e in cascade_edges() if e.child is model and not e.deactivate]


def cascade_reachable(root: type[models.Model]) -> list[type[models.Model]]:
    """The soft-delete models a delete of `root` rows can reach, in cascade order (root first)."""
    reach = {root}
    changed = True
    while changed:
        changed = False
        for edge in cascade_edges():
            if edge.parent in reach and not edge.deactivate and edge.child not in reach:
                reach.add(edge.child)
                changed = True
    return [m for m in soft_delete_models() if m in reach]


# Soft delete
# ----------------------------------------------------------------------------------------------------


@dataclass
class DeleteContext:
    """What every level of one soft delete writes: its batch, time, who, why, its root and metadata."""

    batch_id: uuid.UUID
    now: Any
    user: models.Model | None
    reason: str
    root_label: str
    metadata: dict


def soft_delete_roots(
    model: type[models.Model],
    roots: models.QuerySet,
    *,
    user: models.Model | None = None,
    reason: str = "",
    metadata: dict | None = None,
    instance: models.Model | None = None,
) -> BatchResult:
    """Move `roots` (live rows of `model`) and their cascade groups to the trash under one new batch id.

    One UPDATE for the roots, then one per cascade relation whose parent level changed rows; children are
    found by `fk IN (SELECT id FROM parent WHERE deletion_batch = <batch>)`, so the statement count does not
    depend on the number of rows. Rows already in the trash are left alone (they keep their own batch).

    Soft-delete hooks: before-hooks of a level see its rows just before its UPDATE, after-hooks see every row
    of the batch once all levels are done, all inside the transaction (a raising hook undoes the whole
    batch). `instance`, when the caller holds the single root, is what the root's hooks receive.
    """
    context = DeleteContext(
        batch_id=uuid.uuid4(),
        now=timezone.now(),
        user=user,
        reason=reason,
        root_label=model._meta.label,
        metadata=dict(metadata or {}),
    )
    result = BatchResult(context.batch_id)
    using = router.db_for_write(model)
    root_context = {"user": user, "reason": reason, "batch_id": context.batch_id, "cascaded": False}
    cascaded_context = {**root_context, "cascaded": True}
    reachable = cascade_reachable(model)
    with transaction.atomic(using=using):
        if instance is not None:
            fire(hook_registry.get_hooks(HookType.BEFORE_SOFT_DELETE, model), instance, root_context)
        else:
            hook_registry.fire_for_rows(HookType.BEFORE_SOFT_DELETE, model, roots, root_context)
        changed = {
            model: roots.update_hooks_fired(**model.soft_delete_values(context, root=True, parent_fk=None))
        }
        result.add(model, changed[model])
        for child in reachable[1:]:
            changed[child] = 0
            for edge in parent_edges(child):
                if not changed.get(edge.parent):
                    continue
                in_batch = edge.parent._base_manager.filter(deletion_batch=context.batch_id).values("pk")
                rows = child._base_manager.filter(**{f"{edge.fk}__in": in_batch}, deleted_at__isnull=True)
                hook_registry.fire_for_rows(HookType.BEFORE_SOFT_DELETE, child, rows, cascaded_context)
                count = rows.update_hooks_fired(
                    **child.soft_delete_values(context, root=False, parent_fk=edge.fk)
                )
                changed[child] += count
                result.add(child, count)
        for edge in cascade_edges():
            if edge.deactivate and changed.get(edge.parent):
                in_batch = edge.parent._base_manager.filter(deletion_batch=context.batch_id).values("pk")
                count = edge.child._base_manager.filter(
                    **{f"{edge.fk}__in": in_batch}, is_active=True
                ).update(is_active=False)
                # Switching them off skips their save hooks: shown in the hook registry as a bypass.
                if not isinstance(edge.child._base_manager.get_queryset(), HookAwareQuerySet):
                    bypass_note(edge.child, "update", count)
                result.add(edge.child, count, deactivated=True)
        if instance is not None and changed[model]:
            instance._refresh_soft_delete_fields()
        for level in reachable:
            if not (changed.get(level) and hook_registry.has_hooks(HookType.AFTER_SOFT_DELETE, level)):
                continue
            if level is model and instance is not None:
                fire(hook_registry.get_hooks(HookType.AFTER_SOFT_DELETE, model), instance, root_context)
                continue
            hook_registry.fire_for_rows(
                HookType.AFTER_SOFT_DELETE,
                level,
                level._base_manager.filter(deletion_batch=context.batch_id),
                root_context if level is model else cascaded_context,
            )
    return result
