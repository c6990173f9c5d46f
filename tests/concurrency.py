"""Two sessions at once, on real PostgreSQL: one holds an uncommitted write, the other runs into its lock."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connection, connections, transaction

from tests.conditions import wait_until


def run_blocked_behind(hold: Callable[[], Any], contender: Callable[[], Any], timeout: float = 20.0) -> Any:
    """Run `hold()` in an open transaction on this thread's connection, start `contender()` on another thread
    (its own connection), wait until the contender waits for a lock held here, then commit.

    Returns what the contender returned, or raises what it raised. Needs a transactional test
    (`django_db(transaction=True)`): the contender must see the committed write.
    """
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = contender()
        except BaseException as error:  # handed back to the caller below
            outcome["error"] = error
        finally:
            connections.close_all()

    worker = threading.Thread(target=run)
    with transaction.atomic():
        hold()
        worker.start()

        def contender_waits_or_ended() -> bool:
            # pg_locks, not pg_stat_activity: the latter is a snapshot frozen for this transaction.
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
                return cursor.fetchone()[0] > 0 or not worker.is_alive()

        wait_until(contender_waits_or_ended, timeout=timeout, what="the contender to wait for the lock")
    worker.join(timeout)
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")
