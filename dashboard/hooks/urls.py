from django.urls import path

from dashboard.hooks.views import hook_registry_view, hook_stats_reset_view

app_name = "hooks"
urlpatterns: list = [
    path("", hook_registry_view, name="registry"),
    path("reset/", hook_stats_reset_view, name="reset"),
]
