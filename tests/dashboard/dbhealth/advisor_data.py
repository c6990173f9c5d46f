"""The index advisor tests' data: SQL on Django's connection, a workload in pg_stat_statements.

The fixtures that use them (`tickets`, `without_index`) are in this package's conftest.
"""

from __future__ import annotations

from django.db import connection

from tests.conditions import wait_until


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


def vacuum_all_visible(table: str) -> None:
    """VACUUM ANALYZE `table` until every page of it is all-visible, as autovacuum leaves a settled table.

    A snapshot older than the rows keeps VACUUM from marking their pages: another session of the database
    in a transaction, an autoanalyze of another table (ANALYZE holds one, VACUUM does not). One such, late
    in a full run, left the pages unmarked and a plan test without its index-only scan; this waits for it to
    end."""

    def all_visible() -> bool:
        sql(f"VACUUM ANALYZE {table}")
        [(pages, visible)] = sql("SELECT relpages, relallvisible FROM pg_class WHERE relname = %s", [table])
        return visible >= pages

    def holders() -> str:
        held = sql(
            "SELECT pid, backend_type, state, left(query, 80) FROM pg_stat_activity "
            "WHERE datname = current_database() AND backend_xmin IS NOT NULL AND pid <> pg_backend_pid()"
        )
        return f"every page of {table} all-visible (sessions holding back VACUUM: {held})"

    wait_until(all_visible, timeout=60, what=holders, interval=0.5)
