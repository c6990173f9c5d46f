"""Model hooks: the `ModelHookRegistry`, `@model_hook` and `ModelHooksMixin`.

A hook is a function registered for one (hook type, model) pair::

    @model_hook(HookType.BEFORE_SAVE, Ticket, priority=10, on_error="raise")
    def stamp_resolved_at(instance, **context):
        ...

    @model_hook("after_update", "Ticket", when="status", was="resolved", is_now="open")
    def notify_reopened(ticket, **context):
        ...

The model may be a class, "app_label.Model" or a bare class name naming exactly one installed model
(anything else is a clear error at registration); the hook type a HookType or its name in any case.
`when=<field>` with `has_changed`, `was`, `is_now`, `was_not`, `is_not` (django-lifecycle's conditions) makes
a hook conditional; instances answer `initial_value(field)` and `has_changed(field)` from the values they
were loaded with or last saved (ModelHooksMixin keeps them; no query). A false condition costs a dict
lookup and a comparison.

Only the fields some registered hook of the model names in `when=` are tracked (django-dirtyfields'
FIELDS_TO_CHECK, where lifecycle tracks every field): loading a row copies those values and nothing else,
so a model without conditions pays nothing per loaded row, however many rows a page or an export reads.
A hook that asks `has_changed(field)` itself names the field with `when=field` (with no other condition it
always runs); asking about a field nobody watches is a clear error, not a silent "unchanged". An instance
loaded before a hook started watching a field has no stored value for it and reads as unchanged.

Contract
- Hooks take the instance and keyword context and must accept ``**context`` (checked at registration):
  save events pass ``created`` and ``update_fields``; soft delete passes ``user``, ``reason``, ``batch_id``
  and ``cascaded``; restore passes ``user`` and ``batch_id``; hard delete passes ``origin``.
- Order: ascending ``priority`` (default 100), then registration order. A save runs before_create /
  before_update, then before_save, the write, then after_save, then after_create / after_update.
- Errors: ``on_error`` defaults to "raise" (a Django signal handler's behaviour; the project's own hooks
  still say it). "raise" propagates the error: from a before-hook the write does
  not happen (nothing is written); from an after-hook it reaches the caller inside the caller's transaction
  (soft delete, restore and hard delete run in one, so they roll back whole). "log" logs it, counts a
  failure and carries on; an inline "log" hook runs in a savepoint when a transaction is open, so a database
  error inside it cannot poison the caller's transaction.
- ``on_commit=True`` (after-hooks only) defers the hook to ``transaction.on_commit``: it runs only if the
  write commits (e-mails, jobs, caches).
- A before-save hook may return the names of the fields it set; a save with ``update_fields`` then writes
  them too.

Where hooks fire
- ``save()``: the mixin. The fast path is one dict lookup when a model has no save hooks; otherwise the
  hooks come from tuples precomputed at registration, so firing allocates nothing but the context dict.
- Soft delete and restore (``instance.soft_delete()``, ``QuerySet.delete()``, ``batch_restore`` and the
  cascades): ``models_core.softdelete`` stays set-based (one UPDATE per model per level). Per-row hooks are
  fired only for models that have hooks for that event: their rows are fetched in chunks (``HOOK_CHUNK``)
  just before their level's UPDATE (before-hooks) and after the last one (after-hooks). A model without
  hooks costs no statement at all.
- Hard delete (``hard_delete()``, a plain model's ``delete()`` / ``QuerySet.delete()``, purge cascades):
  Django's deletion collector sends ``pre_delete`` / ``post_delete`` for every row inside its transaction;
  the registry connects one receiver per model that has delete hooks, so other models keep the collector's
  fast (no-fetch) delete.

Statistics and bypasses
- Each hook counts calls, failures, total and maximum duration and its last error in process memory; the
  counts are flushed to the database by a flusher that ``dashboard.hooks`` installs (one INSERT ... ON
  CONFLICT adding the deltas, so every worker process's counts add up), every ``FLUSH_EVERY_CALLS`` calls or
  ``FLUSH_EVERY_SECONDS`` seconds, after the current transaction commits, at the end of a request when
  due, and at exit.
- Writes that skip ``save()`` (``bulk_create``, ``bulk_update``, ``QuerySet.update``) on hooked models are
  counted per model by ``HookAwareQuerySet`` and flushed the same way. Raw SQL cannot be seen.
- Skipping hooks on purpose: ``instance.save(skip_hooks=True)``, and ``with bypass_hooks():`` (scripts,
  data migrations) for every save, delete, soft delete and restore inside it. Each skip is counted as a
  bypass of its model ("skip_hooks" / "bypass_hooks") beside the bulk ones.
"""

