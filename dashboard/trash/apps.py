from django.apps import AppConfig


class TrashConfig(AppConfig):
    """Trash: list, restore and purge soft-deleted records, with retention."""

    name = "dashboard.trash"
    label = "trash"
    verbose_name = "Trash"
    default_auto_field = "django.db.models.BigAutoField"
