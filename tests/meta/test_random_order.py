"""The suite runs in a new random order each time (pytest-randomly, on without being asked), and a failed
run ends with the command that replays its order."""

import subprocess
from pathlib import Path

from tests.meta.fake_suite import fake_suite_run

FAKE_SUITE = """
def test_passes():
    pass

def test_fails():
    assert False
"""


def run_fake_suite(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return fake_suite_run(tmp_path, FAKE_SUITE, "tests.random_order", *args)


def test_a_failed_run_ends_with_the_seed_that_replays_its_order(tmp_path):
    run = run_fake_suite(tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr
    # On by default: nobody asked for a random order, and the header names the seed it drew.
    assert "Using --randomly-seed=" in run.stdout, run.stdout
    seed = run.stdout.split("Using --randomly-seed=")[1].split()[0]
    assert f"make test PYTEST_ARGS='-p randomly --randomly-seed={seed}'" in run.stdout, run.stdout


def test_a_replayed_run_says_the_same_seed_and_a_passing_run_says_nothing(tmp_path):
    replayed = run_fake_suite(tmp_path, "-p", "randomly", "--randomly-seed=1234")
    assert "--randomly-seed=1234'" in replayed.stdout, replayed.stdout
    passing = run_fake_suite(tmp_path, "-k", "passes")
    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert "replay it" not in passing.stdout


def test_the_suite_loads_both_summary_plugins(request):
    # Hooks imported into conftest.py under the same name would shadow one another; as plugins both run.
    for plugin in ("tests.browser_skips", "tests.random_order"):
        assert request.config.pluginmanager.has_plugin(plugin), plugin
