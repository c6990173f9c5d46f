"""django.contrib.admin's app config with the console's site (dashboard.site) as `admin.site`.

Its own module: INSTALLED_APPS imports it before any model exists, and the site module needs models.
"""

from django.contrib.admin.apps import AdminConfig


class CustodianAdminConfig(AdminConfig):
    default_site = "dashboard.site.CustodianAdminSite"
