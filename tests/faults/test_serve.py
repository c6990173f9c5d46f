"""`make run`'s scripts/serve.sh: a worker that dies is started again; the web server keeps serving."""

import os
import signal
import subprocess

import pytest
from django.conf import settings
from django.db import connection
from procrastinate.contrib.django.models import ProcrastinateWorker

from tests.conditions import wait_until
from tests.faults.conftest import FAST_WORKER_ENV, database_url
from tests.servers import answers, serve_on_a_free_port

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def children(pid: int) -> list[tuple[int, str]]:
    out = subprocess.run(
        ["ps", "-o", "pid=,args=", "--ppid", str(pid)], capture_output=True, text=True
    ).stdout
    return [
        (int(line.split(None, 1)[0]), line.split(None, 1)[1]) for line in out.splitlines() if line.strip()
    ]


def test_a_dead_worker_is_restarted_and_the_web_server_stays_up(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": database_url(connection.settings_dict),
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "WORKER_RESTART_DELAY": "0.2",
        **FAST_WORKER_ENV,
    }
    log_path = tmp_path / "serve.log"

    def start(port: int) -> subprocess.Popen:
        with log_path.open("w") as log:  # a fresh log for each port tried
            return subprocess.Popen(
                ["scripts/serve.sh", "127.0.0.1", str(port)],
                cwd=settings.BASE_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def output() -> str:
        return log_path.read_text()

    port, serve = serve_on_a_free_port(start, output)
    login = f"http://127.0.0.1:{port}/login/"
    try:
        first = wait_until(
            lambda: ProcrastinateWorker.objects.values_list("pk", flat=True).first(),
            timeout=60,
            what=lambda: f"a worker\n{output()}",
            interval=0.2,
        )
        loop = next(pid for pid, args in children(serve.pid) if "runserver" not in args)
        (worker_pid,) = [pid for pid, args in children(loop) if "jobs_worker" in args]
        os.kill(worker_pid, signal.SIGKILL)

        wait_until(
            lambda: ProcrastinateWorker.objects.exclude(pk=first).exists(),
            timeout=60,
            what=lambda: f"a new worker after the kill\n{output()}",
            interval=0.2,
        )
        assert answers(login), output()
        assert "starting it again" in output()
    finally:
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=30) == 0, output()
    # Stopping serve.sh stopped everything it started.
    assert not children(serve.pid)
