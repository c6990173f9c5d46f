"""Two sessions at once, on real PostgreSQL: one holds an uncommitted write, the other runs into its lock."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from django.db import connection, connections, transaction


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
        deadline = time.monotonic() + timeout
        with connection.cursor() as cursor:
            while worker.is_alive():
                # pg_locks, not pg_stat_activity: the latter is a snapshot frozen for this transaction.
                cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
                if cursor.fetchone()[0]:
                    break
                if time.monotonic() > deadline:
                    raise AssertionError("The contender never waited for the lock.")
                time.sleep(0.01)  # polling a condition, not waiting for time to pass
    worker.join(timeout)
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")
