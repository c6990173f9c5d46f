"""Forms of the trash pages: list filters, the reason for a delete, the purge confirmation, retention."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString
from django.utils.text import capfirst
from unfold.widgets import CHECKBOX_CLASSES, UnfoldAdminSelect2Widget

from dashboard.scoping import is_platform_staff, scope_to_organization
from dashboard.trash.listing import TrashFilters
from dashboard.trash.selectors import trash_model_choices, trash_models
from models_core.models import Organization, User
from models_core.retention import MAX_RETENTION_DAYS

INPUT = (
    "border border-base-200 bg-white font-medium min-w-20 placeholder-base-400 rounded-default shadow-xs "
    "text-font-default-light text-sm focus:ring focus:ring-primary-300 focus:border-primary-600 "
    "focus:outline-hidden dark:bg-base-900 dark:border-base-700 dark:text-font-default-dark px-3 py-2 w-full"
)
CHECKBOX = " ".join(CHECKBOX_CLASSES)


def _attrs(**extra: Any) -> dict:
    return {"class": INPUT, **extra}


class SearchSelect(forms.Select):
    """A <select> that holds only its current choice and asks `url` for others as the user types
    (unfold's select2 filter boxes: unfold/js/select2.init.js sends `term` and `page` and reads
    {"results": [{"id", "text"}], "pagination": {"more"}}). Thousands of organizations never reach the
    page."""

    def __init__(self, url_name: str, placeholder: str) -> None:
        super().__init__(
            attrs={
                "class": "unfold-filter-autocomplete",
                "data-theme": "admin-autocomplete",
                "data-allow-clear": "true",
                "data-placeholder": placeholder,
                "data-minimum-input-length": "0",
            }
        )
        self.url_name = url_name

    def get_context(self, name: str, value: Any, attrs: dict | None) -> dict:
        context = super().get_context(name, value, attrs)
        context["widget"]["attrs"]["data-ajax--url"] = reverse(self.url_name)
        return context

    def optgroups(self, name: str, value: list, attrs: dict | None = None) -> list:
        # Only the selected row, looked up by id (as Django's AutocompleteMixin does): iterating the
        # field's choices would load every organization.
        selected = [v for v in value if str(v).isdigit() and len(str(v)) <= 18]
        field = self.choices.field
        options = [self.create_option(name, "", "", not selected, 0)]
        for index, obj in enumerate(field.queryset.filter(pk__in=selected), start=1):
            options.append(self.create_option(name, obj.pk, field.label_from_instance(obj), True, index))
        return [(None, options, 0)]

    @property
    def media(self) -> forms.Media:
        return UnfoldAdminSelect2Widget().media


class TrashFilterForm(forms.Form):
    """The list's filters, read from the query string; invalid values answer 400 with the form's errors."""

    q = forms.CharField(
        required=False,
        max_length=100,
        label="Search",
        help_text="Ticket number, subject, email, name, article title or organization name",
        widget=forms.TextInput(attrs=_attrs(type="search", placeholder="#4521, ann@example.com, …")),
    )
    model = forms.ChoiceField(required=False, label="Type", widget=forms.Select(attrs=_attrs()))
    deleted_from = forms.DateField(
        required=False, label="Deleted from", widget=forms.DateInput(attrs=_attrs(type="date"))
    )
    deleted_to = forms.DateField(
        required=False, label="Deleted until", widget=forms.DateInput(attrs=_attrs(type="date"))
    )
    reason = forms.CharField(
        required=False, max_length=100, label="Reason contains", widget=forms.TextInput(attrs=_attrs())
    )
    purging_soon = forms.BooleanField(
        required=False, label="Purging within 7 days", widget=forms.CheckboxInput(attrs={"class": CHECKBOX})
    )
    include_cascaded = forms.BooleanField(
        required=False,
        label="Include rows deleted along with others",
        widget=forms.CheckboxInput(attrs={"class": CHECKBOX}),
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["model"].choices = [("", "All types"), *trash_model_choices()]
        # Both boxes search as the user types (SearchSelect); the ids they accept are the viewer's scope's.
        if is_platform_staff(user):
            self.fields["organization"] = forms.ModelChoiceField(
                Organization.all_objects.all(),
                required=False,
                label="Organization",
                widget=SearchSelect("dashboard:trash:organization_choices", "All organizations"),
            )
        deleters = forms.ModelChoiceField(
            scope_to_organization(User.all_objects.filter(is_staff=True), user),
            required=False,
            label="Deleted by",
            widget=SearchSelect("dashboard:trash:deleter_choices", "Anyone"),
        )
        deleters.label_from_instance = lambda u: u.username
        self.fields["deleted_by"] = deleters
        order = ["q", "model", "organization", "deleted_by"]
        self.order_fields([name for name in order if name in self.fields])

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("deleted_from"), data.get("deleted_to")
        if start and end and start > end:
            raise ValidationError("“Deleted from” must not be after “Deleted until”.")
        return data

    def filters(self) -> TrashFilters:
        data = self.cleaned_data
        return TrashFilters(
            model=data.get("model") or "",
            organization=data["organization"].pk if data.get("organization") else None,
            deleted_by=data["deleted_by"].pk if data.get("deleted_by") else None,
            deleted_from=data.get("deleted_from"),
            deleted_to=data.get("deleted_to"),
            purging_soon=bool(data.get("purging_soon")),
            reason=(data.get("reason") or "").strip(),
            include_cascaded=bool(data.get("include_cascaded")),
            search=(data.get("q") or "").strip(),
        )


_UNBOUND_FILTER_HTML: dict[bool, dict[str, SafeString]] = {}


def trash_filter_html(form: TrashFilterForm, *, is_platform: bool) -> dict[str, SafeString]:
    """The filter form's boxes and ticks as HTML ({"fields", "checkboxes"}).

    An unbound form (the list's first page, most visits) is the same for every viewer of a kind (platform
    staff get the organization box; no box shows a choice before one is made), so it is rendered once per
    process: its dozen widget templates were a good part of the page's rendering."""
    if not form.is_bound and is_platform in _UNBOUND_FILTER_HTML:
        return _UNBOUND_FILTER_HTML[is_platform]
    html = {
        part: SafeString(render_to_string("trash/_filter_fields.html", {"form": form, "part": part}))
        for part in ("fields", "checkboxes")
    }
    if not form.is_bound:
        _UNBOUND_FILTER_HTML[is_platform] = html
    return html


class DeleteReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=255,
        label="Why is this going to the trash?",
        help_text="Shown in the trash next to the record; it can be restored until it is purged.",
        widget=forms.TextInput(attrs=_attrs(autofocus=True)),
        # CharField strips spaces first, so a blank reason only ever fails as "required".
        error_messages={"required": "Say why this is going to the trash."},
    )


PURGE_CONFIRMATION = "PURGE"


class PurgeForm(forms.Form):
    reason = forms.CharField(
        required=False,
        max_length=255,
        label="Reason for the purge (optional, kept in the purge record: no personal data)",
        widget=forms.TextInput(attrs=_attrs()),
    )
    confirmation = forms.CharField(
        required=False,
        max_length=20,
        label=f"Type {PURGE_CONFIRMATION} to confirm",
        widget=forms.TextInput(attrs=_attrs(autocomplete="off")),
    )

    def __init__(self, *args: Any, bulk: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bulk = bulk
        if not bulk:
            del self.fields["confirmation"]

    def clean_confirmation(self) -> str:
        value = self.cleaned_data.get("confirmation", "")
        if self.bulk and value.strip() != PURGE_CONFIRMATION:
            raise ValidationError(f"Type {PURGE_CONFIRMATION} (in capitals) to purge these records for good.")
        return value


class RetentionForm(forms.Form):
    """Days per model; blank inherits ("default" of the organization, then the platform's setting)."""

    # The boxes are named after models, and "organization" is one of them: without a prefix it would share
    # its name with the page's organization chooser, and the save would land on the organization whose id
    # was typed as a number of days.
    prefix = "days"

    def __init__(self, *args: Any, current: dict | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        current = current or {}
        self.fields["default"] = forms.IntegerField(
            required=False,
            min_value=0,
            max_value=MAX_RETENTION_DAYS,
            label="Every kind of record",
            initial=current.get("default"),
            widget=forms.NumberInput(attrs=_attrs(placeholder="inherit")),
        )
        for model in trash_models():
            key = model._meta.model_name
            self.fields[key] = forms.IntegerField(
                required=False,
                min_value=0,
                max_value=MAX_RETENTION_DAYS,
                label=capfirst(model._meta.verbose_name_plural),
                initial=current.get(key),
                widget=forms.NumberInput(attrs=_attrs(placeholder="inherit")),
            )
