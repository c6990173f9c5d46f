"""The admin of tickets, their comments and attachments (big tables: no full counts, inlines scoped), and the
files of purged rows still waiting to be removed from the storage."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat, truncatechars
from unfold.admin import TabularInline
from unfold.contrib.filters.admin import (
    AutocompleteSelectFilter,
    BooleanRadioFilter,
    ChoicesDropdownFilter,
    RangeDateTimeFilter,
)
from unfold.decorators import display

from dashboard.dataio.admin import DataIOAdminMixin
from dashboard.dataio.resources import (
    TicketCommentResource,
    TicketResource,
)
from models_core.models import (
    PendingFileRemoval,
    Ticket,
    TicketAttachment,
    TicketComment,
)

from ..inline_rows import ChosenRowsInlineMixin
from .base import (
    PRIORITY_LABELS,
    STATUS_LABELS,
    TRASH_FIELDSET,
    BaseAdmin,
    BigTableAdmin,
    OrganizationScopedMixin,
)

# Tickets
# ----------------------------------------------------------------------------------------------------


class TicketCommentInline(ChosenRowsInlineMixin, OrganizationScopedMixin, TabularInline):
    model = TicketComment
    extra = 0
    per_page = 20  # a long conversation is paged, not rendered whole
    fields = ("comment_type", "author", "content", "created_at")
    readonly_fields = ("created_at",)
    autocomplete_fields = ("author",)
    show_change_link = True
    tab = True


class TicketAttachmentInline(ChosenRowsInlineMixin, OrganizationScopedMixin, TabularInline):
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
