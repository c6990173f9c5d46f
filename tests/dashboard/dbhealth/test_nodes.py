"""Index usage on every node: snapshots of a real streaming replica, started by `scripts/pg.sh replica`.

A query run only on the replica marks its index as used there, so it leaves the unused list and shows as
used on that node. Each node's counters (and resets) are taken on their own.
"""

from __future__ import annotations

import os
import subprocess
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dashboard.dbhealth import index_findings, nodes, selectors, trends
from dashboard.dbhealth.models import IndexDailyStat, IndexSnapshot, SnapshotRun
from dashboard.dbhealth.services import dbhealth_snapshot_take, index_daily_rollup
from tests.conditions import wait_until

ROOT = Path(settings.BASE_DIR)
INDEX = "test_replica_only_idx"
WAIT_SECONDS = 30


def _replica_address() -> tuple[str, int]:
    if os.environ.get("DATABASE_URL"):
        pytest.skip("DATABASE_URL is set: the harness only starts replicas of its private cluster")
    subprocess.run([str(ROOT / "scripts/pg.sh"), "replica", "start"], check=True, capture_output=True)
    return "127.0.0.1", int((ROOT / ".pg/replica/port").read_text().strip())


@pytest.fixture(scope="session")
def replica_address():
    return _replica_address()


@pytest.fixture
def replica(replica_address, settings):
    host, port = replica_address
    settings.CUSTODIAN_DBHEALTH_REPLICAS = [
        {"name": f"{host}:{port}", "host": host, "port": port, "user": "postgres", "password": ""}
    ]
    return nodes.replicas_configured()[0]


def _wait_for(check, what: str):
    return wait_until(check, timeout=WAIT_SECONDS, what=what)


def _on_replica(replica: nodes.Replica, sql: str) -> list[tuple]:
    with nodes.replica_connection(replica) as conn:
        return conn.execute(sql).fetchall()


@pytest.fixture
def replica_index(transactional_db, replica):
    """An index nothing on the primary reads, present on the replica once replay has caught up."""
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE INDEX {INDEX} ON models_core_ticket (customer_satisfaction_score)")
    _wait_for(
        lambda: _on_replica(replica, f"SELECT 1 FROM pg_class WHERE relname = '{INDEX}'"),
        "the replica to replay the CREATE INDEX",
    )
    yield INDEX
    with connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX IF EXISTS {INDEX}")


def _replica_scans(replica: nodes.Replica) -> int:
    rows = _on_replica(replica, f"SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = '{INDEX}'")
    return rows[0][0] if rows else 0


def _finding_kinds(index_name: str) -> set[str]:
    window = selectors.window_for(30)
    indexes = selectors.index_usage_list(window)
    # The test index is tiny: no size floor, so "unused" can show.
    findings = index_findings.index_unused_list(
        window, indexes, min_bytes=0
    ) + index_findings.index_replica_only_list(indexes)
    return {f.kind for f in findings if f.index == index_name}


@pytest.mark.slow
def test_an_index_used_only_on_the_replica_is_not_unused_and_says_where_it_is_used(
    replica, replica_index, client, dba
):
    dbhealth_snapshot_take()
    assert "unused" in _finding_kinds(replica_index)

    before = _replica_scans(replica)
    with nodes.replica_connection(replica) as conn:
        conn.execute("SET enable_seqscan = off")
        conn.execute("SET enable_bitmapscan = off")
        plan = conn.execute(
            "EXPLAIN SELECT id FROM models_core_ticket WHERE customer_satisfaction_score = 5"
        ).fetchall()
        assert INDEX in str(plan)
        conn.execute("SELECT id FROM models_core_ticket WHERE customer_satisfaction_score = 5").fetchall()
    # A backend flushes its statistics when it ends; wait for them to be visible, not for a fixed time.
    _wait_for(lambda: _replica_scans(replica) > before, "the replica's statistics to count the scan")

    dbhealth_snapshot_take()

    kinds = _finding_kinds(replica_index)
    assert "unused" not in kinds and "replica_only" in kinds
    window = selectors.window_for(30)
    usage = {i.name: i for i in selectors.index_usage_list(window)}[replica_index]
    assert usage.scans_by_node[nodes.PRIMARY] == 0
    assert usage.scans_by_node[replica.name] >= 1
    finding = next(f for f in index_findings.index_replica_only_list([usage]) if f.index == replica_index)
    assert replica.name in finding.detail

    client.force_login(dba)
    body = client.get(reverse("dashboard:dbhealth:index_usage")).content.decode()
    assert 'data-testid="nodes-chart"' in body and f'data-node="{replica.name}"' in body
    assert f'data-node-scans="{replica.name}"' in body