from __future__ import annotations

import atexit
import copy
import enum
import functools
import hashlib
import inspect
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connection, models, transaction
from django.db.models.signals import post_delete, pre_delete
from django.utils import timezone

logger = logging.getLogger(__name__)

DEFAULT_PRIORITY = 100
HOOK_CHUNK = 2000
FLUSH_EVERY_CALLS = 1000
FLUSH_EVERY_SECONDS = 10.0
ERROR_MAX_CHARS = 2000


# The keyword context hooks receive (see the module docstring).
CONTEXT_NAMES = frozenset({"created", "update_fields", "user", "reason", "batch_id", "cascaded", "origin"})
CONDITION_NAMES = frozenset({"has_changed", "was", "is_now", "was_not", "is_not"})


def model_by_name(name: str) -> type[models.Model]:
    """A model from "app_label.Model" or a bare class name ("Ticket"), which must name exactly one model."""
    if "." in name:
        try:
            return apps.get_model(name)
        except (LookupError, ValueError):
            raise ValueError(f"No model {name!r} is installed.") from None
    found = [m for m in apps.get_models() if m.__name__.lower() == name.lower()]
    if not found:
        raise ValueError(f"No model is named {name!r}; give a model class or 'app_label.Model'.")
    if len(found) > 1:
        labels = ", ".join(sorted(m._meta.label for m in found))
        raise ValueError(f"{name!r} names several models ({labels}); say which with 'app_label.Model'.")
    return found[0]


class HookType(enum.StrEnum):
    """The twelve hook types: before/after each of create, update, save, delete, soft delete and restore."""

    BEFORE_SAVE = "before_save"
    AFTER_SAVE = "after_save"
    BEFORE_CREATE = "before_create"
    AFTER_CREATE = "after_create"
    BEFORE_UPDATE = "before_update"
    AFTER_UPDATE = "after_update"
    BEFORE_DELETE = "before_delete"
    AFTER_DELETE = "after_delete"
    BEFORE_SOFT_DELETE = "before_soft_delete"
    AFTER_SOFT_DELETE = "after_soft_delete"
    BEFORE_RESTORE = "before_restore"
    AFTER_RESTORE = "after_restore"

    @property
    def is_before(self) -> bool:
        return self.value.startswith("before_")


# The order events are shown in (and, for a save, fired in).
HOOK_TYPE_ORDER = (
    HookType.BEFORE_CREATE,
    HookType.BEFORE_UPDATE,
    HookType.BEFORE_SAVE,
    HookType.AFTER_SAVE,
    HookType.AFTER_CREATE,
    HookType.AFTER_UPDATE,
    HookType.BEFORE_SOFT_DELETE,
    HookType.AFTER_SOFT_DELETE,
    HookType.BEFORE_RESTORE,
    HookType.AFTER_RESTORE,
    HookType.BEFORE_DELETE,
    HookType.AFTER_DELETE,
)


class ErrorPolicy(enum.StrEnum):
    RAISE = "raise"
    LOG = "log"


def _relative_file(path: str | None) -> str:
    if not path:
        return "?"
    try:
        return str(Path(path).resolve().relative_to(Path(settings.BASE_DIR).resolve()))
    except ValueError:
        return path


def _def_line(func: Callable) -> int:
    """The line of the `def` itself (co_firstlineno points at the first decorator)."""
    try:
        lines, start = inspect.getsourcelines(func)
    except (OSError, TypeError):
        return getattr(getattr(func, "__code__", None), "co_firstlineno", 0)
    for offset, text in enumerate(lines):
        if text.lstrip().startswith(("def ", "async def ")):
            return start + offset
    return start


