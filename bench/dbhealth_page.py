"""Benchmark: the DB health index page over 90 days of hourly snapshots of 300 indexes, on 1 or 3 nodes.

Generates 300 indexes x (days + 1) x 24 hourly snapshots per node (648,000+ readings per node at 90 days),
40 tables' readings per snapshot, and the daily rollups each snapshot adds as it is taken (one row per node,
index and day), then times, in the same run:
- the index usage page (GET, as platform staff, the whole view: live catalog, findings, charts),
- the scans-per-day chart's query alone (daily rollups),
- the baseline: a raw aggregate of the window's readings (scans per node and index from the hourly rows),
- the query the chart ran before rollups (window functions over every hourly reading), for reference.
With `--nodes 3` the primary's snapshots are generated and timed first (no replica configured), then two
replicas' snapshots are added (as the hourly job stores them: a run per node, named host:port, and the
node's own daily rows) and the page is timed again with both replicas configured. Prints each time, the
page's ratio to the raw aggregate and the 3-node page's ratio to the 1-node page. Everything is rolled back.

    .venv/bin/python bench/dbhealth_page.py                # 300 indexes, 90 days, 1 node
    .venv/bin/python bench/dbhealth_page.py --nodes 3      # the same, then 3 nodes
    .venv/bin/python bench/dbhealth_page.py 300 30
    BENCH_QUERIES=1 .venv/bin/python bench/dbhealth_page.py --nodes 3   # plus each page's slowest queries
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402

TABLES = 40

# One node's hourly runs (error '' as the job writes it for a node it could read), their index readings (a
# steady rate per index, some never scanned; `offset` varies which indexes a node uses) and table readings.
GENERATE_SQL = """
INSERT INTO dbhealth_snapshotrun (taken_at, stats_reset, source, index_count, table_count, node, error)
SELECT now() - make_interval(hours => h), NULL, 'job', %(indexes)s, %(tables)s, %(node)s, ''
FROM generate_series(0, %(hours)s) h;

INSERT INTO dbhealth_indexsnapshot (run_id, schema_name, table_name, index_name, method, idx_scan,
    idx_tup_read, idx_tup_fetch, size_bytes, is_valid, is_unique, is_primary, is_exclusion, definition)
SELECT r.id, 'public', 'bench_table_' || (n %% %(tables)s), 'bench_index_' || n, 'btree',
       CASE WHEN (n + %(offset)s) %% 7 = 0 THEN 0
            ELSE (extract(epoch FROM r.taken_at - now() + interval '100 days') / 3600)::bigint
                 * ((n + %(offset)s) %% 13)
       END,
       0, 0, 8192 * (1 + n), true, false, false, false, ''
FROM dbhealth_snapshotrun r CROSS JOIN generate_series(1, %(indexes)s) n
WHERE r.node = %(node)s;

INSERT INTO dbhealth_tablesnapshot (run_id, schema_name, table_name, size_bytes, seq_scan, idx_scan,
    n_live_tup, n_dead_tup, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del)
SELECT r.id, 'public', 'bench_table_' || t, 8192 * 100 * (1 + t), 0, 0, 1000, 0, 0, 0, 0, 0
FROM dbhealth_snapshotrun r CROSS JOIN generate_series(0, %(tables)s - 1) t
WHERE r.node = %(node)s;
"""

# The daily rows one node's snapshots would have added one by one as they were taken
# (dbhealth.services.index_daily_rollup: each run's deltas against the node's previous run).
ROLLUP_SQL = """
WITH readings AS (
    SELECT r.taken_at, i.schema_name, i.table_name, i.index_name, i.idx_scan, i.size_bytes,
           LAG(i.idx_scan) OVER w AS prev_scan,
           ROW_NUMBER() OVER (PARTITION BY i.schema_name, i.table_name, i.index_name,
                              (r.taken_at AT TIME ZONE 'UTC')::date
                              ORDER BY r.taken_at DESC, r.id DESC) AS last
    FROM dbhealth_indexsnapshot i JOIN dbhealth_snapshotrun r ON r.id = i.run_id
    WHERE r.node = %(node)s
    WINDOW w AS (PARTITION BY i.schema_name, i.table_name, i.index_name ORDER BY r.taken_at, r.id)
)
INSERT INTO dbhealth_indexdailystat (node, day, schema_name, table_name, index_name, scans, size_bytes,
                                     reset, readings)
SELECT %(node)s, (taken_at AT TIME ZONE 'UTC')::date, schema_name, table_name, index_name,
       SUM(CASE WHEN idx_scan < prev_scan THEN idx_scan ELSE idx_scan - prev_scan END),
       MAX(CASE WHEN last = 1 THEN size_bytes END), bool_or(idx_scan < prev_scan), COUNT(*)
