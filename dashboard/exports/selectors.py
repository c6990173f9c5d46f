"""Reads of export files: the requester's own only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from dashboard.exports.models import ExportFile, ExportFilePart
from dashboard.scoping import get_object_in_scope, is_console_user


def export_file_get_for_user(user: Any, export_id: Any) -> ExportFile:
    """One export file: its requester's only; Http404 for anyone else's (a colleague's, another
    organization's, even platform staff: a file holds what its requester may see) and for bad ids."""
    mine = ExportFile.objects.none()
    if is_console_user(user):
        mine = ExportFile.objects.filter(requested_by=user).select_related("job")
    return get_object_in_scope(ExportFile.objects.all(), user, export_id, scoped=mine)


def export_file_bytes(export: ExportFile) -> Iterator[bytes]:
    """The file's parts in order, one query per part (CUSTODIAN_EXPORT_PART_BYTES each): a keyset on the
    part's number, so a download holds one part in memory whatever the file's size."""
    after = 0
    while True:
        part = (
            ExportFilePart.objects.filter(export=export, number__gt=after)
            .order_by("number")
            .values_list("number", "data")
            .first()
        )
        if part is None:
            return
        after, data = part
        yield bytes(data)
