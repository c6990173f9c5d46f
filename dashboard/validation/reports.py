"""The validation reports' exports: a rule's failing records in the viewer's scope, as a report dataset
(dashboard.exports formats and answers)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F

from dashboard.exports import Report
from dashboard.validation import selectors
from dashboard.validation.resources import FailingRecordResource
from models_core.keyset import keyset_chunks
from models_core.tenancy import organization_path
from models_core.validation.rules import ValidationRule


def failing_records_report(model: type[models.Model], rule: ValidationRule, user: Any) -> Report:
    """The first EXPORT_CAP failing records by id (the rule page says so); `truncated` when there are more."""
    org = organization_path(model)
    qs = selectors.failing_rows_queryset(model, rule, user)
    if org:
        qs = qs.annotate(report_organization_id=F(org))
        if "__" in org:
            qs = qs.select_related(org.split("__")[0])
    read: list[int] = [0]

    def capped() -> Iterator[models.Model]:
        # Keyset chunks of CUSTODIAN_EXPORT_CHUNK_ROWS (one query each), stopped one row past the cap.
        for chunk in keyset_chunks(qs, min(settings.CUSTODIAN_EXPORT_CHUNK_ROWS, selectors.EXPORT_CAP + 1)):
            for obj in chunk:
                read[0] += 1
                if read[0] > selectors.EXPORT_CAP:
                    return
                yield obj

    dataset = FailingRecordResource(model, rule).export(queryset=capped())
    return Report(dataset, f"{model._meta.model_name}-{rule.name}", read[0] > selectors.EXPORT_CAP)
