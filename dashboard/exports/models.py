"""Export files written by a background job (exports above CUSTODIAN_EXPORT_SYNC_MAX_ROWS rows).

The file lives in the database, in parts of CUSTODIAN_EXPORT_PART_BYTES, because the worker and the web
processes share the database and nothing else for sure (the default storage is per process in tests, a
folder per machine in a plain deployment). Parts are written as the rows are read, so neither side ever
holds the whole file; the download streams them in order. A file is offered only once `status` is ready: a
worker killed half-way leaves parts that nobody can download, and its retry deletes them before writing
again.
"""

from django.conf import settings
from django.db import models


class ExportFile(models.Model):
    class Status(models.TextChoices):
        WRITING = "writing", "Being written"
        READY = "ready", "Ready to download"
        FAILED = "failed", "Failed"

    # Which export wrote it (a name of dashboard.exports.files' registry: "trash", "admin") and what it was
    # asked for: the export's query string (filters, the model of an admin export), kept as sent.
    source = models.CharField(max_length=100)
    query = models.TextField(blank=True)
    format_key = models.CharField(max_length=10)
    file_name = models.CharField(max_length=255)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.WRITING)
    rows = models.PositiveBigIntegerField(default=0)
    size_bytes = models.PositiveBigIntegerField(default=0)
    truncated = models.BooleanField(default=False)  # the format's or the setting's row cap cut it short
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="export_files"
    )
    organization = models.ForeignKey(
        "models_core.Organization", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    job = models.ForeignKey(
        "dashboard.JobRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["created_at"], name="exportfile_created_idx")]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"


class ExportFilePart(models.Model):
    """One piece of a file's bytes, in order (`number` from 1)."""

    export = models.ForeignKey(ExportFile, on_delete=models.CASCADE, related_name="parts")
    number = models.PositiveIntegerField()
    data = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["export", "number"], name="exportfilepart_unique"),
        ]

    def __str__(self) -> str:
        return f"Part {self.number} of export {self.export_id}"
