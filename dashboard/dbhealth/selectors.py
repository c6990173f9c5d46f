"""Reads for DB health: the live catalog, snapshots, provenance and drift, findings and violations.

Every query here reads catalog views, our own snapshot tables or aggregates: none touches customer rows, and
none counts a customer table. Sizes are bounded by the number of indexes (hundreds), snapshot rows in the
window (aggregated in SQL) and constraints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection
from django.db.models import Count, Max, Q
from django.db.models.functions import TruncDay
from django.utils import timezone

from dashboard.dbhealth import declarations, index_rules, nodes
from dashboard.dbhealth.models import (
    ConstraintViolation,
    DeclaredIndexDefinition,
    IndexDailyStat,
    IndexSnapshot,
    SnapshotRun,
    TableSnapshot,
)
from dashboard.jobs.models import JobRun
from dashboard.scoping import scope_to_organization

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

TABLE_CATALOG_SQL = f"""
SELECT s.schemaname, s.relname, pg_total_relation_size(s.relid), COALESCE(s.seq_scan, 0),
       COALESCE(s.idx_scan, 0), s.n_live_tup, s.n_dead_tup,
       s.n_tup_ins + s.n_tup_upd - s.n_tup_hot_upd
FROM pg_stat_user_tables s
WHERE {USER_SCHEMAS_SQL}
"""

SQLSTATE_NAMES = {
    "23000": "integrity constraint violation",
    "23001": "restrict violation",
    "23502": "not-null violation",
    "23503": "foreign key violation",
    "23505": "unique violation",
    "23514": "check violation",
    "23P01": "exclusion violation",
}


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


def _since(current: int, baseline: int | None) -> int:
    # A counter lower than its baseline was reset on its own (pg_stat_reset_single_table_counters).
    if baseline is None or current < baseline:
        return current
    return current - baseline


def index_usage_list(window: Window) -> list[CatalogIndex]:
    """Every index with its scans in the window, its provenance and its drift status."""
    baseline = _baseline_index_scans(window)
    declared_tables = declarations.declared_tables()
    unmanaged = declarations.unmanaged_tables()
    definitions = declared_definitions_stored()
    indexes = index_catalog_list()
    replica_scans = nodes.replica_scans_in_window(window.start)
    for index in indexes:
        index.scans_by_node = {nodes.PRIMARY: _since(index.idx_scan, baseline.get(index.key))}
        for reading in replica_scans:
            index.scans_by_node[reading.node] = reading.scans.get(index.key, 0)
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


def index_missing_list(indexes: list[CatalogIndex] | None = None) -> list[Finding]:
    """Declared indexes the database does not have."""
    indexes = indexes if indexes is not None else index_catalog_list()
    present = {(index.table, index.name) for index in indexes if index.schema == "public"}
    seen: set[int] = set()
    missing = []
    for item in declarations.declared_indexes().values():
        if id(item) in seen:
            continue
        seen.add(id(item))
        if not any((item.table, name) in present for name in item.names):
            missing.append(
                Finding(
                    kind="missing",
                    table=item.table,
                    index=item.name,
                    detail=f"Declared by {item.declaration} ({item.source}) but not in the database.",
                    action="Apply the migration that creates it (manage.py migrate); if makemigrations "
                    "reports "
                    "no changes, a migration was faked or the index was dropped by hand: write "
                    "AddIndexConcurrently / AddConstraint for it again in a new migration.",
                )
            )
    return missing


def _drop_sql_action(index: CatalogIndex) -> str:
    if index.constraint_type:
        # The index belongs to a table constraint added by hand: DROP INDEX refuses, the constraint goes.
        return (
            f'migrations.RunSQL("ALTER TABLE {index.schema}.{index.table} DROP CONSTRAINT {index.name}") '
            "(it takes an ACCESS EXCLUSIVE lock briefly)."
        )
    return (
        f'migrations.RunSQL("DROP INDEX CONCURRENTLY IF EXISTS {index.schema}.{index.name}", '
        f'reverse_sql="{index.definition.replace(" INDEX ", " INDEX CONCURRENTLY ", 1)}") '
        "in a migration with "
        "atomic = False."
    )


def _removal_action(index: CatalogIndex) -> str:
    declared = index.declared
    if declared is not None and declared.table == index.table:
        return declared.removal()
    return _drop_sql_action(index)


def index_drift_list(indexes: list[CatalogIndex]) -> list[Finding]:
    """Present but undeclared (on Django's tables) and definition differs (`index_missing_list`: missing)."""
    findings = []
    for index in indexes:
        if index.drift == "undeclared":
            findings.append(
                Finding(
                    kind="undeclared",
                    table=index.table,
                    index=index.name,
                    detail=f"{index.definition} (no model declares it).",
                    action="Declare it in the model's Meta.indexes (then makemigrations and "
                    "migrate --fake that one migration), or remove it: " + _drop_sql_action(index),
                    size_bytes=index.size_bytes,
                )
            )
        elif index.drift == "differs":
            findings.append(
                Finding(
                    kind="differs",
                    table=index.table,
                    index=index.name,
                    detail=f"Database: {index.normalised_definition} — declared: {index.declared_definition}",
                    action="makemigrations cannot see this: write RemoveIndexConcurrently + "
                    "AddIndexConcurrently (or RunSQL DROP/CREATE INDEX CONCURRENTLY) with the declared "
                    "definition, in a migration with atomic = False.",
                    size_bytes=index.size_bytes,
                )
            )
    return findings


def _unused_candidates(
    window: Window, indexes: list[CatalogIndex] | None, tables: list[TableUsage] | None, max_scans: int
) -> list[Finding]:
    indexes = indexes if indexes is not None else index_usage_list(window)
    writes = {
        (t.schema, t.table): t.writes for t in (tables if tables is not None else table_usage_list(window))
    }
    days = max(1.0, (window.now - window.judged_from).total_seconds() / 86400) if window.judged_from else None
    young = (
        f" The window is too young to judge (counts known since "
        f"{window.judged_from:%Y-%m-%d %H:%M} UTC): wait until {window.judge_after:%Y-%m-%d} before dropping."
        if window.young and window.judged_from
        else " The window is too young to judge (no snapshot yet): take one, then wait "
        f"{window.min_days} days before dropping."
        if window.young
        else ""
    )
    findings = []
    for index in indexes:
        if not index.is_valid or index.backs_constraint or index.scans_in_window > max_scans:
            continue
        table_writes = writes.get((index.schema, index.table), 0)
        per_day = f", about {table_writes / days:,.0f} a day" if days else ""
        findings.append(
            Finding(
                kind="unused",
                table=index.table,
                index=index.name,
                detail=(
                    f"{index.scans_in_window} scans in the window ({index.provenance}: {index.declaration}). "
                    f"Dropping it saves its size and one index write for each of the table's "
                    f"{table_writes:,} writes (inserts and non-HOT updates) in the window{per_day}.{young}"
                ),
                action=_removal_action(index),
                size_bytes=index.size_bytes,
                extra={"writes": table_writes, "young": window.young},
            )
        )
    # What dropping saves: space first, then the writes it costs.
    return sorted(findings, key=lambda f: (-f.size_bytes, -f.extra["writes"], f.table, f.index))


def index_unused_list(
    window: Window,
    indexes: list[CatalogIndex] | None = None,
    max_scans: int = 0,
    *,
    min_bytes: int | None = None,
    tables: list[TableUsage] | None = None,
) -> list[Finding]:
    """Valid indexes with at most `max_scans` scans in the window that back no unique, exclusion or primary
    constraint (those enforce rules even when no query reads them), of at least `min_bytes`
    (CUSTODIAN_DBHEALTH_UNUSED_MIN_BYTES, like PgHero's min_size): largest first, then by the table's
    writes."""
    floor = settings.CUSTODIAN_DBHEALTH_UNUSED_MIN_BYTES if min_bytes is None else min_bytes
    return [f for f in _unused_candidates(window, indexes, tables, max_scans) if f.size_bytes >= floor]


def index_replica_only_list(indexes: list[CatalogIndex]) -> list[Finding]:
    """Indexes no query on the primary used in the window but a replica did: unused on the primary's
    statistics alone, and a loss for that replica's reads if dropped."""
    findings = []
    for index in indexes:
        primary = index.scans_by_node.get(nodes.PRIMARY, 0)
        users = {node: n for node, n in index.scans_by_node.items() if node != nodes.PRIMARY and n > 0}
        if primary == 0 and users and index.is_valid and not index.backs_constraint:
            where = ", ".join(f"{node} ({n} scans)" for node, n in sorted(users.items()))
            findings.append(
                Finding(
                    kind="replica_only",
                    table=index.table,
                    index=index.name,
                    detail=f"No scans on the primary in the window, but used on {where}.",
                    action="Keep it: the replicas' reads need it, though the primary's statistics alone "
                    "would call it unused.",
                    size_bytes=index.size_bytes,
                    extra={"nodes": users},
                )
            )
    return findings


@dataclass
class UnusedBelowThreshold:
    count: int
    size_bytes: int
    min_bytes: int


def index_unused_small(
    window: Window,
    indexes: list[CatalogIndex] | None = None,
    max_scans: int = 0,
    *,
    tables: list[TableUsage] | None = None,
) -> UnusedBelowThreshold:
    """The unused indexes `index_unused_list` leaves out for their size: how many, how much in all."""
    floor = settings.CUSTODIAN_DBHEALTH_UNUSED_MIN_BYTES
    small = [f for f in _unused_candidates(window, indexes, tables, max_scans) if f.size_bytes < floor]
    return UnusedBelowThreshold(len(small), sum(f.size_bytes for f in small), floor)


def index_duplicate_list(indexes: list[CatalogIndex] | None = None) -> list[Finding]:
    """Indexes another index on the same table makes redundant (dashboard.dbhealth.index_rules says when,
    and which of two twins stays): one finding per index to drop, naming the one that covers it."""
    indexes = indexes if indexes is not None else index_catalog_list()
    by_table: dict[tuple[str, str], list[CatalogIndex]] = {}
    for index in indexes:
        if index.is_valid:
            by_table.setdefault((index.schema, index.table), []).append(index)
    findings = []
    for group in by_table.values():
        for narrow in group:
            covering = [wide for wide in group if index_rules.redundant_because_of(narrow, wide)]
            if not covering:
                continue
            # Name the twin if there is one, else the index that has most reason to stay.
            wide = max(
                covering,
                key=lambda w: (index_rules.identical(narrow, w), index_rules.keep_order(w)),
            )
            same = index_rules.identical(narrow, wide)
            detail = (
                f"{'Identical to' if same else 'Covered by'} {wide.name}, which serves the same queries"
                + (" and enforces the same rule" if narrow.is_unique else "")
                + "."
            )
            if narrow.is_declared and wide.is_declared:
                detail += " Both are declared: remove this one's declaration."
            findings.append(
                Finding(
                    kind="duplicate",
                    table=narrow.table,
                    index=narrow.name,
                    detail=detail,
                    action=_removal_action(narrow),
                    size_bytes=narrow.size_bytes,
                    extra={"covered_by": wide.name},
                )
            )
    return findings


def index_building_list(indexes: list[CatalogIndex] | None = None) -> list[Finding]:
    """Indexes a CREATE or REINDEX INDEX CONCURRENTLY is still building: not invalid yet, just not done."""
    indexes = indexes if indexes is not None else index_catalog_list()
    return [
        Finding(
            kind="building",
            table=index.table,
            index=index.name,
            detail="Still being built by CREATE/REINDEX INDEX CONCURRENTLY (pg_stat_progress_create_index, "
            "or another session's lock on it or its table): not used for reads until it is done.",
            action="Nothing to do while the build runs; if it stays invalid after that session has ended, "
            "it failed: see the invalid finding then.",
            size_bytes=index.size_bytes,
        )
        for index in indexes
        if not index.is_valid and index.building
    ]


def _duplicates_query(index: CatalogIndex) -> str:
    keys = ", ".join(index.key_definitions) or "<the index's columns>"
    where = f" WHERE {index.predicate}" if index.predicate else ""
    table = f"{index.schema}.{index.table}"
    return f"SELECT {keys}, count(*) FROM {table}{where} GROUP BY {keys} HAVING count(*) > 1"


def index_invalid_list(indexes: list[CatalogIndex] | None = None) -> list[Finding]:
    """Indexes PostgreSQL does not use (a failed CREATE INDEX CONCURRENTLY leaves one behind); those still
    being built are `index_building_list`'s."""
    indexes = indexes if indexes is not None else index_catalog_list()
    findings = []
    for index in indexes:
        if index.is_valid or index.building:
            continue
        reindex = f'migrations.RunSQL("REINDEX INDEX CONCURRENTLY {index.schema}.{index.name}")'
        if index.is_unique:
            detail = (
                "Marked invalid: a unique build usually fails on duplicate rows. Never used for reads, still "
                "updated (and checked) on every write."
            )
            action = (
                "REINDEX fails the same way while the duplicates are there: remove them first (list them "
                f"with {_duplicates_query(index)}), then {reindex} in a migration with atomic = False."
            )
        else:
            detail = "Marked invalid: never used for reads, still updated on every write."
            action = (
                f"{reindex} in a migration with atomic = False (or drop it and apply the migration that "
                "creates it again)."
            )
        findings.append(
            Finding(
                kind="invalid",
                table=index.table,
                index=index.name,
                detail=detail,
                action=action,
                size_bytes=index.size_bytes,
            )
        )
    return findings


# Estimated from reltuples and the columns' average widths in pg_stats (like the well-known btree bloat
# queries): leaf tuple = 8 bytes header + data aligned to 8 + 4 bytes line pointer; a page holds
# (block_size - 24 header - 16 special) * fillfactor. Indexes on tables never analysed are skipped.
BLOAT_SQL = """
WITH idx AS (
    SELECT i.indexrelid, i.indrelid, n.nspname, t.relname AS table_name, c.relname AS index_name,
           c.relpages, CASE WHEN c.reltuples >= 0 THEN c.reltuples ELSE t.reltuples END AS tuples,
           i.indkey::int2[] AS keys, current_setting('block_size')::int AS block_size,
           COALESCE((SELECT substring(o FROM 'fillfactor=([0-9]+)')::int FROM unnest(c.reloptions) o
                     WHERE o LIKE 'fillfactor=%%'), 90) AS fillfactor
    FROM pg_index i
    JOIN pg_class c ON c.oid = i.indexrelid
    JOIN pg_class t ON t.oid = i.indrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    JOIN pg_am am ON am.oid = c.relam
    WHERE am.amname = 'btree' AND i.indisvalid AND c.relpages > 1 AND t.reltuples >= 0
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg_toast%%' AND n.nspname NOT LIKE 'pg_temp%%'
), widths AS (
    SELECT idx.indexrelid, SUM(COALESCE(st.avg_width, 8)) AS data_width,
           bool_and(k.attnum = 0 OR st.avg_width IS NOT NULL) AS analysed
    FROM idx
    CROSS JOIN LATERAL unnest(idx.keys) AS k(attnum)
    LEFT JOIN pg_attribute a ON a.attrelid = idx.indrelid AND a.attnum = k.attnum
    LEFT JOIN pg_stats st ON st.schemaname = idx.nspname AND st.tablename = idx.table_name
                         AND st.attname = a.attname
    GROUP BY idx.indexrelid
)
SELECT idx.nspname, idx.table_name, idx.index_name, idx.relpages, idx.block_size,
       1 + CEIL(idx.tuples * (12 + CEIL(w.data_width / 8.0) * 8)
                / ((idx.block_size - 40) * idx.fillfactor / 100.0))::bigint AS expected_pages
FROM idx JOIN widths w ON w.indexrelid = idx.indexrelid
WHERE w.analysed
"""


def index_bloat_list(min_ratio: float = 0.3, min_wasted_bytes: int = 8 * 1024 * 1024) -> list[Finding]:
    """Btree indexes whose estimated waste is at least `min_ratio` of their size and `min_wasted_bytes`."""
    with connection.cursor() as cursor:
        cursor.execute(BLOAT_SQL)
        rows = cursor.fetchall()
    findings = []
    for schema, table, name, pages, block_size, expected in rows:
        wasted_pages = pages - expected
        if pages <= 0 or wasted_pages <= 0:
            continue
        ratio = wasted_pages / pages
        wasted = wasted_pages * block_size
        if ratio >= min_ratio and wasted >= min_wasted_bytes:
            findings.append(
                Finding(
                    kind="bloated",
                    table=table,
                    index=name,
                    detail=f"About {ratio:.0%} of its {pages} pages is estimated to be free space.",
                    action=f'migrations.RunSQL("REINDEX INDEX CONCURRENTLY {schema}.{name}") '
                    "in a migration with "
                    "atomic = False (or pg_repack); then look at what churns the table.",
                    size_bytes=pages * block_size,
                    extra={"ratio": ratio, "wasted_bytes": wasted},
                )
            )
    return sorted(findings, key=lambda f: -f.extra["wasted_bytes"])


FINDING_KINDS = [
    "unused",
    "replica_only",
    "duplicate",
    "invalid",
    "building",
    "bloated",
    "missing",
    "undeclared",
    "differs",
]


def index_findings_list(
    window: Window, indexes: list[CatalogIndex], tables: list[TableUsage] | None = None
) -> list[Finding]:
    """Every finding for a window, in the order the page lists them (FINDING_KINDS). The index usage page
    and its export both read this, so the file says what the page says."""
    return (
        index_unused_list(window, indexes, tables=tables)
        + index_replica_only_list(indexes)
        + index_duplicate_list(indexes)
        + index_invalid_list(indexes)
        + index_building_list(indexes)
        + index_bloat_list()
        + index_missing_list(indexes)
        + index_drift_list(indexes)
    )


# Charts' data
# ----------------------------------------------------------------------------------------------------

# The busiest `top` indexes of the window by name, every other index summed into one series: a 90-day
# window reads one daily row per index and day (IndexDailyStat, written as snapshots are taken) and returns
# at most (top + 1) rows per day.
SCANS_DAILY_SQL = """
WITH w AS (
    SELECT day, schema_name, table_name, index_name, scans, reset
    FROM dbhealth_indexdailystat WHERE node = %(node)s AND day >= %(from)s
), top AS (
    SELECT schema_name, table_name, index_name
    FROM w GROUP BY 1, 2, 3 HAVING SUM(scans) > 0
    ORDER BY SUM(scans) DESC, table_name, index_name LIMIT %(top)s
)
SELECT w.day, top.schema_name, top.table_name, top.index_name, SUM(w.scans),
       array_agg(w.table_name || '.' || w.index_name) FILTER (WHERE w.reset)
FROM w LEFT JOIN top ON top.schema_name = w.schema_name AND top.table_name = w.table_name
                    AND top.index_name = w.index_name
GROUP BY 1, 2, 3, 4
ORDER BY 1
"""

OTHER_INDEXES = "other indexes"


@dataclass
class DailyScans:
    days: list[date]
    series: dict[str, list[int]]  # "table.index" -> scans per day, busiest first
    resets: list[datetime]  # snapshot times at which the database's statistics had been reset
    index_resets: list[tuple[date, str]]  # days on which one index's counter went down
    # "table.index" -> (schema, table, index) of each named series, for links to the index's own page
    keys: dict[str, tuple[str, str, str]] = field(default_factory=dict)


def index_scans_daily(window: Window, top: int = 10, node: str = DEFAULT_DB_ALIAS) -> DailyScans:
    """Scans per day of the `top` busiest indexes (the rest summed), from the daily rollups.

    A reset between two snapshots never yields a negative delta: the day counts the scans since the reset (a
    lower bound) and the reset is reported for marking.
    """
    since = window.baseline.taken_at if window.baseline else window.start
    with connection.cursor() as cursor:
        cursor.execute(SCANS_DAILY_SQL, {"from": since.date(), "node": node, "top": top})
        rows = cursor.fetchall()
    days = sorted({row[0] for row in rows})
    day_pos = {day: n for n, day in enumerate(days)}
    totals: dict[str, int] = {}
    per_index: dict[str, list[int]] = {}
    keys: dict[str, tuple[str, str, str]] = {}
    index_resets = []
    for day, schema, table, index, scans, reset_labels in rows:
        label = f"{table}.{index}" if index is not None else OTHER_INDEXES
        if index is not None:
            keys[label] = (schema, table, index)
        per_index.setdefault(label, [0] * len(days))[day_pos[day]] += int(scans)
        totals[label] = totals.get(label, 0) + int(scans)
        index_resets.extend((day, name) for name in reset_labels or ())
    named = sorted((label for label in totals if label != OTHER_INDEXES), key=lambda k: (-totals[k], k))
    series = {label: per_index[label] for label in named}
    if totals.get(OTHER_INDEXES):
        series[OTHER_INDEXES] = per_index[OTHER_INDEXES]
    runs = list(
        SnapshotRun.objects.filter(node=node, taken_at__gte=since)
        .order_by("taken_at", "id")
        .values_list("taken_at", "stats_reset")
    )
    resets = [
        taken for (taken, reset), (_, previous) in zip(runs[1:], runs, strict=False) if reset != previous
    ]
    return DailyScans(days, series, resets, index_resets, keys)


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
                _since(seq, base_seq),
                _since(idx, base_idx),
                live,
                dead,
                writes=_since(writes or 0, base_writes),
                schema=schema,
            )
        )
    return sorted(tables, key=lambda t: (-t.scans, t.table))


