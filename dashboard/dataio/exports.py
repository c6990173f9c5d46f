"""The admin changelists' exports, read in keyset chunks, and their "admin" source for export jobs.

A changelist export is its filtered, scoped queryset (import-export builds it from the same ChangeList) run
through the chosen resource. Both the download and the job read it through `admin_export_rows`: keyset
chunks of CUSTODIAN_EXPORT_CHUNK_ROWS (models_core.keyset), one query each (links render from the rows'
own foreign key columns and the changelist's select_related), so the queries do not grow with the rows.

Above CUSTODIAN_EXPORT_SYNC_MAX_ROWS rows the admin's export starts a job (dashboard.exports.files) with
`admin_export_query`: the changelist's own query string plus the model, the resource and the chosen
columns. The job rebuilds the changelist for the requester from it (`admin_export_build`), so the file is
scoped and filtered exactly as the download would have been, with the requester's rights as they are then.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import FieldError, ValidationError
from django.db import models
from django.http import HttpRequest, QueryDict

from dashboard.exports.files import ExportRows
from models_core.keyset import keyset_chunks

ADMIN_EXPORT_SOURCE = "admin"  # its name among dashboard.exports.files' sources
# Keys the job's query carries besides the changelist's filters (none is a field lookup).
MODEL_KEY, RESOURCE_KEY, FIELDS_KEY = "_export_model", "_export_resource", "_export_fields"


def admin_export_rows(
    resource: Any, queryset: models.QuerySet, fields: list[str] | None, *, force_native_type: bool = False
) -> Iterator[list[Any]]:
    """The resource's export rows for `queryset` (scoped again, live rows only: `filter_export`), by primary
    key, one keyset chunk in memory at a time."""
    queryset = resource.filter_export(queryset)
    for chunk in keyset_chunks(queryset, settings.CUSTODIAN_EXPORT_CHUNK_ROWS):
        for obj in chunk:
            yield resource.export_resource(obj, selected_fields=fields, force_native_type=force_native_type)


def admin_export_query(
    request: HttpRequest, model: type[models.Model], resource_index: int, fields: list[str] | None
) -> str:
    """What the job needs to rebuild this export: the changelist's filters, the model, resource, columns."""
    query = request.GET.copy()
    query[MODEL_KEY] = model._meta.label_lower
    query[RESOURCE_KEY] = str(resource_index)
    query.setlist(FIELDS_KEY, list(fields or []))
    return query.urlencode()


def _request_for(user: Any, query: QueryDict) -> HttpRequest:
    """The changelist request the export came from, as far as the changelist reads it."""
    request = HttpRequest()
    request.method = "GET"
    request.GET = query
    request.user = user
    request.path = request.path_info = "/"
    return request


def admin_export_build(user: Any, query: QueryDict, format_key: str) -> ExportRows:
    """The "admin" export source: the changelist export `query` names, for `user` with their rights now."""
    query = query.copy()
    label = (query.pop(MODEL_KEY, None) or [""])[-1]
    resource_index = (query.pop(RESOURCE_KEY, None) or ["0"])[-1]
    fields = query.pop(FIELDS_KEY, None) or None
    try:
        model = apps.get_model(label)
    except (LookupError, ValueError):
        raise ValidationError("This export names no model.", code="model") from None
    model_admin = admin.site._registry.get(model)
    if model_admin is None or not hasattr(model_admin, "get_export_resource_classes"):
        raise ValidationError("This model has no export.", code="model")
    request = _request_for(user, query)
    if not model_admin.has_export_permission(request):
        raise ValidationError(f"You may not export {model._meta.verbose_name_plural}.", code="permission")
    classes = model_admin.get_export_resource_classes(request)
    if not resource_index.isdigit() or int(resource_index) >= len(classes):
        raise ValidationError("This export names no resource of its model.", code="resource")
    try:
        queryset = model_admin.get_export_queryset(request)
    except (IncorrectLookupParameters, FieldError, ValidationError, ValueError):
        raise ValidationError("The changelist filters of this export are not valid.", code="filter") from None
    resource = classes[int(resource_index)](**model_admin.get_export_resource_kwargs(request))
    return ExportRows(
        headers=resource.get_export_headers(selected_fields=fields),
        rows=admin_export_rows(resource, queryset, fields, force_native_type=format_key == "xlsx"),
        filename_stem=str(model._meta.verbose_name_plural),
        title=str(model._meta.verbose_name_plural).capitalize(),
        max_rows=settings.CUSTODIAN_EXPORT_MAX_ROWS,
        count=lambda: resource.filter_export(queryset).order_by().count(),
    )
