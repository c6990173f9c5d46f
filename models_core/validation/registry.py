"""CentralizedValidator: the rules per model, registered once at start-up (ModelsCoreConfig.ready()).

A validator built inside every `clean()` would re-register the rules on every save; instead one
module-level `validator` holds every rule; models_core.helpdesk_rules.validator_setup() fills it with the
defaults exactly once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models

from .rules import ValidationRule

logger = logging.getLogger(__name__)

ErrorDict = dict[str, list[ValidationError]]


class CentralizedValidator:
    def __init__(self) -> None:
        self._rules: dict[str, list[ValidationRule]] = {}
        self._database_only: dict[str, set[str]] = {}

    # Registration
    # ------------------------------------------------------------------------------------------------

    def add_model_rules(self, model: type[models.Model], rules: Iterable[ValidationRule]) -> None:
        """Register rules for a model; a name may be used once per model, a twin constraint must exist."""
        label = model._meta.label_lower
        registered = self._rules.setdefault(label, [])
        constraints = {c.name: c for c in model._meta.constraints}
        for rule in rules:
            if rule.model is not None and rule.model is not model:
                raise ValueError(f"{rule!r} is already registered for {rule.model._meta.label}")
            if any(existing.name == rule.name for existing in registered):
                raise ValueError(f"{model._meta.label} already has a rule named {rule.name!r}")
            rule.model = model
            if rule._field() is None:
                raise ValueError(f"{rule!r}: {model._meta.label} has no field {rule.field_name!r}")
            if rule.constraint is not None:
                if rule.constraint not in constraints:
                    raise ValueError(f"{rule!r}: {model._meta.label} has no constraint {rule.constraint!r}")
                message = constraints[rule.constraint].violation_error_message
                if message:
                    rule.set_default_message(str(message))
            registered.append(rule)

    def mark_database_only(
        self, model: type[models.Model], constraint_names: Iterable[str], why: str
    ) -> None:
        """Declare constraints that have no twin rule on purpose (`why` is for the reader)."""
        names = set(constraint_names)
        unknown = names - {c.name for c in model._meta.constraints}
        if unknown:
            raise ValueError(f"{model._meta.label} has no constraints {sorted(unknown)}")
        self._database_only.setdefault(model._meta.label_lower, set()).update(names)

    def clear(self) -> None:
        for rules in self._rules.values():
            for rule in rules:
                rule.model = None
        self._rules.clear()
        self._database_only.clear()

    # Lookup
    # ------------------------------------------------------------------------------------------------

    def rules_for(self, model: type[models.Model] | models.Model) -> list[ValidationRule]:
        return list(self._rules.get(model._meta.label_lower, ()))

    def get_rule(self, model: type[models.Model], name: str) -> ValidationRule | None:
        return next((rule for rule in self.rules_for(model) if rule.name == name), None)

    def models(self) -> list[type[models.Model]]:
        from django.apps import apps

        return [apps.get_model(label) for label, rules in self._rules.items() if rules]

    def database_only(self, model: type[models.Model]) -> set[str]:
        return set(self._database_only.get(model._meta.label_lower, ()))

    def twinned_constraints(self, model: type[models.Model]) -> set[str]:
        return {rule.constraint for rule in self.rules_for(model) if rule.constraint}

    # Checking instances
    # ------------------------------------------------------------------------------------------------

    def validate_model(
        self,
        instance: models.Model,
        *,
        exclude: Iterable[str] = (),
        rules: Iterable[ValidationRule] | None = None,
    ) -> ErrorDict:
        """Field-keyed errors of `instance` under its rules (or the given ones).

        A rule reading a field in `exclude` is skipped (a form that does not edit that field could not show or
        fix the error). A rule that raises is reported as an error on its field and logged, so one broken rule
        cannot hide the others.
        """
        excluded = set(exclude)
        errors: ErrorDict = {}
        for rule in self.rules_for(instance) if rules is None else rules:
            if excluded.intersection(rule.fields):
                continue
            try:
                valid = rule.check(instance)
            except Exception as exc:
                logger.exception("Validation rule %r failed on %r", rule, instance)
                errors.setdefault(rule.field_name, []).append(
                    ValidationError(
                        "Could not check %(rule)s: %(error)s",
                        code="rule_error",
                        params={"rule": rule.name, "error": f"{type(exc).__name__}: {exc}"},
                    )
                )
                continue
            if not valid:
                errors.setdefault(rule.field_name, []).append(
                    ValidationError(
                        rule.get_error_message(rule.get_value(instance), instance), code=rule.code
                    )
                )
        return errors

    def validate_field(self, instance: models.Model, field_name: str) -> ErrorDict:
        """Errors of the rules keyed on one field."""
        return self.validate_model(
            instance, rules=[rule for rule in self.rules_for(instance) if rule.field_name == field_name]
        )

    @staticmethod
    def messages(errors: ErrorDict) -> dict[str, list[str]]:
        return {field: [m for e in errs for m in e.messages] for field, errs in errors.items()}


validator = CentralizedValidator()


def errors_as_validation_error(errors: ErrorDict) -> ValidationError:
    return ValidationError({field or NON_FIELD_ERRORS: errs for field, errs in errors.items()})
