"""The suite runs in a random order (pytest-randomly, on by default); a failed run says how to replay it."""

import pytest


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """Repeat pytest-randomly's seed under the failures: the header that shows it has long scrolled away."""
    seed = config.getoption("randomly_seed", default=None)  # None under -p no:randomly
    if exitstatus != 0 and isinstance(seed, int):
        terminalreporter.write_line(
            f"Random order; replay it: make test PYTEST_ARGS='-p randomly --randomly-seed={seed}'"
        )
