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
from dataclasses import dataclass
from datetime import datetime

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection
from django.db.models import Sum

from dashboard.dbhealth.models import IndexDailyStat, SnapshotRun
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


@dataclass
class NodeScans:
    node: str
    latest: SnapshotRun | None  # the node's latest readable snapshot
    scans: dict[tuple[str, str, str], int]


def replica_scans_in_window(start: datetime) -> list[NodeScans]:
    """Index scans on each replica since `start`, from the daily rollups its snapshots wrote (each node's
    deltas are taken against its own previous snapshot, so its resets are its own)."""
    result = []
    for replica in replicas_configured():
        latest = SnapshotRun.objects.filter(node=replica.name, error="").order_by("-taken_at", "-id").first()
        rows = (
            IndexDailyStat.objects.filter(node=replica.name, day__gte=start.date())
            .values_list("schema_name", "table_name", "index_name")
            .annotate(total=Sum("scans"))
        )
        result.append(NodeScans(replica.name, latest, {(s, t, i): int(n) for s, t, i, n in rows}))
    return result


def scans_per_node_daily(start: datetime) -> list[tuple[str, object, int]]:
    """(node, day, scans) for every node since `start`, from the daily rollups, for the per-node chart."""
    return list(
        IndexDailyStat.objects.filter(day__gte=start.date())
        .values_list("node", "day")
        .annotate(total=Sum("scans"))
        .order_by("node", "day")
    )
