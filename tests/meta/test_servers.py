"""tests/servers.py: a test server gets a port no other process holds, and only its own answers count."""

import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from itertools import chain

from tests.servers import serve_on_a_free_port, unused_ports


def test_a_port_taken_after_it_was_found_free_is_given_up_for_another(tmp_path):
    # A stranger serving 200 on the port the probe found: ours must neither fail nor take its answers.
    stranger = ThreadingHTTPServer(("127.0.0.1", 0), SimpleHTTPRequestHandler)
    threading.Thread(target=stranger.serve_forever, daemon=True).start()
    taken = stranger.server_address[1]
    started: list[tuple[int, subprocess.Popen]] = []
    log = tmp_path / "server.log"

    def start(port: int) -> subprocess.Popen:
        with log.open("w") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "--directory", str(tmp_path),
                 str(port)],
                stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        started.append((port, process))
        return process

    try:
        port, process = serve_on_a_free_port(
            start, log.read_text, path="/", ports=chain([taken], unused_ports())
        )
        assert port != taken
        assert [p for p, _ in started] == [taken, port]
        assert started[0][1].poll() is not None  # ours on the taken port gave up
        assert process.poll() is None
    finally:
        stranger.shutdown()
        stranger.server_close()
        for _, process in started:
            process.kill()
            process.wait(timeout=10)
