"""Signals the model layer sends for the console's instruments (DB health records prevented violations)."""

from django.dispatch import Signal

# Sent by SoftDeleteModel.validate_constraints() when a constraint check fails, before the ValidationError
# propagates: kwargs instance, exclude. Receivers must not raise.
constraint_validation_failed = Signal()
