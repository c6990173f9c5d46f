"""Validation rules: each checks one instance (for `clean()`) and, where it can, states its violations as a
`Q` so a scan lets the database find them.

The two paths must agree: `is_valid(value, instance)` is False exactly for the rows `violation_q()` selects
(tests generate rows and compare both). NULL handling is spelled out in every `Q` for that reason: Django's
negation of lookups on nullable columns adds `IS NOT NULL` parts that are easy to get wrong by accident.

Writing a custom rule::

    class TicketHasNoSecretsRule(ValidationRule):
        kind = "no_secrets"
        default_message = "The description must not contain a password."

        def is_valid(self, value, instance):
            return "password:" not in (value or "").lower()

        def violation_q(self):  # optional: without it a scan streams the rows through is_valid()
            return Q(description__icontains="password:")

    validator.add_model_rules(Ticket, [TicketHasNoSecretsRule("description")])

`fields` lists every field the rule reads (the first is the one its error is keyed on); a rule is skipped in a
form that does not edit all of them, as Django skips constraints over excluded fields.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Sequence
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.db.models import Exists, F, OuterRef, Q
from django.utils.text import capfirst

# One whitespace class for both paths: Python's str.strip() and PostgreSQL's \s disagree on some characters.
_BLANK_CHARS = r" \t\n\r\f\v"
_BLANK_RE = re.compile(f"[{_BLANK_CHARS}]*")
# A deliberately plain address shape (something@domain.tld, no spaces, one @), written so Python's `re` and
# PostgreSQL's `~` read it identically; Django's EmailValidator cannot be stated in SQL.
_EMAIL_BODY = rf"[^@{_BLANK_CHARS}]+@[^@{_BLANK_CHARS}]+\.[^@.{_BLANK_CHARS}]+"
_EMAIL_RE = re.compile(_EMAIL_BODY)


def resolve_path(instance: models.Model, path: str) -> Any:
    """Follow a Django lookup path ("ticket__organization_id") through attributes; None where a link is
    missing (an unset or dangling foreign key)."""
    value: Any = instance
    for part in path.split("__"):
        if value is None:
            return None
        try:
            value = getattr(value, part)
        except ObjectDoesNotExist:
            return None
    return value


class ValidationRule:
    """One business rule over one model, keyed on one field.

    Subclasses set `kind` and implement `is_valid()`; they override `violation_q()` when the rule can be
    stated in SQL. `constraint` names the database constraint this rule twins (its message then comes from
    the constraint, and the mixin checks the rule in place of that constraint).
    """

    kind: str = "custom"
    default_message: str = "Invalid value for {field}."

    def __init__(
        self,
        field_name: str,
        error_message: str | None = None,
        *,
        name: str | None = None,
        constraint: str | None = None,
        description: str = "",
        code: str | None = None,
    ) -> None:
        self.field_name = field_name
        self._message = error_message
        self.name = name or f"{field_name}_{self.kind}"
        self.constraint = constraint
        self.description = description
        self.code = code or self.kind
        self.model: type[models.Model] | None = None  # set by the registry

    # The two paths
    # ------------------------------------------------------------------------------------------------

    def is_valid(self, value: Any, instance: models.Model) -> bool:
        raise NotImplementedError(f"{type(self).__name__} must implement is_valid()")

    def violation_q(self) -> Q | None:
        """The rows that break this rule, as a filter on the model; None when only Python can tell."""
        return None

    # Everything else
    # ------------------------------------------------------------------------------------------------

    @property
    def fields(self) -> tuple[str, ...]:
        """Every field this rule reads, the keyed one first."""
        return (self.field_name,)

    @property
    def has_query(self) -> bool:
        return self.violation_q() is not None

    def get_value(self, instance: models.Model) -> Any:
        field = self._field()
        attname = field.attname if field is not None else self.field_name
        return getattr(instance, attname, None)

    def validate(self, value: Any, instance: models.Model) -> bool:
        """`is_valid()` under its older name (rules written against it keep working)."""
        return self.is_valid(value, instance)

    def check(self, instance: models.Model) -> bool:
        return self.is_valid(self.get_value(instance), instance)

    @property
    def message(self) -> str:
        return self._message or capfirst(
            self.default_message.format(field=self.verbose_field_name, **self._params())
        )

    def set_default_message(self, message: str) -> None:
        """Called by the registry with the twin constraint's message, unless the rule was given its own."""
        if self._message is None:
            self._message = message

    def get_error_message(self, value: Any = None, instance: models.Model | None = None) -> str:
        return self.message

    @property
    def verbose_field_name(self) -> str:
        field = self._field()
        return str(field.verbose_name) if field is not None else self.field_name.replace("_", " ")

    @property
    def label(self) -> str:
        """How pages name the rule: its description, else its message."""
        return self.description or self.message

    def _params(self) -> dict[str, Any]:
        return {}

    def _field(self) -> models.Field | None:
        if self.model is None:
            return None
        try:
            return self.model._meta.get_field(self.field_name)
        except Exception:
            return None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