def snapshot_latest() -> SnapshotRun | None:
    return SnapshotRun.objects.filter(node=nodes.PRIMARY).order_by("-taken_at", "-id").first()


def replica_snapshot_latest_list() -> list[SnapshotRun]:
    """Each configured replica's latest snapshot (an unreadable replica's says why in `error`)."""
    latest = []
    for replica in nodes.replicas_configured():
        run = SnapshotRun.objects.filter(node=replica.name).order_by("-taken_at", "-id").first()
        latest.append(run or SnapshotRun(node=replica.name, error="No snapshot yet.", taken_at=None))
    return latest


# Constraint violations
# ----------------------------------------------------------------------------------------------------


def violations_visible_to(user: Any) -> Any:
    """Violation records this user may see: all for platform staff, their organization's otherwise."""
    return scope_to_organization(ConstraintViolation.objects.all(), user)


def violation_label(constraint_name: str, column_name: str) -> str:
    return constraint_name or (f"NOT NULL {column_name}" if column_name else "(unnamed)")


def violations_per_constraint_daily(user: Any, since: datetime) -> list[dict]:
    """[{day, constraint_name, column_name, kind, count}] for the chart, aggregated in SQL."""
    return list(
        violations_visible_to(user)
        .filter(occurred_at__gte=since)
        .annotate(day=TruncDay("occurred_at"))
        .values("day", "constraint_name", "column_name", "kind")
        .annotate(count=Count("id"))
        .order_by("day", "constraint_name")
    )


