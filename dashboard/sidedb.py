"""A connection of its own beside Django's, to the same database, in autocommit.

For writes that must be seen while the caller's transaction is still open, or kept when it rolls back: a
job's progress during an import that is one transaction (dashboard.jobs), a constraint violation recorded
while the failed statement's transaction unwinds (dbhealth.recorder); and for session state that must
never reach the application's plans (the advisor's hypothetical indexes).

The ORM only runs on configured aliases, and a side alias would make the test runner create (or mirror) a
database for it, so this is a plain psycopg connection; `side_update` and `side_exists` run a queryset's
own SQL, as Django compiles it, on that connection, so no write is spelled out twice in raw SQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet
from django.db.models.sql import UpdateQuery

CONNECT_TIMEOUT_SECONDS = 5


@contextmanager
def side_connection(using: str = DEFAULT_DB_ALIAS) -> Iterator[psycopg.Connection]:
    """A fresh autocommit connection to the database of Django's `using`, closed on exit."""
    params = connections[using].get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    conn = psycopg.connect(**params, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS)
    try:
        yield conn
    finally:
        conn.close()


def side_update(conn: psycopg.Connection, queryset: QuerySet, **fields: Any) -> int:
    """`queryset.update(**fields)` run on `conn`; the number of rows it changed."""
    query = queryset.query.chain(UpdateQuery)
    query.add_update_values(fields)
    sql, params = query.get_compiler(queryset.db).as_sql()
    return conn.execute(sql, params).rowcount


def side_exists(conn: psycopg.Connection, queryset: QuerySet) -> bool:
    """`queryset.exists()` asked on `conn`: sees what `conn` sees, not the caller's open transaction."""
    sql, params = queryset.values("pk")[:1].query.sql_with_params()
    return conn.execute(sql, params).fetchone() is not None
