"""The site's URL conf plus one view that fails, so the browser walk sees the real 500 page."""

from django.urls import path

from config.urls import handler403, handler404, handler500  # noqa: F401 (Django looks them up here)
from config.urls import urlpatterns as site_urlpatterns


def server_error_view(request):
    raise RuntimeError("a deliberate failure for the 500 page")


urlpatterns = [path("__e2e__/server-error/", server_error_view), *site_urlpatterns]
