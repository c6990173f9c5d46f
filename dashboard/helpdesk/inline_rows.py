"""Inline rows (a ticket's comments and attachments, 20 a page) that cost no queries of their own.

Django renders every inline row's foreign keys by looking the chosen row up again: an autocomplete box
queries its field's queryset for the chosen value, an id box fetches the row to print its name, and a row
whose name reads its parent (a comment's "on ticket #12") fetches the parent. On a ticket's change page
that was ~5 queries a row, 100 for a full page of each inline. Here the formset looks the chosen rows of all
its forms up in one query per field and hands each widget its row; the parent is the formset's own
instance. What a widget shows is what its own query would have shown: the same scoped queryset (the
field's, so another organization's row shows no name), and a row in the trash only where it is the form's
own current value (models_core.forms.keep_trashed_choices).

Django has no hook for either lookup, so the two widgets below replace the one method that queries.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.widgets import AutocompleteSelect
from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils.functional import cached_property
from django.utils.text import Truncator
from unfold.forms import PaginationInlineFormSet
from unfold.widgets import UnfoldForeignKeyRawIdWidget

from models_core.forms import kept_trashed_value, live_choices


class _ChosenRowsMixin:
    # {str(pk): row} of the chosen values the formset looked up; None: look up as Django does.
    chosen_rows: dict[str, models.Model] | None = None


class ChosenRowsAutocompleteSelect(_ChosenRowsMixin, AutocompleteSelect):
    def optgroups(self, name: str, value: list, attr: dict | None = None) -> list:
        if self.chosen_rows is None:
            return super().optgroups(name, value, attr)
        # Django's optgroups, with its query replaced by the rows looked up for the whole formset.
        default: tuple = (None, [], 0)
        selected = {str(v) for v in value if str(v) not in self.choices.field.empty_values}
        if not self.is_required and not self.allow_multiple_selected:
            default[1].append(self.create_option(name, "", "", False, 0))
        label = self.choices.field.label_from_instance
        for key in sorted(selected):
            row = self.chosen_rows.get(key)
            if row is not None:
                # The key is the row's to-field value, as Django's option value is.
                default[1].append(self.create_option(name, key, label(row), selected, len(default[1])))
        return [default]


class ChosenRowsRawIdWidget(_ChosenRowsMixin, UnfoldForeignKeyRawIdWidget):
    def label_and_url_for_value(self, value: Any) -> tuple[str, str]:
        if self.chosen_rows is None:
            return super().label_and_url_for_value(value)
        row = self.chosen_rows.get(str(value))
        if row is None:
            return "", ""
        opts = row._meta
        try:
            url = reverse(f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_change", args=[row.pk])
        except NoReverseMatch:
            url = ""
        return Truncator(row).words(14), url


def _inner(widget: forms.Widget) -> forms.Widget:
    return getattr(widget, "widget", widget)  # RelatedFieldWidgetWrapper around the real one


def _chosen_fields(form: forms.BaseForm) -> list[str]:
    return [
        name
        for name, field in form.fields.items()
        if isinstance(field, forms.ModelChoiceField)
        and not isinstance(field, forms.ModelMultipleChoiceField)
        and isinstance(_inner(field.widget), _ChosenRowsMixin)
    ]


def _parent_cached(row: models.Model, parent: models.Model) -> None:
    # A chosen row of the same parent (an attachment's comment on this ticket) names it without a query.
    for field in row._meta.concrete_fields:
        same = field.is_relation and field.related_model is type(parent)
        if same and getattr(row, field.attname) == parent.pk:
            field.set_cached_value(row, parent)


def _look_up(forms_: list[forms.BaseForm], name: str, parent: models.Model) -> None:
    """One query for the chosen rows of field `name` in every form; each widget gets the rows its own
    lookup would have found."""
    values = {str(value) for f in forms_ if (value := f[name].value()) not in (None, "")}
    field = forms_[0].fields[name]
    queryset = live_choices(field)
    found: dict[str, models.Model] = {}
    if values:
        key = field.to_field_name or "pk"
        with_trashed = queryset.with_deleted() if hasattr(queryset, "with_deleted") else queryset
        try:
            rows = list(with_trashed.filter(**{f"{key}__in": values}))
        except (ValueError, TypeError, forms.ValidationError):
            return  # a value that is no key at all (a hand-edited POST): each widget looks up as Django does
        for row in rows:
            _parent_cached(row, parent)
            found[str(getattr(row, key))] = row
    for form in forms_:
        kept = kept_trashed_value(form.fields[name])
        _inner(form.fields[name].widget).chosen_rows = {
            value: row
            for value, row in found.items()
            if getattr(row, "deleted_at", None) is None or value == kept
        }


class ChosenRowsInlineFormSet(PaginationInlineFormSet):
    """unfold's paged inline formset whose rows know their parent and share their widgets' lookups."""

    def _construct_form(self, i: int, **kwargs: Any) -> forms.BaseForm:
        form = super()._construct_form(i, **kwargs)
        if self.instance.pk is not None:
            # The row's foreign key to the parent is the parent itself: no query to name it.
            self.fk.set_cached_value(form.instance, self.instance)
            for field in form.instance._meta.concrete_fields:
                if field.is_relation and field.is_cached(form.instance):
                    related = field.get_cached_value(form.instance)
                    if related is not None:
                        _parent_cached(related, self.instance)
        return form

    @cached_property
    def forms(self) -> list[forms.BaseForm]:
        forms_ = super().forms
        if forms_:
            for name in _chosen_fields(forms_[0]):
                _look_up(forms_, name, self.instance)
        return forms_


class ChosenRowsInlineMixin:
    """For admin inlines: ChosenRowsInlineFormSet and the widgets that read its lookups."""

    formset = ChosenRowsInlineFormSet

    def get_queryset(self, request: Any) -> models.QuerySet:
        # The rows' foreign keys shown read-only (a manager may not change a comment's author) are read
        # with the rows, not one by one as each cell names its row.
        queryset = super().get_queryset(request)
        shown = set(self.get_fields(request))
        related = [
            f.name
            for f in self.model._meta.concrete_fields
            if f.many_to_one and f.name in shown and f.related_model is not self.parent_model
        ]
        return queryset.select_related(*related) if related else queryset

    def formfield_for_foreignkey(self, db_field: models.ForeignKey, request: Any, **kwargs: Any) -> Any:
        if "widget" not in kwargs:
            using = kwargs.get("using")
            if db_field.name in self.raw_id_fields:
                kwargs["widget"] = ChosenRowsRawIdWidget(db_field.remote_field, self.admin_site, using=using)
            elif db_field.name in self.get_autocomplete_fields(request):
                kwargs["widget"] = ChosenRowsAutocompleteSelect(db_field, self.admin_site, using=using)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