def _is_blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return _BLANK_RE.fullmatch(value) is not None
    if isinstance(value, list | dict | tuple):
        return len(value) == 0
    return False


class RequiredValidationRule(ValidationRule):
    """The field holds something: not NULL, not empty or whitespace only (text), not an empty JSON value.

    `when` makes it conditional on other (non-null) fields' values, e.g. ``when={"status": "published"}``.
    """

    kind = "required"
    default_message = "{field} is required."

    def __init__(
        self, field_name: str, error_message: str | None = None, *, when: dict[str, Any] | None = None, **kw
    ) -> None:
        super().__init__(field_name, error_message, **kw)
        self.when = dict(when or {})

    @property
    def fields(self) -> tuple[str, ...]:
        return (self.field_name, *self.when)

    def is_valid(self, value: Any, instance: models.Model) -> bool:
        if any(getattr(instance, name, None) != wanted for name, wanted in self.when.items()):
            return True
        return not _is_blank(value)

    def violation_q(self) -> Q:
        field = self._field()
        q = Q(**{f"{self.field_name}__isnull": True})
        if isinstance(field, models.CharField | models.TextField):
            q |= Q(**{f"{self.field_name}__regex": f"^[{_BLANK_CHARS}]*$"})
        elif isinstance(field, models.JSONField):
            q |= Q(**{self.field_name: []}) | Q(**{self.field_name: {}})
        return Q(**self.when) & q if self.when else q


class EmailValidationRule(ValidationRule):
    """An address shaped like name@domain.tld; blank is allowed unless `allow_blank=False`."""

    kind = "email"
    default_message = "{field} is not a valid email address."

    def __init__(self, field_name: str, error_message: str | None = None, *, allow_blank: bool = True, **kw):
        kw.setdefault("name", f"{field_name}_format")
        super().__init__(field_name, error_message, **kw)
        self.allow_blank = allow_blank

    def is_valid(self, value: Any, instance: models.Model) -> bool:
        if value is None or value == "":
            return self.allow_blank
        return isinstance(value, str) and _EMAIL_RE.fullmatch(value) is not None

    def violation_q(self) -> Q:
        f = self.field_name
        bad_shape = Q(**{f"{f}__isnull": False}) & ~Q(**{f: ""}) & ~Q(**{f"{f}__regex": f"^{_EMAIL_BODY}$"})
        if self.allow_blank:
            return bad_shape
        return bad_shape | Q(**{f"{f}__isnull": True}) | Q(**{f: ""})


class ChoiceValidationRule(ValidationRule):
    """The value is one of `choices` (by default the field's own choices)."""

    kind = "choice"
    default_message = "{field} must be one of: {choices}."

    def __init__(
        self,
        field_name: str,
        error_message: str | None = None,
        *,
        choices: Iterable[Any] | None = None,
        allow_null: bool = False,
        **kw,
    ) -> None:
        super().__init__(field_name, error_message, **kw)
        self._choices = list(choices) if choices is not None else None
        self.allow_null = allow_null

    @property
    def choices(self) -> list[Any]:
        if self._choices is None:
            field = self._field()
            self._choices = [value for value, _ in (field.flatchoices if field is not None else [])]
        return self._choices

    def _params(self) -> dict[str, Any]:
        return {"choices": ", ".join(str(c) for c in self.choices)}

    def is_valid(self, value: Any, instance: models.Model) -> bool:
        if value is None:
            return self.allow_null
        return value in self.choices

    def violation_q(self) -> Q:
        f = self.field_name
        q = Q(**{f"{f}__isnull": False}) & ~Q(**{f"{f}__in": self.choices})
        if not self.allow_null:
            q |= Q(**{f"{f}__isnull": True})
        return q


