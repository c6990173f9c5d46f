from django.apps import AppConfig


class TrashConfig(AppConfig):
    """Trash: list, restore and purge soft-deleted records, with retention."""

    name = "dashboard.trash"
    label = "trash"
    verbose_name = "Trash"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from dashboard.navigation import NavigationEntry, registry

        registry.register(
            NavigationEntry(
                key="trash",
                title="Trash",
                icon="delete",
                url_name="dashboard:trash:list",
                permission="dashboard.view_trash",
                description="Deleted records: who, when and why; restore them or purge them for good.",
                order=10,
            )
        )
        registry.register(
            NavigationEntry(
                key="trash-purges",
                title="Purge records",
                icon="history",
                url_name="dashboard:trash:purge_records",
                permission="dashboard.view_trash",
                description="What was purged for good, by whom and when (no personal data kept).",
                order=11,
            )
        )
        registry.register(
            NavigationEntry(
                key="trash-retention",
                title="Retention",
                icon="schedule",
                url_name="dashboard:trash:retention",
                permission="dashboard.manage_retention",
                description="How long deleted records stay in the trash before they are purged.",
                order=12,
            )
        )
