"""Writes of the hook registry capability: flushing statistics and bypass counters, resetting them.

Every process counts in memory (models_core.hooks) and hands its deltas to `hook_stats_write`, which adds
them in one INSERT ... ON CONFLICT per table, so any number of web and worker processes sum up correctly
without a write per hook call. Rows are written in key order so two processes flushing at once lock them in
the same order and cannot deadlock.
"""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from dashboard.ceilings import platform_required
from dashboard.hooks.models import HookBypass, HookStat
from models_core.hooks import HookStatsDelta
from models_core.hooks import registry as hook_registry


class HookStatNotFound(LookupError):
    """The hook to reset is neither registered nor has statistics."""


def _quoted(*names: str) -> str:
    return ", ".join(connection.ops.quote_name(name) for name in names)


def hook_stats_write(deltas: list[HookStatsDelta], bypasses: dict[tuple[str, str], tuple[int, int]]) -> None:
    """Add one process's counters to the stored ones (the flusher models_core.hooks calls)."""
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        if deltas:
            columns = (
                "key",
                "model_label",
                "hook_type",
                "name",
                "calls",
                "failures",
                "total_ns",
                "max_ns",
                "last_error",
                "last_error_at",
                "source_hash",
                "since",
                "updated_at",
            )
            rows = sorted(deltas, key=lambda d: d.key)
            params: list[Any] = []
            for d in rows:
                params += [d.key, d.model_label, d.hook_type, d.name, d.calls, d.failures, d.total_ns]
                params += [d.max_ns, d.last_error, d.last_error_at, d.source_hash, now, now]
            values = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * len(rows))
            cursor.execute(
                f"INSERT INTO {connection.ops.quote_name(HookStat._meta.db_table)} AS t "
                f"({_quoted(*columns)}) VALUES {values} "
                'ON CONFLICT ("key") DO UPDATE SET '
                "calls = t.calls + EXCLUDED.calls, "
                "failures = t.failures + EXCLUDED.failures, "
                "total_ns = t.total_ns + EXCLUDED.total_ns, "
                "max_ns = GREATEST(t.max_ns, EXCLUDED.max_ns), "
                "last_error = CASE WHEN EXCLUDED.last_error_at IS NOT NULL AND "
                "(t.last_error_at IS NULL OR EXCLUDED.last_error_at >= t.last_error_at) "
                "THEN EXCLUDED.last_error ELSE t.last_error END, "
                # GREATEST ignores NULLs in PostgreSQL.
                "last_error_at = GREATEST(t.last_error_at, EXCLUDED.last_error_at), "
                "updated_at = EXCLUDED.updated_at",
                params,
            )
        if bypasses:
            columns = ("model_label", "operation", "operations", "rows", "since", "last_at")
            items = sorted(bypasses.items())
            params = []
            for (label, operation), (operations, rows_written) in items:
                params += [label, operation, operations, rows_written, now, now]
            values = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * len(items))
            cursor.execute(
                f"INSERT INTO {connection.ops.quote_name(HookBypass._meta.db_table)} AS t "
                f"({_quoted(*columns)}) VALUES {values} "
                "ON CONFLICT (model_label, operation) DO UPDATE SET "
                "operations = t.operations + EXCLUDED.operations, "
                '"rows" = t."rows" + EXCLUDED."rows", '
                "last_at = EXCLUDED.last_at",
                params,
            )


def hook_stats_flush() -> int:
    """Write this process's counters now; returns how many hooks had something to write."""
    return hook_registry.stats_flush()


def hook_stats_reset(user: Any, key: str | None = None) -> int:
    """Start the statistics again: of one hook (`key`) or, without a key, of every hook and every bypass
    counter. A registered hook's row restarts at zero with its current source hash (so "source changed"
    compares against the code from now on) and remembers who reset it; statistics of a hook that is no
    longer registered are removed. Returns how many hooks were reset.

    This process's unflushed counts are written first, so they belong to the old period. Other processes
    may still flush counts from before the reset (at most their flush interval's worth).

    The statistics are every organization's together: platform staff only (PermissionDenied otherwise).
    """
    platform_required(user, "Resetting hook statistics")
    hook_stats_flush()
    registered = {hook.key: hook for hook in hook_registry.all_hooks()}
    now = timezone.now()
    actor = user if getattr(user, "pk", None) else None

    def fresh(hook: Any) -> dict[str, Any]:
        return {
            "model_label": hook.model_label,
            "hook_type": hook.hook_type.value,
            "name": hook.name,
            "calls": 0,
            "failures": 0,
            "total_ns": 0,
            "max_ns": 0,
            "last_error": "",
            "last_error_at": None,
            "source_hash": hook.source_hash,
            "since": now,
            "reset_by": actor,
            "updated_at": now,
        }

    with transaction.atomic():
        if key is None:
            HookStat.objects.all().delete()
            HookBypass.objects.all().delete()
            HookStat.objects.bulk_create(
                [HookStat(key=hook_key, **fresh(hook)) for hook_key, hook in sorted(registered.items())]
            )
            return len(registered)
        if key in registered:
            HookStat.objects.update_or_create(key=key, defaults=fresh(registered[key]))
            return 1
        deleted, _ = HookStat.objects.filter(key=key).delete()
        if not deleted:
            raise HookStatNotFound(key)
        return 1
