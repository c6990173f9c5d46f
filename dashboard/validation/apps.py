from django.apps import AppConfig


class ValidationConfig(AppConfig):
    """Validation reports: scans of the centralized rules over the stored data."""

    name = "dashboard.validation"
    label = "validation"
    verbose_name = "Validation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from dashboard import permissions
        from dashboard.navigation import NavigationEntry, registry

        registry.register(
            NavigationEntry(
                key="validation",
                title="Validation reports",
                icon="rule",
                url_name="dashboard:validation:index",
                permission=permissions.VIEW_VALIDATION_REPORT,
                description="Which records break which business rules, new and resolved since the last scan",
                order=20,
            )
        )
