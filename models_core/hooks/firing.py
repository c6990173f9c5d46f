"""Running hooks: `fire()` over one instance, the precomputed save plans and watched fields per model that
the registry fills, and skipping hooks on purpose (`bypass_hooks()`, counted as bypasses)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction

from .definitions import HOOK_CHUNK, Hook
from .stats import stats_buffer


@dataclass(slots=True)
class SavePlan:
    """The hooks of one model's save, in firing order, precomputed at registration."""

    create_before: tuple[Hook, ...] = ()
    create_after: tuple[Hook, ...] = ()
    update_before: tuple[Hook, ...] = ()
    update_after: tuple[Hook, ...] = ()


save_plans: dict[type[models.Model], SavePlan] = {}
# Per model, the fields its hooks' conditions watch: (attname, name, is a JSON value to copy), rebuilt with
# the hooks.
tracked_fields: dict[type[models.Model], tuple[tuple[str, str, bool], ...]] = {}


def fire(hooks: tuple[Hook, ...], instance: models.Model, context: dict[str, Any]) -> list[str] | None:
    """Run `hooks` in order on one instance; returns the field names before-save hooks said they set."""
    if not hooks:
        return None
    if bypassing.get():
        stats_buffer.note_bypass(hooks[0].model, "bypass_hooks", 1)
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
        stats_buffer.flush_if_due()

    return run


def chunked(iterator: Iterable) -> Iterable[list]:
    chunk: list = []
    for item in iterator:
        chunk.append(item)
        if len(chunk) >= HOOK_CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


bypassing: ContextVar[bool] = ContextVar("bypassing_hooks", default=False)


@contextmanager
def bypass_hooks() -> Iterator[None]:
    """Run no model hook inside the block (scripts, data migrations): saves, deletes, soft deletes and
    restores write as usual without their hooks. Each skipped firing is counted as a bypass per model on
    the hook registry page, so nothing runs unseen."""
    token = bypassing.set(True)
    try:
        yield
    finally:
        bypassing.reset(token)


def bypass_note(model: type[models.Model], operation: str, rows: int) -> None:
    """Count a write that skipped `model`'s save hooks, made without its HookAwareQuerySet."""
    stats_buffer.note_bypass(model, operation, rows)
