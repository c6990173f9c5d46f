"""Reads for DB health: the live catalog, snapshots, provenance and drift, findings and violations.

Every query here reads catalog views, our own snapshot tables or aggregates: none touches customer rows, and
none counts a customer table. Sizes are bounded by the number of indexes (hundreds), snapshot rows in the
window (aggregated in SQL) and constraints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Count, Max, Q
from django.db.models.functions import TruncDay
from django.utils import timezone

from dashboard.dbhealth import declarations
from dashboard.dbhealth.models import ConstraintViolation, IndexSnapshot, SnapshotRun, TableSnapshot
from dashboard.jobs.models import JobRun

# Schemas the statistics views call "user" schemas, minus other sessions' temporary tables.
USER_SCHEMAS_SQL = "s.schemaname NOT LIKE 'pg_temp%%'"

INDEX_CATALOG_SQL = f"""
SELECT s.schemaname, s.relname, s.indexrelname, am.amname,
       s.idx_scan, s.idx_tup_read, s.idx_tup_fetch, pg_relation_size(s.indexrelid),
       i.indisvalid, i.indisunique, i.indisprimary,
       EXISTS (SELECT 1 FROM pg_constraint x WHERE x.conindid = i.indexrelid AND x.contype = 'x'),
       pg_get_indexdef(i.indexrelid),
       i.indkey::text, i.indclass::text, i.indoption::text, i.indcollation::text, i.indnkeyatts,
       COALESCE(pg_get_expr(i.indexprs, i.indrelid), ''), COALESCE(pg_get_expr(i.indpred, i.indrelid), '')
FROM pg_stat_user_indexes s
JOIN pg_index i ON i.indexrelid = s.indexrelid
JOIN pg_class c ON c.oid = s.indexrelid
JOIN pg_am am ON am.oid = c.relam
WHERE {USER_SCHEMAS_SQL}
ORDER BY s.schemaname, s.relname, s.indexrelname
"""

TABLE_CATALOG_SQL = f"""
SELECT s.schemaname, s.relname, pg_total_relation_size(s.relid), COALESCE(s.seq_scan, 0),
       COALESCE(s.idx_scan, 0), s.n_live_tup, s.n_dead_tup
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
    # Filled by index_usage_list():
    scans_in_window: int = 0
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

    @property
    def effective_start(self) -> datetime | None:
        if self.baseline is not None and not self.reset_in_window:
            return self.baseline.taken_at
        return self.stats_reset


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
        )
        for r in rows
    ]


