from django.apps import AppConfig


class HelpdeskAdminConfig(AppConfig):
    """The console's admin of the helpdesk models (models_core): changelists, forms, import/export, trash.

    The models keep their app label `models_core`, so their admin URLs stay `/models_core/<model>/`.
    """

    name = "dashboard.helpdesk"
    label = "helpdesk_admin"
    verbose_name = "Helpdesk data admin"
    default_auto_field = "django.db.models.BigAutoField"
