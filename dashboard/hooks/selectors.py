"""Reads of the hook registry capability: registered hooks in run order joined with their statistics.

The registry is in process memory; statistics and bypass counters are a few rows per hook and per model,
so every read here is one small query whatever the size of the helpdesk's tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.apps import apps

from dashboard.hooks.models import HookBypass, HookStat
from models_core.hooks import HOOK_TYPE_ORDER, Hook, HookType, ModelHooksMixin
from models_core.hooks import registry as hook_registry


@dataclass
class HookRow:
    """One hook as the browser shows it: its place in the run order, provenance and statistics."""

    hook: Hook
    position: int
    stat: HookStat | None

    @property
    def calls(self) -> int:
        return self.stat.calls if self.stat else 0

    @property
    def failures(self) -> int:
        return self.stat.failures if self.stat else 0

    @property
    def average_ms(self) -> float | None:
        return self.stat.total_ns / self.stat.calls / 1e6 if self.stat and self.stat.calls else None

    @property
    def max_ms(self) -> float | None:
        return self.stat.max_ns / 1e6 if self.stat and self.stat.calls else None

    @property
    def source_changed(self) -> bool:
        """The code now registered differs from the code the statistics began with."""
        return bool(self.stat and self.stat.source_hash != self.hook.source_hash)

    @property
    def short_hash(self) -> str:
        return self.hook.source_hash[:12]

    @property
    def doc_summary(self) -> str:
        return self.hook.doc.split("\n\n", 1)[0].replace("\n", " ")


@dataclass
class HookGroup:
    """The hooks of one model and event, in the order they run."""

    model_label: str
    model_name: str
    hook_type: HookType
    rows: list[HookRow] = field(default_factory=list)


def hook_model_choices() -> list[tuple[str, str]]:
    """Every model whose writes fire hooks (label, display name), hooks registered or not."""
    hooked = [m for m in apps.get_models() if issubclass(m, ModelHooksMixin)]
    return sorted(
        ((m._meta.label, str(m._meta.verbose_name).capitalize()) for m in hooked), key=lambda c: c[1]
    )


def hook_type_choices() -> list[tuple[str, str]]:
    return [(t.value, t.value.replace("_", " ")) for t in HOOK_TYPE_ORDER]


def hook_registry_groups(model_label: str | None = None, hook_type: str | None = None) -> list[HookGroup]:
    """Registered hooks grouped per (model, event), models by name and events in firing order; one query
    for the statistics of the hooks shown."""
    type_rank = {t: i for i, t in enumerate(HOOK_TYPE_ORDER)}
    selected: dict[tuple[type, HookType], list[Hook]] = {}
    for hook in hook_registry.all_hooks():
        if model_label and hook.model_label != model_label:
            continue
        if hook_type and hook.hook_type != hook_type:
            continue
        selected.setdefault((hook.model, hook.hook_type), []).append(hook)
    keys = [hook.key for hooks in selected.values() for hook in hooks]
    stats = {stat.key: stat for stat in HookStat.objects.filter(key__in=keys).select_related("reset_by")}
    groups = []
    for (model, event), hooks in sorted(
        selected.items(), key=lambda item: (item[0][0]._meta.verbose_name, type_rank[item[0][1]])
    ):
        ordered = sorted(hooks, key=lambda h: (h.priority, h.seq))
        groups.append(
            HookGroup(
                model_label=model._meta.label,
                model_name=str(model._meta.verbose_name).capitalize(),
                hook_type=event,
                rows=[HookRow(hook, i, stats.get(hook.key)) for i, hook in enumerate(ordered, start=1)],
            )
        )
    return groups


def hook_registry_summary(groups: list[HookGroup]) -> dict[str, int]:
    rows = [row for group in groups for row in group.rows]
    return {
        "hooks": len(rows),
        "models": len({group.model_label for group in groups}),
        "calls": sum(row.calls for row in rows),
        "failures": sum(row.failures for row in rows),
        "changed": sum(row.source_changed for row in rows),
    }


def hook_stats_orphans(model_label: str | None = None) -> list[HookStat]:
    """Statistics of hooks that are no longer registered (renamed, moved or removed)."""
    registered = [hook.key for hook in hook_registry.all_hooks()]
    stats = HookStat.objects.exclude(key__in=registered).select_related("reset_by")
    if model_label:
        stats = stats.filter(model_label=model_label)
    return list(stats.order_by("model_label", "hook_type", "name")[:200])


def hook_bypass_list(model_label: str | None = None) -> list[HookBypass]:
    """Writes that skipped the hooks, per model and operation."""
    bypasses = HookBypass.objects.all()
    if model_label:
        bypasses = bypasses.filter(model_label=model_label)
    return list(bypasses.order_by("model_label", "operation"))
