"""Uploads imported through a background job (files above CUSTODIAN_IMPORT_SYNC_MAX_ROWS) and their previews.

Small files keep import-export's two requests (the upload waits in the tmp storage). A large file is stored
here, in the database the worker reads too, so its preview and its confirm run as jobs: the preview's rows
are kept (ImportPreviewRow) and paged on the preview page, and the confirm imports the file and marks the
upload imported in one transaction, so running it twice imports it once.
"""

from django.conf import settings
from django.db import models


class ImportUpload(models.Model):
    class Status(models.TextChoices):
        PREVIEWING = "previewing", "Checking the file"
        PREVIEWED = "previewed", "Ready to import"
        REFUSED = "refused", "Rows have errors"
        IMPORTED = "imported", "Imported"

    # What the admin's import page was for ("models_core.ticket"), the resource chosen there (its dotted
    # path, one of that admin's resource_classes) and the file's format ("csv", "xlsx", "json").
    model_label = models.CharField(max_length=100)
    resource_path = models.CharField(max_length=200)
    format_key = models.CharField(max_length=10)
    original_file_name = models.CharField(max_length=255)
    # The file itself (at most CUSTODIAN_IMPORT_MAX_BYTES); emptied once imported.
    data = models.BinaryField()
    row_count = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PREVIEWING)
    headers = models.JSONField(default=list)  # the preview's columns (import-export's diff headers)
    # Rows per outcome ("new", "update", "skip", "invalid", "error") and failing rows per column.
    totals = models.JSONField(default=dict)
    error_columns = models.JSONField(default=dict)
    # A reason for the whole file (unreadable now, the user lost the right to import).
    error = models.TextField(blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="import_uploads"
    )
    organization = models.ForeignKey(
        "models_core.Organization", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    preview_job = models.ForeignKey(
        "dashboard.JobRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    confirm_job = models.ForeignKey(
        "dashboard.JobRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    imported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["created_at"], name="dataio_upload_created_idx")]

    def __str__(self) -> str:
        return f"{self.original_file_name} ({self.get_status_display()})"


class ImportPreviewRow(models.Model):
    """One row of a stored preview: what it would do, its cells (old and new value) and its errors."""

    upload = models.ForeignKey(ImportUpload, on_delete=models.CASCADE, related_name="preview_rows")
    number = models.PositiveIntegerField()  # from 1, the first row under the header
    import_type = models.CharField(max_length=10)  # import-export's RowResult types, plus "invalid"
    # [[old, new], ...] in the order of the upload's diff headers (old is "" for a new record).
    cells = models.JSONField(default=list)
    # [[column or "", message], ...]
    errors = models.JSONField(default=list)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["upload", "number"], name="dataio_preview_row_unique"),
        ]
        ordering = ["upload", "number"]

    def __str__(self) -> str:
        return f"Row {self.number} ({self.import_type})"
