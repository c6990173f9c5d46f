"""Soft delete for the helpdesk's models: base models, querysets/managers and cascade groups.

Rules (docs/architecture.md names their one home):

- "In the trash" means ``deleted_at IS NOT NULL``. ``is_active`` is set to False on delete (so the
  ``is_active=True`` queries still mean "live"), but for ``User`` and ``SLAPolicy`` it has a meaning of its
  own (may log in / policy enabled), so the live/trash test never looks at it.
- ``Model.objects`` returns live rows, ``Model.all_objects`` every row; both offer ``active()``,
  ``deleted()`` and ``with_deleted()``. ``QuerySet.delete()`` soft-deletes; ``hard_delete()`` is explicit.
- A soft delete stamps one batch id (uuid4) on its roots and on every row it cascades to; rows already in
  the trash keep their own batch. Restore brings back exactly one batch (or one root's part of it). Both
  are set-based: one UPDATE per model per cascade level, whatever the number of rows.

Model hooks (models_core.hooks) fire here for soft delete and restore, cascades and `QuerySet.delete()`
included: per-row hooks only for models that have hooks for the event, on rows fetched in chunks around the
same set-based UPDATEs; a model without hooks costs no extra statement.

Cascade relations are declared on each model::

    class SoftDeleteMeta:
        cascade = ("comments", "attachments")  # reverse FKs whose live rows join the batch
        deactivate = ("sessions",)            # reverse FKs whose rows get is_active=False (never restored)

Where a row finds its tenant is the model's `organization_path` (models_core.tenancy), not declared here.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache, reduce
from operator import or_
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, models, router, transaction
from django.db.models import Exists, F, OuterRef, Q, Subquery, Value
from django.db.models.expressions import Col
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce, JSONObject
from django.db.models.lookups import IsNull
from django.db.models.sql.where import AND, WhereNode
from django.utils import timezone
from django.utils.text import capfirst

from .hooks import HookAwareQuerySet, HookType, ModelHooksMixin, bypass_note, fire
from .hooks import registry as hook_registry
from .live import exclude_live, filter_live
from .locks import advisory_xact_lock
from .retention import retention_expression
from .schema import TRASH_ROOT
from .signals import constraint_validation_failed

# The columns a soft delete or restore writes; refreshed on the instance afterwards.
SOFT_DELETE_FIELDS = ("is_active", "deleted_at", "deleted_by", "delete_reason", "deletion_batch")
ENHANCED_FIELDS = ("deletion_metadata", "can_be_restored", "auto_delete_at")
# The trash state: written by soft delete, restore and purge (set-based UPDATEs) only, never by save().
# (`is_active` has a meaning of its own on users and SLA policies; a save writes it on live rows only.)
TRASH_STATE_FIELDS = frozenset(
    {"deleted_at", "deleted_by", "delete_reason", "deletion_batch", "deletion_metadata", "auto_delete_at"}
)


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


# Querysets and managers
# ----------------------------------------------------------------------------------------------------


def _is_live_filter(node: Any, model: type[models.Model], alias: str | None) -> bool:
    return (
        isinstance(node, IsNull)
        and node.rhs is True
        and isinstance(node.lhs, Col)
        and node.lhs.target.name == "deleted_at"
        and node.lhs.target.model._meta.concrete_model is model._meta.concrete_model
        and node.lhs.alias == alias
    )


def _strip_live_filter(node: WhereNode, model: type[models.Model], alias: str | None) -> WhereNode:
    """Drop every `deleted_at IS NULL` on the base table from the AND-parts of a where tree.

    Removing a conjunct only widens the result, which is exactly what "with deleted" asks for; OR-branches and
    negations are left alone so a user's own filters keep their meaning.
    """
    if node.negated or node.connector != AND:
        return node
    clone = WhereNode(connector=AND, negated=False)
    for child in node.children:
        if _is_live_filter(child, model, alias):
            continue
        if isinstance(child, WhereNode):
            child = _strip_live_filter(child, model, alias)
        clone.children.append(child)
    return clone


class SoftDeleteQuerySet(HookAwareQuerySet):
    """A queryset whose `delete()` moves rows to the trash (and their cascade group with them)."""

    def active(self) -> SoftDeleteQuerySet:
        """Live rows only (not in the trash)."""
        return self.filter(deleted_at__isnull=True)

    def deleted(self) -> SoftDeleteQuerySet:
        """Rows in the trash only, even when called on `Model.objects`."""
        return self.with_deleted().filter(deleted_at__isnull=False)

    def with_deleted(self) -> SoftDeleteQuerySet:
        """The same queryset without the live-rows filter `Model.objects` adds, so it composes anywhere."""
        clone = self._chain()
        if clone.query.where.children:
            # The first alias is the base table (Query.base_table, read without caching it on an empty query).
            alias = next(iter(clone.query.alias_map), None)
            clone.query.where = _strip_live_filter(clone.query.where, self.model, alias)
        return clone

    def filter_live(self, *conditions: Q, **lookups: Any) -> SoftDeleteQuerySet:
        """`filter()` whose lookups across relations see live related rows only (models_core.live)."""
        return filter_live(self, *conditions, **lookups)

    def exclude_live(self, *conditions: Q, **lookups: Any) -> SoftDeleteQuerySet:
        """`exclude()` over live related rows only (models_core.live)."""
        return exclude_live(self, *conditions, **lookups)

    def soft_delete(self, user: models.Model | None = None, reason: str = "", metadata: dict | None = None):
        """Move the live rows of this queryset to the trash as one batch; return a `BatchResult`."""
        if self.query.is_sliced:
            raise TypeError("Cannot soft-delete a sliced queryset; filter by primary key instead.")
        roots = self.model.all_objects.filter(pk__in=self.values("pk"), deleted_at__isnull=True)
        return soft_delete_roots(self.model, roots, user=user, reason=reason, metadata=metadata)

    def delete(self) -> tuple[int, dict[str, int]]:
        """Soft delete, answering like Django's `QuerySet.delete()`: (total, {model label: count}), models
        that lost no row left out, so deleting nothing is (0, {})."""
        return self.soft_delete().as_delete_result()

    delete.alters_data = True
    delete.queryset_only = True

    def hard_delete(self) -> tuple[int, dict[str, int]]:
        """Really delete through Django's collector (on_delete rules apply), trash or not. The trash's purge
        does not come here: models_core.purge.purge_roots locks, refuses live rows and removes files."""
        return super().delete()

    hard_delete.alters_data = True
    hard_delete.queryset_only = True


class SoftDeleteManager(models.Manager.from_queryset(SoftDeleteQuerySet)):
    """`Model.objects`: live rows only. Related managers and `get_object_or_404` use it too."""

    def get_queryset(self) -> SoftDeleteQuerySet:
        return super().get_queryset().filter(deleted_at__isnull=True)


class AllObjectsManager(models.Manager.from_queryset(SoftDeleteQuerySet)):
    """`Model.all_objects`: every row, trash included.

    It is also the base manager, so forward foreign-key access (`comment.ticket` of a trashed ticket),
    `save()` and `refresh_from_db()` of trashed rows keep working.
    """


# Base models
# ----------------------------------------------------------------------------------------------------


class _AllRows:
    """Stands in for a model class while Django validates uniqueness, so the check sees trashed rows too.

    Django validates constraints through `_default_manager`, which hides the trash: a ticket number taken by a
    trashed ticket would pass `full_clean()` and then fail in the database. Partial (live-only) constraints
    still apply their own condition, so checking against every row is right for both kinds.
    """

    def __init__(self, model: type[models.Model]) -> None:
        self._model = model

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    @property
    def _default_manager(self) -> models.Manager:
        return self._model._base_manager


def _unique_error_field(constraint: models.UniqueConstraint) -> str | None:
    """The field a form shows a unique constraint's error on: its last column that is not the organization
    (slug of (organization, slug)), or the field an expression reads (email of Lower("email"))."""
    names = [n for n in constraint.fields if n != "organization"]
    if not names:
        names = [e.name for expr in constraint.expressions for e in expr.flatten() if isinstance(e, F)]
    return names[-1] if names else None


def _unique_errors_on_fields(model: type[models.Model], error: ValidationError) -> ValidationError:
    """Django puts the error of a multi-column or expression unique constraint on the whole form; a person
    fixes one field, so show it there (a duplicate must be a field error, never a 500 or a vague banner)."""
    general = getattr(error, "error_dict", {}).get(NON_FIELD_ERRORS)
    if not general:
        return error
    fields: dict[str, str] = {}
    for constraint in model._meta.constraints:
        if isinstance(constraint, models.UniqueConstraint) and constraint.violation_error_code == "unique":
            name = _unique_error_field(constraint)
            if name:
                fields[str(constraint.violation_error_message)] = name
    moved: dict[str, list[ValidationError]] = {}
    for item in error.error_dict[NON_FIELD_ERRORS]:
        moved.setdefault(fields.get(str(item.message), NON_FIELD_ERRORS), []).append(item)
    return ValidationError({**{k: v for k, v in error.error_dict.items() if k != NON_FIELD_ERRORS}, **moved})


class SoftDeleteModel(ModelHooksMixin, models.Model):
    """Abstract base: rows are moved to the trash instead of being deleted."""

    is_active = models.BooleanField(default=True, help_text="False while the record is in the trash.")
    deleted_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="When the record was moved to the trash."
    )
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who moved the record to the trash.",
    )
    delete_reason = models.CharField(max_length=255, blank=True, editable=False)
    deletion_batch = models.UUIDField(
        null=True,
        blank=True,
        editable=False,
        help_text="The soft delete this record went to the trash with; restore brings a batch back whole.",
    )

    objects = SoftDeleteManager()
    all_objects = AllObjectsManager()

    class Meta:
        abstract = True
        base_manager_name = "all_objects"
        default_manager_name = "objects"

    class SoftDeleteMeta:
        cascade: tuple[str, ...] = ()
        deactivate: tuple[str, ...] = ()

    # Django's validation against every row, not only live ones (see _AllRows).
    def get_constraints(self) -> list[tuple[Any, list]]:
        return [(_AllRows(model), constraints) for model, constraints in super().get_constraints()]

    def _perform_unique_checks(self, unique_checks: list) -> dict:
        return super()._perform_unique_checks([(_AllRows(model), checks) for model, checks in unique_checks])

    def validate_constraints(self, exclude: Any = None) -> None:
        # Forms never carry the trash columns (editable=False), so Django would skip every live-only
        # (condition=LIVE) unique constraint and the duplicate would reach the database as an IntegrityError.
        # Their values are the instance's own, never the user's: always check with them.
        if exclude:
            exclude = set(exclude) - {"deleted_at", "is_active"}
        try:
            super().validate_constraints(exclude=exclude)
        except ValidationError as error:
            # DB health counts what validation stopped before it reached the database ("prevented").
            constraint_validation_failed.send(sender=type(self), instance=self, exclude=exclude)
            raise _unique_errors_on_fields(type(self), error) from None

    def _do_update(self, base_qs, using, pk_val, values, update_fields, forced_update):
        """Django's UPDATE of `save()`, holding the trash state back (see TRASH_STATE_FIELDS).

        The trash columns are never written, and an instance loaded live updates only a row that is still
        live: `deleted_at IS NULL` sits in the UPDATE's WHERE clause, so a concurrent soft delete that
        committed first wins without a lock or an extra query. Zero rows matched is then refused
        (RowInTrashError) instead of Django's fallback INSERT, which would bring a purged row back. Django
        still sends post_save for the refused save (the project connects no receiver to it); the after-save
        hooks do not run.
        """
        if update_fields and not update_fields.isdisjoint(TRASH_STATE_FIELDS | {"deleted_by_id"}):
            raise ValueError(
                "The trash columns change through soft_delete(), restore() and purge only, not save(); "
                f"update_fields named {sorted(update_fields & (TRASH_STATE_FIELDS | {'deleted_by_id'}))}."
            )
        live = self.deleted_at is None
        # A trashed instance keeps is_active False too: only restore puts it back.
        values = [
            value
            for value in values
            if value[0].name not in TRASH_STATE_FIELDS and (live or value[0].name != "is_active")
        ]
        if live:
            base_qs = base_qs.filter(deleted_at__isnull=True)
        if super()._do_update(base_qs, using, pk_val, values, update_fields, forced_update):
            return True
        if self._state.adding:
            return False  # a new instance with a chosen primary key: Django inserts it
        # Raised by save_base(), outside Django's mark-for-rollback block: nothing failed in the database,
        # so a caller that catches the refusal keeps a usable transaction.
        self._stale_save = True
        return True

    def save_base(self, *args: Any, **kwargs: Any) -> None:
        self._stale_save = False
        super().save_base(*args, **kwargs)
        if self._stale_save:
            self._stale_save = False
            raise self._stale_save_error(kwargs.get("using") or router.db_for_write(type(self)))

    def _stale_save_error(self, using: str) -> RowInTrashError:
        name = f"{capfirst(self._meta.verbose_name)} {self.trash_label}"
        if type(self)._base_manager.using(using).filter(pk=self.pk).exists():
            return RowInTrashError(
                f"{name} was moved to the trash after you opened it, so your changes were not saved. "
                "Restore it from the trash first if it should stay.",
                code="in_trash",
            )
        return RowInTrashError(
            f"{name} was purged after you opened it, so your changes were not saved.", code="purged"
        )

    @property
    def is_deleted(self) -> bool:
        """In the trash (`deleted_at` set); a suspended user is not."""
        return self.deleted_at is not None

    @property
    def trash_label(self) -> str:
        """How messages name this record, e.g. "#123" for a ticket."""
        return f"“{self}”"

    def soft_delete(
        self, user: models.Model | None = None, reason: str = "", metadata: dict | None = None
    ) -> BatchResult:
        """Move this record and its cascade group to the trash; ValidationError if it already is there."""
        if self.is_deleted:
            raise ValidationError(
                f"{capfirst(self._meta.verbose_name)} {self.trash_label} is already in the trash.",
                code="already_deleted",
            )
        roots = type(self).all_objects.filter(pk=self.pk, deleted_at__isnull=True)
        with transaction.atomic(using=router.db_for_write(type(self))):
            # soft_delete_roots refreshes this instance's soft-delete fields before the after-hooks see it.
            result = soft_delete_roots(
                type(self), roots, user=user, reason=reason, metadata=metadata, instance=self
            )
            if not result.counts.get(self._meta.label):
                # Someone else deleted it since this instance was loaded.
                raise ValidationError(
                    f"{capfirst(self._meta.verbose_name)} {self.trash_label} is already in the trash.",
                    code="already_deleted",
                )
        return result

    def restore(self, user: models.Model | None = None) -> BatchResult:
        """Bring this record and the rows its soft delete took with it back; ValidationError if it is live,
        its parent is still in the trash, or a live row now holds one of its unique values."""
        if not self.is_deleted:
            raise ValidationError(
                f"{capfirst(self._meta.verbose_name)} {self.trash_label} is not in the trash.",
                code="not_deleted",
            )
        result = restore_subtree(self, user=user)
        self._refresh_soft_delete_fields()
        return result

    def delete(self, using: str | None = None, keep_parents: bool = False) -> tuple[int, dict[str, int]]:
        """Soft delete, answering like Django's `Model.delete()`."""
        return self.soft_delete().as_delete_result()

    delete.alters_data = True

    def hard_delete(self, using: str | None = None, keep_parents: bool = False) -> tuple[int, dict[str, int]]:
        """Really delete the row through Django's collector, trash or not. The trash's purge does not come
        here: models_core.purge.purge_roots locks, refuses live rows and removes files."""
        return super().delete(using=using, keep_parents=keep_parents)

    hard_delete.alters_data = True

    def _refresh_soft_delete_fields(self) -> None:
        names = [f.name for f in self._meta.concrete_fields if f.name in SOFT_DELETE_FIELDS + ENHANCED_FIELDS]
        self.refresh_from_db(fields=names)

    # The UPDATE expressions of a soft delete and a restore; EnhancedSoftDeleteModel adds its columns.
    @classmethod
    def soft_delete_values(
        cls, context: _DeleteContext, *, root: bool, parent_fk: str | None
    ) -> dict[str, Any]:
        return {
            "is_active": False,
            "deleted_at": context.now,
            "deleted_by": context.user,
            "delete_reason": context.reason[:255],
            "deletion_batch": context.batch_id,
        }

    @classmethod
    def restore_values(cls, now: Any, user: models.Model | None) -> dict[str, Any]:
        return {
            "is_active": True,
            "deleted_at": None,
            "deleted_by": None,
            "delete_reason": "",
            "deletion_batch": None,
        }


