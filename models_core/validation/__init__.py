"""Centralized validation: rule classes, the registry (filled once at start-up), the mixin, the defaults."""

from .mixin import CentralizedValidationMixin
from .registry import CentralizedValidator, validator
from .rules import (
    ChoiceValidationRule,
    EmailValidationRule,
    ForeignKeyValidationRule,
    RangeValidationRule,
    RequiredValidationRule,
    RoleBasedValidationRule,
    TimestampValidationRule,
    ValidationRule,
)

__all__ = [
    "CentralizedValidationMixin",
    "CentralizedValidator",
    "ChoiceValidationRule",
    "EmailValidationRule",
    "ForeignKeyValidationRule",
    "RangeValidationRule",
    "RequiredValidationRule",
    "RoleBasedValidationRule",
    "TimestampValidationRule",
    "ValidationRule",
    "validator",
]
