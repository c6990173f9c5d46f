"""Report exports: the rows a capability's page shows, as a tablib Dataset, built from that capability's own
selectors (scoping and filters included). Views in dashboard.dataio.views turn them into downloads.

Each builder stops at settings.CUSTODIAN_EXPORT_MAX_ROWS rows and reads in pages, so memory stays bounded by
the cap, not by the size of the table. `truncated` on the result says whether the cap cut it short.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import tablib
from django.conf import settings

from .services import dataset_build


@dataclass
class Report:
    dataset: tablib.Dataset
    filename_stem: str
    truncated: bool = False


# Trash listing (dashboard.trash)
# ----------------------------------------------------------------------------------------------------

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


def trash_report(user: Any, filters: Any) -> Report:
    """Every trashed row the trash list shows this user for `filters`, newest first (its keyset pages)."""
    from dashboard.trash import selectors

    limit = settings.CUSTODIAN_EXPORT_MAX_ROWS
    rows: list[list] = []
    cursor = None
    truncated = False
    while True:
        page = selectors.trash_list(user, filters, cursor, page_size=min(TRASH_PAGE, limit))
        for row in page.rows:
            if len(rows) >= limit:
                truncated = True
                break
            obj = row.obj
            rows.append(
                [
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
            )
        if truncated or not page.next_cursor:
            break
        cursor = selectors.TrashCursor.decode(page.next_cursor)
    return Report(dataset_build(TRASH_HEADERS, rows, title="Trash"), "trash", truncated)


# Index findings (dashboard.dbhealth)
# ----------------------------------------------------------------------------------------------------

FINDING_HEADERS = ["kind", "table", "index", "detail", "action", "size_bytes"]


def index_findings_report(days: int) -> Report:
    """The findings the index usage page lists for a window of `days` (unused, duplicate, invalid, bloated,
    missing, undeclared, differs), from the same selectors."""
    from dashboard.dbhealth import selectors

    window = selectors.window_for(days)
    indexes = selectors.index_usage_list(window)
    findings = selectors.index_findings_list(window, indexes)
    rows = [[f.kind, f.table, f.index, f.detail, f.action, f.size_bytes] for f in findings]
    return Report(dataset_build(FINDING_HEADERS, rows, title="Index findings"), f"index-findings-{days}d")
