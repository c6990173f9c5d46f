"""The registry of hooks, keyed by (hook type, model) in run order, and `@model_hook`; it precomputes each
model's save plan and watched fields, connects the delete receivers, fires soft-delete and restore hooks
over rows in chunks, and flushes the statistics."""

from __future__ import annotations

import atexit
import inspect
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models.signals import post_delete, pre_delete

from .definitions import (
    CONDITION_NAMES,
    CONTEXT_NAMES,
    DEFAULT_PRIORITY,
    HOOK_CHUNK,
    ErrorPolicy,
    Hook,
    HookCondition,
    HookType,
    model_by_name,
)
from .firing import SavePlan, bypassing, chunked, fire, save_plans, tracked_fields
from .mixin import ModelHooksMixin, mutable_attnames
from .stats import HookStatsDelta, stats_buffer

logger = logging.getLogger(__name__)


class ModelHookRegistry:
    """Hooks keyed by (hook type, model), each key's hooks kept sorted in run order."""

    def __init__(self) -> None:
        self._hooks: dict[tuple[HookType, type[models.Model]], tuple[Hook, ...]] = {}
        self._seq = 0
        self._lock = threading.RLock()

    # Registration
    def register_hook(
        self,
        hook_type: HookType | str,
        model: type[models.Model] | str,
        func: Callable[..., Any],
        *,
        on_error: ErrorPolicy | str = ErrorPolicy.RAISE,
        priority: int = DEFAULT_PRIORITY,
        on_commit: bool = False,
        when: str | None = None,
        **condition: Any,
    ) -> Hook:
        """Register `func` to run on `hook_type` events of `model`: a class, "app_label.Model" or a bare model
        name ("Ticket") that names exactly one model. `when` (a field) with `has_changed`, `was`, `is_now`,
        `was_not`, `is_not` makes it conditional (see HookCondition)."""
        try:
            hook_type = HookType(hook_type.lower() if isinstance(hook_type, str) else hook_type)
        except ValueError:
            raise ValueError(
                f"Invalid hook type {hook_type!r}; one of: {', '.join(t.value for t in HookType)}"
            ) from None
        try:
            on_error = ErrorPolicy(on_error)
        except ValueError:
            raise ValueError(f"on_error must be 'raise' or 'log', not {on_error!r}") from None
        if isinstance(model, str):
            model = model_by_name(model)
        unknown = set(condition) - CONDITION_NAMES
        if unknown:
            raise TypeError(
                f"Unknown hook option(s) {', '.join(sorted(unknown))}; conditions take "
                f"{', '.join(sorted(CONDITION_NAMES))}."
            )
        if condition and when is None:
            raise TypeError(f"{', '.join(sorted(condition))} need when=<field name>.")
        if not (isinstance(model, type) and issubclass(model, ModelHooksMixin)):
            raise TypeError(f"{model!r} does not use ModelHooksMixin; its hooks would never run.")
        if model._meta.abstract or model._meta.proxy:
            raise TypeError(f"Register hooks on concrete models, not on {model.__name__}.")
        if on_commit and hook_type.is_before:
            raise ValueError("Only after-hooks can run on commit: a before-hook must be able to abort.")
        if not isinstance(priority, int):
            raise TypeError("priority must be an int")
        parameters = list(inspect.signature(func).parameters.values())
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
            raise TypeError(f"Hook {func.__qualname__} must accept **context (hooks get keyword context).")
        if parameters and parameters[0].name in CONTEXT_NAMES:
            raise TypeError(
                f"Hook {func.__qualname__}: name its first parameter (the instance) something other than "
                f"{parameters[0].name!r}, which the context also passes."
            )
        watched = HookCondition(model, when, **condition) if when is not None else None
        with self._lock:
            key = (hook_type, model)
            existing = self._hooks.get(key, ())
            hook = Hook(func, hook_type, model, priority, on_error, on_commit, self._seq, watched)
            # Registering the same function again (a re-imported module) replaces it in its place.
            same = [h for h in existing if h.name == hook.name]
            if same:
                hook.seq = same[0].seq
                existing = tuple(h for h in existing if h.name != hook.name)
            else:
                self._seq += 1
            self._hooks[key] = tuple(sorted((*existing, hook), key=lambda h: (h.priority, h.seq)))
            self._rebuild(model)
        return hook

    def unregister(self, hook: Hook) -> None:
        with self._lock:
            key = (hook.hook_type, hook.model)
            remaining = tuple(h for h in self._hooks.get(key, ()) if h is not hook)
            if remaining:
                self._hooks[key] = remaining
            else:
                self._hooks.pop(key, None)
            self._rebuild(hook.model)

    def _rebuild(self, model: type[models.Model]) -> None:
        def get(hook_type: HookType) -> tuple[Hook, ...]:
            return self._hooks.get((hook_type, model), ())

        plan = SavePlan(
            create_before=get(HookType.BEFORE_CREATE) + get(HookType.BEFORE_SAVE),
            create_after=get(HookType.AFTER_SAVE) + get(HookType.AFTER_CREATE),
            update_before=get(HookType.BEFORE_UPDATE) + get(HookType.BEFORE_SAVE),
            update_after=get(HookType.AFTER_SAVE) + get(HookType.AFTER_UPDATE),
        )
        if plan.create_before or plan.create_after or plan.update_before or plan.update_after:
            save_plans[model] = plan
        else:
            save_plans.pop(model, None)
        watched = {
            (hook.condition.attname, hook.condition.field)
            for (_, hooked), hooks in self._hooks.items()
            if hooked is model
            for hook in hooks
            if hook.condition is not None
        }
        if watched:
            mutable = set(mutable_attnames(model))
            tracked_fields[model] = tuple((att, name, att in mutable) for att, name in sorted(watched))
        else:
            tracked_fields.pop(model, None)
        uid = f"models_core.hooks:{model._meta.label}"
        for signal, hook_type, receiver in (
            (pre_delete, HookType.BEFORE_DELETE, _pre_delete_receiver),
            (post_delete, HookType.AFTER_DELETE, _post_delete_receiver),
        ):
            if get(hook_type):
                signal.connect(receiver, sender=model, weak=False, dispatch_uid=uid)
            else:
                signal.disconnect(sender=model, dispatch_uid=uid)

    # Reading
    def get_hooks(self, hook_type: HookType | str, model: type[models.Model]) -> tuple[Hook, ...]:
        """The hooks of one (type, model) in run order."""
        return self._hooks.get((HookType(hook_type), model), ())

    def has_hooks(self, hook_type: HookType, model: type[models.Model]) -> bool:
        return (hook_type, model) in self._hooks

    def all_hooks(self) -> list[Hook]:
        return [hook for hooks in self._hooks.values() for hook in hooks]

    # Firing
    def fire_for_rows(
        self,
        hook_type: HookType,
        model: type[models.Model],
        rows: models.QuerySet | Sequence[Any],
        context: dict[str, Any],
        substitute: models.Model | None = None,
    ) -> None:
        """Fire per-row hooks on a set of rows (a queryset, or primary keys), fetched in chunks.

        `substitute` stands in for its own row, so the caller's instance (not a copy) reaches the hooks.
        """
        hooks = self._hooks.get((hook_type, model))
        if not hooks:
            return
        if bypassing.get():
            count = rows.count() if isinstance(rows, models.QuerySet) else len(rows)
            stats_buffer.note_bypass(model, "bypass_hooks", count)
            return
        if isinstance(rows, models.QuerySet):
            chunks: Iterable = chunked(rows.order_by("pk").iterator(chunk_size=HOOK_CHUNK))
        else:
            chunks = (
                model._base_manager.filter(pk__in=rows[i : i + HOOK_CHUNK]).order_by("pk")
                for i in range(0, len(rows), HOOK_CHUNK)
            )
        if substitute is not None and type(substitute) is not model:
            substitute = None
        for chunk in chunks:
            for row in chunk:
                if substitute is not None and row.pk == substitute.pk:
                    row = substitute
                fire(hooks, row, context)

    # Statistics
    def stats_take(self) -> tuple[list[HookStatsDelta], dict[tuple[str, str], tuple[int, int]]]:
        """Take (and zero) this process's counters since the last flush."""
        with stats_buffer.lock:
            deltas = []
            for hook in self.all_hooks():
                if not (hook.calls or hook.failures):
                    continue
                deltas.append(
                    HookStatsDelta(
                        key=hook.key,
                        model_label=hook.model_label,
                        hook_type=hook.hook_type.value,
                        name=hook.name,
                        source_hash=hook.source_hash,
                        calls=hook.calls,
                        failures=hook.failures,
                        total_ns=hook.total_ns,
                        max_ns=hook.max_ns,
                        last_error=hook.last_error,
                        last_error_at=hook.last_error_at,
                    )
                )
                hook.calls = hook.failures = hook.total_ns = hook.max_ns = 0
                hook.last_error, hook.last_error_at = "", None
            bypasses = {key: (ops, rows) for key, (ops, rows) in stats_buffer.bypasses.items()}
            stats_buffer.bypasses.clear()
        return deltas, bypasses

    def stats_give_back(
        self, deltas: list[HookStatsDelta], bypasses: dict[tuple[str, str], tuple[int, int]]
    ) -> None:
        """Put counters back after a failed flush, so the next one carries them."""
        by_key = {hook.key: hook for hook in self.all_hooks()}
        with stats_buffer.lock:
            for delta in deltas:
                hook = by_key.get(delta.key)
                if hook is None:
                    continue
                hook.calls += delta.calls
                hook.failures += delta.failures
                hook.total_ns += delta.total_ns
                hook.max_ns = max(hook.max_ns, delta.max_ns)
                if delta.last_error_at and not hook.last_error_at:
                    hook.last_error, hook.last_error_at = delta.last_error, delta.last_error_at
            for key, (ops, rows) in bypasses.items():
                counter = stats_buffer.bypasses.setdefault(key, [0, 0])
                counter[0] += ops
                counter[1] += rows

    def stats_flush(self) -> int:
        """Write this process's counters through the installed flusher; returns how many hooks it wrote."""
        flusher = stats_buffer.flusher
        if flusher is None:
            return 0
        deltas, bypasses = self.stats_take()
        if not deltas and not bypasses:
            return 0
        try:
            flusher(deltas, bypasses)
        except Exception:
            # Statistics must never break a write: keep them for the next flush.
            logger.warning("Could not flush hook statistics; keeping them for the next flush", exc_info=True)
            self.stats_give_back(deltas, bypasses)
            return 0
        return len(deltas)

    def set_stats_flusher(self, flusher: Callable | None) -> None:
        stats_buffer.flusher = flusher


