import pytest

from models_core.hooks import registry as hook_registry


@pytest.fixture(autouse=True)
def fresh_counters():
    """Each test starts (and leaves) with no unflushed hook counters in this process."""
    hook_registry.stats_take()
    yield
    hook_registry.stats_take()
