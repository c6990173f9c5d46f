from django.apps import AppConfig


class HooksConfig(AppConfig):
    """Hook registry browser: registered model hooks, their provenance and statistics."""

    name = "dashboard.hooks"
    label = "hooks"
    verbose_name = "Hooks"
    default_auto_field = "django.db.models.BigAutoField"
