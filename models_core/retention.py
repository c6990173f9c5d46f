"""How long a soft-deleted row stays in the trash before the purge job hard-deletes it.

The default is ``settings.CUSTODIAN_DEFAULT_RETENTION_DAYS`` (30). An organization may override it in its
``settings`` JSON::

    {"retention_days": {"default": 60, "ticket": 90, "ticketcomment": 14}}

Keys are model names as Django spells them (``Model._meta.model_name``: organization, user, ticket,
ticketcomment, ticketattachment, knowledgebasearticle, slapolicy) or ``"default"``; values are whole days, 0
to 36500 (0 = purge at the next run). A model's own key wins over ``"default"``, which wins over the setting.

The deadline belongs to the batch: the root row's model and organization decide it, and every row the delete
cascaded to gets the same ``auto_delete_at``, so a batch is always purged (and restorable) as one.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Case, Func, OuterRef, Subquery, Value, When
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Cast, Coalesce

from .tenancy import organization_settings_path

RETENTION_KEY = "retention_days"
MAX_RETENTION_DAYS = 36500
# Values the SQL side accepts; anything else falls back, so a bad setting can never break a delete.
_DAYS_PATTERN = r"^[0-9]{1,5}$"


def retention_model_keys() -> set[str]:
    # Every soft-delete model carries a SoftDeleteMeta (inherited from SoftDeleteModel); reading it from the
    # app registry keeps this module below softdelete.py, which uses retention_expression().
    return {model._meta.model_name for model in apps.get_models() if hasattr(model, "SoftDeleteMeta")}


def retention_settings_validate(organization_settings: Any) -> None:
    """Raise ValidationError (keyed "settings") unless the retention part of the settings is valid."""
    if not isinstance(organization_settings, dict):
        raise ValidationError({"settings": "Settings must be a JSON object."}, code="invalid_settings")
    if RETENTION_KEY not in organization_settings:
        return
    value = organization_settings[RETENTION_KEY]
    if not isinstance(value, dict):
        raise ValidationError(
            {"settings": 'retention_days must be an object such as {"default": 60, "ticket": 90}.'},
            code="invalid_retention",
        )
    allowed = retention_model_keys() | {"default"}
    for key, days in value.items():
        if key not in allowed:
            raise ValidationError(
                {"settings": f"retention_days: unknown key {key!r} (one of {', '.join(sorted(allowed))})."},
                code="invalid_retention",
            )
        if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= MAX_RETENTION_DAYS:
            raise ValidationError(
                {"settings": f"retention_days[{key!r}] must be whole days, 0 to {MAX_RETENTION_DAYS}."},
                code="invalid_retention",
            )


def retention_days_for(model: type[models.Model], organization_settings: dict | None) -> int:
    """The retention in days for a batch rooted at a `model` row of an organization with these settings."""
    overrides = (organization_settings or {}).get(RETENTION_KEY) or {}
    if not isinstance(overrides, dict):
        overrides = {}
    for key in (model._meta.model_name, "default"):
        days = overrides.get(key)
        if isinstance(days, int) and not isinstance(days, bool) and 0 <= days <= MAX_RETENTION_DAYS:
            return days
    return int(settings.CUSTODIAN_DEFAULT_RETENTION_DAYS)


def _days_from(path: str) -> Case:
    return Case(When(**{f"{path}__regex": _DAYS_PATTERN}, then=Cast(path, models.IntegerField())))


def retention_expression(model: type[models.Model], now: datetime.datetime) -> Any:
    """`now + retention` as an SQL expression for an UPDATE of `model` rows, reading each row's organization
    settings in a correlated subquery, so rows of several organizations are stamped by one statement.

    Mirrors `retention_days_for` (tested to agree).
    """
    prefix = organization_settings_path(model)
    default = int(settings.CUSTODIAN_DEFAULT_RETENTION_DAYS)
    if prefix is None:
        days: Any = Value(default)
    else:
        per_row = (
            model._base_manager.filter(pk=OuterRef("pk"))
            .annotate(
                # KT() cannot follow relations; a key transform over F("organization__settings") can.
                model_retention_days=KeyTextTransform(
                    model._meta.model_name, KeyTransform(RETENTION_KEY, prefix)
                ),
                default_retention_days=KeyTextTransform("default", KeyTransform(RETENTION_KEY, prefix)),
            )
            .annotate(
                retention_days=Coalesce(
                    _days_from("model_retention_days"), _days_from("default_retention_days"), Value(default)
                )
            )
            .values("retention_days")[:1]
        )
        days = Coalesce(Subquery(per_row), Value(default))
    interval = Func(
        days, template="make_interval(days => %(expressions)s)", output_field=models.DurationField()
    )
    return models.ExpressionWrapper(Value(now) + interval, output_field=models.DateTimeField())
