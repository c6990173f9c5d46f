"""Forms over soft-delete models: a link to a row in the trash stays as it is unless the user changes it.

A foreign key may point at a trashed row by design (a trashed user's tickets keep their customer and agent).
Choice fields offer live rows only (`Model.objects`), so a form rendered for such a ticket would show the
field empty, and an unchanged save would clear it (SET_NULL fields) or fail ("This field is required").
`keep_trashed_choices(form)` adds the instance's current value to each such field's choices, labelled
"(in the trash)", and nothing else: another trashed row stays unselectable, and the field's own queryset
(its tenancy scoping included) still decides, since the current value is only kept when that queryset
reaches it with the live-rows filter lifted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django import forms
from django.db import models
from django.db.models import Q

from .softdelete import SoftDeleteModel, SoftDeleteQuerySet
from .validation.registry import validator

TRASH_MARK = "(in the trash)"


def _marked(label: Callable[[Any], str]) -> Callable[[Any], str]:
    def label_from_instance(obj: Any) -> str:
        text = label(obj)
        return f"{text} {TRASH_MARK}" if getattr(obj, "deleted_at", None) is not None else text

    return label_from_instance


def keep_trashed_choices(form: forms.BaseForm) -> None:
    """Keep the bound instance's current foreign-key values selectable when they are in the trash."""
    instance = getattr(form, "instance", None)
    if instance is None or instance.pk is None:
        return
    concrete = {f.name: f for f in instance._meta.concrete_fields if f.is_relation}
    for name, field in form.fields.items():
        if not isinstance(field, forms.ModelChoiceField) or isinstance(field, forms.ModelMultipleChoiceField):
            continue
        queryset = field.queryset
        if not (isinstance(queryset, SoftDeleteQuerySet) and issubclass(queryset.model, SoftDeleteModel)):
            continue
        model_field = concrete.get(name)
        if model_field is None:
            continue
        current = getattr(instance, model_field.attname, None)
        if current is None:
            continue
        key = field.to_field_name or "pk"
        field.label_from_instance = _marked(field.label_from_instance)
        field.live_queryset, field.kept_trashed = queryset, current
        field.queryset = queryset.with_deleted().filter(Q(deleted_at__isnull=True) | Q(**{key: current}))


def live_choices(field: forms.ModelChoiceField) -> models.QuerySet:
    """The field's choices before `keep_trashed_choices` added the instance's trashed value to them."""
    return getattr(field, "live_queryset", field.queryset)


def kept_trashed_value(field: forms.ModelChoiceField) -> str | None:
    """The trashed value `keep_trashed_choices` kept selectable in this field (as a string), if any."""
    kept = getattr(field, "kept_trashed", None)
    return None if kept is None else str(kept)


def trashed_links_left_alone(
    instance: models.Model, trashed: Iterable[str], changed: Iterable[str]
) -> set[str]:
    """Of `trashed` (foreign keys left as stored that point at a row in the trash), those the model's
    validation should leave out: the ones no rule reads together with a field that `changed`.

    The rules want live targets for links being set, so an untouched link to a trashed row would fail them
    and refuse an edit of another field (the validation scans still report such rows). A rule that also
    reads a changed field checks the link as usual: a ticket moved to another organization keeps no
    trashed agent, a comment made internal is checked against its (trashed) author's role. Forms and
    import rows share this rule.
    """
    changed = set(changed)
    rules = validator.rules_for(instance)
    left = set()
    for name in set(trashed) - changed:
        read_with = {field for rule in rules if name in rule.fields for field in rule.fields}
        if not read_with & changed:
            left.add(name)
    return left


class KeepTrashedChoicesMixin:
    """For ModelForms: see `keep_trashed_choices`.

    A link left as it was to a trashed row is also left out of the model's validation while no rule over it
    reads a field that changed (`trashed_links_left_alone`).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        keep_trashed_choices(self)

    def _get_validation_exclusions(self) -> set[str]:
        exclude = super()._get_validation_exclusions()
        changed = set(self.changed_data)
        cleaned = getattr(self, "cleaned_data", {})
        trashed = {
            name
            for name, field in self.fields.items()
            if isinstance(field, forms.ModelChoiceField)
            and name not in changed
            and getattr(cleaned.get(name), "deleted_at", None) is not None
        }
        return set(exclude) | trashed_links_left_alone(self.instance, trashed, changed)


def form_keeping_trashed_choices(form_class: type[forms.BaseForm]) -> type[forms.BaseForm]:
    """`form_class` with KeepTrashedChoicesMixin in front (once)."""
    if issubclass(form_class, KeepTrashedChoicesMixin):
        return form_class
    return type(
        form_class.__name__, (KeepTrashedChoicesMixin, form_class), {"__module__": form_class.__module__}
    )
