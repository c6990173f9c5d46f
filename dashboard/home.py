"""Context for the dashboard home page (unfold's DASHBOARD_CALLBACK)."""

from django.http import HttpRequest


def dashboard_callback(request: HttpRequest, context: dict) -> dict:
    context["cards"] = []
    return context
