"""Waiting on conditions, never on time: a test that sleeps a fixed time fails when the machine is busy.

Each helper polls a condition until it holds or a bound passes; the bound is generous (it only decides how
long a real failure takes to report), the polling interval short (a passing test waits no longer than needed).
"""

import time
from collections.abc import Callable

from django.db import connection

TIMEOUT_SECONDS = 30.0
INTERVAL_SECONDS = 0.01


def wait_until(
    condition: Callable[[], object],
    *,
    timeout: float = TIMEOUT_SECONDS,
    what: str | Callable[[], str] = "",
    interval: float = INTERVAL_SECONDS,
) -> object:
    """Call `condition` until it returns something truthy and return that; AssertionError after `timeout`.

    `what` names the condition in the failure; a callable is called only then, so a message can carry a
    subprocess's output as it was when the wait gave up, not when it began.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            described = what() if callable(what) else what
            raise AssertionError(f"Timed out after {timeout:g} s waiting for {described or 'the condition'}")
        time.sleep(interval)


def backend_pid(conn=None) -> int:
    """The server process id behind a connection (Django's by default, or a raw psycopg one)."""
    with (conn or connection).cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _locks(pid: int, *, granted: bool, conn=None) -> int:
    # pg_locks reads the lock table live (unlike pg_stat_activity, it is not a snapshot frozen for the rest
    # of the transaction), so polling it from inside a test's transaction sees other backends change.
    with (conn or connection).cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE pid = %s AND granted = %s", [pid, granted])
        return cursor.fetchone()[0]


def wait_until_locks_released(pid: int, *, conn=None, timeout: float = TIMEOUT_SECONDS) -> None:
    """Wait until backend `pid` holds no lock any more.

    Closing a connection returns at once; the server process ends, and releases its session locks, a moment
    later.
    """
    wait_until(
        lambda: _locks(pid, granted=True, conn=conn) == 0,
        timeout=timeout,
        what=f"backend {pid} to release its locks",
    )


def wait_until_waiting_on_lock(pid: int, *, conn=None, timeout: float = TIMEOUT_SECONDS) -> None:
    """Wait until backend `pid` is blocked on a lock another backend holds."""
    wait_until(
        lambda: _locks(pid, granted=False, conn=conn) > 0,
        timeout=timeout,
        what=f"backend {pid} to wait on a lock",
    )
