"""Tenancy in the helpdesk admin: rows, foreign-key choices, filter labels, list columns and initial values,
all through dashboard.scoping (each model's declared `organization_path`).

Django's admin and unfold's filters build several querysets of their own from a model's default manager
(the choices of a related filter, the label of a selected autocomplete value, the far end of a foreign key
in a list column). Each of them is scoped here, so an id of another organization typed into a URL shows
nothing of it: not a name, not a count.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.db.models import QuerySet
from django.forms import Field as FormField
from django.http import HttpRequest
from unfold.contrib.filters.admin import AutocompleteSelectFilter, RelatedDropdownFilter
from unfold.contrib.filters.forms import AutocompleteDropdownForm

from dashboard.scoping import is_in_scope, scope_to_organization

OUTSIDE_SCOPE = "(not in your organization)"


def related_scoped(model: type[models.Model], user: Any) -> QuerySet:
    """The rows of a related model this user may pick or see named."""
    return scope_to_organization(model._default_manager.all(), user)


class ScopedRelatedDropdownFilter(RelatedDropdownFilter):
    """unfold's related dropdown listing only the viewer's organization's rows."""

    def field_choices(self, field: Any, request: HttpRequest, model_admin: Any) -> list[tuple]:
        ordering = self.field_admin_ordering(field, request, model_admin)
        rows = related_scoped(field.related_model, request.user)
        if ordering:
            rows = rows.order_by(*ordering)
        return [(row.pk, str(row)) for row in rows[:500]]


class _ScopedAutocompleteForm(AutocompleteDropdownForm):
    def __init__(self, request: HttpRequest, name: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(request, name, *args, **kwargs)
        # unfold renders the selected value's label from the model's whole table: scope it, so an id of
        # another organization in the URL shows no name.
        field = self.fields[name]
        field.queryset = related_scoped(field.queryset.model, request.user)


class ScopedAutocompleteSelectFilter(AutocompleteSelectFilter):
    form_class = _ScopedAutocompleteForm


def scoped_foreign_key_column(name: str, field: models.ForeignKey, request: HttpRequest) -> Any:
    """A list column for foreign key `name` that names the far row only when the viewer may see it.

    Legacy rows can point across tenants (a ticket of one organization whose customer belongs to another);
    the column then says so instead of printing the other organization's name.
    """

    def column(obj: models.Model) -> str:
        target = getattr(obj, name)
        if target is None:
            return "-"
        return str(target) if is_in_scope(request.user, target) else OUTSIDE_SCOPE

    column.short_description = field.verbose_name
    column.admin_order_field = name
    column.__name__ = name
    return column


class ScopedAdminMixin:
    """Scope rows, choices, filters, list columns and initial values to the viewer's organization."""

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return scope_to_organization(super().get_queryset(request), request.user)

    def formfield_for_foreignkey(
        self, db_field: models.ForeignKey, request: HttpRequest, **kwargs: Any
    ) -> FormField | None:
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if formfield is not None and hasattr(formfield, "queryset"):
            # Otherwise an org-bound user could attach rows to (and read names of) another tenant's records.
            formfield.queryset = scope_to_organization(formfield.queryset, request.user)
        return formfield

    def get_list_filter(self, request: HttpRequest) -> list:
        filters = []
        for list_filter in super().get_list_filter(request):
            if isinstance(list_filter, tuple | list) and len(list_filter) == 2:
                name, kind = list_filter
                if name == "organization" and getattr(request.user, "organization_id", None) is not None:
                    continue  # one organization: nothing to filter by, and no other names to list
                kind = {
                    RelatedDropdownFilter: ScopedRelatedDropdownFilter,
                    AutocompleteSelectFilter: ScopedAutocompleteSelectFilter,
                }.get(kind, kind)
                list_filter = (name, kind)
            elif isinstance(list_filter, str) and _foreign_key(self.model, list_filter):
                list_filter = (list_filter, ScopedRelatedDropdownFilter)  # Django's own lists every row
            filters.append(list_filter)
        return filters

    def get_list_display(self, request: HttpRequest) -> list:
        columns = []
        for name in super().get_list_display(request):
            field = _foreign_key(self.model, name)
            columns.append(scoped_foreign_key_column(name, field, request) if field else name)
        return columns

    def get_changeform_initial_data(self, request: HttpRequest) -> dict:
        initial = super().get_changeform_initial_data(request)
        for name in list(initial):
            field = _foreign_key(self.model, name)
            if field is None:
                continue
            # ?organization=abc (or another tenant's id) pre-fills nothing, rather than a 500 or a name.
            try:
                found = related_scoped(field.related_model, request.user).filter(pk=initial[name]).exists()
            except (ValueError, TypeError, ValidationError):
                found = False
            if not found:
                del initial[name]
        return initial

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> tuple:
        # Deleting here moves rows to the trash (restorable); RESTRICT/PROTECT guard the purge (hard delete)
        # only, so they must not block a soft delete.
        deleted, model_count, perms_needed, _protected = super().get_deleted_objects(objs, request)
        return deleted, model_count, perms_needed, []


def _foreign_key(model: type[models.Model], name: Any) -> models.ForeignKey | None:
    if not isinstance(name, str):
        return None
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:  # a display method's name
        return None
    return field if isinstance(field, models.ForeignKey) else None
