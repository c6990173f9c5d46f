"""Hook statistics and bypass counters, summed over every process that runs hooks.

Rows are written only by `services.hook_stats_write` (batched INSERT ... ON CONFLICT adding deltas), never one
write per hook call; the browser reads them through `selectors`.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone


class HookStat(models.Model):
    """Execution statistics of one hook (model, event, function), since `since`."""

    key = models.CharField(max_length=500, unique=True, help_text="model label:hook type:module.qualname")
    model_label = models.CharField(max_length=100)
    hook_type = models.CharField(max_length=30)
    name = models.CharField(max_length=400, help_text="module.qualname of the hook function")
    calls = models.BigIntegerField(default=0)
    failures = models.BigIntegerField(default=0)
    total_ns = models.BigIntegerField(default=0, help_text="Summed duration, nanoseconds.")
    max_ns = models.BigIntegerField(default=0, help_text="Longest call, nanoseconds.")
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    source_hash = models.CharField(
        max_length=64, help_text="SHA-256 of the hook's source when these statistics began."
    )
    since = models.DateTimeField(default=timezone.now, help_text="When these statistics began.")
    reset_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["model_label", "hook_type", "name"]
        verbose_name = "hook statistic"
        verbose_name_plural = "hook statistics"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(calls__gte=0, failures__gte=0, failures__lte=models.F("calls")),
                name="hookstat_counts_consistent",
                violation_error_message="Failures cannot exceed calls, and neither can be negative.",
            ),
        ]

    def __str__(self) -> str:
        return self.key


class HookBypass(models.Model):
    """Writes to a hooked model that skipped its hooks: bulk_create, bulk_update, QuerySet.update, and the
    skips asked for on purpose (`save(skip_hooks=True)`, any write inside `bypass_hooks()`)."""

    class Operation(models.TextChoices):
        BULK_CREATE = "bulk_create", "bulk_create()"
        BULK_UPDATE = "bulk_update", "bulk_update()"
        UPDATE = "update", "QuerySet.update()"
        SKIP_HOOKS = "skip_hooks", "save(skip_hooks=True)"
        BYPASS_HOOKS = "bypass_hooks", "inside bypass_hooks()"

    model_label = models.CharField(max_length=100)
    operation = models.CharField(max_length=20, choices=Operation.choices)
    operations = models.BigIntegerField(default=0, help_text="How many such calls.")
    rows = models.BigIntegerField(default=0, help_text="Rows they wrote.")
    since = models.DateTimeField(default=timezone.now)
    last_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["model_label", "operation"]
        verbose_name = "hook bypass"
        verbose_name_plural = "hook bypasses"
        constraints = [
            models.UniqueConstraint(
                fields=["model_label", "operation"],
                name="unique_hookbypass_model_operation",
                violation_error_message="This model and operation already have a counter.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model_label} {self.operation}"
