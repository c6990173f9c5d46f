"""DB health's charts' data: scans per day from the daily rollups, one index's history, table usage in
the window, the latest snapshots."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from django.db import DEFAULT_DB_ALIAS, connection

from dashboard.dbhealth import nodes
from dashboard.dbhealth.models import (
    IndexDailyStat,
    SnapshotRun,
    TableSnapshot,
)
from dashboard.dbhealth.selectors import USER_SCHEMAS_SQL, Window, counter_since

TABLE_CATALOG_SQL = f"""
SELECT s.schemaname, s.relname, pg_total_relation_size(s.relid), COALESCE(s.seq_scan, 0),
       COALESCE(s.idx_scan, 0), s.n_live_tup, s.n_dead_tup,
       s.n_tup_ins + s.n_tup_upd - s.n_tup_hot_upd
FROM pg_stat_user_tables s
WHERE {USER_SCHEMAS_SQL}
"""


# The busiest `top` indexes of the window by name, and every day's scans of all indexes (with the indexes
# whose counter went down that day): a 90-day window reads one daily row per index and day (IndexDailyStat,
# written as snapshots are taken) and returns top + 1 rows per day. The busiest indexes' rows are their own
# (one per index and day), so only the window's per-index sums and the per-day sums are aggregated; the
# other indexes' series is the day's sum minus the busiest ones'.
SCANS_DAILY_SQL = """
WITH w AS MATERIALIZED (
    SELECT day, schema_name, table_name, index_name, scans, reset
    FROM dbhealth_indexdailystat WHERE node = %(node)s AND day >= %(from)s
), top AS (
    SELECT schema_name, table_name, index_name
    FROM w GROUP BY 1, 2, 3 HAVING SUM(scans) > 0
    ORDER BY SUM(scans) DESC, table_name, index_name LIMIT %(top)s
)
SELECT w.day, top.schema_name, top.table_name, top.index_name, w.scans, NULL
FROM w JOIN top ON top.schema_name = w.schema_name AND top.table_name = w.table_name
               AND top.index_name = w.index_name
UNION ALL
SELECT day, NULL, NULL, NULL, SUM(scans), array_agg(table_name || '.' || index_name) FILTER (WHERE reset)
FROM w GROUP BY day
ORDER BY 1
"""

OTHER_INDEXES = "other indexes"

# The snapshots after which the database's statistics had been reset (stats_reset changed since the node's
# previous snapshot): the window's runs compared in SQL, so only the resets reach Python.
RESETS_SQL = """
SELECT taken_at FROM (
    SELECT taken_at, stats_reset, LAG(stats_reset) OVER w AS previous, ROW_NUMBER() OVER w AS n
    FROM dbhealth_snapshotrun WHERE node = %(node)s AND taken_at >= %(from)s
    WINDOW w AS (ORDER BY taken_at, id)
) runs
WHERE n > 1 AND stats_reset IS DISTINCT FROM previous
ORDER BY taken_at
"""


@dataclass
class DailyScans:
    days: list[date]
    series: dict[str, list[int]]  # "table.index" -> scans per day, busiest first
    resets: list[datetime]  # snapshot times at which the database's statistics had been reset
    index_resets: list[tuple[date, str]]  # days on which one index's counter went down
    # "table.index" -> (schema, table, index) of each named series, for links to the index's own page
    keys: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    # Scans of every index per day (the named series and the rest): the primary's bars of the per-node chart
    day_totals: dict[date, int] = field(default_factory=dict)


def index_scans_daily(window: Window, top: int = 10, node: str = DEFAULT_DB_ALIAS) -> DailyScans:
    """Scans per day of the `top` busiest indexes (the rest summed), from the daily rollups.

    A reset between two snapshots never yields a negative delta: the day counts the scans since the reset (a
    lower bound) and the reset is reported for marking.
    """
    since = window.baseline.taken_at if window.baseline else window.start
    with connection.cursor() as cursor:
        cursor.execute(SCANS_DAILY_SQL, {"from": since.date(), "node": node, "top": top})
        rows = cursor.fetchall()
        cursor.execute(RESETS_SQL, {"from": since, "node": node})
        resets = [taken for (taken,) in cursor.fetchall()]
    days = sorted({row[0] for row in rows})
    day_pos = {day: n for n, day in enumerate(days)}
    per_index: dict[str, list[int]] = {}
    keys: dict[str, tuple[str, str, str]] = {}
    index_resets = []
    day_totals: dict[date, int] = {}
    other = [0] * len(days)
    for day, schema, table, index, scans, reset_labels in rows:
        if index is None:  # the day's sum over every index
            day_totals[day] = int(scans)
            other[day_pos[day]] += int(scans)
            index_resets.extend((day, name) for name in reset_labels or ())
        else:
            label = f"{table}.{index}"
            keys[label] = (schema, table, index)
            per_index.setdefault(label, [0] * len(days))[day_pos[day]] += int(scans)
            other[day_pos[day]] -= int(scans)
    totals = {label: sum(values) for label, values in per_index.items()}
    series = {label: per_index[label] for label in sorted(totals, key=lambda k: (-totals[k], k))}
    if any(other):
        series[OTHER_INDEXES] = other
    return DailyScans(days, series, resets, index_resets, keys, day_totals)


def index_history(
    schema: str, table: str, index: str, window: Window, node: str = DEFAULT_DB_ALIAS
) -> list[dict]:
    """One index's daily rows in the window (at most one per day): day, scans, size_bytes, reset."""
    since = (window.baseline.taken_at if window.baseline else window.start).date()
    return list(
        IndexDailyStat.objects.filter(
            node=node, schema_name=schema, table_name=table, index_name=index, day__gte=since
        )
        .order_by("day")
        .values("day", "scans", "size_bytes", "reset")
    )


