from django.apps import AppConfig


class TrashConfig(AppConfig):
    """Trash: list, restore and purge soft-deleted records, with retention."""

    name = "dashboard.trash"
    label = "trash"
    verbose_name = "Trash"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from dashboard import permissions
        from dashboard.navigation import NavigationEntry, registry

        registry.register(
            NavigationEntry(
                key="trash",
                title="Trash",
                icon="delete",
                url_name="dashboard:trash:list",
                permission=permissions.VIEW_TRASH,
                # Purge records and retention are tabs of the trash pages.
                description="Deleted records: who, when, why. Restore or purge them; purge log; retention.",
                order=10,
            )
        )