class RangeValidationRule(ValidationRule):
    """min_value <= value <= max_value (either bound optional); NULL passes unless `allow_null=False`."""

    kind = "range"

    def __init__(
        self,
        field_name: str,
        error_message: str | None = None,
        *,
        min_value: Any = None,
        max_value: Any = None,
        allow_null: bool = True,
        **kw,
    ) -> None:
        if min_value is None and max_value is None:
            raise ValueError("RangeValidationRule needs min_value, max_value or both")
        super().__init__(field_name, error_message, **kw)
        self.min_value = min_value
        self.max_value = max_value
        self.allow_null = allow_null

    @property
    def default_message(self) -> str:
        if self.min_value is not None and self.max_value is not None:
            return "{field} must be between {min} and {max}."
        if self.min_value is not None:
            return "{field} must be at least {min}."
        return "{field} must be at most {max}."

    def _params(self) -> dict[str, Any]:
        return {"min": self.min_value, "max": self.max_value}

    def is_valid(self, value: Any, instance: models.Model) -> bool:
        if value is None:
            return self.allow_null
        try:
            if self.min_value is not None and value < self.min_value:
                return False
            return not (self.max_value is not None and value > self.max_value)
        except TypeError:
            return False  # not even comparable (a string in a number field, before clean_fields ran)

    def violation_q(self) -> Q:
        f = self.field_name
        q = Q(pk__in=[])
        if self.min_value is not None:
            q |= Q(**{f"{f}__lt": self.min_value})
        if self.max_value is not None:
            q |= Q(**{f"{f}__gt": self.max_value})
        if not self.allow_null:
            q |= Q(**{f"{f}__isnull": True})
        return q


class ForeignKeyValidationRule(ValidationRule):
    """The referenced row exists, is live (not in the trash) and meets conditions of its own.

    `matches` maps a column of the target to a path on this model that must hold the same value, e.g.
    ``{"organization_id": "organization_id"}`` (same tenant) or ``{"ticket_id": "ticket_id"}`` (a comment of
    the same ticket); `limit_to` is a filter the target must pass (e.g. a staff role). NULL passes unless
    `required=True`. Checking one instance costs one query, the same the scan runs per row.
    """

    kind = "foreign_key"
    default_message = "{field} must refer to a live record that belongs here."

    def __init__(
        self,
        field_name: str,
        error_message: str | None = None,
        *,
        live: bool = True,
        matches: dict[str, str] | None = None,
        limit_to: Q | None = None,
        required: bool = False,
        **kw,
    ) -> None:
        super().__init__(field_name, error_message, **kw)
        self.live = live
        self.matches = dict(matches or {})
        self.limit_to = limit_to
        self.required = required

    @property
    def fields(self) -> tuple[str, ...]:
        return (self.field_name, *(path.split("__")[0].removesuffix("_id") for path in self.matches.values()))

    def _target(self) -> type[models.Model]:
        field = self._field()
        if field is None or not field.is_relation:
            raise ValueError(f"{self!r}: {self.field_name} is not a foreign key")
        return field.related_model

    def _target_filter(self) -> Q:
        q = Q()
        if self.live and any(f.name == "deleted_at" for f in self._target()._meta.concrete_fields):
            q &= Q(deleted_at__isnull=True)
        if self.limit_to is not None:
            q &= self.limit_to
        return q

    def get_value(self, instance: models.Model) -> Any:
        return getattr(instance, self._field().attname)

    def is_valid(self, value: Any, instance: models.Model) -> bool:
        if value is None:
            return not self.required
        wanted = {column: resolve_path(instance, path) for column, path in self.matches.items()}
        if any(v is None for v in wanted.values()):
            return False  # NULL matches nothing, in SQL as here
        return self._target()._base_manager.filter(self._target_filter(), pk=value, **wanted).exists()

    def violation_q(self) -> Q:
        attname = self._field().attname
        target = self._target()._base_manager.filter(
            self._target_filter(),
            pk=OuterRef(attname),
            **{column: OuterRef(path) for column, path in self.matches.items()},
        )
        q = Q(**{f"{attname}__isnull": False}) & ~Exists(target)
        if self.required:
            q |= Q(**{f"{attname}__isnull": True})
        return q


