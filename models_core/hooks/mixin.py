"""Where save hooks fire: `ModelHooksMixin` around `save()` (and the values it keeps for `has_changed()`),
and `HookAwareQuerySet`, which counts the writes that skip `save()`."""

from __future__ import annotations

import copy
import functools
import time
from collections.abc import Iterable, Sequence
from contextvars import ContextVar
from typing import Any

from django.db import models

from .definitions import initial_value_of
from .firing import bypassing, fire, save_plans, tracked_fields
from .stats import stats_buffer


class ModelHooksMixin:
    """Fires the registered save hooks around `save()` (delete, soft delete and restore: see the module),
    and keeps each instance's stored values so hooks can ask what changed (`initial_value`, `has_changed`)
    without a query.

    `save(skip_hooks=True)` saves without hooks (counted as a bypass on the hook registry page).
    """

    @classmethod
    def from_db(cls, db: str | None, field_names: Sequence[str], values: Sequence[Any]) -> models.Model:
        instance = super().from_db(db, field_names, values)
        tracked = tracked_fields.get(cls)
        if tracked:
            loaded = instance.__dict__
            # JSON values are lists/dicts the instance may change in place; keep what was loaded.
            instance._hooks_initial = {
                attname: copy.deepcopy(loaded[attname]) if mutable else loaded[attname]
                for attname, _, mutable in tracked
                if attname in loaded
            }
        return instance

    def initial_value(self, field: str) -> Any:
        """The value `field` had when the instance was loaded or last saved (None before the first save)."""
        attname = _tracked_attname(self, field)
        return initial_value_of(self, attname, None if self._state.adding else getattr(self, attname))

    def has_changed(self, field: str) -> bool:
        """Whether `field` differs from its stored value (always True for a new instance's set fields)."""
        attname = _tracked_attname(self, field)
        current = getattr(self, attname)
        return initial_value_of(self, attname, current) != current

    def refresh_from_db(
        self, using: str | None = None, fields: Any = None, from_queryset: Any = None
    ) -> None:
        super().refresh_from_db(using, fields, from_queryset)
        remember_saved(self, fields)

    def save(self, *args: Any, skip_hooks: bool = False, **kwargs: Any) -> None:
        plan = save_plans.get(self.__class__)
        if plan is not None and (skip_hooks or bypassing.get()):
            stats_buffer.note_bypass(self.__class__, "skip_hooks" if skip_hooks else "bypass_hooks", 1)
            plan = None
        if plan is None:
            super().save(*args, **kwargs)
            remember_saved(self, kwargs.get("update_fields"))
            return
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and not update_fields:
            return  # Django's no-op: no query, no signal, so no hook either
        created = self._state.adding
        context = {"created": created, "update_fields": update_fields}
        before, after = (
            (plan.create_before, plan.create_after) if created else (plan.update_before, plan.update_after)
        )
        if before:
            touched = fire(before, self, context)
            if touched and update_fields is not None:
                kwargs["update_fields"] = {*update_fields, *touched}
        super().save(*args, **kwargs)
        if after:
            fire(after, self, context)
        # After the after-hooks, so they still see what changed (lifecycle's order too).
        remember_saved(self, kwargs.get("update_fields"))
        if time.monotonic() >= stats_buffer.deadline:
            stats_buffer.flush_if_due()

    save.alters_data = True


def _tracked_attname(instance: models.Model, field: str) -> str:
    attname = instance._meta.get_field(field).attname
    if not any(attname == tracked for tracked, _, _ in tracked_fields.get(type(instance), ())):
        raise ValueError(
            f"{type(instance).__name__}.{field} is not tracked: only fields a registered hook names in "
            f"when= keep their stored value (register the hook with when={field!r})."
        )
    return attname


@functools.cache
def mutable_attnames(model: type[models.Model]) -> tuple[str, ...]:
    return tuple(f.attname for f in model._meta.concrete_fields if isinstance(f, models.JSONField))


def remember_saved(instance: models.Model, update_fields: Iterable[str] | None) -> None:
    """After a save, the written values of the tracked fields are the stored ones."""
    tracked = tracked_fields.get(type(instance))
    if not tracked:
        return
    values = instance.__dict__
    initial = values.get("_hooks_initial")
    if initial is None:
        initial = instance._hooks_initial = {}
    names = None if update_fields is None else set(update_fields)
    for attname, name, mutable in tracked:
        # update_fields may name a foreign key either way ("customer" or "customer_id").
        if attname in values and (names is None or name in names or attname in names):
            value = values[attname]
            initial[attname] = copy.deepcopy(value) if mutable else value


_inside_bulk_update: ContextVar[bool] = ContextVar("inside_bulk_update", default=False)


class HookAwareQuerySet(models.QuerySet):
    """Counts the writes that skip `save()` and so every save hook: bulk_create, bulk_update, update."""

    def update(self, **kwargs: Any) -> int:
        rows = super().update(**kwargs)
        if not _inside_bulk_update.get():
            stats_buffer.note_bypass(self.model, "update", rows)
        return rows

    update.alters_data = True

    def bulk_create(self, objs: Iterable[models.Model], *args: Any, **kwargs: Any) -> list[models.Model]:
        created = super().bulk_create(objs, *args, **kwargs)
        stats_buffer.note_bypass(self.model, "bulk_create", len(created))
        return created

    bulk_create.alters_data = True

    def bulk_update(
        self, objs: Iterable[models.Model], fields: Sequence[str], *args: Any, **kwargs: Any
    ) -> int:
        # Django's bulk_update runs QuerySet.update() per batch: count the operation once, as itself.
        token = _inside_bulk_update.set(True)
        try:
            rows = super().bulk_update(objs, fields, *args, **kwargs)
        finally:
            _inside_bulk_update.reset(token)
        stats_buffer.note_bypass(self.model, "bulk_update", rows)
        return rows

    bulk_update.alters_data = True

    def update_hooks_fired(self, **kwargs: Any) -> int:
        """An UPDATE whose hooks the caller fires itself (soft delete, restore): not a bypass."""
        return super().update(**kwargs)

    update_hooks_fired.alters_data = True
