"""Scan storage: each run, its counts per (model, rule) and per organization, every violation's first sighting
and the run that found it resolved, and waivers.

Rows name models by label ("models_core.ticket") and rules by name ("status_choice"), so the history stays
readable after a rule changes or goes away. Organizations are kept per count and per violation, so every page
can be scoped to the viewer's organization without reading the data tables.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q

# How many failing ids a scan keeps per rule, for rules a page cannot query live.
SAMPLE_SIZE = 1000


class ValidationScan(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    UNFINISHED = (Status.QUEUED, Status.RUNNING)

    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    job_run = models.ForeignKey(
        "dashboard.JobRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    rules_total = models.PositiveIntegerField(default=0)
    rules_errored = models.PositiveIntegerField(default=0)
    violations_total = models.PositiveBigIntegerField(default=0)
    waived_total = models.PositiveBigIntegerField(default=0)
    new_total = models.PositiveBigIntegerField(default=0)
    resolved_total = models.PositiveBigIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "-id"], name="validation_scan_status_idx")]

    def __str__(self) -> str:
        return f"Validation scan #{self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status not in self.UNFINISHED


class ScanResult(models.Model):
    """One rule of one model in one scan: totals over every organization."""

    scan = models.ForeignKey(ValidationScan, on_delete=models.CASCADE, related_name="results")
    model_label = models.CharField(max_length=100)
    rule_name = models.CharField(max_length=100)
    field_name = models.CharField(max_length=100)
    message = models.CharField(max_length=500)
    has_query = models.BooleanField()
    violations = models.PositiveBigIntegerField(default=0, help_text="Failing rows without a waiver.")
    waived = models.PositiveBigIntegerField(default=0, help_text="Failing rows with a waiver in force.")
    new = models.PositiveBigIntegerField(default=0, help_text="Failing now, not in the previous run.")
    resolved = models.PositiveBigIntegerField(default=0, help_text="Failing in the previous run, not now.")
    checked = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Rows read one by one (rules without a query); null for query rules."
    )
    errored = models.BooleanField(default=False)
    error_message = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    sample_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)

    class Meta:
        ordering = ["model_label", "rule_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["scan", "model_label", "rule_name"], name="validation_result_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.model_label}.{self.rule_name} in scan {self.scan_id}"


class ScanOrganizationCount(models.Model):
    """One rule's counts for one organization in one scan (organization null: rows of no tenant)."""

    result = models.ForeignKey(ScanResult, on_delete=models.CASCADE, related_name="organization_counts")
    organization = models.ForeignKey(
        "models_core.Organization", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    violations = models.PositiveBigIntegerField(default=0)
    waived = models.PositiveBigIntegerField(default=0)
    new = models.PositiveBigIntegerField(default=0)
    resolved = models.PositiveBigIntegerField(default=0)

    organization_path = "organization"

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["result", "organization"],
                name="validation_orgcount_unique",
                nulls_distinct=False,
            )
        ]
        indexes = [models.Index(fields=["organization", "result"], name="validation_orgcount_org_idx")]

    def __str__(self) -> str:
        return f"{self.result} for organization {self.organization_id}"


class Violation(models.Model):
    """One record breaking one rule: the run that first saw it failing and, once it passes, the run that found
    it resolved (empty while it still fails: the rule's current violations).

    New in scan S: first_seen_scan = S. Resolved in S: resolved_scan = S. A run writes only what changed
    (new, resolved, moved to another organization), never the violations that are still there, so a scan
    costs about what reading the data table costs however many records keep failing. A record that fails
    again after it was resolved starts again as new.
    """

    model_label = models.CharField(max_length=100)
    rule_name = models.CharField(max_length=100)
    object_id = models.BigIntegerField()
    organization = models.ForeignKey(
        "models_core.Organization",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )
    first_seen_scan = models.ForeignKey(ValidationScan, on_delete=models.CASCADE, related_name="+")
    resolved_scan = models.ForeignKey(
        ValidationScan, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )

    organization_path = "organization"

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["model_label", "rule_name", "object_id"], name="validation_violation_unique"
            ),
            models.CheckConstraint(
                condition=Q(resolved_scan__isnull=True) | Q(resolved_scan__gt=F("first_seen_scan")),
                name="validation_violation_resolved_order",
                violation_error_message="A violation cannot be resolved before it was first seen.",
            ),
        ]
        indexes = [
            # A rule's current violations by object id: the rule page, a scan's comparison with them.
            models.Index(
                fields=["model_label", "rule_name", "object_id"],
                condition=Q(resolved_scan__isnull=True),
                name="validation_violation_open_idx",
            ),
            models.Index(
                fields=["organization", "model_label", "rule_name"], name="validation_violation_org_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model_label}#{self.object_id} breaks {self.rule_name}"


class Waiver(models.Model):
    """An accepted (rule, record) violation: counted apart until `expires_at`, then it counts again."""

    model_label = models.CharField(max_length=100)
    rule_name = models.CharField(max_length=100)
    object_id = models.BigIntegerField()
    organization = models.ForeignKey(
        "models_core.Organization", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    reason = models.CharField(max_length=500)
    expires_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    organization_path = "organization"

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One waiver per record and rule; accepting it again replaces reason and expiry.
            models.UniqueConstraint(
                fields=["model_label", "rule_name", "object_id"], name="validation_waiver_unique"
            ),
            models.CheckConstraint(
                condition=~Q(reason=""),
                name="validation_waiver_reason",
                violation_error_message="A waiver needs a reason.",
            ),
        ]

    def __str__(self) -> str:
        return f"Waiver of {self.rule_name} for {self.model_label}#{self.object_id}"
