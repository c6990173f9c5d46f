from django.apps import AppConfig


class ModelsCoreConfig(AppConfig):
    name = "models_core"
    verbose_name = "Helpdesk data"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from .helpdesk_rules import validator_setup
        from .lookups import lookups_register
        from .trashing import cascade_edges, soft_delete_models

        lookups_register()
        # Read every SoftDeleteMeta once at start-up, so a wrong relation name fails here, not in a delete.
        cascade_edges()
        soft_delete_models()
        # The validation rules are registered once per process, never per clean() call.
        validator_setup()
        # The helpdesk's model hooks register themselves on import.
        from . import helpdesk_hooks  # noqa: F401
