"""`make test-soak` (scripts/soak.sh) runs the suite again and again in new random orders, stops at the first
failure and prints the command that replays it; here on small suites of its own, without the CPU load."""

import re
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # real pytest processes

REPO = Path(__file__).resolve().parents[2]

# The reader passes only after the writer: an order dependency, found by half of all orders.
ORDER_DEPENDENT = """
state = {}

def test_writer():
    state["written"] = True

def test_reader():
    assert state.get("written")
"""

INDEPENDENT = """
def test_one():
    pass

def test_two():
    pass
"""


def soak(tmp_path: Path, suite: str, runs: int) -> subprocess.CompletedProcess:
    (tmp_path / "test_fake.py").write_text(suite)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    pytest_args = ["-q", "-p", "no:django", "-p", "no:cacheprovider", "-c", str(tmp_path / "pytest.ini")]
    return subprocess.run(
        ["scripts/soak.sh", str(tmp_path), *pytest_args, "--rootdir", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "SOAK_RUNS": str(runs), "SOAK_LOAD": "0"},
    )


def test_the_soak_finds_an_order_dependency_and_prints_the_command_that_replays_it(tmp_path):
    # Forty runs: the chance that every one puts the writer first is 2**-40.
    run = soak(tmp_path, ORDER_DEPENDENT, runs=40)
    assert run.returncode == 1, run.stdout + run.stderr
    assert re.search(r"== soak: run (\d+)/40 failed", run.stdout), run.stdout
    replay = re.search(r"== replay its order: (.+)", run.stdout).group(1)
    # The printed command fails the same way again: the seed pins the order.
    again = subprocess.run(replay, shell=True, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert again.returncode == 1 and "test_reader" in again.stdout, again.stdout + again.stderr


def test_a_sound_suite_passes_every_run(tmp_path):
    run = soak(tmp_path, INDEPENDENT, runs=2)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.count("== soak run ") == 2
    assert "== soak: 2 of 2 runs passed" in run.stdout
