"""Organization scoping and permission checks shared by every dashboard view: the one tenancy API.

A staff user bound to an organization sees only that organization's rows; platform staff (no organization)
see every organization; anyone else sees nothing. Where a model's rows find their organization is declared
once, on the model (`organization_path`, see models_core.tenancy); a model that declares none holds no
tenant's data and organization-bound users see none of it. Every queryset, form choice, filter label,
autocomplete, export and count of the console goes through `scope_to_organization` (or `is_in_scope` for a
row already loaded). Menus only hide links, so every view calls these itself.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse

from models_core.tenancy import organization_id_of, organization_path

M = TypeVar("M", bound=Model)
View = Callable[..., HttpResponse]


def is_console_user(user: Any) -> bool:
    """May this user use the staff console at all (signed in, active, staff)?"""
    return bool(user is not None and user.is_authenticated and user.is_active and user.is_staff)


def is_platform_staff(user: Any) -> bool:
    """Staff bound to no organization: they work across every tenant."""
    return is_console_user(user) and user.organization_id is None


def scope_to_organization(queryset: QuerySet[M], user: Any) -> QuerySet[M]:
    """The rows of `queryset` this user may see: their organization's (by the model's `organization_path`),
    all for platform staff, none for anyone else or for a model of no tenant."""
    if not is_console_user(user):
        return queryset.none()
    if user.organization_id is None:
        return queryset
    path = organization_path(queryset.model)
    if path is None:
        return queryset.none()
    return queryset.filter(**{path: user.organization_id})


def is_in_scope(user: Any, obj: Model | None) -> bool:
    """May this user see this already loaded row (e.g. the far end of a legacy cross-tenant link)?"""
    if obj is None or not is_console_user(user):
        return False
    if user.organization_id is None:
        return True
    return organization_path(obj) is not None and organization_id_of(obj) == user.organization_id


def get_object_in_scope(queryset: QuerySet[M], user: Any, pk: Any, scoped: QuerySet[M] | None = None) -> M:
    """One row by primary key within the user's scope; Http404 for other organizations' ids and bad ids.

    A row outside the scope answers exactly like a row that does not exist, so ids of other tenants
    cannot be probed. Pass `scoped` to use an already scoped queryset instead of `scope_to_organization`.
    """
    if scoped is None:
        scoped = scope_to_organization(queryset, user)
    try:
        return scoped.get(pk=pk)
    except (scoped.model.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        # ValueError/ValidationError: a pk that is not even of the right type ("abc" for an integer id).
        raise Http404(f"No {scoped.model._meta.verbose_name} matches the given query.") from exc


def user_has_console_permission(user: Any, permission: str | None) -> bool:
    return is_console_user(user) and (permission is None or user.has_perm(permission))


def staff_permission_required(
    permission: str | None = None, *, platform_only: bool = False
) -> Callable[[View], View]:
    """Guard a view: sign-in page for anyone who cannot use the console, 403 for staff without `permission`.

    With no permission, any console user passes (e.g. endpoints that scope their own rows). `platform_only`
    pages cover every organization (DB health), so organization-bound staff get 403 even with the permission;
    their NavigationEntry says `platform_only=True` too, so the menu never offers them.
    """

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not is_console_user(user):
                return redirect_to_login(request.get_full_path(), reverse("admin:login"))
            if permission is not None and not user.has_perm(permission):
                raise PermissionDenied
            if platform_only and user.organization_id is not None:
                raise PermissionDenied("This page covers every organization: platform staff only.")
            return view(request, *args, **kwargs)

        wrapped.required_permission = permission
        return wrapped

    return decorator
