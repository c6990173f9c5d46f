"""What stays of a purge: a record without personal data (the purged rows themselves are gone)."""

from django.conf import settings
from django.db import models


class PurgeRecord(models.Model):
    """One purged root row (and everything its hard delete removed with it).

    Holds ids and counts only: no names, emails or content, so keeping it forever keeps no personal data.
    `organization_id` is a plain number, not a foreign key: the organization may be purged too.
    """

    class Trigger(models.TextChoices):
        MANUAL = "manual", "Purged by a person"
        RETENTION = "retention", "Retention period ended"

    model_label = models.CharField(max_length=100, help_text="app_label.ModelName of the purged root row.")
    object_id = models.CharField(max_length=64)
    organization_id = models.BigIntegerField(null=True, blank=True)
    batch_id = models.UUIDField(
        null=True, blank=True, help_text="The soft delete the row went to the trash with."
    )
    purged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        # The record outlives the account of whoever purged.
        on_delete=models.SET_NULL,
        related_name="+",
    )
    purged_at = models.DateTimeField(auto_now_add=True)
    trigger = models.CharField(max_length=20, choices=Trigger.choices, default=Trigger.MANUAL)
    reason = models.CharField(
        max_length=255, blank=True, help_text="Why it was purged, as the purger typed it (no personal data)."
    )
    deleted_at = models.DateTimeField(null=True, blank=True, help_text="When the row had gone to the trash.")
    counts = models.JSONField(default=dict, help_text="Rows removed per model label.")
    total = models.PositiveIntegerField(default=0)

    organization_path = "organization_id"

    class Meta:
        ordering = ["-purged_at", "-id"]
        verbose_name = "purge record"
        verbose_name_plural = "purge records"
        indexes = [
            # The purge log per organization, newest first (keyset pagination).
            models.Index(fields=["organization_id", "-purged_at", "-id"], name="purgerecord_org_recent"),
            models.Index(fields=["-purged_at", "-id"], name="purgerecord_recent"),
            # What became of one record (a repeated submit is answered with its purge).
            models.Index(fields=["model_label", "object_id", "-id"], name="purgerecord_object"),
        ]

    def __str__(self) -> str:
        return f"{self.model_label} #{self.object_id} purged {self.purged_at:%Y-%m-%d %H:%M}"
