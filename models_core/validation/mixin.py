"""CentralizedValidationMixin: `clean()`, `validate_field()`, `is_valid()`, `get_validation_errors()`.

Where each rule runs:
- Rules without a twin constraint run in `clean()`.
- A rule twinning a database constraint runs in `validate_constraints()`, in place of that constraint. Django
  calls both from `full_clean()` and from a ModelForm, so every rule is checked exactly once there, and the
  constraint's message appears next to its field instead of twice (once keyed, once at the top of the form).
- `get_validation_errors()` and `is_valid()` run every rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError

from .registry import ErrorDict, errors_as_validation_error, validator


class CentralizedValidationMixin:
    # Set only while full_clean() runs, so clean() skips rules over the fields a form does not edit.
    _validation_exclude: frozenset[str] = frozenset()

    def full_clean(self, exclude: Iterable[str] | None = None, *args: Any, **kwargs: Any) -> None:
        self._validation_exclude = frozenset(exclude or ())
        try:
            super().full_clean(exclude, *args, **kwargs)
        finally:
            del self._validation_exclude

    def clean(self) -> None:
        super().clean()
        rules = [rule for rule in validator.rules_for(self) if not rule.constraint]
        errors = validator.validate_model(self, exclude=self._validation_exclude, rules=rules)
        if errors:
            raise errors_as_validation_error(errors)

    def get_constraints(self) -> list[tuple[Any, list]]:
        twinned = validator.twinned_constraints(type(self))
        return [
            (model, [c for c in constraints if c.name not in twinned])
            for model, constraints in super().get_constraints()
        ]

    def validate_constraints(self, exclude: Iterable[str] | None = None) -> None:
        errors: dict[str, list] = {}
        try:
            super().validate_constraints(exclude=exclude)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        twins = [rule for rule in validator.rules_for(self) if rule.constraint]
        for field, errs in validator.validate_model(self, exclude=exclude or (), rules=twins).items():
            errors.setdefault(field, []).extend(errs)
        if errors:
            raise ValidationError(errors)

    def validate_field(self, field_name: str) -> None:
        """Raise a field-keyed ValidationError if a rule on `field_name` fails."""
        errors = validator.validate_field(self, field_name)
        if errors:
            raise errors_as_validation_error(errors)

    def get_validation_errors(self) -> dict[str, list[str]]:
        """Every rule's failures as {field: [message, ...]}; empty when the instance is valid."""
        return validator.messages(self._all_rule_errors())

    def is_valid(self) -> bool:
        return not self._all_rule_errors()

    def _all_rule_errors(self) -> ErrorDict:
        return validator.validate_model(self)
