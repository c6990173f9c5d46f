"""Web servers started as subprocesses by the tests, on a port no other process holds.

A port found free by binding port 0 and closing the socket can be taken by another process (another suite's
server on this shared machine) before ours binds it. So the port is not trusted: the server is started on
it, and when it exits saying the address is in use, another port is tried; an answer on the port counts only
once our own server logged serving it, never a stranger's answer there.
"""

from __future__ import annotations

import socket
import subprocess
import urllib.request
from collections.abc import Callable, Iterator

from tests.conditions import wait_until


def answers(url: str) -> bool:
    """Whether `url` answers 200 now."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def unused_ports() -> Iterator[int]:
    """Ports the kernel had free a moment ago (each may be taken by the time it is used)."""
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        yield port  # closed first: a generator suspended inside the `with` would still hold it


def _serve_once(
    process: subprocess.Popen, output: Callable[[], str], url: str, path: str, timeout: float
) -> str:
    request_line = f'"GET {path} HTTP/1.1" 200'

    def served_or_exited() -> str | None:
        if process.poll() is not None:
            return "exited"
        return "served" if answers(url) and request_line in output() else None

    return wait_until(
        served_or_exited, timeout=timeout, what=lambda: f"a server on {url}\n{output()}", interval=0.2
    )


def serve_on_a_free_port(
    start: Callable[[int], subprocess.Popen],
    output: Callable[[], str],
    *,
    path: str = "/login/",
    tries: int = 5,
    timeout: float = 60,
    ports: Iterator[int] | None = None,
) -> tuple[int, subprocess.Popen]:
    """`start(port)` a server that logs its requests to `output()` (Django's runserver does) and wait until
    it serves `path` on that port; (port, process). Another port when the address was in use."""
    ports = ports or unused_ports()
    seen = ""
    for _ in range(tries):
        port = next(ports)
        process = start(port)
        if _serve_once(process, output, f"http://127.0.0.1:{port}{path}", path, timeout) == "served":
            return port, process
        seen = output()
        if "already in use" not in seen:
            raise AssertionError(f"the server on port {port} exited:\n{seen}")
    raise AssertionError(f"{tries} ports were taken before the server could bind one:\n{seen}")
