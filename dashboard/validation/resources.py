"""django-import-export resource for a rule's failing records (read-only: export only)."""

from __future__ import annotations

import datetime
import decimal
from typing import Any

from django.db import models
from import_export import resources
from import_export.fields import Field

from models_core.validation.rules import ValidationRule

_PLAIN = (str, int, float, bool, decimal.Decimal, datetime.date, datetime.datetime, type(None))


class FailingRecordResource(resources.Resource):
    """One row per failing record: id, how it reads, its organization, the value the rule looked at."""

    id = Field(attribute="pk", column_name="id")
    record = Field(column_name="record")
    organization_id = Field(attribute="report_organization_id", column_name="organization_id")
    field = Field(column_name="field")
    value = Field(column_name="value")
    rule = Field(column_name="rule")

    def __init__(self, model: type[models.Model], rule: ValidationRule) -> None:
        super().__init__()
        self.model = model
        self.rule = rule

    def dehydrate_record(self, obj: models.Model) -> str:
        return str(obj)

    def dehydrate_field(self, obj: models.Model) -> str:
        return self.rule.field_name

    def dehydrate_rule(self, obj: models.Model) -> str:
        return self.rule.name

    def dehydrate_value(self, obj: models.Model) -> Any:
        value = self.rule.get_value(obj)
        if isinstance(value, datetime.datetime) and value.tzinfo is not None:
            # Spreadsheets cannot hold time zones; the console's times are UTC.
            return value.astimezone(datetime.UTC).replace(tzinfo=None)
        return value if isinstance(value, _PLAIN) else str(value)
