from django.apps import AppConfig


class ModelsCoreConfig(AppConfig):
    name = "models_core"
    verbose_name = "Helpdesk data"
    default_auto_field = "django.db.models.BigAutoField"
