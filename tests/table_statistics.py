"""A table's planner statistics as earlier tests leave them, for the tests that assert a plan (and the trash
indexes such a test puts away so the planner has one to choose).

The planner sizes a table from pg_class.relpages and reltuples, which ANALYZE and VACUUM write in place: they
outlive the transaction of the test that ran them, and autovacuum writes them whenever it passes. A plan
assertion runs after whatever tests pytest-randomly put before it, so it is parametrized over these states
(each one made a plan test fail in a random-order run).
"""

from django.db import connection, connections

STATES = ["as_created", "vacuumed_beside", "bloated_then_analyzed"]


def statistics_make_stale(*, table: str, state: str) -> None:
    """Leave `table`'s statistics in `state` (the test's own rows stay, uncommitted)."""
    if state == "vacuumed_beside":
        # Autovacuum passing while a test's rows are uncommitted: it counts no live tuple on the table's
        # pages, and a planner that believes the table empty costs every plan of it the same.
        other = connections.create_connection("default")
        try:
            with other.cursor() as cursor:
                cursor.execute(f"VACUUM {table}")
        finally:
            other.close()
    elif state == "bloated_then_analyzed":
        # Rolled-back tests leave dead row versions that only a vacuum clears, and an ANALYZE in an earlier
        # test counted its few rows on all those pages: a fraction of a tuple a page.
        with connection.cursor() as cursor:
            for _ in range(100):
                cursor.execute(f"UPDATE {table} SET id = id")
            cursor.execute(f"ANALYZE {table}")
    else:
        assert state == "as_created", state


def trash_indexes_drop_but(model, index: str) -> None:
    """Drop (for the test, rolled back) every index of the trash, and every trigram index, but `index`: on a
    tiny table the planner would rather filter a listing index, read all of another trigram index of the
    trash (GIN scans a whole index when its WHERE is all a query needs), or answer a trash search from the
    trigram index over every row (idx_ticket_search_gin, same cost on a few rows: seen once in a soak after
    the bloated-then-analyzed state), depending on the statistics earlier tests left."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT string_agg(quote_ident(indexname), ', ') FROM pg_indexes WHERE tablename = %s "
            "AND (indexdef LIKE '%%deleted_at IS NOT NULL%%' OR indexdef LIKE '%%gin_trgm_ops%%') "
            "AND indexname <> %s",
            [model._meta.db_table, index],
        )
        cursor.execute(f"DROP INDEX {cursor.fetchone()[0]}")
