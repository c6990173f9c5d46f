from django.apps import AppConfig


class DbHealthConfig(AppConfig):
    """DB health: index usage snapshots, findings and constraint violations."""

    name = "dashboard.dbhealth"
    label = "dbhealth"
    verbose_name = "DB health"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from dashboard import permissions
        from dashboard.dbhealth import recorder
        from dashboard.dbhealth.services import declared_definitions_after_migrate
        from dashboard.navigation import NavigationEntry, registry

        recorder.install()
        post_migrate.connect(
            declared_definitions_after_migrate, sender=self, dispatch_uid="dbhealth_declared_definitions"
        )
        registry.register(
            NavigationEntry(
                key="dbhealth",
                title="Index usage",
                icon="monitor_heart",
                url_name="dashboard:dbhealth:index_usage",
                permission=permissions.VIEW_DBHEALTH,
                description="Index scans, sizes and drift from the Django declarations; unused, duplicate, "
                "invalid and bloated indexes",
                order=40,
                platform_only=True,
            )
        )
        registry.register(
            NavigationEntry(
                key="dbhealth_violations",
                title="Constraint violations",
                icon="gpp_maybe",
                url_name="dashboard:dbhealth:violations",
                permission=permissions.VIEW_DBHEALTH,
                description="Integrity errors and validation-caught violations per constraint, over time",
                order=41,
                platform_only=True,
            )
        )
        registry.register(
            NavigationEntry(
                key="dbhealth_advisor",
                title="Index advisor",
                icon="lightbulb",
                url_name="dashboard:dbhealth:advisor",
                permission=permissions.VIEW_DBHEALTH,
                description="Indexes the workload needs, proven with hypothetical indexes, with the "
                "migration to write",
                order=42,
                platform_only=True,
            )
        )
