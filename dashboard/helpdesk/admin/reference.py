"""The admin of knowledge base articles, SLA policies, user sessions and permissions."""

from __future__ import annotations

from django.contrib import admin
from django.template.defaultfilters import truncatechars
from unfold.contrib.filters.admin import (
    AutocompleteSelectFilter,
    BooleanRadioFilter,
    ChoicesDropdownFilter,
    RangeDateTimeFilter,
)
from unfold.decorators import display

from dashboard.dataio.admin import DataIOAdminMixin
from dashboard.dataio.resources import (
    KnowledgeBaseArticleResource,
)
from models_core.models import (
    KnowledgeBaseArticle,
    SLAPolicy,
    UserPermission,
    UserSession,
)

from .base import (
    PRIORITY_LABELS,
    TRASH_FIELDSET,
    BaseAdmin,
    BigTableAdmin,
)

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
