"""The dashboard app's models: the permission carrier, background job runs and export files."""

from django.db import models

from dashboard.exports.models import ExportFile, ExportFilePart
from dashboard.jobs.models import JobRun


class CustodianPermission(models.Model):
    """Carries the console's own permissions; it has no table.

    Permissions need a content type, and these belong to no data model: they guard whole pages of the
    console. An unmanaged model gives them a home without a table or a default add/change/delete set.
    """

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_trash", "Can view the trash"),
            ("restore_trash", "Can restore rows from the trash"),
            ("purge_trash", "Can purge rows from the trash"),
            ("view_validation_report", "Can view validation reports"),
            ("run_validation_scan", "Can run validation scans"),
            ("view_hook_registry", "Can view the hook registry"),
            ("reset_hook_stats", "Can reset hook statistics"),
            ("view_dbhealth", "Can view database health"),
            ("manage_retention", "Can manage retention settings"),
        ]

    def __str__(self) -> str:
        return "Custodian permission"


__all__ = ["CustodianPermission", "ExportFile", "ExportFilePart", "JobRun"]