def snapshot_count(limit: int = 2, node: str = DEFAULT_DB_ALIAS) -> int:
    """How many snapshots exist, counted up to `limit` (the empty charts only need 0, 1 or more)."""
    return len(SnapshotRun.objects.filter(node=node).values_list("pk", flat=True)[:limit])


@dataclass
class TableUsage:
    table: str
    size_bytes: int
    seq_scan: int
    idx_scan: int
    n_live_tup: int
    n_dead_tup: int
    writes: int = 0  # inserts and non-HOT updates in the window: each one writes every index of the table
    schema: str = "public"

    @property
    def scans(self) -> int:
        return self.seq_scan + self.idx_scan


def table_usage_list(window: Window) -> list[TableUsage]:
    """Every user table with its scans in the window (live counters minus the baseline snapshot)."""
    baseline: dict[tuple[str, str], tuple[int, int, int | None]] = {}
    if window.baseline is not None and not window.reset_in_window:
        baseline = {
            (s, t): (seq, idx, None if ins is None else ins + upd - hot)
            for s, t, seq, idx, ins, upd, hot in TableSnapshot.objects.filter(
                run=window.baseline
            ).values_list(
                "schema_name", "table_name", "seq_scan", "idx_scan", "n_tup_ins", "n_tup_upd", "n_tup_hot_upd"
            )
        }
    with connection.cursor() as cursor:
        cursor.execute(TABLE_CATALOG_SQL)
        rows = cursor.fetchall()
    tables = []
    for schema, table, size, seq, idx, live, dead, writes in rows:
        base_seq, base_idx, base_writes = baseline.get((schema, table), (None, None, None))
        tables.append(
            TableUsage(
                table,
                size or 0,
                counter_since(seq, base_seq),
                counter_since(idx, base_idx),
                live,
                dead,
                writes=counter_since(writes or 0, base_writes),
                schema=schema,
            )
        )
    return sorted(tables, key=lambda t: (-t.scans, t.table))


def snapshot_latest() -> SnapshotRun | None:
    return SnapshotRun.objects.filter(node=nodes.PRIMARY).order_by("-taken_at", "-id").first()


def replica_snapshot_latest_list() -> list[SnapshotRun]:
    """Each configured replica's latest snapshot (an unreadable replica's says why in `error`), one query."""
    return nodes.replica_latest_list()
