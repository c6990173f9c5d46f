"""The validation reports' exports: a rule's failing records in the viewer's scope, as a report dataset
(dashboard.exports formats and answers)."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import F

from dashboard.exports import Report
from dashboard.validation import selectors
from dashboard.validation.resources import FailingRecordResource
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
    rows = list(qs[: selectors.EXPORT_CAP + 1])
    truncated = len(rows) > selectors.EXPORT_CAP
    dataset = FailingRecordResource(model, rule).export(queryset=rows[: selectors.EXPORT_CAP])
    return Report(dataset, f"{model._meta.model_name}-{rule.name}", truncated)
