"""Benchmark: the DB health index page over 90 days of hourly snapshots of 300 indexes.

Generates 300 indexes x (days + 1) x 24 hourly snapshots (648,000+ readings at 90 days) and their daily
rollups (the rows each snapshot adds as it is taken), then times, in the same run:
- the index usage page (GET, as platform staff, the whole view: live catalog, findings, three charts),
- the scans-per-day chart's query alone (daily rollups),
- the baseline: a raw aggregate of the window's readings (scans per index from the hourly rows),
- the query the chart ran before rollups (window functions over every hourly reading), for reference.
Prints each time and the page's ratio to the raw aggregate. Everything is rolled back.

    .venv/bin/python bench/dbhealth_page.py          # 300 indexes, 90 days
    .venv/bin/python bench/dbhealth_page.py 300 30
"""

from __future__ import annotations

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

GENERATE_SQL = """
INSERT INTO dbhealth_snapshotrun (taken_at, stats_reset, source, index_count, table_count, node)
SELECT now() - make_interval(hours => h), NULL, 'job', %(indexes)s, 0, 'default'
FROM generate_series(0, %(hours)s) h;

INSERT INTO dbhealth_indexsnapshot (run_id, schema_name, table_name, index_name, method, idx_scan,
    idx_tup_read, idx_tup_fetch, size_bytes, is_valid, is_unique, is_primary, is_exclusion, definition)
SELECT r.id, 'public', 'bench_table_' || (n %% 40), 'bench_index_' || n, 'btree',
       -- a steady rate per index, some never scanned
       CASE WHEN n %% 7 = 0 THEN 0
            ELSE (extract(epoch FROM r.taken_at - now() + interval '100 days') / 3600)::bigint * (n %% 13)
       END,
       0, 0, 8192 * (1 + n), true, false, false, false, ''
FROM dbhealth_snapshotrun r CROSS JOIN generate_series(1, %(indexes)s) n;
"""

RAW_AGGREGATE_SQL = """
SELECT i.schema_name, i.table_name, i.index_name, MAX(i.idx_scan) - MIN(i.idx_scan), MAX(i.size_bytes)
FROM dbhealth_indexsnapshot i JOIN dbhealth_snapshotrun r ON r.id = i.run_id
WHERE r.taken_at >= %(from)s
GROUP BY 1, 2, 3
"""

# The scans-per-day query before daily rollups (sorted every window's readings on each page view).
OLD_DAILY_SQL = """
WITH runs AS (
    SELECT id, taken_at, stats_reset,
           LAG(stats_reset) OVER (ORDER BY taken_at, id) AS prev_reset,
           LAG(id) OVER (ORDER BY taken_at, id) AS prev_id
    FROM dbhealth_snapshotrun WHERE taken_at >= %(from)s
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


def main() -> None:
    import importlib

    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    from dashboard.dbhealth import selectors, trends
    from models_core.models import User

    indexes = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    days = int(sys.argv[2]) if len(sys.argv) > 2 else 90
    backfill = importlib.import_module(
        "dashboard.dbhealth.migrations.0002_daily_rollups_and_writes"
    ).BACKFILL_SQL
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM dbhealth_indexdailystat")
                cursor.execute("DELETE FROM dbhealth_indexsnapshot")
                cursor.execute("DELETE FROM dbhealth_tablesnapshot")
                cursor.execute("DELETE FROM dbhealth_snapshotrun")
                started = time.perf_counter()
                cursor.execute(GENERATE_SQL, {"indexes": indexes, "hours": (days + 1) * 24})
                # The rows the snapshots would have added one by one as they were taken.
                cursor.execute(backfill)
                cursor.execute("SELECT count(*) FROM dbhealth_indexsnapshot")
                (readings,) = cursor.fetchone()
                cursor.execute("SELECT count(*) FROM dbhealth_indexdailystat")
                (daily,) = cursor.fetchone()
                cursor.execute(
                    "ANALYZE dbhealth_snapshotrun, dbhealth_indexsnapshot, dbhealth_indexdailystat"
                )
            print(
                f"{indexes} indexes x {days + 1} days hourly: {readings:,} readings, {daily:,} daily rows "
                f"(generated in {time.perf_counter() - started:.1f} s)"
            )
            user = User.objects.create_superuser(f"bench-{time.time_ns()}", password=None, is_staff=True)
            client = Client()
            client.force_login(user)
            url = reverse("dashboard:dbhealth:index_usage") + f"?days={days}"
            window = selectors.window_for(days)
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

            if os.environ.get("BENCH_QUERIES"):
                from django.test.utils import CaptureQueriesContext

                with CaptureQueriesContext(connection) as queries:
                    start = time.perf_counter()
                    page()
                    total = (time.perf_counter() - start) * 1000
                sql_ms = sum(float(q["time"]) for q in queries.captured_queries) * 1000
                print(f"page {total:.0f} ms, of which {len(queries)} queries {sql_ms:.0f} ms; slowest:")
                for q in sorted(queries.captured_queries, key=lambda q: -float(q["time"]))[:6]:
                    print(f"  {float(q['time']) * 1000:7.1f} ms  {' '.join(q['sql'].split())[:150]}")
            page_ms = timed(page)
            chart_ms = timed(lambda: trends.index_scans_daily(window))
            raw_ms = timed(raw)
            old_ms = timed(old, repeat=1, warm_up=False)  # seconds each: once is enough
            print(f"index page ({days} days)           {page_ms:8.1f} ms   goal <= 300 ms")
            print(f"scans-per-day chart (rollups)      {chart_ms:8.1f} ms")
            print(f"raw aggregate of the readings      {raw_ms:8.1f} ms   (baseline)")
            print(f"chart query before rollups         {old_ms:8.1f} ms")
            print(
                f"page / raw aggregate: {page_ms / raw_ms:.2f}x; chart / raw: {chart_ms / raw_ms:.2f}x; "
                f"old chart query / raw: {old_ms / raw_ms:.2f}x"
            )
            raise Rollback
    except Rollback:
        pass


if __name__ == "__main__":
    main()