registry = ModelHookRegistry()
stats_buffer.flush_now = registry.stats_flush


def model_hook(
    hook_type: HookType | str,
    model: type[models.Model] | str,
    *,
    on_error: ErrorPolicy | str = ErrorPolicy.RAISE,
    priority: int = DEFAULT_PRIORITY,
    on_commit: bool = False,
    when: str | None = None,
    **condition: Any,
) -> Callable[[Callable], Callable]:
    """Decorator: register the function as a hook (see `ModelHookRegistry.register_hook`)."""

    def decorator(func: Callable) -> Callable:
        func.model_hook = registry.register_hook(
            hook_type,
            model,
            func,
            on_error=on_error,
            priority=priority,
            on_commit=on_commit,
            when=when,
            **condition,
        )
        return func

    return decorator


def _pre_delete_receiver(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    hooks = registry._hooks.get((HookType.BEFORE_DELETE, sender))
    if hooks:
        fire(hooks, instance, {"origin": kwargs.get("origin")})


def _post_delete_receiver(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    hooks = registry._hooks.get((HookType.AFTER_DELETE, sender))
    if hooks:
        fire(hooks, instance, {"origin": kwargs.get("origin")})
        stats_buffer.flush_if_due()


def _flush_at_exit() -> None:
    if not getattr(settings, "CUSTODIAN_HOOK_STATS_AUTOFLUSH", True):
        return
    try:
        registry.stats_flush()
    except Exception:  # the database may already be gone at interpreter exit
        logger.debug("Final hook statistics flush failed", exc_info=True)


atexit.register(_flush_at_exit)
