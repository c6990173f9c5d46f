"""What every admin of the helpdesk models shares: the trash fieldset, status labels, the scoped, trash-aware
base ModelAdmin and the big-table variant that never counts a whole table."""

from __future__ import annotations

from typing import Any

from django.contrib.admin.models import LogEntry
from django.contrib.postgres.fields import RangeField
from django.core.paginator import Paginator
from django.db import models
from django.http import HttpRequest
from django.utils.text import capfirst
from unfold.admin import ModelAdmin
from unfold.paginator import InfinitePaginator

from dashboard.trash.admin import MoveToTrashAdminMixin
from models_core.forms import form_keeping_trashed_choices
from models_core.models import (
    Ticket,
)
from models_core.trashing import TRASH_STATE_COLUMNS

from ..scoped import ScopedAdminMixin

# Soft-delete bookkeeping: written by soft_delete()/restore() only, never by hand in a form.
TRASH_FIELDS = (*TRASH_STATE_COLUMNS, "can_be_restored")
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


JSON_EDITOR_HELP = {
    "tags": "One name per tag: type it and press Enter or a comma to add it; "
    "its \N{MULTIPLICATION SIGN} removes it.",
    "key-value": "One row per field, its name and its value: "
    "“Add a field” adds a row, “Remove” takes one away.",
}


class JsonWidgetsAdminMixin:
    """JSON lists and objects edited without typing JSON, range fields named: every helpdesk admin's form,
    the user admin's too (Django's UserAdmin rather than BaseAdmin)."""

    class Media:
        js = ("dashboard/js/json_widgets.js",)

    def formfield_for_dbfield(self, db_field: models.Field, request: HttpRequest, **kwargs: Any) -> Any:
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if isinstance(db_field, models.JSONField) and formfield is not None:
            # static/dashboard/js/json_widgets.js draws an editor over the JSON textarea: lists (tags,
            # skills) as a tag input, objects (custom fields) as name/value rows.
            kind = {list: "tags", dict: "key-value"}.get(db_field.default)
            if kind:
                formfield.widget.attrs["data-json-widget"] = kind
                # The model's help text describes the stored JSON; the person at the form sees an editor.
                formfield.help_text = JSON_EDITOR_HELP[kind]
        if isinstance(db_field, RangeField) and formfield is not None:
            # A range is two inputs under one label that points at neither: name each one (axe: label).
            label = capfirst(db_field.verbose_name)
            for widget, end in zip(formfield.widget.widgets, ("from", "until"), strict=False):
                widget.attrs["aria-label"] = f"{label}: {end}"
        return formfield


class BaseAdmin(JsonWidgetsAdminMixin, MoveToTrashAdminMixin, OrganizationScopedMixin, ModelAdmin):
    list_per_page = 50
    list_filter_submit = True  # range filters need an explicit "apply"
    list_fullwidth = True
    warn_unsaved_form = True

    def get_readonly_fields(self, request: HttpRequest, obj: models.Model | None = None) -> tuple:
        readonly = tuple(super().get_readonly_fields(request, obj))
        names = {f.name for f in self.model._meta.get_fields()}
        return readonly + tuple(f for f in TRASH_FIELDS if f in names and f not in readonly)


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
