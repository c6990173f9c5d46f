"""Signed-in sessions on gunicorn over the main pages: latency percentiles, and a floor measured the same way
in the same run.

    .venv/bin/python bench/sessions.py                        # 20 sessions, gunicorn -w 4, 60 s each
    .venv/bin/python bench/sessions.py --tickets 1000000 --sessions 20 --workers 4 --seconds 120

It starts gunicorn on the bench database (bench/dataset.py, built when missing), signs in `--sessions` staff
users (half Support managers, each of another organization; half platform staff) and lets each session walk
its role's main pages in turn, one request after another with no pause, for `--seconds`. Then the same
sessions for as long on the floor: the password change form (the layout, session and middleware every page
pays, no data), which says what this machine gives any page at that concurrency. Prints p50, p95 and the
slowest answer per page, overall, and requests per second. Nothing is written but the sessions (deleted
after).
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DEBUG", "false")

from bench import dataset

ROOT = Path(__file__).resolve().parent.parent

HOST = "127.0.0.1"
# The lightest signed-in page of the site: the layout, session and middleware every page pays, no data.
FLOOR = "password change form (floor)"


@dataclass
class Walker:
    cookie: str
    pages: list[tuple[str, str]]  # (name, path)
    timings: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def _walk(walker: Walker, port: int, stop_at: float, passes: int | None = None) -> None:
    conn = http.client.HTTPConnection(HOST, port, timeout=60)
    headers = {"Cookie": walker.cookie, "Host": "localhost"}
    i = 0
    while time.perf_counter() < stop_at and (passes is None or i < passes * len(walker.pages)):
        name, path = walker.pages[i % len(walker.pages)]
        i += 1
        t = time.perf_counter()
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
        except (OSError, http.client.HTTPException) as exc:
            walker.errors.append(f"{path}: {exc!r}")
            conn.close()
            conn = http.client.HTTPConnection(HOST, port, timeout=60)
            continue
        if response.status != 200:
            walker.errors.append(f"{path}: {response.status}")
            continue
        walker.timings[name].append((time.perf_counter() - t) * 1000)
    conn.close()


def _run(walkers: list[Walker], port: int, seconds: float, passes: int | None = None) -> float:
    stop_at = time.perf_counter() + seconds
    threads = [threading.Thread(target=_walk, args=(w, port, stop_at, passes)) for w in walkers]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def _percentile(values: list[float], p: float) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def _merged(walkers: list[Walker]) -> dict[str, list[float]]:
    merged: dict[str, list[float]] = defaultdict(list)
    for walker in walkers:
        for name, values in walker.timings.items():
            merged[name].extend(values)
    return merged


def _walkers(count: int) -> list[Walker]:
    """Signed-in sessions and their pages; each page is asked once here first (a refused one stops it)."""
    from django.conf import settings
    from django.contrib.auth.models import Group
    from django.test import Client

    from bench.pages import _user, manager_pages, platform_pages
    from models_core.models import Organization

    walkers = []
    orgs = list(Organization.all_objects.order_by("pk")[1 : count // 2 + 1])
    for i in range(count):
        client = Client(HTTP_HOST="localhost")
        if i % 2 == 0 and orgs:
            org = orgs[(i // 2) % len(orgs)]
            user = _user(f"bench-sessions-manager-{org.pk}", organization=org, role="manager", is_staff=True)
            user.groups.add(Group.objects.get(name="Support managers"))
            pages = manager_pages(org)
        else:
            user = _user(f"bench-sessions-platform-{i}", is_staff=True, is_superuser=True)
            pages = platform_pages()
        client.force_login(user)
        for _, path in pages:
            response = client.get(path)
            if response.status_code != 200:
                sys.exit(f"{user.username}: GET {path} answered {response.status_code}")
        cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
        walkers.append(Walker(cookie, pages))
    return walkers


def _gunicorn(port: int, workers: int) -> subprocess.Popen:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.local", "DEBUG": "false"}
    process = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "config.wsgi",
            "--workers",
            str(workers),
            "--bind",
            f"{HOST}:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=5)
            conn.request("GET", "/login/", headers={"Host": "localhost"})
            if conn.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.2)  # a benchmark, not a test: polling a server that is starting
    process.kill()
    sys.exit("gunicorn did not answer within 60 s")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=int(os.environ.get("BENCH_TICKETS", 200_000)))
    parser.add_argument("--orgs", type=int, default=int(os.environ.get("BENCH_ORGS", 200)))
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    dataset.setup_django()
    info = dataset.ensure(args.tickets, args.orgs)

    from django.contrib.sessions.models import Session

    walkers = _walkers(args.sessions)
    floor = [Walker(w.cookie, [(FLOOR, "/password_change/")]) for w in walkers]
    port = _free_port()
    server = _gunicorn(port, args.workers)
    try:
        # Warm-up: every page a few times, so each worker has compiled its templates and filled its caches.
        _run(walkers, port, seconds=600, passes=3)
        for w in walkers:
            w.timings.clear()
        pages_seconds = _run(walkers, port, args.seconds)
        floor_seconds = _run(floor, port, args.seconds)
    finally:
        server.terminate()
        server.wait(timeout=30)
        Session.objects.all().delete()

    errors = [e for w in walkers + floor for e in w.errors]
    pages = _merged(walkers)
    every = [v for values in pages.values() for v in values]
    floor_times = _merged(floor)[FLOOR]
    load = os.getloadavg()[0]
    print(
        f"\n{info['tickets']:,} tickets, {info['orgs']} organizations; {args.sessions} sessions on gunicorn "
        f"-w {args.workers}, {args.seconds:.0f} s each; {os.cpu_count()} cores, load average {load:.1f}\n"
    )
    print("| page | requests | p50 ms | p95 ms | slowest ms |")
    print("|---|---:|---:|---:|---:|")
    for name, values in sorted(pages.items()):
        row = (len(values), _percentile(values, 50), _percentile(values, 95), max(values))
        print(f"| {name} | {row[0]} | {row[1]:.0f} | {row[2]:.0f} | {row[3]:.0f} |")
    p95, floor_p95 = _percentile(every, 95), _percentile(floor_times, 95)
    print(
        f"| **every page** | {len(every)} | {_percentile(every, 50):.0f} | {p95:.0f} | {max(every):.0f} |\n"
        f"| {FLOOR} | {len(floor_times)} | {_percentile(floor_times, 50):.0f} | {floor_p95:.0f} "
        f"| {max(floor_times):.0f} |\n"
    )
    print(
        f"every page: {len(every) / pages_seconds:.1f} req/s, p95 {p95:.0f} ms (goal <= 1,000 ms), "
        f"x{p95 / floor_p95:.1f} the floor's p95; floor: {len(floor_times) / floor_seconds:.1f} req/s"
    )
    if errors:
        print(f"{len(errors)} failed requests, first: {errors[:3]}")


if __name__ == "__main__":
    main()
