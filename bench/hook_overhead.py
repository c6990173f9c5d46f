"""How much do model hooks add to a save? Prints ratios against a plain save measured in the same run.

    .venv/bin/python bench/hook_overhead.py [--saves 200] [--rounds 15]

Three ways to save the same UserSession row (a hooked model with no hooks of its own), interleaved round by
round so drift in the machine's load hits them alike:
- plain: Django's Model.save(), skipping ModelHooksMixin altogether (the baseline);
- no hooks: the mixin's save with nothing registered for the model;
- 3 no-op hooks: before_update, before_save and after_save no-op hooks registered (statistics counted);
- false condition: one before_update hook with `when="is_active", has_changed=True`, which the save (of
  user_agent) never meets, so the hook is skipped by its condition (no query, see HookCondition).
Each is measured inside a transaction (as services write) and in autocommit. The goals: 3 no-op hooks
within 10% of a plain save, a false condition within 5%. Rows are created for the run and removed afterwards.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

import django

django.setup()

from django.db import models, transaction  # noqa: E402

from models_core.hooks import HookType  # noqa: E402
from models_core.hooks import registry as hook_registry  # noqa: E402
from models_core.models import Organization, User, UserSession  # noqa: E402


def noop_before_update(session, **context):
    """Does nothing: measures the firing path."""


def noop_before_save(session, **context):
    """Does nothing: measures the firing path."""


def noop_after_save(session, **context):
    """Does nothing: measures the firing path."""


def plain(session: UserSession, n: int) -> None:
    for _ in range(n):
        models.Model.save(session, update_fields=["user_agent"])


def mixin(session: UserSession, n: int) -> None:
    for _ in range(n):
        session.save(update_fields=["user_agent"])


def timed(func, session, n) -> float:
    start = time.perf_counter()
    func(session, n)
    return (time.perf_counter() - start) / n


def measure(session: UserSession, saves: int, rounds: int, in_transaction: bool) -> dict[str, float]:
    hooks = []
    samples: dict[str, list[float]] = {
        "plain": [],
        "no hooks": [],
        "3 no-op hooks": [],
        "false condition": [],
    }
    for _ in range(rounds):
        for name in samples:
            for hook in hooks:
                hook_registry.unregister(hook)
            hooks = []
            if name == "3 no-op hooks":
                hooks = [
                    hook_registry.register_hook(
                        HookType.BEFORE_UPDATE, UserSession, noop_before_update, on_error="raise"
                    ),
                    hook_registry.register_hook(
                        HookType.BEFORE_SAVE, UserSession, noop_before_save, on_error="raise"
                    ),
                    hook_registry.register_hook(
                        HookType.AFTER_SAVE, UserSession, noop_after_save, on_error="raise"
                    ),
                ]
            if name == "false condition":
                hooks = [
                    hook_registry.register_hook(
                        HookType.BEFORE_UPDATE,
                        UserSession,
                        noop_before_update,
                        on_error="raise",
                        when="is_active",
                        has_changed=True,
                    )
                ]
            func = plain if name == "plain" else mixin
            if in_transaction:
                with transaction.atomic():
                    samples[name].append(timed(func, session, saves))
            else:
                samples[name].append(timed(func, session, saves))
    for hook in hooks:
        hook_registry.unregister(hook)
    hook_registry.stats_take()  # the benchmark's counts are not statistics of the application
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--saves", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()

    org = Organization.objects.create(name="hook bench", slug=f"hook-bench-{os.getpid()}")
    user = User.objects.create(username=f"hook-bench-{os.getpid()}", organization=org)
    session = UserSession.objects.create(user=user, session_key="bench")
    try:
        for in_transaction in (True, False):
            label = "inside a transaction" if in_transaction else "autocommit"
            mixin(session, 50)  # warm up
            result = measure(session, args.saves, args.rounds, in_transaction)
            base = result["plain"]
            print(f"{label}: median per save over {args.rounds} rounds of {args.saves}")
            for name, seconds in result.items():
                print(f"  {name:15} {seconds * 1e6:8.1f} µs   ratio {seconds / base:5.3f}")
            ratio = result["false condition"] / base
            verdict = "ok" if ratio <= 1.05 else "OVER the 1.05 goal"
            print(f"  conditional hook, condition false / plain save: {ratio:.3f}x ({verdict})")
    finally:
        org.hard_delete()
    hook_registry.stats_take()


if __name__ == "__main__":
    main()
