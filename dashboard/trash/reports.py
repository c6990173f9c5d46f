"""The trash's exports: the rows its pages show, as report datasets (dashboard.exports formats and answers).

The listing export reads the list's own keyset pages of CUSTODIAN_EXPORT_CHUNK_ROWS rows (memory and
queries per page bounded, whatever the trash holds): as CSV every row; XLSX and JSON stop at
settings.CUSTODIAN_EXPORT_MAX_ROWS rows and `truncated` says whether the cap cut them short. Above
CUSTODIAN_EXPORT_SYNC_MAX_ROWS rows a background job writes the file (`trash_export_build` is the
"trash" source of dashboard.exports.files, registered in dashboard.trash.tasks).
The purge records stream as CSV, every matching record, through a server-side cursor.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import QueryDict

from dashboard.exports import Report, dataset_build
from dashboard.exports.files import ExportRows
from dashboard.permissions import VIEW_TRASH
from dashboard.scoping import user_has_console_permission
from dashboard.trash import listing
from dashboard.trash.forms import TrashFilterForm
from dashboard.trash.models import PurgeRecord
from models_core.keyset import keyset_chunks

TRASH_EXPORT_SOURCE = "trash"  # its name among dashboard.exports.files' sources
TRASH_HEADERS = [
    "type",
    "model",
    "id",
    "record",
    "organization",
    "deleted_by",
    "deleted_at",
    "reason",
    "taken_along",
    "taken_along_by_root",
    "auto_delete_at",
    "days_until_purge",
    "restorable",
]


def _trash_row_values(row: listing.TrashRow) -> list:
    obj = row.obj
    return [
        row.type_name,
        obj._meta.label,
        obj.pk,
        str(obj),
        str(row.organization) if row.organization is not None else "",
        obj.deleted_by.username if obj.deleted_by_id else "",
        obj.deleted_at.isoformat(sep=" "),
        obj.delete_reason,
        row.taken_along,
        "yes" if row.cascaded else "no",
        obj.auto_delete_at.isoformat(sep=" ") if getattr(obj, "auto_delete_at", None) else "",
        "" if row.days_until_purge is None else row.days_until_purge,
        "yes" if row.restorable else "no",
    ]


def trash_rows(user: Any, filters: listing.TrashFilters, chunk: int | None = None) -> Iterator[list]:
    """Every trashed row the trash list shows this user for `filters`, in the list's order, as export rows,
    read one keyset page of `chunk` rows at a time: memory holds one page, and each page costs the list's own
    queries (its keys, one per model on it, one for batch sizes) however large the trash is."""
    chunk = chunk or settings.CUSTODIAN_EXPORT_CHUNK_ROWS
    cursor = None
    while True:
        page = listing.trash_list(user, filters, cursor, page_size=chunk)
        for row in page.rows:
            yield _trash_row_values(row)
        if not page.next_cursor:
            return
        cursor = listing.TrashCursor.decode(page.next_cursor, listing.trash_order(filters))


def trash_report(user: Any, filters: listing.TrashFilters) -> Report:
    """The same rows as a dataset for the formats that are written whole (XLSX, JSON), up to
    settings.CUSTODIAN_EXPORT_MAX_ROWS; CSV streams every row instead (trash_rows)."""
    limit = settings.CUSTODIAN_EXPORT_MAX_ROWS
    chunk = min(settings.CUSTODIAN_EXPORT_CHUNK_ROWS, limit + 1)
    rows = list(islice(trash_rows(user, filters, chunk), limit + 1))
    return Report(dataset_build(TRASH_HEADERS, rows[:limit], title="Trash"), "trash", len(rows) > limit)


def trash_export_filters(user: Any, query: QueryDict) -> listing.TrashFilters:
    """The list's filters from an export's query string (its format and page marker left aside);
    ValidationError naming what is wrong."""
    query = query.copy()
    for key in ("format", "after"):
        query.pop(key, None)
    form = TrashFilterForm(query or None, user=user)
    if not form.is_bound:
        return listing.TrashFilters()
    if not form.is_valid():
        errors = "; ".join(" ".join(field_errors) for field_errors in form.errors.values())
        raise ValidationError(f"Invalid filter: {errors}", code="filter")
    return form.filters()


def trash_export_build(user: Any, query: QueryDict, format_key: str) -> ExportRows:
    """The trash export as a background job writes it: the same filters and rows as the download (the
    requester's right to the trash checked again: they may have lost it since)."""
    if not user_has_console_permission(user, VIEW_TRASH):
        raise ValidationError("You may no longer view the trash.", code="permission")
    filters = trash_export_filters(user, query)
    return ExportRows(
        headers=TRASH_HEADERS,
        rows=trash_rows(user, filters),
        filename_stem="trash",
        title="Trash",
        max_rows=None if format_key == "csv" else settings.CUSTODIAN_EXPORT_MAX_ROWS,
        count=lambda: listing.trash_count(user, filters),
    )


PURGE_RECORD_HEADERS = [
    "id", "model", "object_id", "organization_id", "batch_id", "purged_by_id", "purged_at", "trigger",
    "reason", "deleted_at", "total", "counts",
]  # fmt: skip


def purge_record_rows(records: QuerySet[PurgeRecord]) -> Iterator[list[Any]]:
    """One CSV row per record, newest first, read in keyset chunks of CUSTODIAN_EXPORT_CHUNK_ROWS (one
    query each; never the whole list in memory, never a cursor held open across the download)."""
    chunks = keyset_chunks(records, settings.CUSTODIAN_EXPORT_CHUNK_ROWS, descending=True)
    for r in (record for chunk in chunks for record in chunk):
        yield [
            r.pk, r.model_label, r.object_id, r.organization_id or "", r.batch_id or "",
            r.purged_by_id or "", r.purged_at.isoformat(), r.trigger, r.reason,
            r.deleted_at.isoformat() if r.deleted_at else "", r.total,
            ";".join(f"{k}={v}" for k, v in r.counts.items()),
        ]  # fmt: skip
