from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

# The unfold admin site is the dashboard: its index is the home page.
admin.site.site_title = "Custodian"
admin.site.site_header = "Custodian"
admin.site.index_title = _("Dashboard")

urlpatterns = [
    path("dashboard/", include("dashboard.urls")),
    path("", admin.site.urls),
]
if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

# Errors in the console's own layout (dashboard/errors.py); DEBUG shows Django's technical pages instead.
handler403 = "dashboard.errors.permission_denied_view"
handler404 = "dashboard.errors.page_not_found_view"
handler500 = "dashboard.errors.server_error_view"
