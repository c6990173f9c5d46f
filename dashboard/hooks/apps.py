from django.apps import AppConfig


class HooksConfig(AppConfig):
    """Hook registry browser: registered model hooks, their provenance and statistics."""

    name = "dashboard.hooks"
    label = "hooks"
    verbose_name = "Hooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core.signals import request_finished

        from dashboard import permissions
        from dashboard.hooks.services import hook_stats_write
        from dashboard.navigation import NavigationEntry, registry
        from models_core.hooks import flush_if_due
        from models_core.hooks import registry as hook_registry

        # Every process's counters reach the database through this app's tables; a web process that fired
        # hooks writes them at the end of a request once they are due.
        hook_registry.set_stats_flusher(hook_stats_write)
        request_finished.connect(flush_if_due, weak=False, dispatch_uid="hooks.flush_if_due")
        registry.register(
            NavigationEntry(
                key="hooks",
                title="Hooks",
                icon="webhook",
                url_name="dashboard:hooks:registry",
                permission=permissions.VIEW_HOOK_REGISTRY,
                description="Model hooks in run order, where they come from, how often they run and fail.",
                order=30,
            )
        )
