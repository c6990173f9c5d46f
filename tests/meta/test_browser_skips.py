"""`make test` without Chromium ends with a loud note: how many browser tests were skipped, and the one
command that installs it."""

import subprocess
import sys
from pathlib import Path

from tests.browser_skips import INSTALL_COMMAND

REPO = Path(__file__).resolve().parents[2]

FAKE_SUITE = """
import pytest
from tests.browser_skips import chromium_skip_reason

@pytest.fixture
def browser():
    pytest.skip(chromium_skip_reason(FileNotFoundError("no such file")))

@pytest.mark.parametrize("n", range(3))
def test_in_the_browser(browser, n):
    pass

def test_elsewhere():
    pytest.skip("some other reason")
"""


def test_skipped_browser_tests_are_counted_at_the_end_with_the_install_command(tmp_path):
    (tmp_path / "test_fake.py").write_text(FAKE_SUITE)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(tmp_path),
            "-p",
            "tests.browser_skips",
            "-p",
            "no:django",
            "-p",
            "no:cacheprovider",
            "-c",
            str(tmp_path / "pytest.ini"),
            "--rootdir",
            str(tmp_path),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )
    tail = run.stdout.strip().splitlines()[-6:]
    assert run.returncode == 0, run.stdout + run.stderr
    assert any("3 BROWSER TESTS WERE SKIPPED" in line for line in tail), run.stdout
    assert any(INSTALL_COMMAND in line for line in tail), run.stdout
