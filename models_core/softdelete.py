"""Soft delete for the helpdesk's models: the base models and their querysets and managers.

The engines they call sit below them: models_core.trashing (the cascade graph, soft delete in batches),
models_core.restore (plans, conflicts, restore) and models_core.purge (hard delete from the trash).

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

from typing import Any

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models, router, transaction
from django.db.models import F, OuterRef, Q, Subquery, Value
from django.db.models.expressions import Col
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce, JSONObject
from django.db.models.lookups import IsNull
from django.db.models.sql.where import AND, WhereNode
from django.utils.text import capfirst

from .hooks import HookAwareQuerySet, ModelHooksMixin
from .live import exclude_live, filter_live
from .restore import restore_subtree
from .retention import retention_expression
from .signals import constraint_validation_failed
from .trashing import (
    ENHANCED_FIELDS,
    SOFT_DELETE_FIELDS,
    TRASH_STATE_FIELDS,
    BatchResult,
    DeleteContext,
    RowInTrashError,
    soft_delete_roots,
)

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

    # How models_core.trashing and models_core.restore recognise a soft-delete model (they cannot import
    # this module: it calls them).
    soft_delete_kind = "basic"

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
        cls, context: DeleteContext, *, root: bool, parent_fk: str | None
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
    root>, "cascaded": <bool>, "via": <the foreign key whose parent took it along, on cascaded rows>,
    ...caller's metadata}; restore puts `is_active` back from `was_active`, so a
    suspended user or a disabled SLA policy comes back suspended/disabled. After a restore it holds
    {"restored_at", "restored_by"}.
    """

    soft_delete_kind = "enhanced"
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
        cls, context: DeleteContext, *, root: bool, parent_fk: str | None
    ) -> dict[str, Any]:
        values = super().soft_delete_values(context, root=root, parent_fk=parent_fk)
        extra = {
            key: Value(value, output_field=models.JSONField()) for key, value in context.metadata.items()
        }
        # "via": the relation whose parent took the row along, so a restore of the whole batch knows that
        # parent comes back with it and need not look it up (models_core.restore.restore_batch_check).
        via = {} if root else {"via": Value(parent_fk)}
        values["deletion_metadata"] = JSONObject(
            was_active=F("is_active"),
            root=Value(context.root_label),
            cascaded=Value(not root),
            **{**extra, **via},
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
