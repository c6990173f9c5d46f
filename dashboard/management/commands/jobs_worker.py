"""`manage.py jobs_worker`: a procrastinate worker that outlives a database restart.

procrastinate's own `manage.py procrastinate worker` stops when one of its side tasks (the LISTEN connection,
the heartbeat) loses the database, and exits with status 0, so neither a restart-on-failure supervisor nor
`scripts/serve.sh` would bring it back. This command runs the same worker (same app, same
PROCRASTINATE_WORKER_DEFAULTS, same task middleware), and when it stops without being asked to, waits for the
database and starts a fresh worker (new pool, new registration; jobs the old one was running are retried by
the stalled-job reconciler). If the database stays away longer than CUSTODIAN_WORKER_RECONNECT_SECONDS it
exits with status 1 for the supervisor. SIGINT/SIGTERM stop it gracefully with status 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from procrastinate.contrib.django import app

logger = logging.getLogger("dashboard.jobs.worker")

# Between two reconnection attempts (seconds): short, so a database back within a second costs little.
RETRY_DELAYS = (0.5, 1, 2, 5)


class Command(BaseCommand):
    help = "Run a procrastinate worker that reconnects after losing the database (exit 1 when it gives up)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--queues", default="", help="Comma-separated queues (default: every queue).")
        parser.add_argument("--concurrency", type=int, default=1)
        parser.add_argument(
            "--reconnect-seconds",
            type=float,
            default=None,
            help="Give up (exit 1) after the database is unreachable this long "
            "(default CUSTODIAN_WORKER_RECONNECT_SECONDS).",
        )

    def handle(
        self, *args: Any, queues: str, concurrency: int, reconnect_seconds: float | None, **options: Any
    ):
        limit = (
            settings.CUSTODIAN_WORKER_RECONNECT_SECONDS if reconnect_seconds is None else reconnect_seconds
        )
        worker_options: dict[str, Any] = {
            "queues": [q for q in queues.split(",") if q] or None,
            "concurrency": concurrency,
            "install_signal_handlers": False,
        }
        with app.replace_connector(app.connector.get_worker_connector()):
            gave_up = asyncio.run(self._run(worker_options, limit))
        if gave_up:
            raise CommandError(
                f"The database stayed unreachable for {limit:g} s; exiting for the supervisor.", returncode=1
            )

    async def _run(self, worker_options: dict[str, Any], limit: float) -> bool:
        """Run workers until a signal stops us (False) or the database stays away too long (True)."""
        loop = asyncio.get_running_loop()
        stopping = asyncio.Event()
        current: dict[str, asyncio.Task] = {}

        def on_signal() -> None:
            stopping.set()
            task = current.get("worker")
            if task is not None:
                # Cancelling run_worker_async is procrastinate's graceful stop (running jobs finish first).
                task.cancel()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal)

        lost_since: float | None = None
        attempt = 0
        while not stopping.is_set():
            try:
                async with app.open_async():
                    if not await app.check_connection_async():
                        raise RuntimeError("procrastinate's tables are missing: run `manage.py migrate`.")
                    lost_since, attempt = None, 0
                    current["worker"] = asyncio.create_task(app.run_worker_async(**worker_options))
                    try:
                        await current["worker"]
                    finally:
                        current.pop("worker", None)
                    if stopping.is_set():
                        break
                    logger.error("The worker stopped on its own (lost the database?); starting a new one.")
            except asyncio.CancelledError:
                if stopping.is_set():
                    break
                raise
            except Exception as exc:
                if stopping.is_set():
                    break
                logger.warning("Worker cannot reach the database: %s: %s", type(exc).__name__, exc)
            now = time.monotonic()
            lost_since = lost_since if lost_since is not None else now
            if now - lost_since > limit:
                logger.error("The database stayed unreachable for %.0f s; giving up.", now - lost_since)
                return True
            delay = RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)]
            attempt += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), timeout=delay)
        return False
