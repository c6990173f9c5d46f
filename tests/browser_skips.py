"""Say loudly, at the end of the run, that browser tests were skipped because Chromium could not start.

pytest's one-line skip summary scrolls by among the others; a run that quietly left out every browser test
looks green. Registered from tests/conftest.py.
"""

from __future__ import annotations

import os

import pytest

CHROMIUM = os.environ.get("CUSTODIAN_CHROMIUM", "/usr/bin/chromium")
SKIP_REASON_START = "Chromium could not start"
INSTALL_COMMAND = "sudo apt-get install -y chromium"


def chromium_skip_reason(error: Exception) -> str:
    return f"{SKIP_REASON_START} from {CHROMIUM} ({type(error).__name__}: {error})"


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    skipped = [
        report
        for report in terminalreporter.stats.get("skipped", [])
        if isinstance(report.longrepr, tuple) and SKIP_REASON_START in str(report.longrepr[2])
    ]
    if not skipped:
        return
    terminalreporter.write_sep("!", f"{len(skipped)} BROWSER TESTS WERE SKIPPED", red=True, bold=True)
    terminalreporter.write_line(
        f"Chromium could not start from {CHROMIUM}, so no browser test ran.", red=True
    )
    terminalreporter.write_line(f"Install it with:  {INSTALL_COMMAND}", bold=True)
    terminalreporter.write_line("(In CI, CI=true makes this a failure instead of a skip.)")