def stats_reset_current() -> datetime | None:
    """pg_stat_database.stats_reset of this database (None if never reset)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()")
        row = cursor.fetchone()
    return row[0] if row else None


def window_for(days: int, now: datetime | None = None) -> Window:
    """The counting window: from the last snapshot at or before `days` ago, or from the last reset."""
    now = now or timezone.now()
    start = now - timedelta(days=days)
    baseline = SnapshotRun.objects.filter(taken_at__lte=start).order_by("-taken_at", "-id").first()
    current_reset = stats_reset_current()
    reset_in_window = baseline is not None and baseline.stats_reset != current_reset
    return Window(days, start, baseline, current_reset, reset_in_window)


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
    definitions = declarations.declared_definitions()
    indexes = index_catalog_list()
    for index in indexes:
        index.scans_in_window = _since(index.idx_scan, baseline.get(index.key))
        declared = index.declared
        if declared is not None and declared.table == index.table:
            index.provenance = declared.source
            index.declaration = declared.declaration
            index.declared_definition = definitions.get(declared.name)
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


def index_unused_list(
    window: Window, indexes: list[CatalogIndex] | None = None, max_scans: int = 0
) -> list[Finding]:
    """Valid indexes with at most `max_scans` scans in the window that back no unique, exclusion or primary
    constraint (those enforce rules even when no query reads them)."""
    indexes = indexes if indexes is not None else index_usage_list(window)
    return [
        Finding(
            kind="unused",
            table=index.table,
            index=index.name,
            detail=f"{index.scans_in_window} scans in the window ({index.provenance}: {index.declaration}).",
            action=_removal_action(index),
            size_bytes=index.size_bytes,
        )
        for index in indexes
        if index.is_valid and not index.backs_constraint and index.scans_in_window <= max_scans
    ]


def _same_shape(a: CatalogIndex, b: CatalogIndex) -> bool:
    return a.schema == b.schema and a.table == b.table and a.method == b.method and a.predicate == b.predicate


def _columns(index: CatalogIndex) -> list[tuple[str, str, str, str]]:
    n = index.key_count
    return list(
        zip(index.keys[:n], index.opclasses[:n], index.options[:n], index.collations[:n], strict=False)
    )


def index_duplicate_list(indexes: list[CatalogIndex] | None = None) -> list[Finding]:
    """Pairs on one table with the same method, predicate and expressions where one's key columns are a
    prefix of (or equal to) the other's: the shorter one can go.

    Only btree reads a prefix of its columns; other methods count as duplicates only when identical. An index
    that enforces uniqueness is never the one proposed for removal unless its twin is identical and also
    unique.
    """
    indexes = indexes if indexes is not None else index_catalog_list()
    by_table: dict[tuple[str, str], list[CatalogIndex]] = {}
    for index in indexes:
        if index.is_valid:
            by_table.setdefault((index.schema, index.table), []).append(index)
    findings = []
    reported: set[str] = set()
    for group in by_table.values():
        for shorter in group:
            for longer in group:
                if (
                    shorter is longer
                    or not _same_shape(shorter, longer)
                    or shorter.expressions != longer.expressions
                ):
                    continue
                short_cols, long_cols = _columns(shorter), _columns(longer)
                identical = short_cols == long_cols
                if not identical and (
                    shorter.method != "btree"
                    or shorter.expressions
                    or len(short_cols) >= len(long_cols)
                    or long_cols[: len(short_cols)] != short_cols
                ):
                    continue
                if identical:
                    # Keep the one that enforces something; between equals, keep the first by name.
                    if shorter.backs_constraint and not longer.backs_constraint:
                        continue
                    if shorter.backs_constraint == longer.backs_constraint and shorter.name < longer.name:
                        continue
                    if shorter.is_primary or shorter.is_exclusion:
                        continue
                elif shorter.backs_constraint:
                    continue
                if shorter.name in reported:
                    continue
                reported.add(shorter.name)
                findings.append(
                    Finding(
                        kind="duplicate",
                        table=shorter.table,
                        index=shorter.name,
                        detail=(
                            f"{'Identical to' if identical else 'A column prefix of'} {longer.name}, which "
                            "serves the same queries."
                        ),
                        action=_removal_action(shorter),
                        size_bytes=shorter.size_bytes,
                        extra={"covered_by": longer.name},
                    )
                )
    return findings


def index_invalid_list(indexes: list[CatalogIndex] | None = None) -> list[Finding]:
    """Indexes PostgreSQL does not use (a failed CREATE INDEX CONCURRENTLY leaves one behind)."""
    indexes = indexes if indexes is not None else index_catalog_list()
    return [
        Finding(
            kind="invalid",
            table=index.table,
            index=index.name,
            detail="Marked invalid: never used for reads, still updated on every write.",
            action=f'migrations.RunSQL("REINDEX INDEX CONCURRENTLY {index.schema}.{index.name}") '
            "in a migration "
            "with atomic = False (or drop it and apply the migration that creates it again).",
            size_bytes=index.size_bytes,
        )
        for index in indexes
        if not index.is_valid
    ]


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


def index_findings_list(window: Window, indexes: list[CatalogIndex]) -> list[Finding]:
    """Every finding for a window, in the order the page lists them: unused, duplicate, invalid, bloated,
    missing, then drift (undeclared, differs). The index usage page and its export both read this, so the
    file says what the page says."""
    return (
        index_unused_list(window, indexes)
        + index_duplicate_list(indexes)
        + index_invalid_list(indexes)
        + index_bloat_list()
        + index_missing_list(indexes)
        + index_drift_list(indexes)
    )


# Charts' data
# ----------------------------------------------------------------------------------------------------

SCANS_DAILY_SQL = """
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
                ELSE idx_scan - prev_scan END) AS scans,
       bool_or(prev_scan IS NOT NULL AND (db_reset OR idx_scan < prev_scan)) AS reset
