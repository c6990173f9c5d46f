"""The trash's exports: the rows its pages show, as report datasets (dashboard.exports formats and answers).

The listing export reads the list's own keyset pages: as CSV it streams every row a page at a time (memory
and queries per page bounded, whatever the trash holds); XLSX and JSON are written whole, so they stop at
settings.CUSTODIAN_EXPORT_MAX_ROWS rows and `truncated` says whether the cap cut them short.
The purge records stream as CSV, every matching record, through a server-side cursor.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from dashboard.exports import Report, dataset_build
from dashboard.trash import listing
from dashboard.trash.models import PurgeRecord

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
TRASH_PAGE = 1000


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
    """Every trashed row the trash list shows this user for `filters`, newest first, as export rows, read
    one keyset page of `chunk` rows at a time: memory holds one page, and each page costs the list's own
    queries (its keys, one per model on it, one for batch sizes) however large the trash is."""
    chunk = chunk or TRASH_PAGE
    cursor = None
    while True:
        page = listing.trash_list(user, filters, cursor, page_size=chunk)
        for row in page.rows:
            yield _trash_row_values(row)
        if not page.next_cursor:
            return
        cursor = listing.TrashCursor.decode(page.next_cursor)


def trash_report(user: Any, filters: listing.TrashFilters) -> Report:
    """The same rows as a dataset for the formats that are written whole (XLSX, JSON), up to
    settings.CUSTODIAN_EXPORT_MAX_ROWS; CSV streams every row instead (trash_rows)."""
    limit = settings.CUSTODIAN_EXPORT_MAX_ROWS
    rows = list(islice(trash_rows(user, filters, min(TRASH_PAGE, limit + 1)), limit + 1))
    return Report(dataset_build(TRASH_HEADERS, rows[:limit], title="Trash"), "trash", len(rows) > limit)


PURGE_RECORD_HEADERS = [
    "id", "model", "object_id", "organization_id", "batch_id", "purged_by_id", "purged_at", "trigger",
    "reason", "deleted_at", "total", "counts",
]  # fmt: skip


def purge_record_rows(records: QuerySet[PurgeRecord]) -> Iterator[list[Any]]:
    """One CSV row per record, newest first, read in chunks (never the whole list in memory)."""
    for r in records.order_by("-pk").iterator(chunk_size=2000):
        yield [
            r.pk, r.model_label, r.object_id, r.organization_id or "", r.batch_id or "",
            r.purged_by_id or "", r.purged_at.isoformat(), r.trigger, r.reason,
            r.deleted_at.isoformat() if r.deleted_at else "", r.total,
            ";".join(f"{k}={v}" for k, v in r.counts.items()),
        ]  # fmt: skip