class RoleBasedValidationRule(ValidationRule):
    """Only some roles may hold privileged values of a field.

    A value is privileged when it differs from `neutral_value` (e.g. any customer tier but "basic") or, with
    `privileged_values`, when it is one of them (e.g. an "internal" comment). `role_path` is where the role
    lives ("role" on a user, "author__role" on a comment); a missing role is never allowed.
    """

    kind = "role"
    default_message = "Only {roles} may have this {field}."

    def __init__(
        self,
        field_name: str,
        error_message: str | None = None,
        *,
        allowed_roles: Sequence[str],
        neutral_value: Any = None,
        privileged_values: Sequence[Any] | None = None,
        role_path: str = "role",
        **kw,
    ) -> None:
        if (neutral_value is None) == (privileged_values is None):
            raise ValueError("Give exactly one of neutral_value and privileged_values")
        super().__init__(field_name, error_message, **kw)
        self.allowed_roles = list(allowed_roles)
        self.neutral_value = neutral_value
        self.privileged_values = list(privileged_values) if privileged_values is not None else None
        self.role_path = role_path

    @property
    def fields(self) -> tuple[str, ...]:
        return (self.field_name, self.role_path.split("__")[0])

    def _params(self) -> dict[str, Any]:
        return {"roles": ", ".join(self.allowed_roles)}

    def _privileged(self, value: Any) -> bool:
        if self.privileged_values is not None:
            return value in self.privileged_values
        return value != self.neutral_value

    def is_valid(self, value: Any, instance: models.Model) -> bool:
        if not self._privileged(value):
            return True
        return resolve_path(instance, self.role_path) in self.allowed_roles

    def violation_q(self) -> Q:
        f = self.field_name
        if self.privileged_values is not None:
            privileged = Q(**{f"{f}__in": self.privileged_values})
        else:
            privileged = Q(**{f"{f}__isnull": True}) | ~Q(**{f: self.neutral_value})
        role = self.role_path
        not_allowed = Q(**{f"{role}__isnull": True}) | (
            Q(**{f"{role}__isnull": False}) & ~Q(**{f"{role}__in": self.allowed_roles})
        )
        return privileged & not_allowed


class TimestampValidationRule(ValidationRule):
    """`field` is not earlier than `after` (another field of the row); NULL on either side passes, as in a
    CHECK constraint."""

    kind = "timestamp"
    default_message = "{field} cannot be earlier than {after}."

    def __init__(self, field_name: str, error_message: str | None = None, *, after: str, **kw) -> None:
        kw.setdefault("name", f"{field_name}_after_{after}")
        super().__init__(field_name, error_message, **kw)
        self.after = after

    @property
    def fields(self) -> tuple[str, ...]:
        return (self.field_name, self.after)

    def _params(self) -> dict[str, Any]:
        after = self.after.replace("_", " ")
        if self.model is not None:
            after = str(self.model._meta.get_field(self.after).verbose_name)
        return {"after": after}

    def is_valid(self, value: Any, instance: models.Model) -> bool:
        other = getattr(instance, self.after, None)
        if value is None or other is None:
            return True
        if isinstance(value, datetime.datetime) != isinstance(other, datetime.datetime):
            return False
        return value >= other

    def violation_q(self) -> Q:
        return Q(**{f"{self.field_name}__lt": F(self.after)})


__all__ = [
    "ChoiceValidationRule",
    "EmailValidationRule",
    "ForeignKeyValidationRule",
    "RangeValidationRule",
    "RequiredValidationRule",
    "RoleBasedValidationRule",
    "TimestampValidationRule",
    "ValidationRule",
    "resolve_path",
]
