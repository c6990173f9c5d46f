"""DB health findings: missing, drifted, unused, replica-only, duplicate, building, invalid and bloated
indexes, each with the action that fixes it. Reads the catalog through dashboard.dbhealth.selectors."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import connection

from dashboard.dbhealth import declarations, index_rules, nodes
from dashboard.dbhealth.selectors import CatalogIndex, Finding, Window, index_catalog_list, index_usage_list
from dashboard.dbhealth.trends import TableUsage, table_usage_list


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
