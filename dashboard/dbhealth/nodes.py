"""The database nodes DB health reads: the primary (Django's connection) and its streaming replicas.

An index that no query on the primary uses may serve the replicas' reads, so "unused" has to mean unused
on every node. Replicas come from REPLICA_DATABASE_URLS (settings.CUSTODIAN_DBHEALTH_REPLICAS). They are
not Django database aliases on purpose: nothing in the application reads from them, and the test runner
would try to create (or mirror) a test database for every alias, where a physical replica already has
the primary's databases. So a replica is reached with its URL's host, port and credentials, in the
primary's own database (the test database under pytest).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection

from dashboard.dbhealth.models import SnapshotRun
from dashboard.sidedb import CONNECT_TIMEOUT_SECONDS

# The primary is read through Django's default alias, and its snapshots are named after it.
PRIMARY = DEFAULT_DB_ALIAS


@dataclass(frozen=True)
class Replica:
    name: str  # host:port, what a DBA recognises
    host: str
    port: int
    user: str
    password: str


def replicas_configured() -> list[Replica]:
    return [Replica(**replica) for replica in settings.CUSTODIAN_DBHEALTH_REPLICAS]


@contextmanager
def replica_connection(replica: Replica) -> Iterator[psycopg.Connection]:
    conn = psycopg.connect(
        host=replica.host,
        port=replica.port,
        user=replica.user,
        password=replica.password or None,
        dbname=connection.settings_dict["NAME"],
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        autocommit=True,
    )
    try:
        yield conn
    finally:
        conn.close()


# Each replica's scans since the window's start, per index and per day, from the daily rollups its snapshots
# wrote (each node's deltas are taken against its own previous snapshot, so its resets are its own): one
# scan of the replicas' rows whatever their number, both sums in one pass.
REPLICA_SCANS_SQL = """
SELECT node, day, schema_name, table_name, index_name, SUM(scans)
FROM dbhealth_indexdailystat
WHERE node = ANY(%(nodes)s) AND day >= %(from)s
GROUP BY GROUPING SETS ((node, schema_name, table_name, index_name), (node, day))
"""

# Each replica's latest snapshot: one backward walk of the taken_at index per node, in one query.
REPLICA_LATEST_SQL = """
SELECT r.* FROM unnest(%s::text[]) AS n(node)
CROSS JOIN LATERAL (
    SELECT * FROM dbhealth_snapshotrun s WHERE s.node = n.node ORDER BY s.taken_at DESC, s.id DESC LIMIT 1
) r
"""


@dataclass
class ReplicaReadings:
    """What the replicas' snapshots say about a window, read once per page: two queries whatever the number
    of replicas (none when no replica is configured)."""

    # Each configured replica's latest snapshot, in configuration order (one that failed says why in
    # `error`; a replica never read gets an unsaved run saying so).
    latest: list[SnapshotRun] = field(default_factory=list)
    scans: dict[str, dict[tuple[str, str, str], int]] = field(default_factory=dict)  # node -> index -> scans
    daily: dict[str, dict[date, int]] = field(default_factory=dict)  # node -> day -> scans of every index


def replica_latest_list() -> list[SnapshotRun]:
    """Each configured replica's latest snapshot (an unreadable replica's says why in `error`)."""
    names = [replica.name for replica in replicas_configured()]
    if not names:
        return []
    found = {run.node: run for run in SnapshotRun.objects.raw(REPLICA_LATEST_SQL, [names])}
    missing = "No snapshot yet."
    return [found.get(name) or SnapshotRun(node=name, error=missing, taken_at=None) for name in names]


def replica_readings_in_window(start: datetime) -> ReplicaReadings:
    """Index scans on each replica since `start`, per index and per day (see REPLICA_SCANS_SQL)."""
    latest = replica_latest_list()
    if not latest:
        return ReplicaReadings()
    names = [run.node for run in latest]
    readings = ReplicaReadings(latest, {name: {} for name in names}, {name: {} for name in names})
    with connection.cursor() as cursor:
        cursor.execute(REPLICA_SCANS_SQL, {"nodes": names, "from": start.date()})
        for node, day, schema, table, index, scans in cursor.fetchall():
            if day is None:
                readings.scans[node][(schema, table, index)] = int(scans)
            else:
                readings.daily[node][day] = int(scans)
    return readings


def scans_per_node_daily(
    primary_daily: dict[date, int], replicas: ReplicaReadings, start: datetime
) -> list[tuple[str, date, int]]:
    """(node, day, scans) for every node since `start`, for the per-node chart: the primary's per-day sums
    are the scans chart's (the same rollup rows, not read twice), the replicas' from their readings."""
    rows = [(PRIMARY, day, scans) for day, scans in sorted(primary_daily.items()) if day >= start.date()]
    for node, days in replicas.daily.items():
        rows.extend((node, day, scans) for day, scans in sorted(days.items()))
    return rows
