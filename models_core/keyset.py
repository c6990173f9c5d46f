"""Reading a big table in chunks: the one keyset loop of the project."""

from __future__ import annotations

from collections.abc import Iterator

from django.db import models


def keyset_chunks(queryset: models.QuerySet, chunk_size: int) -> Iterator[list[models.Model]]:
    """The rows of `queryset` in primary-key order, `chunk_size` at a time.

    Each chunk is one query `pk > last pk seen` (an index range scan, never an OFFSET that rereads what came
    before), and only one chunk is in memory. Rows the caller deletes or changes between chunks do not shift
    the next one.
    """
    last_pk = None
    while True:
        rows = queryset.order_by("pk")
        if last_pk is not None:
            rows = rows.filter(pk__gt=last_pk)
        chunk = list(rows[:chunk_size])
        if not chunk:
            return
        yield chunk
        last_pk = chunk[-1].pk
