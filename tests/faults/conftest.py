"""Real processes for the fault tests: workers started as `manage.py jobs_worker` subprocesses on the test
database, killed or stopped by pid; never anything else."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

# Fast heartbeats so a killed worker counts as stalled within seconds, not the production 30 s.
FAST_WORKER_ENV = {"CUSTODIAN_WORKER_HEARTBEAT_SECONDS": "0.5", "CUSTODIAN_JOB_STALLED_SECONDS": "2"}


def database_url(settings_dict: dict) -> str:
    user, password = settings_dict["USER"], settings_dict["PASSWORD"] or ""
    return f"postgres://{user}:{password}@{settings_dict['HOST']}:{settings_dict['PORT']}/{settings_dict['NAME']}"


class Process:
    """A subprocess with its output in a file (read on failure)."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.log = tempfile.NamedTemporaryFile("w+", prefix="custodian-fault-", suffix=".log")  # noqa: SIM115
        self.popen = subprocess.Popen(
            args, cwd=settings.BASE_DIR, env=env, stdout=self.log, stderr=subprocess.STDOUT, text=True
        )

    def output(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text()

    def kill(self) -> None:
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=30)

    def stop(self, timeout: float = 30) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.popen.returncode


@pytest.fixture
def start_worker():
    """start_worker(database_url=None, **env) -> Process: a `manage.py jobs_worker` on the test database."""
    started: list[Process] = []

    def start(url: str | None = None, **extra_env: str) -> Process:
        env = {
            **os.environ,
            "DATABASE_URL": url or database_url(connection.settings_dict),
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            **FAST_WORKER_ENV,
            **extra_env,
        }
        process = Process([sys.executable, "manage.py", "jobs_worker"], env)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()
