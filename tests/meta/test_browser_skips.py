"""`make test` without Chromium ends with a loud note: how many browser tests were skipped, and the one
command that installs it."""

from tests.browser_skips import INSTALL_COMMAND
from tests.meta.fake_suite import fake_suite_run

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
    run = fake_suite_run(tmp_path, FAKE_SUITE, "tests.browser_skips")
    tail = run.stdout.strip().splitlines()[-6:]
    assert run.returncode == 0, run.stdout + run.stderr
    assert any("3 BROWSER TESTS WERE SKIPPED" in line for line in tail), run.stdout
    assert any(INSTALL_COMMAND in line for line in tail), run.stdout