def violations_by_sqlstate(user: Any, since: datetime) -> list[dict]:
    return list(
        violations_visible_to(user)
        .filter(occurred_at__gte=since)
        .values("sqlstate", "kind")
        .annotate(count=Count("id"))
        .order_by("sqlstate", "kind")
    )


def violations_by_organization(user: Any, since: datetime, top: int = 15) -> list[dict]:
    """The organizations with the most violations, with their names (no other tenant data)."""
    from models_core.models import Organization

    rows = list(
        violations_visible_to(user)
        .filter(occurred_at__gte=since)
        .values("organization_id")
        .annotate(count=Count("id"))
        .order_by("-count", "organization_id")[:top]
    )
    names = dict(
        Organization.all_objects.filter(
            pk__in=[r["organization_id"] for r in rows if r["organization_id"]]
        ).values_list("pk", "name")
    )
    for row in rows:
        org = row["organization_id"]
        row["label"] = (
            names.get(org, f"organization #{org}") if org else "no organization (platform or system)"
        )
    return rows


def violation_constraint_summary(user: Any, since: datetime) -> list[dict]:
    """Each declared constraint (and any other name that was hit) with its counts in the window."""
    counts = {
        (row["constraint_name"], row["column_name"]): row
        for row in violations_visible_to(user)
        .filter(occurred_at__gte=since)
        .values("constraint_name", "column_name", "table_name", "sqlstate")
        .annotate(
            errors=Count("id", filter=Q(kind=ConstraintViolation.Kind.ERROR)),
            prevented=Count("id", filter=Q(kind=ConstraintViolation.Kind.PREVENTED)),
            last_seen=Max("occurred_at"),
        )
    }
    declared = declarations.declared_constraints()
    rows = []
    seen: set[int] = set()
    for (name, column), hit in counts.items():
        item = declared.get(name)
        if item is not None:
            seen.add(id(item))
        rows.append(_summary_row(name, column, hit, item))
    for item in declared.values():
        if id(item) not in seen:
            seen.add(id(item))
            rows.append(_summary_row(item.name, "", None, item))
    return sorted(rows, key=lambda r: (-(r["errors"] + r["prevented"]), r["table"], r["label"]))