@pytest.mark.slow
def test_an_unreachable_replica_is_recorded_with_its_error_and_the_primary_is_still_read(
    transactional_db, settings
):
    settings.CUSTODIAN_DBHEALTH_REPLICAS = [
        {"name": "127.0.0.1:1", "host": "127.0.0.1", "port": 1, "user": "postgres", "password": ""}
    ]
    run = dbhealth_snapshot_take()
    assert run.node == nodes.PRIMARY and run.index_count > 0
    failed = SnapshotRun.objects.get(node="127.0.0.1:1")
    assert failed.error.startswith("Could not be read") and not failed.indexes.exists()
    assert trends.replica_snapshot_latest_list()[0].error == failed.error


def _snapshot(node: str, taken_at, reset, scans: int) -> SnapshotRun:
    run = SnapshotRun.objects.create(node=node, taken_at=taken_at, stats_reset=reset)
    IndexSnapshot.objects.create(
        run=run,
        schema_name="public",
        table_name="t",
        index_name="i",
        method="btree",
        idx_scan=scans,
        idx_tup_read=0,
        idx_tup_fetch=0,
        size_bytes=0,
        is_valid=True,
        is_unique=False,
        is_primary=False,
        is_exclusion=False,
        definition="",
    )
    index_daily_rollup(run)
    return run


@pytest.mark.django_db
def test_each_replica_counts_its_own_deltas_and_its_own_resets(settings):
    settings.CUSTODIAN_DBHEALTH_REPLICAS = [
        {"name": name, "host": "h", "port": 1, "user": "", "password": ""} for name in ("r1:1", "r2:1")
    ]
    now = timezone.now()
    reset_a, reset_b = now - timedelta(days=60), now - timedelta(days=2)
    for hours, scans in ((30, 100), (20, 110), (1, 130)):  # +10, +20
        _snapshot("r1:1", now - timedelta(hours=hours), reset_a, scans)
    _snapshot("r2:1", now - timedelta(hours=30), reset_a, 500)
    # A reading that failed in between is not the baseline of the next one.
    SnapshotRun.objects.create(node="r2:1", taken_at=now - timedelta(hours=2), error="Could not be read")
    _snapshot("r2:1", now - timedelta(hours=1), reset_b, 7)  # reset between: 7 since the reset
    # The primary's own readings never enter a replica's count.
    _snapshot(nodes.PRIMARY, now - timedelta(hours=30), reset_a, 0)
    _snapshot(nodes.PRIMARY, now - timedelta(hours=1), reset_a, 10_000)

    readings = nodes.replica_readings_in_window(now - timedelta(days=7))
    counts = {node: scans[("public", "t", "i")] for node, scans in readings.scans.items()}

    assert counts == {"r1:1": 30, "r2:1": 7}


def test_replica_urls_from_the_environment_become_nodes():
    from config.settings.base import replica_list

    assert replica_list(["postgres://ro:secret@replica-2.example.invalid:5433/custodian"]) == [
        {
            "name": "replica-2.example.invalid:5433",
            "host": "replica-2.example.invalid",
            "port": 5433,
            "user": "ro",
            "password": "secret",
        }
    ]


