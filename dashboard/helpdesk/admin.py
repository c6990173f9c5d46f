"""The unfold admin for the model layer: every model, live rows only, scoped to the viewer's organization.

Rules every admin here follows:
- Querysets come from the default manager (`Model.objects`, live rows); the trash has its own pages.
- Deleting moves rows to the trash, asking for a reason (dashboard.trash.admin.MoveToTrashAdminMixin).
- A staff user bound to an organization sees and picks only that organization's rows, filter labels and
  list columns included (`.scoped.OrganizationScopedMixin`, each model's `organization_path`); platform
  staff (no organization) see all. Role ceilings (dashboard.ceilings) hold in the user form itself.
- Foreign keys to big tables never render a <select> of every row: autocomplete or raw id widgets.
- Big tables (tickets, comments, attachments, users, sessions) never count the whole table: unfold's
  InfinitePaginator plus `show_full_result_count = False`.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.postgres.fields import RangeField
from django.core.paginator import Paginator
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat, truncatechars
from django.utils.text import capfirst
from unfold.admin import ModelAdmin, TabularInline
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
    KnowledgeBaseArticleResource,
    OrganizationResource,
    TicketCommentResource,
    TicketResource,
    UserResource,
)
from dashboard.scoping import is_platform_staff
from dashboard.trash.admin import MoveToTrashAdminMixin
from models_core.forms import form_keeping_trashed_choices
from models_core.models import (
    KnowledgeBaseArticle,
    Organization,
    PendingFileRemoval,
    SLAPolicy,
    Ticket,
    TicketAttachment,
    TicketComment,
    User,
    UserPermission,
    UserSession,
)

from .scoped import ScopedAdminMixin

# Soft-delete bookkeeping: written by soft_delete()/restore() only, never by hand in a form.
TRASH_FIELDS = (
    "deleted_at",
    "deleted_by",
    "delete_reason",
    "deletion_batch",
    "deletion_metadata",
    "auto_delete_at",
    "can_be_restored",
)
TRASH_FIELDSET = (
    "Trash",
    {
        "classes": ["collapse"],
        "description": "Set when the record goes to the trash; restore and purge live in the trash pages.",
        "fields": TRASH_FIELDS,
    },
)

STATUS_LABELS = {
    Ticket.Status.NEW: "info",
    Ticket.Status.OPEN: "primary",
    Ticket.Status.PENDING: "warning",
    Ticket.Status.RESOLVED: "success",
    Ticket.Status.CANCELLED: "danger",
}
PRIORITY_LABELS = {
    Ticket.Priority.MEDIUM: "info",
    Ticket.Priority.HIGH: "warning",
    Ticket.Priority.URGENT: "danger",
}


class KeepTrashedChoicesAdminMixin:
    """Forms and inline formsets whose foreign keys keep a current value that is in the trash, marked
    "(in the trash)" (models_core.forms): an unchanged save never clears or refuses such a link."""

    def get_form(self, request: HttpRequest, obj: models.Model | None = None, **kwargs: Any) -> type:
        return form_keeping_trashed_choices(super().get_form(request, obj, **kwargs))

    def get_formset(self, request: HttpRequest, obj: models.Model | None = None, **kwargs: Any) -> type:
        kwargs.setdefault("form", form_keeping_trashed_choices(self.form))
        return super().get_formset(request, obj, **kwargs)


class OrganizationScopedMixin(KeepTrashedChoicesAdminMixin, ScopedAdminMixin):
    """Tenancy (`.scoped.ScopedAdminMixin`) and trashed links kept, for every admin of the helpdesk models."""


class BaseAdmin(MoveToTrashAdminMixin, OrganizationScopedMixin, ModelAdmin):
    class Media:
        js = ("dashboard/js/json_widgets.js",)

    list_per_page = 50
    list_filter_submit = True  # range filters need an explicit "apply"
    list_fullwidth = True
    warn_unsaved_form = True

    def get_readonly_fields(self, request: HttpRequest, obj: models.Model | None = None) -> tuple:
        readonly = tuple(super().get_readonly_fields(request, obj))
        names = {f.name for f in self.model._meta.get_fields()}
        return readonly + tuple(f for f in TRASH_FIELDS if f in names and f not in readonly)

    def formfield_for_dbfield(self, db_field: models.Field, request: HttpRequest, **kwargs: Any) -> Any:
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if isinstance(db_field, models.JSONField) and formfield is not None:
            # static/dashboard/js/json_widgets.js draws an editor over the JSON textarea: lists (tags,
            # skills) as a tag input, objects (custom fields) as name/value rows.
            kind = {list: "tags", dict: "key-value"}.get(db_field.default)
            if kind:
                formfield.widget.attrs["data-json-widget"] = kind
        if isinstance(db_field, RangeField) and formfield is not None:
            # A range is two inputs under one label that points at neither: name each one (axe: label).
            label = capfirst(db_field.verbose_name)
            for widget, end in zip(formfield.widget.widgets, ("from", "until"), strict=False):
                widget.attrs["aria-label"] = f"{label}: {end}"
        return formfield


class CountedHistoryMixin:
    """The history page pages one record's log entries with the admin's paginator; they are few, and an
    uncounted paginator (InfinitePaginator) would offer "9999999999 entries" for two."""

    def get_paginator(
        self, request: HttpRequest, queryset: Any, per_page: int, *args: Any, **kwargs: Any
    ) -> Any:
        if getattr(queryset, "model", None) is LogEntry:
            return Paginator(queryset, per_page, *args, **kwargs)
        return super().get_paginator(request, queryset, per_page, *args, **kwargs)


class BigTableAdmin(CountedHistoryMixin, BaseAdmin):
    """Tables that reach millions of rows: no COUNT(*) for the paginator nor the "N total" link."""

    paginator = InfinitePaginator
    show_full_result_count = False
    list_disable_select_all = True


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


# Tickets
# ----------------------------------------------------------------------------------------------------


class TicketCommentInline(OrganizationScopedMixin, TabularInline):
    model = TicketComment
    extra = 0
    per_page = 20  # a long conversation is paged, not rendered whole
    fields = ("comment_type", "author", "content", "created_at")
    readonly_fields = ("created_at",)
    autocomplete_fields = ("author",)
    show_change_link = True
    tab = True


class TicketAttachmentInline(OrganizationScopedMixin, TabularInline):
    model = TicketAttachment
    extra = 0
    per_page = 20
    fields = ("filename", "file", "content_type", "size", "comment", "uploaded_by", "created_at")
    readonly_fields = ("created_at",)
    # A ticket's comments could number thousands: an id box, not a <select>.
    raw_id_fields = ("comment",)
    autocomplete_fields = ("uploaded_by",)
    show_change_link = True
    tab = True


@admin.register(Ticket)
class TicketAdmin(DataIOAdminMixin, BigTableAdmin):
    resource_classes = [TicketResource]
    list_display = (
        "number",
        "subject",
        "organization",
        "status_badge",
        "priority_badge",
        "customer",
        "assigned_agent",
        "sla_badge",
        "created_at",
    )
    list_display_links = ("number", "subject")
    list_select_related = ("organization", "customer", "assigned_agent")
    list_filter = (
        ("status", ChoicesDropdownFilter),
        ("priority", ChoicesDropdownFilter),
        ("sla_breach", BooleanRadioFilter),
        ("organization", AutocompleteSelectFilter),  # thousands of organizations: searched, not listed
        ("assigned_agent", AutocompleteSelectFilter),
        ("created_at", RangeDateTimeFilter),
        ("resolution_due", RangeDateTimeFilter),
    )
    # Both columns are covered by the trigram GIN index idx_ticket_search_gin, which serves ILIKE (`__ilike`)
    # but not the default icontains (UPPER(col) LIKE): that was a scan of every ticket.
    search_fields = ("subject__ilike", "description__ilike")
    search_help_text = "Subject or description; a number (e.g. #42) finds that ticket number."
    autocomplete_fields = ("organization", "customer", "assigned_agent")
    readonly_fields = ("ticket_number", "created_at", "updated_at", "is_active")
    inlines = (TicketCommentInline, TicketAttachmentInline)
    fieldsets = (
        (None, {"fields": ("organization", "ticket_number", "subject", "description", "status", "priority")}),
        ("People", {"fields": ("customer", "assigned_agent")}),
        (
            "Service level",
            {
                # One date-and-time field per row: two side by side do not fit 1280 px beside the sidebar.
                "fields": (
                    "first_response_due",
                    "first_responded_at",
                    "time_to_first_response",
                    "resolution_due",
                    "resolved_at",
                    ("sla_breach", "customer_satisfaction_score"),
                )
            },
        ),
        ("Details", {"fields": ("tags", "custom_fields")}),
        ("Record", {"fields": ("created_at", "updated_at", "is_active")}),
        TRASH_FIELDSET,
    )

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple:
        term = search_term.strip().removeprefix("#")
        # Ticket numbers are what people quote; a numeric term is a number lookup, not a text search.
        if term.isdigit() and len(term) <= 9:
            return queryset.filter(ticket_number=int(term)), False
        return super().get_search_results(request, queryset, search_term)

    @display(description="Number", ordering="ticket_number")
    def number(self, obj: Ticket) -> str:
        return f"#{obj.ticket_number}"

    @display(description="Status", ordering="status", label=STATUS_LABELS)
    def status_badge(self, obj: Ticket) -> tuple[str, str]:
        return obj.status, obj.get_status_display()

    @display(description="Priority", ordering="priority", label=PRIORITY_LABELS)
    def priority_badge(self, obj: Ticket) -> tuple[str, str]:
        return obj.priority, obj.get_priority_display()

    @display(description="SLA", ordering="sla_breach", label={"breached": "danger", "ok": "success"})
    def sla_badge(self, obj: Ticket) -> tuple[str, str]:
        return ("breached", "Breached") if obj.sla_breach else ("ok", "OK")


@admin.register(TicketComment)
class TicketCommentAdmin(DataIOAdminMixin, BigTableAdmin):
    resource_classes = [TicketCommentResource]
    list_display = ("id", "ticket", "type_badge", "author", "excerpt", "created_at")
    list_select_related = ("ticket", "author")
    list_filter = (("comment_type", ChoicesDropdownFilter), ("created_at", RangeDateTimeFilter))
    search_fields = ("content__ilike",)  # trigram GIN index idx_comment_search_gin
    autocomplete_fields = ("ticket", "author")
    readonly_fields = ("created_at", "is_active")
    fieldsets = (
        (None, {"fields": ("ticket", "comment_type", "author", "content")}),
        ("Record", {"fields": ("created_at", "is_active")}),
        TRASH_FIELDSET,
    )

    @display(
        description="Type",
        ordering="comment_type",
        label={"public": "info", "internal": "warning", "system": "default"},
    )
    def type_badge(self, obj: TicketComment) -> tuple[str, str]:
        return obj.comment_type, obj.get_comment_type_display()

    @display(description="Content")
    def excerpt(self, obj: TicketComment) -> str:
        return truncatechars(obj.content, 80)


@admin.register(TicketAttachment)
class TicketAttachmentAdmin(BigTableAdmin):
    list_display = (
        "filename",
        "ticket",
        "content_type",
        "human_size",
        "download_count",
        "uploaded_by",
        "created_at",
    )
    list_select_related = ("ticket", "uploaded_by")
    list_filter = (("created_at", RangeDateTimeFilter),)
    search_fields = ("filename",)
    autocomplete_fields = ("ticket", "comment", "uploaded_by")
    readonly_fields = ("created_at", "download_count", "is_active")
    fieldsets = (
        (None, {"fields": ("ticket", "comment", "file", "filename", "content_type", "size")}),
        ("Record", {"fields": ("uploaded_by", "download_count", "created_at", "is_active")}),
        TRASH_FIELDSET,
    )

    @display(description="Size", ordering="size")
    def human_size(self, obj: TicketAttachment) -> str:
        return filesizeformat(obj.size)


# Knowledge base and SLA policies
# ----------------------------------------------------------------------------------------------------


@admin.register(KnowledgeBaseArticle)
class KnowledgeBaseArticleAdmin(DataIOAdminMixin, BaseAdmin):
    resource_classes = [KnowledgeBaseArticleResource]
    list_display = ("title", "organization", "status_badge", "author", "view_count", "updated_at")
    list_select_related = ("organization", "author")
    list_filter = (
        ("status", ChoicesDropdownFilter),
        ("organization", AutocompleteSelectFilter),  # thousands of organizations: searched, not listed
        ("updated_at", RangeDateTimeFilter),
    )
    search_fields = ("title__ilike", "content__ilike")  # trigram GIN index idx_kb_search_gin
    prepopulated_fields = {"slug": ("title",)}
    autocomplete_fields = ("organization", "author")
    date_hierarchy = "created_at"
    readonly_fields = ("view_count", "created_at", "updated_at", "is_active")
    fieldsets = (
        (None, {"fields": ("organization", "title", "slug", "status", "author")}),
        ("Content", {"fields": ("content",)}),
        ("Record", {"fields": ("view_count", "created_at", "updated_at", "is_active")}),
        TRASH_FIELDSET,
    )

    @display(
        description="Status",
        ordering="status",
        label={"published": "success", "draft": "info", "archived": "default"},
    )
    def status_badge(self, obj: KnowledgeBaseArticle) -> tuple[str, str]:
        return obj.status, obj.get_status_display()


@admin.register(SLAPolicy)
class SLAPolicyAdmin(BaseAdmin):
    list_display = (
        "name",
        "organization",
        "priority_badge",
        "first_response_minutes",
        "resolution_minutes",
        "validity",
        "is_active",
    )
    list_select_related = ("organization",)
    list_filter = (
        ("priority", ChoicesDropdownFilter),
        ("is_active", BooleanRadioFilter),
        ("organization", AutocompleteSelectFilter),  # thousands of organizations: searched, not listed
    )
    search_fields = ("name",)
    autocomplete_fields = ("organization",)
    fieldsets = (
        (None, {"fields": ("organization", "name", "priority", "is_active")}),
        ("Targets", {"fields": (("first_response_minutes", "resolution_minutes"), "validity")}),
        TRASH_FIELDSET,
    )

    @display(description="Priority", ordering="priority", label=PRIORITY_LABELS)
    def priority_badge(self, obj: SLAPolicy) -> tuple[str, str]:
        return obj.priority, obj.get_priority_display()


# Sessions and permissions
# ----------------------------------------------------------------------------------------------------


@admin.register(UserSession)
class UserSessionAdmin(BigTableAdmin):
    list_display = ("user", "ip_address", "agent", "is_active", "created_at", "last_seen_at")
    list_select_related = ("user",)
    list_filter = (
        ("is_active", BooleanRadioFilter),
        ("user", AutocompleteSelectFilter),
        ("last_seen_at", RangeDateTimeFilter),
    )
    search_fields = ("=ip_address", "=session_key", "user__username")
    autocomplete_fields = ("user",)
    readonly_fields = ("created_at",)
    fields = ("user", "session_key", "ip_address", "user_agent", "is_active", "created_at", "last_seen_at")

    @display(description="User agent")
    def agent(self, obj: UserSession) -> str:
        return truncatechars(obj.user_agent, 60)


@admin.register(UserPermission)
class UserPermissionAdmin(BaseAdmin):
    list_display = ("user", "permission", "granted_by", "created_at")
    list_select_related = ("user", "granted_by")
    list_filter = (("user", AutocompleteSelectFilter), ("created_at", RangeDateTimeFilter))
    search_fields = ("permission", "user__username")
    autocomplete_fields = ("user", "granted_by")
    readonly_fields = ("created_at",)
    fields = ("user", "permission", "granted_by", "created_at")


# Files of purged rows still on the storage
# ----------------------------------------------------------------------------------------------------


@admin.register(PendingFileRemoval)
class PendingFileRemovalAdmin(BaseAdmin):
    """Read-only: the purge writes these rows and the hourly sweep (trash.sweep_files) deletes them once the
    file is gone; deleting one by hand would forget a file that is still on the storage."""

    list_display = ("name", "organization_id", "attempts", "last_attempt_at", "last_error", "created_at")
    list_filter = (("created_at", RangeDateTimeFilter),)
    search_fields = ("=name",)
    fields = (*list_display, "field", "purge_token")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
