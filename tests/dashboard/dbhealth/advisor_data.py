"""The index advisor tests' data: SQL on Django's connection, a workload in pg_stat_statements.

The fixtures that use them (`tickets`, `without_index`) are in this package's conftest.
"""

from __future__ import annotations

from django.db import connection


def sql(statement: str, params: list | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])
        return cursor.fetchall() if cursor.description else []


def workload(statement: str, params_list: list[list]) -> None:
    """Forget this database's statements (others of the cluster, a bench's, keep theirs), then run one."""
    sql(
        "SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database "
        "WHERE datname = current_database()), 0)"
    )
    for params in params_list:
        sql(statement, params)