def _summary_row(
    name: str, column: str, hit: dict | None, item: declarations.DeclaredConstraint | None
) -> dict:
    return {
        "name": name,
        "label": violation_label(name, column),
        "table": item.table if item else (hit or {}).get("table_name", ""),
        "kind": item.kind if item else SQLSTATE_NAMES.get((hit or {}).get("sqlstate", ""), ""),
        "declaration": item.declaration if item else "not declared in Django",
        "message": item.message if item else "",
        "errors": hit["errors"] if hit else 0,
        "prevented": hit["prevented"] if hit else 0,
        "last_seen": hit["last_seen"] if hit else None,
        "checkable": item is not None and item.kind in {"check", "unique", "exclusion", "foreign key"},
    }


def violations_recent(user: Any, limit: int = 25) -> list[ConstraintViolation]:
    return list(violations_visible_to(user)[:limit])


CONSTRAINT_CHECK_KIND = "dbhealth_constraint_check"


def recent_constraint_checks(user: Any, limit: int = 10) -> list[dict]:
    """The latest "check existing data" runs with the constraint each one is about."""
    from procrastinate.contrib.django.models import ProcrastinateJob

    runs = list(JobRun.objects.filter(kind=CONSTRAINT_CHECK_KIND).select_related("started_by")[:limit])
    args = dict(
        ProcrastinateJob.objects.filter(
            pk__in=[r.procrastinate_job_id for r in runs if r.procrastinate_job_id]
        ).values_list("pk", "args")
    )
    return [
        {
            "run": run,
            "constraint": (run.result or {}).get("constraint")
            or (args.get(run.procrastinate_job_id) or {}).get("constraint", ""),
            "violating_rows": (run.result or {}).get("violating_rows"),
        }
        for run in runs
    ]


def constraint_check_pending(name: str) -> bool:
    """Is a "check existing data" run for `name` queued or running?"""
    from procrastinate.contrib.django.models import ProcrastinateJob

    pending = JobRun.objects.filter(kind=CONSTRAINT_CHECK_KIND).exclude(status__in=JobRun.FINISHED)
    return ProcrastinateJob.objects.filter(
        pk__in=pending.values("procrastinate_job_id"), args__constraint=name
    ).exists()