FROM readings
WHERE prev_scan IS NOT NULL
GROUP BY 2, 3, 4, 5
"""

RAW_AGGREGATE_SQL = """
SELECT r.node, i.schema_name, i.table_name, i.index_name, MAX(i.idx_scan) - MIN(i.idx_scan),
       MAX(i.size_bytes)
FROM dbhealth_indexsnapshot i JOIN dbhealth_snapshotrun r ON r.id = i.run_id
WHERE r.taken_at >= %(from)s
GROUP BY 1, 2, 3, 4
"""

# The scans-per-day query before daily rollups (sorted every window's readings on each page view).
OLD_DAILY_SQL = """
WITH runs AS (
    SELECT id, taken_at, stats_reset,
           LAG(stats_reset) OVER (ORDER BY taken_at, id) AS prev_reset,
           LAG(id) OVER (ORDER BY taken_at, id) AS prev_id
    FROM dbhealth_snapshotrun WHERE taken_at >= %(from)s AND node = 'default'
), readings AS (
    SELECT r.taken_at, r.prev_id,
           r.prev_id IS NOT NULL AND r.stats_reset IS DISTINCT FROM r.prev_reset AS db_reset,
           i.schema_name, i.table_name, i.index_name, i.idx_scan,
           LAG(i.idx_scan) OVER w AS prev_scan
    FROM dbhealth_indexsnapshot i JOIN runs r ON r.id = i.run_id
    WINDOW w AS (PARTITION BY i.schema_name, i.table_name, i.index_name ORDER BY r.taken_at, r.id)
)
SELECT date_trunc('day', taken_at) AS day, schema_name, table_name, index_name,
       SUM(CASE WHEN prev_id IS NULL THEN 0
                WHEN prev_scan IS NULL OR db_reset OR idx_scan < prev_scan THEN idx_scan
                ELSE idx_scan - prev_scan END) AS scans
FROM readings WHERE prev_id IS NOT NULL GROUP BY 1, 2, 3, 4
"""


class Rollback(Exception):
    pass


def timed(fn, repeat: int = 5, warm_up: bool = True) -> float:
    """Median milliseconds of `repeat` runs (after one warm-up)."""
    if warm_up:
        fn()
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - start) * 1000)
    return statistics.median(runs)


def alternating(fns: list, rounds: int = 7) -> list[float]:
    """Median milliseconds of each function, run in turns `rounds` times (after one warm-up each)."""
    for fn in fns:
        fn()
    runs: list[list[float]] = [[] for _ in fns]
    for _ in range(rounds):
        for fn, times in zip(fns, runs, strict=True):
            start = time.perf_counter()
            fn()
            times.append((time.perf_counter() - start) * 1000)
    return [statistics.median(times) for times in runs]


def generate(node: str, offset: int, indexes: int, days: int) -> tuple[int, int]:
    """One node's snapshots and daily rows; returns (readings, daily rows) of that node."""
    with connection.cursor() as cursor:
        params = {
            "node": node,
            "offset": offset,
            "indexes": indexes,
            "tables": TABLES,
            "hours": (days + 1) * 24,
        }
        cursor.execute(GENERATE_SQL, params)
        cursor.execute(ROLLUP_SQL, {"node": node})
        daily = cursor.rowcount
        cursor.execute(
            "SELECT count(*) FROM dbhealth_indexsnapshot i JOIN dbhealth_snapshotrun r ON r.id = i.run_id "
            "WHERE r.node = %s",
            [node],
        )
        (readings,) = cursor.fetchone()
        cursor.execute(
            "ANALYZE dbhealth_snapshotrun, dbhealth_indexsnapshot, dbhealth_tablesnapshot, "
            "dbhealth_indexdailystat"
        )
    return readings, daily


def page_queries(page) -> int:
    """The page's query count; with BENCH_QUERIES set, also its slowest queries."""
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        start = time.perf_counter()
        page()
        total = (time.perf_counter() - start) * 1000
    if os.environ.get("BENCH_QUERIES"):
        sql_ms = sum(float(q["time"]) for q in queries.captured_queries) * 1000
        print(f"  page {total:.0f} ms, of which {len(queries)} queries {sql_ms:.0f} ms; slowest:")
        for q in sorted(queries.captured_queries, key=lambda q: -float(q["time"]))[:8]:
            print(f"    {float(q['time']) * 1000:7.1f} ms  {' '.join(q['sql'].split())[:160]}")
    return len(queries)


