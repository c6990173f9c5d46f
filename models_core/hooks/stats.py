"""The hooks' statistics in process memory and when they go to the database: each hook counts on itself;
the buffer here decides when to flush (every FLUSH_EVERY_CALLS calls or FLUSH_EVERY_SECONDS seconds, after
the open transaction commits) and keeps the per-model counts of writes that bypassed the hooks."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction

FLUSH_EVERY_CALLS = 1000
FLUSH_EVERY_SECONDS = 10.0


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


class _StatsBuffer:
    """Decides when the in-process counters go to the database; the counters live on the hooks."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pending = 0
        self.deadline = time.monotonic() + FLUSH_EVERY_SECONDS
        self.bypasses: dict[tuple[str, str], list[int]] = {}
        self.flusher: StatsFlusher | None = None
        # Set by the registry (models_core.hooks.registry), which turns the counters into StatsFlusher calls.
        self.flush_now: Callable[[], None] = lambda: None

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
            transaction.on_commit(self.flush_now)
        else:
            self.flush_now()


stats_buffer = _StatsBuffer()


def flush_if_due(*args: Any, **kwargs: Any) -> None:
    """Write the counters when they are due; a receiver for request_finished (hence the signal's args)."""
    stats_buffer.flush_if_due()