class EnhancedSoftDeleteModel(SoftDeleteModel):
    """Adds what the trash page and the purge job need: metadata, a restore veto and a retention deadline.

    `deletion_metadata` keeps {"was_active": <is_active before the delete>, "root": <model label of the batch
    root>, "cascaded": <bool>, ...caller's metadata}; restore puts `is_active` back from `was_active`, so a
    suspended user or a disabled SLA policy comes back suspended/disabled. After a restore it holds
    {"restored_at", "restored_by"}.
    """

    deletion_metadata = models.JSONField(default=dict, blank=True, editable=False)
    can_be_restored = models.BooleanField(
        default=True, help_text="False when a restore must be refused (e.g. data removed for legal reasons)."
    )
    auto_delete_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="When the purge job hard-deletes this record."
    )

    class Meta(SoftDeleteModel.Meta):
        abstract = True

    @classmethod
    def soft_delete_values(
        cls, context: _DeleteContext, *, root: bool, parent_fk: str | None
    ) -> dict[str, Any]:
        values = super().soft_delete_values(context, root=root, parent_fk=parent_fk)
        extra = {
            key: Value(value, output_field=models.JSONField()) for key, value in context.metadata.items()
        }
        values["deletion_metadata"] = JSONObject(
            was_active=F("is_active"), root=Value(context.root_label), cascaded=Value(not root), **extra
        )
        if root:
            values["auto_delete_at"] = retention_expression(cls, context.now)
        else:
            # The whole batch shares its root's deadline: purging a child before its root would make the batch
            # impossible to restore whole.
            parent = cls._meta.get_field(parent_fk).related_model
            values["auto_delete_at"] = Subquery(
                parent._base_manager.filter(pk=OuterRef(cls._meta.get_field(parent_fk).attname)).values(
                    "auto_delete_at"
                )[:1]
            )
        return values

    @classmethod
    def restore_values(cls, now: Any, user: models.Model | None) -> dict[str, Any]:
        values = super().restore_values(now, user)
        values["is_active"] = Coalesce(
            Cast(KT("deletion_metadata__was_active"), models.BooleanField()), Value(True)
        )
        values["auto_delete_at"] = None
        values["deletion_metadata"] = Value(
            {"restored_at": now.isoformat(), "restored_by": getattr(user, "pk", None)},
            output_field=models.JSONField(),
        )
        return values


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
    spec = getattr(model, "SoftDeleteMeta", SoftDeleteModel.SoftDeleteMeta)
    edges = []
    for names, deactivate in ((getattr(spec, "cascade", ()), False), (getattr(spec, "deactivate", ()), True)):
        for name in names:
            rel = model._meta.get_field(name)
            if not (rel.one_to_many and rel.auto_created):
                raise TypeError(f"{model.__name__}.SoftDeleteMeta: {name!r} is not a reverse foreign key.")
            child = rel.related_model
            if not deactivate and not issubclass(child, SoftDeleteModel):
                raise TypeError(f"{model.__name__}.SoftDeleteMeta: {child.__name__} cannot be soft-deleted.")
            if deactivate and not any(f.name == "is_active" for f in child._meta.concrete_fields):
                raise TypeError(
                    f"{model.__name__}.SoftDeleteMeta: {child.__name__} has no is_active to switch off."
                )
            edges.append(Edge(parent=model, child=child, fk=rel.field.name, deactivate=deactivate))
    return edges


