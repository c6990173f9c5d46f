"""The validation reports' exports: a rule's failing records in the viewer's scope, as a report dataset
(dashboard.exports formats and answers), or, above CUSTODIAN_EXPORT_SYNC_MAX_ROWS, as the "validation"
source of an export job (dashboard.exports.files; registered in dashboard.validation.tasks)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F
from django.http import Http404, QueryDict

from dashboard.exports import Report
from dashboard.exports.files import ExportRows
from dashboard.permissions import VIEW_VALIDATION_REPORT
from dashboard.scoping import user_has_console_permission
from dashboard.validation import selectors
from dashboard.validation.resources import FailingRecordResource
from models_core.keyset import keyset_chunks
from models_core.tenancy import organization_path
from models_core.validation.rules import ValidationRule

VALIDATION_EXPORT_SOURCE = "validation"  # its name among dashboard.exports.files' sources


def _failing_rows(model: type[models.Model], rule: ValidationRule, user: Any) -> models.QuerySet:
    org = organization_path(model)
    qs = selectors.failing_rows_queryset(model, rule, user)
    if org:
        qs = qs.annotate(report_organization_id=F(org))
        if "__" in org:
            qs = qs.select_related(org.split("__")[0])
    return qs


def failing_records_count(model: type[models.Model], rule: ValidationRule, user: Any, limit: int) -> int:
    """How many failing records the export would hold, counting at most `limit` + 1 keys."""
    return selectors.failing_rows_queryset(model, rule, user).values("pk")[: limit + 1].count()


def _objects(qs: models.QuerySet) -> Iterator[models.Model]:
    """The rows in keyset chunks of CUSTODIAN_EXPORT_CHUNK_ROWS (one query each)."""
    for chunk in keyset_chunks(qs, min(settings.CUSTODIAN_EXPORT_CHUNK_ROWS, selectors.EXPORT_CAP + 1)):
        yield from chunk


def failing_records_report(model: type[models.Model], rule: ValidationRule, user: Any) -> Report:
    """The first EXPORT_CAP failing records by id (the rule page says so); `truncated` when there are more."""
    read: list[int] = [0]

    def capped() -> Iterator[models.Model]:
        for obj in _objects(_failing_rows(model, rule, user)):
            read[0] += 1
            if read[0] > selectors.EXPORT_CAP:  # one row past the cap: the file says it was cut short
                return
            yield obj

    dataset = FailingRecordResource(model, rule).export(queryset=capped())
    return Report(dataset, f"{model._meta.model_name}-{rule.name}", read[0] > selectors.EXPORT_CAP)


def failing_records_build(user: Any, query: QueryDict, format_key: str) -> ExportRows:
    """The export job's rows: the rule named by `model` and `rule` in the query, as the download has them
    (the requester's right to the reports checked again: they may have lost it since)."""
    if not user_has_console_permission(user, VIEW_VALIDATION_REPORT):
        raise ValidationError("You may no longer view validation reports.", code="permission")
    try:
        model, rule = selectors.rule_resolve(query.get("model", ""), query.get("rule", ""))
    except Http404:
        raise ValidationError("This export names no validation rule.", code="rule") from None
    resource = FailingRecordResource(model, rule)
    rows = _failing_rows(model, rule, user)
    cap = selectors.EXPORT_CAP
    return ExportRows(
        headers=resource.get_export_headers(),
        rows=(resource.export_resource(obj) for obj in _objects(rows)),
        filename_stem=f"{model._meta.model_name}-{rule.name}",
        title="Failing records",
        max_rows=cap,
        count=lambda: min(failing_records_count(model, rule, user, cap), cap),
    )
