"""Files whose rows a purge deleted, until they are gone from their storage.

A purge writes one row per file in its own transaction (so a kill after COMMIT forgets nothing), removes the
files once it has committed, and deletes the rows of the files it removed; what could not be removed stays,
with its error, for the periodic sweeper (models_core.purge.pending_files_sweep) and for the people who look
(the trash's purge records page).
"""

from django.db import models
from django.utils import timezone


class PendingFileRemoval(models.Model):
    # "app_label.Model.field": how the sweeper finds the storage the file lives in.
    field = models.CharField(max_length=200)
    name = models.TextField()
    # No foreign key: the organization may be purged in the same transaction. Null for platform-level rows.
    organization_id = models.BigIntegerField(null=True, blank=True)
    # One purge's files, removed right after its commit.
    purge_token = models.UUIDField()
    created_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    # Tenancy (models_core.tenancy): the id of the purged rows' organization, kept as a plain column.
    organization_path = "organization_id"

    class Meta:
        verbose_name = "file to remove"
        verbose_name_plural = "files to remove"
        indexes = [
            models.Index(fields=["purge_token"], name="pendingfile_token_idx"),
            # The purge records page lists an organization's newest failures first.
            models.Index(fields=["organization_id", "-id"], name="pendingfile_org_idx"),
        ]

    def __str__(self) -> str:
        return self.name
