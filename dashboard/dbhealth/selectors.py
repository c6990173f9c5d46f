"""Reads for DB health: the live catalog, the window of snapshots, index usage, provenance and drift
(findings: dashboard.dbhealth.index_findings, charts' data: dashboard.dbhealth.trends, constraint violations:
dashboard.dbhealth.violations).

Every query here reads catalog views, our own snapshot tables or aggregates: none touches customer rows, and
none counts a customer table. Sizes are bounded by the number of indexes (hundreds), snapshot rows in the
window (aggregated in SQL) and constraints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from dashboard.dbhealth import declarations, nodes
from dashboard.dbhealth.models import (
    DeclaredIndexDefinition,
    IndexSnapshot,
    SnapshotRun,
)

# Schemas the statistics views call "user" schemas, minus other sessions' temporary tables.
USER_SCHEMAS_SQL = "s.schemaname NOT LIKE 'pg_temp%%'"

INDEX_CATALOG_SQL = f"""
SELECT s.schemaname, s.relname, s.indexrelname, am.amname,
       s.idx_scan, s.idx_tup_read, s.idx_tup_fetch, pg_relation_size(s.indexrelid),
       i.indisvalid, i.indisunique, i.indisprimary,
       EXISTS (SELECT 1 FROM pg_constraint x WHERE x.conindid = i.indexrelid AND x.contype = 'x'),
       pg_get_indexdef(i.indexrelid),
       i.indkey::text, i.indclass::text, i.indoption::text, i.indcollation::text, i.indnkeyatts,
       COALESCE(pg_get_expr(i.indexprs, i.indrelid), ''), COALESCE(pg_get_expr(i.indpred, i.indrelid), ''),
       i.indexrelid::bigint, i.indnullsnotdistinct,
       -- The constraint this index enforces (p, u, x), if any: dropping it means dropping the constraint.
       (SELECT x.contype::text FROM pg_constraint x
        WHERE x.conindid = i.indexrelid AND x.conrelid = i.indrelid AND x.contype IN ('p', 'u', 'x') LIMIT 1),
       -- Foreign keys that reference the table through this index: DROP INDEX would fail.
       EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = i.indexrelid),
       -- A key column that may be NULL (an expression counts as one): NULLS NOT DISTINCT matters there.
       EXISTS (SELECT 1 FROM unnest(i.indkey[0:i.indnkeyatts - 1]) k(attnum)
               LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
               WHERE k.attnum = 0 OR NOT a.attnotnull),
       ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, true) FROM generate_series(1, i.indnkeyatts) k),
       -- Still being built by CREATE/REINDEX INDEX CONCURRENTLY: its progress row (visible to members of
       -- pg_read_all_stats and the builder's role), or, for others, another session holding a lock on the
       -- index or the SHARE UPDATE EXCLUSIVE lock a concurrent build keeps on its table.
       NOT i.indisvalid AND (
           EXISTS (SELECT 1 FROM pg_stat_progress_create_index p WHERE p.index_relid = i.indexrelid)
           OR EXISTS (SELECT 1 FROM pg_locks l
                      WHERE l.pid <> pg_backend_pid() AND l.granted AND l.database = (
                          SELECT oid FROM pg_database WHERE datname = current_database())
                        AND (l.relation = i.indexrelid
                             OR (l.relation = i.indrelid AND l.mode = 'ShareUpdateExclusiveLock'))))
FROM pg_stat_user_indexes s
JOIN pg_index i ON i.indexrelid = s.indexrelid
JOIN pg_class c ON c.oid = s.indexrelid
JOIN pg_am am ON am.oid = c.relam
WHERE {USER_SCHEMAS_SQL}
ORDER BY s.schemaname, s.relname, s.indexrelname
"""


@dataclass
class CatalogIndex:
    schema: str
    table: str
    name: str
    method: str
    idx_scan: int
    idx_tup_read: int
    idx_tup_fetch: int
    size_bytes: int
    is_valid: bool
    is_unique: bool
    is_primary: bool
    is_exclusion: bool
    definition: str
    keys: tuple[str, ...]
    opclasses: tuple[str, ...]
    options: tuple[str, ...]
    collations: tuple[str, ...]
    key_count: int
    expressions: str
    predicate: str
    oid: int = 0
    nulls_not_distinct: bool = False
    constraint_type: str | None = None  # "p", "u" or "x" when a table constraint owns the index
    referenced_by_foreign_key: bool = False
    nullable_key: bool = True
    key_definitions: tuple[str, ...] = ()  # each key column or expression as pg_get_indexdef prints it
    building: bool = False
    # Filled by index_usage_list():
    scans_in_window: int = 0  # on every node
    scans_by_node: dict[str, int] = field(default_factory=dict)
    provenance: str = ""
    declaration: str = ""
    drift: str = ""
    declared_definition: str | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.schema, self.table, self.name)

    @property
    def backs_constraint(self) -> bool:
        return self.is_unique or self.is_primary or self.is_exclusion

    @property
    def normalised_definition(self) -> str:
        return declarations.normalise_definition(self.definition, self.is_unique)

    @property
    def declared(self) -> declarations.DeclaredIndex | None:
        return declarations.declared_indexes().get(self.name) if self.schema == "public" else None

    @property
    def is_declared(self) -> bool:
        declared = self.declared
        return declared is not None and declared.table == self.table

    @property
    def include_keys(self) -> tuple[str, ...]:
        return self.keys[self.key_count :]


@dataclass
class Finding:
    kind: str  # unused, duplicate, invalid, bloated, missing, undeclared, differs
    table: str
    index: str
    detail: str
    action: str
    size_bytes: int = 0
    extra: dict = field(default_factory=dict)


@dataclass
class Window:
    days: int
    start: datetime  # the requested start
    baseline: SnapshotRun | None  # the snapshot the counts are measured from; None: since the last reset
    stats_reset: datetime | None  # pg_stat_database.stats_reset now
    reset_in_window: bool  # the counters restarted after the baseline: counts start at the reset
    # Since when the counts are known to run: the effective start, else (never reset, no baseline) the
    # oldest snapshot taken since the last reset, which proves the counters are at least that old.
    judged_from: datetime | None = None
    now: datetime | None = None
    min_days: int = 7  # CUSTODIAN_DBHEALTH_MIN_WINDOW_DAYS

    @property
    def effective_start(self) -> datetime | None:
        if self.baseline is not None and not self.reset_in_window:
            return self.baseline.taken_at
        return self.stats_reset

    @property
    def young(self) -> bool:
        """Too young to call an index unused: weekly or monthly jobs may not have run inside it yet."""
        if self.judged_from is None or self.now is None:
            return True
        return self.now - self.judged_from < timedelta(days=self.min_days)

    @property
    def judge_after(self) -> datetime | None:
        """When the counts will cover `min_days` (None: unknown until the first snapshot is taken)."""
        if self.judged_from is None:
            return None
        return self.judged_from + timedelta(days=self.min_days)


def _split(vector: str) -> tuple[str, ...]:
    return tuple(vector.split()) if vector else ()


def index_catalog_list() -> list[CatalogIndex]:
    """Every index of every user table, as the catalog and the statistics views show it now."""
    with connection.cursor() as cursor:
        cursor.execute(INDEX_CATALOG_SQL)
        rows = cursor.fetchall()
    return [
        CatalogIndex(
            schema=r[0],
            table=r[1],
            name=r[2],
            method=r[3],
            idx_scan=r[4] or 0,
            idx_tup_read=r[5] or 0,
            idx_tup_fetch=r[6] or 0,
            size_bytes=r[7] or 0,
            is_valid=r[8],
            is_unique=r[9],
            is_primary=r[10],
            is_exclusion=r[11],
            definition=r[12],
            keys=_split(r[13]),
            opclasses=_split(r[14]),
            options=_split(r[15]),
            collations=_split(r[16]),
            key_count=r[17],
            expressions=r[18],
            predicate=r[19],
            oid=r[20],
            nulls_not_distinct=r[21],
            constraint_type=r[22],
            referenced_by_foreign_key=r[23],
            nullable_key=r[24],
            key_definitions=tuple(r[25]),
            building=bool(r[26]),
        )
        for r in rows
    ]


# Read on the primary here and on each replica by the snapshot service.
STATS_RESET_SQL = "SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()"


def stats_reset_current() -> datetime | None:
    """pg_stat_database.stats_reset of this database (None if never reset)."""
    with connection.cursor() as cursor:
        cursor.execute(STATS_RESET_SQL)
        row = cursor.fetchone()
    return row[0] if row else None


def window_for(days: int, now: datetime | None = None) -> Window:
    """The counting window: from the last snapshot at or before `days` ago, or from the last reset."""
    now = now or timezone.now()
    start = now - timedelta(days=days)
    baseline = (
        SnapshotRun.objects.filter(node=nodes.PRIMARY, error="", taken_at__lte=start)
        .order_by("-taken_at", "-id")
        .first()
    )
    current_reset = stats_reset_current()
    reset_in_window = baseline is not None and baseline.stats_reset != current_reset
    window = Window(days, start, baseline, current_reset, reset_in_window, now=now)
    window.min_days = settings.CUSTODIAN_DBHEALTH_MIN_WINDOW_DAYS
    window.judged_from = window.effective_start
    if window.judged_from is None:
        oldest = (
            SnapshotRun.objects.filter(node=nodes.PRIMARY, stats_reset__isnull=True, taken_at__lte=now)
            .order_by("taken_at", "id")
            .values_list("taken_at", flat=True)
            .first()
        )
        window.judged_from = oldest
    return window


def _baseline_index_scans(window: Window) -> dict[tuple[str, str, str], int]:
    if window.baseline is None or window.reset_in_window:
        return {}
    return {
        (s, t, i): scans
        for s, t, i, scans in IndexSnapshot.objects.filter(run=window.baseline).values_list(
            "schema_name", "table_name", "index_name", "idx_scan"
        )
    }


def counter_since(current: int, baseline: int | None) -> int:
    """How much a statistics counter grew since `baseline` (its value at the window's start)."""
    # A counter lower than its baseline was reset on its own (pg_stat_reset_single_table_counters).
    if baseline is None or current < baseline:
        return current
    return current - baseline


def index_usage_list(window: Window, replicas: nodes.ReplicaReadings | None = None) -> list[CatalogIndex]:
    """Every index with its scans in the window on every node, its provenance and its drift status.

    `replicas`: the replicas' readings of this window when the caller needs them too (the index page's
    per-node chart); read here otherwise."""
    baseline = _baseline_index_scans(window)
    declared_tables = declarations.declared_tables()
    unmanaged = declarations.unmanaged_tables()
    definitions = declared_definitions_stored()
    indexes = index_catalog_list()
    if replicas is None:
        replicas = nodes.replica_readings_in_window(window.start)
    for index in indexes:
        index.scans_by_node = {nodes.PRIMARY: counter_since(index.idx_scan, baseline.get(index.key))}
        for node, scans in replicas.scans.items():
            index.scans_by_node[node] = scans.get(index.key, 0)
        index.scans_in_window = sum(index.scans_by_node.values())
        declared = index.declared
        if declared is not None and declared.table == index.table:
            index.provenance = declared.source
            index.declaration = declared.declaration
            if declared.name not in definitions:
                index.drift = "unchecked"  # not computed for this code yet (manage.py dbhealth_declarations)
            else:
                index.declared_definition = definitions[declared.name]
                if (
                    index.declared_definition is not None
                    and index.declared_definition != index.normalised_definition
                ):
                    index.drift = "differs"
                else:
                    index.drift = "ok"
        elif index.schema == "public" and index.table in declared_tables:
            index.provenance = declarations.UNDECLARED
            index.declaration = f"table of {declared_tables[index.table]}"
            index.drift = "undeclared"
        else:
            index.provenance = declarations.UNDECLARED
            owner = unmanaged.get(index.table)
            index.declaration = (
                f"table of unmanaged model {owner}" if owner else "table not created by Django models"
            )
            index.drift = "outside Django"
    return indexes


def declared_definitions_stored() -> dict[str, str | None]:
    """Declared index name -> the normalised definition migrate stored for today's statement (one query)."""
    current = {item.name: item for item in declarations.declared_indexes().values()}
    return {
        name: definition
        for name, sha, definition in DeclaredIndexDefinition.objects.values_list(
            "name", "statement_sha", "definition"
        )
        if name in current and declarations.statement_sha(current[name]) == sha
    }
