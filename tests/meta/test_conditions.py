"""tests/conditions.wait_until: returns as soon as the condition holds, fails with what it waited for."""

import itertools

import pytest

from tests.conditions import wait_until


def test_returns_the_first_truthy_answer():
    answers = itertools.chain([None, 0, ""], itertools.repeat("ready"))
    assert wait_until(lambda: next(answers), interval=0) == "ready"


def test_the_failure_describes_the_state_when_the_wait_gave_up():
    polls: list[int] = []

    def condition() -> bool:
        polls.append(len(polls) + 1)
        return False

    with pytest.raises(
        AssertionError, match=r"after 0\.05 s waiting for the server \(polled (\d+) times\)"
    ) as failure:
        wait_until(condition, timeout=0.05, what=lambda: f"the server (polled {len(polls)} times)")
    # The message was written when the wait gave up, after every poll, not when it began.
    assert f"polled {len(polls)} times" in str(failure.value) and len(polls) > 1
