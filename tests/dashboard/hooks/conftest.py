import pytest

from models_core.hooks import registry as hook_registry


@pytest.fixture(autouse=True)
def fresh_counters():
    """Each test starts (and leaves) with no unflushed hook counters in this process."""
    hook_registry.stats_take()
    yield
    hook_registry.stats_take()


@pytest.fixture
def hooks():
    """hooks(type, model, func, **options) registers a hook for this test only."""
    registered = []

    def register(hook_type, model, func, **options):
        options.setdefault("on_error", "raise")
        hook = hook_registry.register_hook(hook_type, model, func, **options)
        registered.append(hook)
        return hook

    yield register
    for hook in registered:
        hook_registry.unregister(hook)
