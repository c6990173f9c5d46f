"""A PostgreSQL restart, for real: a cluster of this test's own (scripts/pg.sh with CUSTODIAN_PG_HOME, a copy
of the test database) is stopped and started under a running web server and worker. The suite's cluster is
never touched, so nothing else notices.

- the web server answers 503 with the console's "database unavailable" page, and 200 again once it is back,
  without a restart;
- the worker rides out the restart and runs a job queued afterwards; one that cannot reach the database for
  longer than its limit exits with status 1 for its supervisor.
"""

from __future__ import annotations

import glob
import http.cookiejar
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from tests.conditions import wait_until
from tests.faults.conftest import Process, database_url
from tests.servers import serve_on_a_free_port

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PG_SH = str(settings.BASE_DIR / "scripts" / "pg.sh")


class Cluster:
    def __init__(self, home: str) -> None:
        self.env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | {"CUSTODIAN_PG_HOME": home}
        self.home = home

    def run(self, action: str) -> None:
        subprocess.run([PG_SH, action], env=self.env, check=True, capture_output=True, text=True)

    @property
    def url(self) -> str:
        port = Path(self.home, "port").read_text().strip()
        return f"postgres://postgres@127.0.0.1:{port}/custodian"


def pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return found[0] if found else shutil.which(name) or name


@pytest.fixture(scope="module")
def cluster(django_db_setup, django_db_blocker):
    """A private cluster holding a copy of the (migrated) test database, stopped and removed at the end.

    Not under pytest's tmp_path: any other pytest session of the same user closes that folder to the
    postgres user (see the test below), and pg.sh could then neither see nor stop its server.
    """
    base = tempfile.mkdtemp(prefix="custodian-fault-pg-")
    cluster = Cluster(os.path.join(base, "pg"))
    cluster.run("start")
    try:
        with django_db_blocker.unblock():
            source = database_url(connection.settings_dict)
        dump = subprocess.run([pg_bin("pg_dump"), "--no-owner", source], check=True, capture_output=True)
        subprocess.run(
            [pg_bin("psql"), "-q", "-v", "ON_ERROR_STOP=1", cluster.url], input=dump.stdout, check=True,
            capture_output=True,
        )  # fmt: skip
        yield cluster
    finally:
        cluster.run("stop")
        shutil.rmtree(base)


def django_env(url: str, **extra: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings.test", **extra}


class Browser:
    """Just enough of a browser: cookies, the CSRF token, status and body of each answer."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str) -> tuple[int, str]:
        return self._open(urllib.request.Request(self.base + path))

    def post(self, path: str, data: dict[str, str]) -> tuple[int, str]:
        token = next(c.value for c in self.jar if c.name == "csrftoken")
        body = urllib.parse.urlencode({**data, "csrfmiddlewaretoken": token}).encode()
        return self._open(urllib.request.Request(self.base + path, data=body, headers={"Referer": self.base}))

    def _open(self, request: urllib.request.Request) -> tuple[int, str]:
        try:
            with self.opener.open(request, timeout=20) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()
        except OSError:
            return 0, ""


def queue_job_status(url: str, job_id: int) -> str | None:
    with psycopg.connect(url, connect_timeout=3) as conn:
        row = conn.execute("SELECT status FROM procrastinate_jobs WHERE id = %s", [job_id]).fetchone()
    return row[0] if row else None


def test_the_private_cluster_stays_reachable_when_another_pytest_session_starts(cluster, tmp_path):
    # Any pytest session of the same user (another checkout's suite, a soak run) takes group and other
    # permissions off /tmp/pytest-of-<user> when it starts: a cluster kept under it becomes unreachable for
    # the postgres user, so `pg.sh stop` saw "not running" and left the database up (the 503 never came).
    (tmp_path / "test_other.py").write_text("def test_uses_tmp_path(tmp_path):\n    pass\n")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    other = subprocess.run(
        [sys.executable, "-m", "pytest", str(tmp_path), "-q", "-c", str(tmp_path / "pytest.ini"),
         "--rootdir", str(tmp_path), "-p", "no:django", "-p", "no:randomly", "-p", "no:cacheprovider"],
        cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert other.returncode == 0, other.stdout + other.stderr
    status = subprocess.run([PG_SH, "status"], env=cluster.env, capture_output=True, text=True)
    assert status.returncode == 0 and "running on" in status.stdout, status.stdout + status.stderr


def test_a_database_restart_answers_503_then_recovers_and_the_worker_survives(cluster, tmp_path):
    manage = [sys.executable, "manage.py"]
    create = "from models_core.models import User; User.objects.create_superuser('root', 'r@x.invalid', 'pw')"
    subprocess.run(
        [*manage, "shell", "-c", create],
        cwd=settings.BASE_DIR, env=django_env(cluster.url), check=True, capture_output=True,
    )  # fmt: skip
    servers: list[Process] = []

    def start(port: int) -> subprocess.Popen:
        runserver = [*manage, "runserver", "--noreload", f"127.0.0.1:{port}"]
        servers.append(Process(runserver, django_env(cluster.url)))
        return servers[-1].popen

    port, _ = serve_on_a_free_port(start, lambda: servers[-1].output())
    web = servers[-1]
    worker = Process([*manage, "jobs_worker"], django_env(cluster.url))
    impatient = None
    try:
        browser = Browser(f"http://127.0.0.1:{port}")
        assert browser.get("/login/")[0] == 200
        status, page = browser.post("/login/?next=/", {"username": "root", "password": "pw"})
        assert status == 200 and 'data-testid="jobs-card"' in page, web.output()[-3000:]
        assert browser.get("/")[0] == 200

        cluster.run("stop")
        status, page = browser.get("/")
        assert status == 503, page
        assert 'data-testid="db-unavailable"' in page and "The database is unavailable" in page
        assert "unfold/css/styles.css" in page  # the console's look, not Django's bare error page
        assert browser.get("/dashboard/jobs/1/status/")[0] == 503

        # A worker that cannot reach the database for longer than its limit exits 1 for its supervisor.
        impatient = Process([*manage, "jobs_worker", "--reconnect-seconds", "2"], django_env(cluster.url))
        assert impatient.popen.wait(timeout=90) == 1, impatient.output()
        assert worker.popen.poll() is None, worker.output()  # the patient one waits

        cluster.run("start")
        wait_until(
            lambda: browser.get("/")[0] == 200,
            timeout=30,
            what="the site to recover without a restart",
            interval=0.2,
        )

        subprocess.run(
            [*manage, "procrastinate", "defer", "dashboard.prune_job_runs"],
            cwd=settings.BASE_DIR, env=django_env(cluster.url), check=True, capture_output=True,
        )  # fmt: skip
        with psycopg.connect(cluster.url) as conn:
            (job_id,) = conn.execute(
                "SELECT max(id) FROM procrastinate_jobs WHERE task_name = 'dashboard.prune_job_runs'"
            ).fetchone()
        wait_until(
            lambda: queue_job_status(cluster.url, job_id) == "succeeded",
            timeout=90,
            what=lambda: f"the worker to run a job queued after the restart\n{worker.output()}",
            interval=0.5,
        )
        assert worker.popen.poll() is None
    finally:
        for process in (web, worker, impatient):
            if process is not None:
                process.stop()
        cluster.run("start")  # leave it as the fixture expects (stopped at the end)
