"""What a hook is: the hook types, error policies, `when=` conditions and the Hook itself (which times and
counts its own calls)."""

from __future__ import annotations

import enum
import hashlib
import inspect
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from .stats import stats_buffer

logger = logging.getLogger(__name__)

DEFAULT_PRIORITY = 100
HOOK_CHUNK = 2000
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


def initial_value_of(instance: models.Model, attname: str, default: Any) -> Any:
    """The stored value of `attname`: None for a new instance, `default` when it was not loaded (deferred)."""
    initial = instance.__dict__.get("_hooks_initial")
    if initial is None:
        return None if instance._state.adding else default
    return initial.get(attname, default)


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
        initial = initial_value_of(instance, self.attname, current)
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
        stats_buffer.note_call()
