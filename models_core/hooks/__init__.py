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

from .definitions import (
    CONTEXT_NAMES,
    DEFAULT_PRIORITY,
    HOOK_CHUNK,
    HOOK_TYPE_ORDER,
    ErrorPolicy,
    Hook,
    HookCondition,
    HookType,
    model_by_name,
)
from .firing import bypass_hooks, bypass_note, fire
from .mixin import HookAwareQuerySet, ModelHooksMixin
from .registry import ModelHookRegistry, model_hook, registry
from .stats import FLUSH_EVERY_CALLS, FLUSH_EVERY_SECONDS, HookStatsDelta, flush_if_due

__all__ = [
    "CONTEXT_NAMES",
    "DEFAULT_PRIORITY",
    "FLUSH_EVERY_CALLS",
    "FLUSH_EVERY_SECONDS",
    "HOOK_CHUNK",
    "HOOK_TYPE_ORDER",
    "ErrorPolicy",
    "Hook",
    "HookAwareQuerySet",
    "HookCondition",
    "HookStatsDelta",
    "HookType",
    "ModelHookRegistry",
    "ModelHooksMixin",
    "bypass_hooks",
    "bypass_note",
    "fire",
    "flush_if_due",
    "model_by_name",
    "model_hook",
    "registry",
]