def _source_hash(func: Callable) -> str:
    try:
        source = inspect.getsource(func)
    except (OSError, TypeError):
        # No source (built in a REPL, compiled only): hash the bytecode so a change is still noticed.
        source = repr(getattr(func, "__code__", func).co_code if hasattr(func, "__code__") else func)
    return hashlib.sha256(source.encode()).hexdigest()


_ANY = object()  # "no constraint" for the was / is_now values of a condition


class HookCondition:
    """When a hook runs, in django-lifecycle's terms: a field and what must hold of its change.

    `has_changed` True/False: the value differs/does not differ from the stored one; `was` / `is_now`: the
    stored / current value equals it; `was_not` / `is_not`: differs from it. All given parts must hold. The
    stored value is the one the instance was loaded with (or last saved), kept by ModelHooksMixin without a
    query; an instance not saved yet has none (None).
    """

    __slots__ = ("attname", "field", "has_changed", "is_not", "is_now", "was", "was_not")

    def __init__(
        self,
        model: type[models.Model],
        field: str,
        *,
        has_changed: bool | None = None,
        was: Any = _ANY,
        is_now: Any = _ANY,
        was_not: Any = _ANY,
        is_not: Any = _ANY,
    ) -> None:
        try:
            model_field = model._meta.get_field(field)
        except Exception:
            raise ValueError(f"when={field!r}: {model.__name__} has no field {field!r}.") from None
        if not getattr(model_field, "concrete", False):
            raise ValueError(f"when={field!r}: only a concrete field of {model.__name__} can be watched.")
        self.field = field
        self.attname = model_field.attname
        self.has_changed = has_changed
        self.was, self.is_now, self.was_not, self.is_not = was, is_now, was_not, is_not

    def __call__(self, instance: models.Model) -> bool:
        current = instance.__dict__.get(self.attname)
        initial = _initial_of(instance, self.attname, current)
        if self.has_changed is not None and (initial != current) is not self.has_changed:
            return False
        if self.was is not _ANY and initial != self.was:
            return False
        if self.is_now is not _ANY and current != self.is_now:
            return False
        if self.was_not is not _ANY and initial == self.was_not:
            return False
        return not (self.is_not is not _ANY and current == self.is_not)

    def __str__(self) -> str:
        parts = []
        if self.has_changed is not None:
            parts.append("has changed" if self.has_changed else "has not changed")
        for label, value in (
            ("was", self.was),
            ("is now", self.is_now),
            ("was not", self.was_not),
            ("is not", self.is_not),
        ):
            if value is not _ANY:
                parts.append(f"{label} {value!r}")
        return f"{self.field} " + (", ".join(parts) if parts else "(any value)")


@dataclass(eq=False, slots=True)
class Hook:
    """One registered hook: its function, where it runs, where it comes from and its in-process counters."""

    do_not_call_in_templates = True  # it is callable (it runs the hook); templates read its attributes

    func: Callable[..., Any]
    hook_type: HookType
    model: type[models.Model]
    priority: int
    on_error: ErrorPolicy
    on_commit: bool
    seq: int
    condition: HookCondition | None = None
    module: str = ""
    qualname: str = ""
    file: str = ""
    line: int = 0
    doc: str = ""
    source_hash: str = ""
    # In-process statistics since the last flush.
    calls: int = 0
    failures: int = 0
    total_ns: int = 0
    max_ns: int = 0
    last_error: str = ""
    last_error_at: Any = None

    def __post_init__(self) -> None:
        func = inspect.unwrap(self.func)
        self.module = getattr(func, "__module__", "?")
        self.qualname = getattr(func, "__qualname__", repr(func))
        self.file = _relative_file(inspect.getsourcefile(func) if hasattr(func, "__code__") else None)
        self.line = _def_line(func)
        self.doc = inspect.getdoc(func) or ""
        self.source_hash = _source_hash(func)

    @property
    def key(self) -> str:
        """Stable across processes and restarts: what the statistics are stored under."""
        return f"{self.model._meta.label}:{self.hook_type}:{self.module}.{self.qualname}"

    @property
    def name(self) -> str:
        return f"{self.module}.{self.qualname}"

    @property
    def model_label(self) -> str:
        return self.model._meta.label

    @property
    def condition_text(self) -> str:
        """The `when=` condition for people ("" when the hook always runs)."""
        return str(self.condition) if self.condition is not None else ""

    def __call__(self, instance: models.Model, context: dict[str, Any]) -> Any:
        start = time.perf_counter_ns()
        try:
            if self.on_error is ErrorPolicy.LOG and connection.in_atomic_block:
                with transaction.atomic():
                    result = self.func(instance, **context)
            else:
                result = self.func(instance, **context)
        except Exception as error:
            self._count(time.perf_counter_ns() - start, error)
            if self.on_error is ErrorPolicy.RAISE:
                raise
            logger.exception("Hook %s (%s on %s) failed", self.name, self.hook_type, self.model_label)
            return None
        self._count(time.perf_counter_ns() - start, None)
        return result

    def _count(self, elapsed: int, error: BaseException | None) -> None:
        self.calls += 1
        self.total_ns += elapsed
        if elapsed > self.max_ns:
            self.max_ns = elapsed
        if error is not None:
            self.failures += 1
            self.last_error = f"{type(error).__name__}: {error}"[:ERROR_MAX_CHARS]
            self.last_error_at = timezone.now()
        _buffer.note_call()


