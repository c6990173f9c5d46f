"""Reading a big table in chunks: the one keyset loop of the project."""

from __future__ import annotations

from collections.abc import Iterator

from django.db import models


def keyset_chunks(
    queryset: models.QuerySet, chunk_size: int, *, descending: bool = False
) -> Iterator[list[models.Model]]:
    """The rows of `queryset` in primary-key order (`descending`: newest first), `chunk_size` at a time.

    Each chunk is one query `pk > last pk seen` (an index range scan, never an OFFSET that rereads what came
    before), and only one chunk is in memory. Rows the caller deletes or changes between chunks do not shift
    the next one.
    """
    last_pk = None
    while True:
        rows = queryset.order_by("-pk" if descending else "pk")
        if last_pk is not None:
            rows = rows.filter(**{"pk__lt" if descending else "pk__gt": last_pk})
        chunk = list(rows[:chunk_size])
        if not chunk:
            return
        yield chunk
        last_pk = chunk[-1].pk


PAGE_LINK_DAMAGED = "The page link is damaged; start again from the first page."


def keyset_page(
    queryset: models.QuerySet, marker: str | None, size: int, *, descending: bool = False
) -> tuple[list[models.Model], int | None]:
    """One page of `queryset` by primary key, after the key `marker` from a "next page" link (None or "" for
    the first page): (rows, the marker of the next page or None). ValueError for a marker that is not a key
    (a hand-edited link): the page answers 400 with its message."""
    if marker not in (None, ""):
        if not str(marker).isdigit() or len(str(marker)) > 18:
            raise ValueError(PAGE_LINK_DAMAGED)
        queryset = queryset.filter(**{"pk__lt" if descending else "pk__gt": int(marker)})
    rows = list(queryset.order_by("-pk" if descending else "pk")[: size + 1])
    if len(rows) > size:
        return rows[:size], rows[size - 1].pk
    return rows, None
