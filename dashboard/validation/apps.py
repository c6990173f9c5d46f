from django.apps import AppConfig


class ValidationConfig(AppConfig):
    """Validation reports: scans of the centralized rules over the stored data."""

    name = "dashboard.validation"
    label = "validation"
    verbose_name = "Validation"
    default_auto_field = "django.db.models.BigAutoField"
