from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = "Custodian"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from dashboard import changelist_speed

        changelist_speed.install()
