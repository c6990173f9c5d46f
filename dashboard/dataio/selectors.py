"""Reads of the import pipeline: which records a user may touch, live or in the trash; stored uploads and
their previews, paged."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import QuerySet

from dashboard.scoping import get_object_in_scope, is_console_user, scope_to_organization
from models_core.keyset import keyset_chunks

from .models import ImportPreviewRow, ImportUpload

# import_type of rows that fail (import-export's RowResult.IMPORT_TYPE_INVALID and IMPORT_TYPE_ERROR)
FAILING_TYPES = ("invalid", "error")


def scoped_rows(model: type[models.Model], user: Any, *, trashed: bool = False) -> QuerySet:
    """The live rows of `model` this user may touch (`trashed=True`: its rows in the trash instead)."""
    return scope_to_organization(model.all_objects.filter(deleted_at__isnull=not trashed), user)


def trashed_ids_in_scope(model: type[models.Model], user: Any, ids: Iterable[Any]) -> set[Any]:
    """Which of `ids` name this user's records in the trash (one query for a whole file)."""
    ids = list(ids)
    if not ids:
        return set()
    return set(scoped_rows(model, user, trashed=True).filter(pk__in=ids).values_list("pk", flat=True))


def live_rows_by_id(model: type[models.Model], user: Any, ids: Iterable[Any]) -> dict[Any, models.Model]:
    """This user's live records among `ids`, by primary key (one query for a whole file)."""
    ids = list(ids)
    if not ids:
        return {}
    return {obj.pk: obj for obj in scoped_rows(model, user).filter(pk__in=ids)}


def queryset_exceeds(queryset: QuerySet, limit: int) -> bool:
    """Does `queryset` hold more than `limit` rows? Reads at most limit + 1 ids, never a full COUNT(*)."""
    return queryset.order_by().values("pk")[: limit + 1].count() > limit


def import_upload_get_for_user(user: Any, upload_id: Any) -> ImportUpload:
    """One stored upload: the uploader's own only; Http404 for anyone else's (another organization's, a
    colleague's) and for ids that are not numbers."""
    mine = ImportUpload.objects.none()
    if is_console_user(user):
        mine = ImportUpload.objects.filter(uploaded_by=user)
    return get_object_in_scope(
        ImportUpload.objects.all(), user, upload_id, scoped=mine.select_related("preview_job", "confirm_job")
    )


@dataclass
class PreviewPage:
    rows: list[ImportPreviewRow]
    next_after: int | None  # the last row number shown, when more rows follow


def import_preview_page(
    upload: ImportUpload, *, failing_only: bool, after: int = 0, size: int
) -> PreviewPage:
    """`size` rows of a stored preview after row number `after` (keyset on the unique (upload, number))."""
    rows = ImportPreviewRow.objects.filter(upload=upload, number__gt=after)
    if failing_only:
        rows = rows.filter(import_type__in=FAILING_TYPES)
    page = list(rows.order_by("number")[: size + 1])
    more = len(page) > size
    page = page[:size]
    return PreviewPage(rows=page, next_after=page[-1].number if more else None)


def import_preview_errors(upload: ImportUpload) -> Iterator[tuple[int, str, str]]:
    """Every error of a stored preview as (row number, column, message), in row order, read in keyset
    chunks of CUSTODIAN_EXPORT_CHUNK_ROWS (one query each; a preview's rows are written in row order, so
    their keys follow the row numbers)."""
    rows = ImportPreviewRow.objects.filter(upload=upload, import_type__in=FAILING_TYPES).only(
        "number", "errors"
    )
    for chunk in keyset_chunks(rows, settings.CUSTODIAN_EXPORT_CHUNK_ROWS):
        for row in chunk:
            for column, message in row.errors:
                yield row.number, column, message