@dataclass(frozen=True, slots=True)
class HookStatsDelta:
    """What one hook did in this process since the last flush."""

    key: str
    model_label: str
    hook_type: str
    name: str
    source_hash: str
    calls: int
    failures: int
    total_ns: int
    max_ns: int
    last_error: str
    last_error_at: Any


# flusher(hook deltas, {(model label, operation): (operations, rows)})
StatsFlusher = Callable[[list[HookStatsDelta], dict[tuple[str, str], tuple[int, int]]], None]


@dataclass(slots=True)
class _SavePlan:
    """The hooks of one model's save, in firing order, precomputed at registration."""

    create_before: tuple[Hook, ...] = ()
    create_after: tuple[Hook, ...] = ()
    update_before: tuple[Hook, ...] = ()
    update_after: tuple[Hook, ...] = ()


class _StatsBuffer:
    """Decides when the in-process counters go to the database; the counters live on the hooks."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pending = 0
        self.deadline = time.monotonic() + FLUSH_EVERY_SECONDS
        self.bypasses: dict[tuple[str, str], list[int]] = {}
        self.flusher: StatsFlusher | None = None

    def note_call(self) -> None:
        self.pending += 1
        if self.pending >= FLUSH_EVERY_CALLS:
            self.flush_soon()

    def note_bypass(self, model: type[models.Model], operation: str, rows: int) -> None:
        counter = self.bypasses.get((model._meta.label, operation))
        if counter is None:
            counter = self.bypasses[(model._meta.label, operation)] = [0, 0]
        counter[0] += 1
        counter[1] += rows
        self.pending += 1
        if self.pending >= FLUSH_EVERY_CALLS:
            self.flush_soon()

    def flush_if_due(self) -> None:
        if self.pending and time.monotonic() >= self.deadline:
            self.flush_soon()

    def flush_soon(self) -> None:
        """Flush now, or after the open transaction commits (its rows may be rolled back; our counts not)."""
        self.pending = 0
        self.deadline = time.monotonic() + FLUSH_EVERY_SECONDS
        if self.flusher is None or not getattr(settings, "CUSTODIAN_HOOK_STATS_AUTOFLUSH", True):
            return
        if connection.in_atomic_block:
            transaction.on_commit(registry.stats_flush)
        else:
            registry.stats_flush()


_buffer = _StatsBuffer()
_save_plans: dict[type[models.Model], _SavePlan] = {}
# Per model, the fields its hooks' conditions watch: (attname, name, is a JSON value to copy), rebuilt with
# the hooks.
_tracked: dict[type[models.Model], tuple[tuple[str, str, bool], ...]] = {}


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

        plan = _SavePlan(
            create_before=get(HookType.BEFORE_CREATE) + get(HookType.BEFORE_SAVE),
            create_after=get(HookType.AFTER_SAVE) + get(HookType.AFTER_CREATE),
            update_before=get(HookType.BEFORE_UPDATE) + get(HookType.BEFORE_SAVE),
            update_after=get(HookType.AFTER_SAVE) + get(HookType.AFTER_UPDATE),
        )
        if plan.create_before or plan.create_after or plan.update_before or plan.update_after:
            _save_plans[model] = plan
        else:
            _save_plans.pop(model, None)
        watched = {
            (hook.condition.attname, hook.condition.field)
            for (_, hooked), hooks in self._hooks.items()
            if hooked is model
            for hook in hooks
            if hook.condition is not None
        }
        if watched:
            mutable = set(_mutable_attnames(model))
            _tracked[model] = tuple((att, name, att in mutable) for att, name in sorted(watched))
        else:
            _tracked.pop(model, None)
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
        if _bypassing.get():
            count = rows.count() if isinstance(rows, models.QuerySet) else len(rows)
            _buffer.note_bypass(model, "bypass_hooks", count)
            return
        if isinstance(rows, models.QuerySet):
            chunks: Iterable = _chunked(rows.order_by("pk").iterator(chunk_size=HOOK_CHUNK))
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
        with _buffer.lock:
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
            bypasses = {key: (ops, rows) for key, (ops, rows) in _buffer.bypasses.items()}
            _buffer.bypasses.clear()
        return deltas, bypasses

    def stats_give_back(
        self, deltas: list[HookStatsDelta], bypasses: dict[tuple[str, str], tuple[int, int]]
    ) -> None:
        """Put counters back after a failed flush, so the next one carries them."""
        by_key = {hook.key: hook for hook in self.all_hooks()}
        with _buffer.lock:
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
                counter = _buffer.bypasses.setdefault(key, [0, 0])
                counter[0] += ops
                counter[1] += rows

    def stats_flush(self) -> int:
        """Write this process's counters through the installed flusher; returns how many hooks it wrote."""
        flusher = _buffer.flusher
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
        _buffer.flusher = flusher


