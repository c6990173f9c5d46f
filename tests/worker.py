"""Run procrastinate's queued jobs once with a real worker, from any test."""

import threading

from django.db import connection
from procrastinate.contrib.django import app

from tests.conditions import TIMEOUT_SECONDS


def run_queued_jobs(timeout: float = TIMEOUT_SECONDS * 2) -> None:
    """Run every queued job once, then return (procrastinate's documented way to test with a real worker).

    The worker runs in a thread of its own: once a browser test has started Playwright, this thread has a
    running event loop for the rest of the session, and the worker's asyncio.run() refuses to start in it.
    """
    errors: list[BaseException] = []

    def work() -> None:
        try:
            with app.replace_connector(app.connector.get_worker_connector()):
                app.run_worker(wait=False, install_signal_handlers=False, listen_notify=False)
        except BaseException as error:  # re-raised in the test's thread below
            errors.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=work, name="procrastinate-worker")
    thread.start()
    thread.join(timeout=timeout)
    assert not thread.is_alive(), f"The worker did not finish its jobs within {timeout:g} s"
    if errors:
        raise errors[0]