def test_replicas_are_reached_in_the_primary_database(replica_address, db):
    host, port = replica_address
    replica = nodes.Replica(f"{host}:{port}", host, port, "postgres", "")
    with nodes.replica_connection(replica) as conn:
        name, in_recovery = conn.execute("SELECT current_database(), pg_is_in_recovery()").fetchone()
    assert name == connection.settings_dict["NAME"] and in_recovery is True
    with pytest.raises(psycopg.Error), nodes.replica_connection(replica) as conn:
        conn.execute("CREATE TABLE nope (id int)")


def _replicas_named(settings, count: int) -> list[str]:
    names = [f"r{n}.example.invalid:5432" for n in range(1, count + 1)]
    settings.CUSTODIAN_DBHEALTH_REPLICAS = [
        {"name": name, "host": name.split(":")[0], "port": 5432, "user": "", "password": ""} for name in names
    ]
    return names


def _rollups(node: str, days: int, indexes: int = 3, scans: int = 5) -> None:
    """A node's hourly snapshots (two) and `days` days of daily rows for `indexes` indexes."""
    now = timezone.now()
    for hours in (2, 1):
        SnapshotRun.objects.create(node=node, taken_at=now - timedelta(hours=hours))
    IndexDailyStat.objects.bulk_create(
        IndexDailyStat(
            node=node,
            day=now.date() - timedelta(days=day),
            schema_name="public",
            table_name="t",
            index_name=f"i{n}",
            scans=scans * n,
            readings=24,
        )
        for day in range(days)
        for n in range(indexes)
    )


@pytest.mark.django_db
def test_the_index_page_reads_every_node_and_every_day_in_the_same_number_of_queries(client, dba, settings):
    client.force_login(dba)
    counts = {}
    for replicas, days in ((1, 2), (3, 2), (3, 30)):
        IndexDailyStat.objects.all().delete()
        SnapshotRun.objects.all().delete()
        names = _replicas_named(settings, replicas)
        for node in (nodes.PRIMARY, *names):
            _rollups(node, days)
        client.get(reverse("dashboard:dbhealth:index_usage"), {"days": 30})  # warm caches
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("dashboard:dbhealth:index_usage"), {"days": 30})
        body = response.content.decode()
        assert response.status_code == 200
        assert all(f'data-node="{name}"' in body for name in names) and 'data-testid="nodes-chart"' in body
        counts[(replicas, days)] = len(queries)
    # Before: three queries more per replica (its latest run twice, its sums per index and per day).
    assert len(set(counts.values())) == 1, counts


@pytest.mark.django_db
def test_the_per_node_chart_counts_every_index_of_every_node_from_the_window_start(settings):
    names = _replicas_named(settings, 2)
    now = timezone.now()
    # The window's baseline is a day older than its start: the scans chart reads from the baseline's day,
    # the per-node chart from the start's, as the sums of the rollups did.
    SnapshotRun.objects.create(node=nodes.PRIMARY, taken_at=now - timedelta(days=31, hours=12))
    _rollups(nodes.PRIMARY, 33, indexes=14)  # more than the scans chart's top 10, one never scanned
    for offset, name in enumerate(names, start=1):
        _rollups(name, 40, indexes=2, scans=offset)
    window = selectors.window_for(30)
    assert window.baseline.taken_at.date() < window.start.date()

    replicas = nodes.replica_readings_in_window(window.start)
    rows = nodes.scans_per_node_daily(trends.index_scans_daily(window).day_totals, replicas, window.start)

    expected = (
        IndexDailyStat.objects.filter(day__gte=window.start.date())
        .values_list("node", "day")
        .annotate(total=Sum("scans"))
        .order_by("node", "day")
    )
    assert sorted(rows) == sorted((node, day, int(total)) for node, day, total in expected)
    assert {node for node, _, _ in rows} == {nodes.PRIMARY, *names}
    assert [run.node for run in replicas.latest] == names
    assert replicas.scans[names[1]] == {("public", "t", "i0"): 0, ("public", "t", "i1"): 2 * 31}