registry = ModelHookRegistry()


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


def fire(hooks: tuple[Hook, ...], instance: models.Model, context: dict[str, Any]) -> list[str] | None:
    """Run `hooks` in order on one instance; returns the field names before-save hooks said they set."""
    if not hooks:
        return None
    if _bypassing.get():
        _buffer.note_bypass(hooks[0].model, "bypass_hooks", 1)
        return None
    touched = None
    for hook in hooks:
        if hook.condition is not None and not hook.condition(instance):
            continue
        if hook.on_commit:
            transaction.on_commit(_deferred(hook, instance, context))
            continue
        result = hook(instance, context)
        if result:
            touched = [*(touched or ()), *result]
    return touched


def _deferred(hook: Hook, instance: models.Model, context: dict[str, Any]) -> Callable[[], None]:
    def run() -> None:
        hook(instance, context)
        _buffer.flush_if_due()

    return run


def _chunked(iterator: Iterable) -> Iterable[list]:
    chunk: list = []
    for item in iterator:
        chunk.append(item)
        if len(chunk) >= HOOK_CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _pre_delete_receiver(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    hooks = registry._hooks.get((HookType.BEFORE_DELETE, sender))
    if hooks:
        fire(hooks, instance, {"origin": kwargs.get("origin")})


def _post_delete_receiver(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    hooks = registry._hooks.get((HookType.AFTER_DELETE, sender))
    if hooks:
        fire(hooks, instance, {"origin": kwargs.get("origin")})
        _buffer.flush_if_due()


class ModelHooksMixin:
    """Fires the registered save hooks around `save()` (delete, soft delete and restore: see the module),
    and keeps each instance's stored values so hooks can ask what changed (`initial_value`, `has_changed`)
    without a query.

    `save(skip_hooks=True)` saves without hooks (counted as a bypass on the hook registry page).
    """

    @classmethod
    def from_db(cls, db: str | None, field_names: Sequence[str], values: Sequence[Any]) -> models.Model:
        instance = super().from_db(db, field_names, values)
        tracked = _tracked.get(cls)
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
        return _initial_of(self, attname, None if self._state.adding else getattr(self, attname))

    def has_changed(self, field: str) -> bool:
        """Whether `field` differs from its stored value (always True for a new instance's set fields)."""
        attname = _tracked_attname(self, field)
        current = getattr(self, attname)
        return _initial_of(self, attname, current) != current

    def refresh_from_db(
        self, using: str | None = None, fields: Any = None, from_queryset: Any = None
    ) -> None:
        super().refresh_from_db(using, fields, from_queryset)
        _remember_saved(self, fields)

    def save(self, *args: Any, skip_hooks: bool = False, **kwargs: Any) -> None:
        plan = _save_plans.get(self.__class__)
        if plan is not None and (skip_hooks or _bypassing.get()):
            _buffer.note_bypass(self.__class__, "skip_hooks" if skip_hooks else "bypass_hooks", 1)
            plan = None
        if plan is None:
            super().save(*args, **kwargs)
            _remember_saved(self, kwargs.get("update_fields"))
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
        _remember_saved(self, kwargs.get("update_fields"))
        if time.monotonic() >= _buffer.deadline:
            _buffer.flush_if_due()

    save.alters_data = True


def _tracked_attname(instance: models.Model, field: str) -> str:
    attname = instance._meta.get_field(field).attname
    if not any(attname == tracked for tracked, _, _ in _tracked.get(type(instance), ())):
        raise ValueError(
            f"{type(instance).__name__}.{field} is not tracked: only fields a registered hook names in "
            f"when= keep their stored value (register the hook with when={field!r})."
        )
    return attname


def _initial_of(instance: models.Model, attname: str, default: Any) -> Any:
    """The stored value of `attname`: None for a new instance, `default` when it was not loaded (deferred)."""
    initial = instance.__dict__.get("_hooks_initial")
    if initial is None:
        return None if instance._state.adding else default
    return initial.get(attname, default)


@functools.cache
def _mutable_attnames(model: type[models.Model]) -> tuple[str, ...]:
    return tuple(f.attname for f in model._meta.concrete_fields if isinstance(f, models.JSONField))


def _remember_saved(instance: models.Model, update_fields: Iterable[str] | None) -> None:
    """After a save, the written values of the tracked fields are the stored ones."""
    tracked = _tracked.get(type(instance))
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


_bypassing: ContextVar[bool] = ContextVar("bypassing_hooks", default=False)


@contextmanager
def bypass_hooks() -> Iterator[None]:
    """Run no model hook inside the block (scripts, data migrations): saves, deletes, soft deletes and
    restores write as usual without their hooks. Each skipped firing is counted as a bypass per model on
    the hook registry page, so nothing runs unseen."""
    token = _bypassing.set(True)
    try:
        yield
    finally:
        _bypassing.reset(token)


_inside_bulk_update: ContextVar[bool] = ContextVar("inside_bulk_update", default=False)


class HookAwareQuerySet(models.QuerySet):
    """Counts the writes that skip `save()` and so every save hook: bulk_create, bulk_update, update."""

    def update(self, **kwargs: Any) -> int:
        rows = super().update(**kwargs)
        if not _inside_bulk_update.get():
            _buffer.note_bypass(self.model, "update", rows)
        return rows

    update.alters_data = True

    def bulk_create(self, objs: Iterable[models.Model], *args: Any, **kwargs: Any) -> list[models.Model]:
        created = super().bulk_create(objs, *args, **kwargs)
        _buffer.note_bypass(self.model, "bulk_create", len(created))
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
        _buffer.note_bypass(self.model, "bulk_update", rows)
        return rows

    bulk_update.alters_data = True

    def update_hooks_fired(self, **kwargs: Any) -> int:
        """An UPDATE whose hooks the caller fires itself (soft delete, restore): not a bypass."""
        return super().update(**kwargs)

    update_hooks_fired.alters_data = True


def bypass_note(model: type[models.Model], operation: str, rows: int) -> None:
    """Count a write that skipped `model`'s save hooks, made without its HookAwareQuerySet."""
    _buffer.note_bypass(model, operation, rows)


def flush_if_due(*args: Any, **kwargs: Any) -> None:
    """Write the counters when they are due; a receiver for request_finished (hence the signal's args)."""
    _buffer.flush_if_due()


def _flush_at_exit() -> None:
    if not getattr(settings, "CUSTODIAN_HOOK_STATS_AUTOFLUSH", True):
        return
    try:
        registry.stats_flush()
    except Exception:  # the database may already be gone at interpreter exit
        logger.debug("Final hook statistics flush failed", exc_info=True)


atexit.register(_flush_at_exit)
