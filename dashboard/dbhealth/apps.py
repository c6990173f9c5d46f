from django.apps import AppConfig


class DbHealthConfig(AppConfig):
    """DB health: index usage snapshots, findings and constraint violations."""

    name = "dashboard.dbhealth"
    label = "dbhealth"
    verbose_name = "DB health"
    default_auto_field = "django.db.models.BigAutoField"
