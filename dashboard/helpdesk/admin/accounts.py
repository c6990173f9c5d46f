"""The admin of organizations and users: role ceilings in the user forms themselves."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import models
from django.http import HttpRequest
from unfold.admin import ModelAdmin
from unfold.contrib.filters.admin import (
    AutocompleteSelectFilter,
    BooleanRadioFilter,
    ChoicesDropdownFilter,
    RangeDateTimeFilter,
)
from unfold.decorators import display
from unfold.forms import AdminPasswordChangeForm
from unfold.forms import UserChangeForm as UnfoldUserChangeForm
from unfold.forms import UserCreationForm as UnfoldUserCreationForm
from unfold.paginator import InfinitePaginator

from dashboard import ceilings
from dashboard.dataio.admin import DataIOAdminMixin
from dashboard.dataio.resources import (
    OrganizationResource,
    UserResource,
)
from dashboard.scoping import is_platform_staff
from dashboard.trash.admin import MoveToTrashAdminMixin
from models_core.models import (
    Organization,
    User,
)

from .base import (
    TRASH_FIELDS,
    TRASH_FIELDSET,
    BaseAdmin,
    CountedHistoryMixin,
    JsonWidgetsAdminMixin,
    OrganizationScopedMixin,
)

# Organizations
# ----------------------------------------------------------------------------------------------------


@admin.register(Organization)
class OrganizationAdmin(DataIOAdminMixin, BaseAdmin):
    resource_classes = [OrganizationResource]
    list_display = ("name", "slug", "tier_badge", "last_ticket_number", "created_at")
    list_filter = (("subscription_tier", ChoicesDropdownFilter), ("created_at", RangeDateTimeFilter))
    # `__ilike`, not the default icontains (UPPER(col) LIKE, which no index serves): trigram GIN indexes.
    search_fields = ("name__ilike", "slug__ilike")
    prepopulated_fields = {"slug": ("name",)}
    date_hierarchy = "created_at"  # hundreds of rows, not millions: the year/month drill-down is cheap
    readonly_fields = ("last_ticket_number", "created_at", "updated_at", "is_active")
    fieldsets = (
        (None, {"fields": ("name", "slug", "subscription_tier")}),
        (
            "Settings",
            {
                "description": 'Free-form JSON; "retention_days" overrides how long trashed rows are kept.',
                "fields": ("settings",),
            },
        ),
        ("Record", {"fields": ("last_ticket_number", "created_at", "updated_at", "is_active")}),
        TRASH_FIELDSET,
    )

    # Organizations are the tenants: creating or trashing one is platform staff's (dashboard.ceilings).
    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_platform_staff(request.user) and super().has_add_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return is_platform_staff(request.user) and super().has_delete_permission(request, obj)

    @display(
        description="Tier",
        ordering="subscription_tier",
        label={"enterprise": "primary", "professional": "success", "basic": "info"},
    )
    def tier_badge(self, obj: Organization) -> tuple[str, str]:
        return obj.subscription_tier, obj.get_subscription_tier_display()


# Users
# ----------------------------------------------------------------------------------------------------


class AccountCeilingFormMixin:
    """The role ceilings (dashboard.ceilings) on whatever fields the form carries.

    The admin also shows protected fields read-only, but the rule is here: a form built with every field,
    or a replayed POST, still cannot set or clear an organization, the staff or superuser flag, or a group
    the editor does not hold. `editor` is set by UserAdmin.get_form for the requesting user.
    """

    editor: Any = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        adding = self.instance._state.adding
        self._stored = None if adding else ceilings.user_account_values(self.instance)
        if self.editor is not None and "groups" in self.fields:
            self.fields["groups"].queryset = ceilings.groups_grantable(self.editor)

    def _post_clean(self) -> None:
        super()._post_clean()
        editor = self.editor
        if editor is None:
            return
        account = self.instance
        if self._stored is None and editor.organization_id is not None and account.organization_id is None:
            account.organization_id = editor.organization_id  # new accounts join the editor's organization
        for name, message in ceilings.user_account_errors(editor, account, before=self._stored).items():
            self.add_error(name if name in self.fields else None, message)

    def _save_m2m(self) -> None:
        editor, data = self.editor, self.cleaned_data
        if editor is not None and not editor.is_superuser:
            current = [] if self._stored is None else list(self.instance.groups.all())
            if "groups" in data:
                data["groups"] = ceilings.groups_after_change(editor, current, list(data["groups"]))
            if "user_permissions" in data:
                # Per-user permissions are the superuser's alone: keep them as they are.
                kept = [] if self._stored is None else list(self.instance.user_permissions.all())
                data["user_permissions"] = kept
        super()._save_m2m()


class UserChangeForm(AccountCeilingFormMixin, UnfoldUserChangeForm):
    class Meta(UnfoldUserChangeForm.Meta):
        model = User
        fields = "__all__"


class UserCreationForm(AccountCeilingFormMixin, UnfoldUserCreationForm):
    class Meta(UnfoldUserCreationForm.Meta):
        model = User
        fields = ("username", "email", "organization", "role")


@admin.register(User)
class UserAdmin(
    CountedHistoryMixin,
    JsonWidgetsAdminMixin,
    DataIOAdminMixin,
    MoveToTrashAdminMixin,
    OrganizationScopedMixin,
    DjangoUserAdmin,
    ModelAdmin,
):
    resource_classes = [UserResource]
    form = UserChangeForm
    add_form = UserCreationForm
    change_password_form = AdminPasswordChangeForm
    paginator = InfinitePaginator
    show_full_result_count = False
    list_disable_select_all = True

    list_per_page = 50
    list_filter_submit = True
    list_select_related = ("organization",)
    list_display = (
        "username",
        "full_name",
        "email",
        "organization",
        "role_badge",
        "availability_badge",
        "is_staff",
        "is_active",
        "last_active_at",
    )
    list_filter = (
        ("role", ChoicesDropdownFilter),
        ("organization", AutocompleteSelectFilter),  # thousands of organizations: searched, not listed
        ("availability_status", ChoicesDropdownFilter),
        ("customer_tier", ChoicesDropdownFilter),
        ("is_staff", BooleanRadioFilter),
        ("is_active", BooleanRadioFilter),
        ("last_active_at", RangeDateTimeFilter),
    )
    # trigram GIN index idx_user_search_gin
    search_fields = ("username__ilike", "email__ilike", "first_name__ilike", "last_name__ilike")
    autocomplete_fields = ("organization",)
    readonly_fields = ("last_login", "date_joined", "created_at", *TRASH_FIELDS)
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name", "email")}),
        (
            "Helpdesk",
            {
                "fields": (
                    "organization",
                    "role",
                    "availability_status",
                    "max_concurrent_tickets",
                    "customer_tier",
                    "skills",
                    "certifications",
                )
            },
        ),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Important dates", {"fields": ("last_login", "last_active_at", "date_joined", "created_at")}),
        TRASH_FIELDSET,
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "username",
                    "email",
                    "organization",
                    "role",
                    "usable_password",
                    "password1",
                    "password2",
                ),
            },
        ),
    )

    def get_form(self, request: HttpRequest, obj: models.Model | None = None, **kwargs: Any) -> type:
        form = super().get_form(request, obj, **kwargs)
        return type(form.__name__, (form,), {"editor": request.user})

    def get_readonly_fields(self, request: HttpRequest, obj: models.Model | None = None) -> tuple:
        readonly = tuple(super().get_readonly_fields(request, obj))
        user = request.user
        if not user.is_superuser:
            # Shown, not editable: the forms enforce the same ceilings (AccountCeilingFormMixin).
            readonly += ("is_superuser", "user_permissions")
        if user.organization_id is not None:
            readonly += ("is_staff",) + (("organization",) if obj is not None else ())
        return readonly

    @display(description="Name", ordering="last_name")
    def full_name(self, obj: User) -> str:
        return obj.get_full_name()

    @display(
        description="Role",
        ordering="role",
        label={"admin": "danger", "manager": "warning", "agent": "primary", "customer": "info"},
    )
    def role_badge(self, obj: User) -> tuple[str, str]:
        return obj.role, obj.get_role_display()

    @display(
        description="Availability",
        ordering="availability_status",
        label={"available": "success", "busy": "warning", "away": "info"},
    )
    def availability_badge(self, obj: User) -> tuple[str, str]:
        return obj.availability_status, obj.get_availability_status_display()
