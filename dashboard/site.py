"""The console's admin site: unfold's, with two rules of its own.

- Tenancy's one rule for models that declare no organization (`organization_path`, models_core.tenancy):
  their rows belong to no tenant (groups, the job queue, sign-in attempts), so their admin pages are for
  platform staff only, whatever permissions an organization-bound account holds. `register` applies it to
  every admin, including those third-party apps register.
- The search page answers a bad page number with a 4xx.

Installed by `dashboard.adminconfig.CustodianAdminConfig` in place of `django.contrib.admin` (with unfold's
BasicAppConfig, which does not replace the site), so `admin.site` is this one.
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin import ModelAdmin
from django.core.paginator import InvalidPage
from django.db.models.base import ModelBase
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseNotFound
from unfold.sites import UnfoldAdminSite

from dashboard.scoping import is_platform_staff
from models_core.tenancy import organization_path


class PlatformOnlyAdminMixin:
    """An admin of rows that belong to no organization: organization-bound users get none of its pages."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_platform_staff(request.user) and super().has_module_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_platform_staff(request.user) and super().has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return is_platform_staff(request.user) and super().has_add_permission(request, *args)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_platform_staff(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_platform_staff(request.user) and super().has_delete_permission(request, obj)


class CustodianAdminSite(UnfoldAdminSite):
    def register(self, model_or_iterable: Any, admin_class: type | None = None, **options: Any) -> None:
        models = [model_or_iterable] if isinstance(model_or_iterable, ModelBase) else model_or_iterable
        for model in models:
            cls = admin_class or ModelAdmin
            if organization_path(model) is None and not issubclass(cls, PlatformOnlyAdminMixin):
                cls = type(f"PlatformOnly{cls.__name__}", (PlatformOnlyAdminMixin, cls), {})
            super().register(model, cls, **options)

    def search(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        page = request.GET.get("page", "1")
        # unfold reads the page number with int() and Paginator.page(): both raise (a 500) on bad input.
        if not page.isdigit() or int(page) < 1:
            return HttpResponseBadRequest("The page number must be a whole number from 1.")
        try:
            return super().search(request, extra_context)
        except InvalidPage:
            return HttpResponseNotFound(f"There is no page {int(page)} of these search results.")