@cache
def soft_delete_models() -> tuple[type[SoftDeleteModel], ...]:
    """Every concrete soft-delete model, parents before children in the cascade graph."""
    found = [m for m in apps.get_models() if issubclass(m, SoftDeleteModel)]
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
    return tuple(
        edge for m in apps.get_models() if issubclass(m, SoftDeleteModel) for edge in _declared_edges(m)
    )


def parent_edges(model: type[models.Model]) -> list[Edge]:
    """The soft-delete cascades that lead into `model` (its trash "parents")."""
    return [e for e in cascade_edges() if e.child is model and not e.deactivate]


def _reachable(root: type[models.Model]) -> list[type[models.Model]]:
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
class _DeleteContext:
    batch_id: uuid.UUID
    now: Any
    user: models.Model | None
    reason: str
    root_label: str
    metadata: dict


def soft_delete_roots(
    model: type[SoftDeleteModel],
    roots: models.QuerySet,
    *,
    user: models.Model | None = None,
    reason: str = "",
    metadata: dict | None = None,
    instance: SoftDeleteModel | None = None,
) -> BatchResult:
    """Move `roots` (live rows of `model`) and their cascade groups to the trash under one new batch id.

    One UPDATE for the roots, then one per cascade relation whose parent level changed rows; children are
    found by `fk IN (SELECT id FROM parent WHERE deletion_batch = <batch>)`, so the statement count does not
    depend on the number of rows. Rows already in the trash are left alone (they keep their own batch).

    Soft-delete hooks: before-hooks of a level see its rows just before its UPDATE, after-hooks see every row
    of the batch once all levels are done, all inside the transaction (a raising hook undoes the whole
    batch). `instance`, when the caller holds the single root, is what the root's hooks receive.
    """
    context = _DeleteContext(
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
    reachable = _reachable(model)
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


# Restore
# ----------------------------------------------------------------------------------------------------


def _lock_batch(batch_id: uuid.UUID, using: str) -> None:
    """Serialize restores of one batch: the second waits, then finds nothing left in the trash."""
    advisory_xact_lock("restore", str(batch_id), using=using)


def _batch_has_other_roots(instance: SoftDeleteModel) -> bool:
    """Whether the instance's batch holds another root than it (a queryset delete of several rows), or it is
    no root itself (it went along with one): one UNION ALL query on the idx_<x>_batch_roots indexes."""
    if not isinstance(instance, EnhancedSoftDeleteModel) or instance.deletion_metadata.get("cascaded"):
        return True
    arms = []
    for model in soft_delete_models():
        rows = model._base_manager.filter(TRASH_ROOT, deletion_batch=instance.deletion_batch)
        if model is type(instance):
            rows = rows.exclude(pk=instance.pk)
        arms.append(rows.order_by().values("pk")[:1])
    return arms[0].union(*arms[1:], all=True).exists()


def restore_plan_for_root(instance: SoftDeleteModel) -> dict[type[models.Model], models.QuerySet]:
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
    for child in _reachable(model)[1:]:
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


def _unique_clash(model: type[models.Model], rows: models.QuerySet) -> tuple[Any, str] | None:
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
            return pk, (
                f"Cannot restore {model._meta.verbose_name} {label}: a live record took its place. "
                f"{constraint.violation_error_message}"
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


def restore_conflict_list(plan: dict[type[models.Model], models.QuerySet]) -> list[RestoreConflict]:
    """Why a restore of `plan` must be refused (empty: it may go ahead), one query per model and rule: rows
    that may not be restored, rows whose trash parent is not coming back with them, rows whose unique value
    a live row took meanwhile."""
    problems: list[RestoreConflict] = []
    batch_id = getattr(plan, "batch_id", None)
    # Each check asks for any one offending row, unordered: `.first()` would order by pk, and a LIMIT 1 over
    # the primary key may walk the whole table when nothing matches.
    for model, rows in plan.items():
        if issubclass(model, EnhancedSoftDeleteModel):
            pk = _any(rows.filter(can_be_restored=False).values_list("pk", flat=True))
            if pk is not None:
                problems.append(
                    RestoreConflict(
                        "not_restorable",
                        model,
                        pk,
                        f"{capfirst(model._meta.verbose_name)} {_label_of(model, pk)} "
                        "is marked as not restorable.",
                    )
                )
        for edge in parent_edges(model):
            orphans = rows.filter(**{f"{edge.fk}__deleted_at__isnull": False})
            if batch_id is not None:
                # The parent comes back with the plan exactly when it is in the trash with this batch.
                orphans = orphans.exclude(**{f"{edge.fk}__deletion_batch": batch_id})
            elif edge.parent in plan:
                orphans = orphans.exclude(**{f"{edge.fk}__in": plan[edge.parent].values("pk")})
            found = _any(orphans.values_list("pk", model._meta.get_field(edge.fk).attname))
            if found is not None:
                pk, parent_pk = found
                parent_batch = (
                    edge.parent._base_manager.filter(pk=parent_pk)
                    .values_list("deletion_batch", flat=True)
                    .first()
                )
                problems.append(
                    RestoreConflict(
                        "parent_in_trash",
                        model,
                        pk,
                        f"Restore {edge.parent._meta.verbose_name} {_label_of(edge.parent, parent_pk)} "
                        "first: it is in the trash.",
                        parent_model=edge.parent,
                        parent_pk=parent_pk,
                        parent_batch=parent_batch,
                    )
                )
        clash = _unique_clash(model, rows)
        if clash:
            problems.append(RestoreConflict("unique_clash", model, clash[0], clash[1]))
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
    root: SoftDeleteModel | None = None,
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


def restore_subtree(instance: SoftDeleteModel, user: models.Model | None = None) -> BatchResult:
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
    using = router.db_for_write(SoftDeleteModel)
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