def main() -> None:
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    from dashboard.dbhealth import selectors, trends
    from models_core.models import User

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("indexes", type=int, nargs="?", default=300)
    parser.add_argument("days", type=int, nargs="?", default=90, choices=[7, 30, 90])
    parser.add_argument(
        "--nodes", type=int, default=1, choices=[1, 2, 3], help="the primary and N-1 replicas"
    )
    args = parser.parse_args()
    indexes, days = args.indexes, args.days
    replicas = [
        {
            "name": f"replica-{n}.bench.invalid:5432",
            "host": f"replica-{n}.bench.invalid",
            "port": 5432,
            "user": "",
            "password": "",
        }
        for n in range(1, args.nodes)
    ]
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM dbhealth_indexdailystat")
                cursor.execute("DELETE FROM dbhealth_indexsnapshot")
                cursor.execute("DELETE FROM dbhealth_tablesnapshot")
                cursor.execute("DELETE FROM dbhealth_snapshotrun")
            user = User.objects.create_superuser(f"bench-{time.time_ns()}", password=None, is_staff=True)
            client = Client()
            client.force_login(user)
            url = reverse("dashboard:dbhealth:index_usage") + f"?days={days}"
            since = timezone.now() - timezone.timedelta(days=days)

            def page() -> None:
                response = client.get(url)
                assert response.status_code == 200, response.status_code

            def raw() -> None:
                with connection.cursor() as cursor:
                    cursor.execute(RAW_AGGREGATE_SQL, {"from": since})
                    cursor.fetchall()

            def old() -> None:
                with connection.cursor() as cursor:
                    cursor.execute(OLD_DAILY_SQL, {"from": since})
                    cursor.fetchall()

            started = time.perf_counter()
            readings, daily = generate("default", 0, indexes, days)
            print(
                f"{indexes} indexes x {days + 1} days hourly on the primary: {readings:,} readings, "
                f"{daily:,} daily rows (generated in {time.perf_counter() - started:.1f} s)"
            )
            settings.CUSTODIAN_DBHEALTH_REPLICAS = []
            queries = page_queries(page)
            window = selectors.window_for(days)
            page_ms, raw_ms = timed(page), timed(raw)
            chart_ms = timed(lambda: trends.index_scans_daily(window))
            old_ms = timed(old, repeat=1, warm_up=False)  # seconds each: once is enough
            print(
                f"index page ({days} days), 1 node           {page_ms:8.1f} ms   goal <= 300 ms; "
                f"{queries} queries"
            )
            print(f"raw aggregate of the readings, 1 node     {raw_ms:8.1f} ms   (baseline)")
            print(f"scans-per-day chart (rollups), 1 node     {chart_ms:8.1f} ms")
            print(f"chart query before rollups, 1 node        {old_ms:8.1f} ms")
            print(f"page / raw aggregate: {page_ms / raw_ms:.2f}x; chart / raw: {chart_ms / raw_ms:.2f}x")
            if replicas:
                started = time.perf_counter()
                for offset, replica in enumerate(replicas, start=1):
                    readings, daily = generate(replica["name"], offset, indexes, days)
                print(
                    f"+ {len(replicas)} replicas, the same each: {readings:,} readings, {daily:,} daily rows "
                    f"(generated in {time.perf_counter() - started:.1f} s)"
                )
                settings.CUSTODIAN_DBHEALTH_REPLICAS = replicas
                queries_n = page_queries(page)

                def page_on(configured: list[dict]):
                    def run() -> None:
                        settings.CUSTODIAN_DBHEALTH_REPLICAS = configured
                        page()

                    return run

                # In turns, so a change of the machine's load moves both.
                one_ms, all_ms = alternating([page_on([]), page_on(replicas)])
                raw_n_ms = timed(raw)
                n = args.nodes
                print(
                    f"index page ({days} days), {n} nodes          {all_ms:8.1f} ms   goal <= 300 ms; "
                    f"{queries_n} queries"
                )
                print(f"index page, 1 node ({n} nodes' rows stored) {one_ms:8.1f} ms   (in turns with it)")
                print(f"raw aggregate of the readings, {n} nodes    {raw_n_ms:8.1f} ms   (baseline)")
                print(
                    f"page on {n} nodes / page on 1 node: {all_ms / one_ms:.2f}x (goal <= 1.5x); "
                    f"page / raw aggregate on {n} nodes: {all_ms / raw_n_ms:.2f}x"
                )
            raise Rollback
    except Rollback:
        pass


if __name__ == "__main__":
    main()
