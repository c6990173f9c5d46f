"""From plan costs to server time: what a statement would take per call with the advised index.

The planner's costs leave out what every call pays whatever its plan (starting the executor, locking the
table and index, sending the rows), so for a statement an index makes nearly free, the cost ratio promises
far more than the clock gives: a top-50 page whose cost falls 200x runs perhaps 40x faster. The advisor
therefore measures that floor on this server, in the units the workload is measured in (pg_stat_statements'
execution time): a cheap index-served call that returns the same number of rows from the same table,
`SELECT ctid FROM t ORDER BY <primary key> LIMIT n` (row positions only, no value is read out; a table
without a one-column primary key is read in its physical order), run a few times on the advisor's own
connection (the median of a few batches). A statement's time with the index is then

    floor + (mean time - floor) * cost after / cost before

and the advice's estimated gain is its served statements' time before over that, weighted by calls.
"""

from __future__ import annotations

import statistics

import psycopg
from psycopg import sql

PROBE_MARKER = "custodian_advisor_probe"  # in the probe's text, so the advisor never examines its own probe
PROBE_BATCHES = 5
PROBE_BATCH_CALLS = 4
MAX_PROBE_ROWS = 10_000


class CallFloor:
    """The per-call floor of each (table, rows) pair, measured once per run."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        self.floors: dict[tuple[str, int], float | None] = {}

    def ms(self, table: str, rows: float) -> float | None:
        count = max(1, min(round(rows), MAX_PROBE_ROWS))
        key = (table, count)
        if key not in self.floors:
            self.floors[key] = self._measure(table, count)
        return self.floors[key]

    def _counters(self, queryid: int) -> tuple[int, float]:
        row = self.conn.execute(
            """
            SELECT COALESCE(SUM(s.calls), 0), COALESCE(SUM(s.total_exec_time), 0)
            FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
            WHERE d.datname = current_database() AND s.queryid = %s
            """,
            [queryid],
        ).fetchone()
        return int(row[0]), float(row[1])

    def _primary_key(self, table: str) -> str | None:
        rows = self.conn.execute(
            """
            SELECT a.attname FROM pg_index i
            JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
            WHERE i.indrelid = %s::regclass AND i.indisprimary
            """,
            [table],
        ).fetchall()
        return rows[0][0] if len(rows) == 1 else None

    def _measure(self, table: str, rows: int) -> float | None:
        try:
            key = self._primary_key(table)
            order = sql.SQL(" ORDER BY {}").format(sql.Identifier(key)) if key else sql.SQL("")
            probe = sql.SQL("SELECT ctid FROM {}{} LIMIT {} /* {} */").format(
                sql.Identifier(table), order, sql.Literal(rows), sql.SQL(PROBE_MARKER)
            )
            explained = self.conn.execute(
                sql.SQL("EXPLAIN (VERBOSE, FORMAT JSON) {}").format(probe), prepare=False
            ).fetchone()[0]
            queryid = explained[0].get("Query Identifier")
            if not queryid:
                return None  # compute_query_id is off: pg_stat_statements cannot tell the probe apart
            # The median of a few batches' means: one stall of a shared machine moves one batch only.
            means = []
            for _ in range(PROBE_BATCHES):
                calls, total = self._counters(queryid)
                with self.conn.cursor() as cursor:
                    for _ in range(PROBE_BATCH_CALLS):
                        cursor.execute(probe, prepare=False)
                        cursor.fetchall()
                calls_after, total_after = self._counters(queryid)
                if calls_after - calls < PROBE_BATCH_CALLS:
                    return None  # not tracked (pg_stat_statements.track), or the entry was evicted
                means.append((total_after - total) / (calls_after - calls))
        except psycopg.Error:
            return None
        return statistics.median(means)


def ms_with_index(mean_ms: float, cost_before: float, cost_after: float, floor_ms: float | None) -> float:
    """A statement's estimated time per call with the index, from its measured mean and its plan costs."""
    ratio = cost_after / cost_before if cost_before > 0 else 1.0
    if floor_ms is None or mean_ms <= floor_ms:
        return mean_ms * ratio if floor_ms is None else mean_ms
    return floor_ms + (mean_ms - floor_ms) * ratio
