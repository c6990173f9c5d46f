"""Static files every console page loads (unfold's SCRIPTS setting calls these with the request)."""

from django.http import HttpRequest
from django.templatetags.static import static


def a11y_script_url(request: HttpRequest) -> str:
    return static("dashboard/js/a11y.js")


def console_css_url(request: HttpRequest) -> str:
    return static("dashboard/css/console.css")