FROM readings
WHERE prev_id IS NOT NULL
GROUP BY 1, 2, 3, 4
ORDER BY 1
"""


@dataclass
class DailyScans:
    days: list[datetime]
    series: dict[str, list[int]]  # "table.index" -> scans per day, busiest first
    resets: list[datetime]  # snapshot times at which the database's statistics had been reset
    index_resets: list[tuple[datetime, str]]  # days on which one index's counter went down


def index_scans_daily(window: Window, top: int = 10) -> DailyScans:
    """Scans per day per index from the deltas between consecutive snapshots.

    A reset between two snapshots (stats_reset changed, or a counter went down) never yields a negative
    delta: the day counts the scans since the reset (a lower bound) and the reset is reported for marking.
    """
    since = window.baseline.taken_at if window.baseline else window.start
    with connection.cursor() as cursor:
        cursor.execute(SCANS_DAILY_SQL, {"from": since})
        rows = cursor.fetchall()
    days = sorted({row[0] for row in rows})
    day_pos = {day: n for n, day in enumerate(days)}
    totals: dict[str, int] = {}
    per_index: dict[str, list[int]] = {}
    index_resets = []
    for day, _schema, table, index, scans, reset in rows:
        label = f"{table}.{index}"
        per_index.setdefault(label, [0] * len(days))[day_pos[day]] += int(scans)
        totals[label] = totals.get(label, 0) + int(scans)
        if reset:
            index_resets.append((day, label))
    busiest = sorted(totals, key=lambda label: (-totals[label], label))
    series = {label: per_index[label] for label in busiest[:top] if totals[label] > 0}
    rest = [per_index[label] for label in busiest[top:]]
    if rest and any(map(any, rest)):
        series["other indexes"] = [sum(values) for values in zip(*rest, strict=True)]
    runs = list(
        SnapshotRun.objects.filter(taken_at__gte=since)
        .order_by("taken_at", "id")
        .values_list("taken_at", "stats_reset")
    )
    resets = [
        taken for (taken, reset), (_, previous) in zip(runs[1:], runs, strict=False) if reset != previous
    ]
    return DailyScans(days, series, resets, index_resets)


@dataclass
class TableUsage:
    table: str
    size_bytes: int
    seq_scan: int
    idx_scan: int
    n_live_tup: int
    n_dead_tup: int

    @property
    def scans(self) -> int:
        return self.seq_scan + self.idx_scan


def table_usage_list(window: Window) -> list[TableUsage]:
    """Every user table with its scans in the window (live counters minus the baseline snapshot)."""
    baseline: dict[tuple[str, str], tuple[int, int]] = {}
    if window.baseline is not None and not window.reset_in_window:
        baseline = {
            (s, t): (seq, idx)
            for s, t, seq, idx in TableSnapshot.objects.filter(run=window.baseline).values_list(
                "schema_name", "table_name", "seq_scan", "idx_scan"
            )
        }
    with connection.cursor() as cursor:
        cursor.execute(TABLE_CATALOG_SQL)
        rows = cursor.fetchall()
    tables = []
    for schema, table, size, seq, idx, live, dead in rows:
        base_seq, base_idx = baseline.get((schema, table), (None, None))
        tables.append(TableUsage(table, size or 0, _since(seq, base_seq), _since(idx, base_idx), live, dead))
    return sorted(tables, key=lambda t: (-t.scans, t.table))


def snapshot_latest() -> SnapshotRun | None:
    return SnapshotRun.objects.order_by("-taken_at", "-id").first()


# Constraint violations
# ----------------------------------------------------------------------------------------------------


def violations_visible_to(user: Any) -> Any:
    """Violation records this user may see: all for platform staff, their organization's otherwise."""
    queryset = ConstraintViolation.objects.all()
    if getattr(user, "organization_id", None) is not None:
        return queryset.filter(organization_id=user.organization_id)
    return queryset


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
