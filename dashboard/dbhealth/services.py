"""Writes for DB health: statistics snapshots, their pruning, and "check existing data" runs.

The command, the hourly task and the page's button all call these.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import psycopg
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, connection, models, transaction
from django.db.models import BooleanField, Count, Exists, ExpressionWrapper, F, OuterRef
from django.utils import timezone

from dashboard.dbhealth import declarations, nodes
from dashboard.dbhealth.models import (
    ConstraintViolation,
    DeclaredIndexDefinition,
    IndexDailyStat,
    IndexSnapshot,
    SnapshotRun,
    TableSnapshot,
)
from dashboard.dbhealth.selectors import STATS_RESET_SQL, USER_SCHEMAS_SQL, stats_reset_current
from dashboard.dbhealth.violations import CONSTRAINT_CHECK_KIND
from dashboard.jobs.models import JobRun
from dashboard.jobs.services import job_run_start

logger = logging.getLogger(__name__)

INDEX_COLUMNS = (
    "run_id, schema_name, table_name, index_name, method, idx_scan, idx_tup_read, idx_tup_fetch, size_bytes, "
    "is_valid, is_unique, is_primary, is_exclusion, definition"
)
INDEX_READING_SQL = f"""
SELECT %s, s.schemaname, s.relname, s.indexrelname, am.amname, COALESCE(s.idx_scan, 0),
       COALESCE(s.idx_tup_read, 0), COALESCE(s.idx_tup_fetch, 0), pg_relation_size(s.indexrelid),
       i.indisvalid, i.indisunique, i.indisprimary,
       EXISTS (SELECT 1 FROM pg_constraint x WHERE x.conindid = i.indexrelid AND x.contype = 'x'),
       pg_get_indexdef(i.indexrelid)
FROM pg_stat_user_indexes s
JOIN pg_index i ON i.indexrelid = s.indexrelid
JOIN pg_class c ON c.oid = s.indexrelid
JOIN pg_am am ON am.oid = c.relam
WHERE {USER_SCHEMAS_SQL}
"""

TABLE_COLUMNS = (
    "run_id, schema_name, table_name, size_bytes, seq_scan, idx_scan, n_live_tup, n_dead_tup, n_tup_ins, "
    "n_tup_upd, n_tup_hot_upd, n_tup_del"
)
TABLE_READING_SQL = f"""
SELECT %s, s.schemaname, s.relname, pg_total_relation_size(s.relid), COALESCE(s.seq_scan, 0),
       COALESCE(s.idx_scan, 0), s.n_live_tup, s.n_dead_tup, s.n_tup_ins, s.n_tup_upd, s.n_tup_hot_upd,
       s.n_tup_del
FROM pg_stat_user_tables s
WHERE {USER_SCHEMAS_SQL}
"""


def _snapshot_primary(source: str) -> SnapshotRun:
    # On the primary the readings go straight into the snapshot tables: two INSERT ... SELECT.
    run = SnapshotRun.objects.create(
        taken_at=timezone.now(), stats_reset=stats_reset_current(), source=source, node=nodes.PRIMARY
    )
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO dbhealth_indexsnapshot ({INDEX_COLUMNS}) {INDEX_READING_SQL}", [run.pk])
        run.index_count = cursor.rowcount
        cursor.execute(f"INSERT INTO dbhealth_tablesnapshot ({TABLE_COLUMNS}) {TABLE_READING_SQL}", [run.pk])
        run.table_count = cursor.rowcount
    run.save(update_fields=["index_count", "table_count"])
    return run


def _snapshot_replica(replica: nodes.Replica, source: str) -> SnapshotRun:
    # A replica is read over its own connection and its rows written here, on the primary.
    run = SnapshotRun.objects.create(taken_at=timezone.now(), source=source, node=replica.name)
    try:
        with nodes.replica_connection(replica) as conn:
            reset = conn.execute(STATS_RESET_SQL).fetchone()
            index_rows = conn.execute(INDEX_READING_SQL, [run.pk]).fetchall()
            table_rows = conn.execute(TABLE_READING_SQL, [run.pk]).fetchall()
    except psycopg.Error as exc:
        logger.warning("DB health: replica %s could not be read: %s", replica.name, exc)
        run.error = f"Could not be read: {str(exc).strip()[:500]}"
        run.save(update_fields=["error"])
        return run
    with connection.cursor() as cursor:
        marks = ", ".join(["%s"] * len(INDEX_COLUMNS.split(",")))
        cursor.executemany(
            f"INSERT INTO dbhealth_indexsnapshot ({INDEX_COLUMNS}) VALUES ({marks})", index_rows
        )
        marks = ", ".join(["%s"] * len(TABLE_COLUMNS.split(",")))
        cursor.executemany(
            f"INSERT INTO dbhealth_tablesnapshot ({TABLE_COLUMNS}) VALUES ({marks})", table_rows
        )
    run.stats_reset = reset[0] if reset else None
    run.index_count, run.table_count = len(index_rows), len(table_rows)
    run.save(update_fields=["stats_reset", "index_count", "table_count"])
    return run


# One snapshot's deltas against the node's previous snapshot, added to each index's row for the day.
# A reset (the database's stats_reset changed, or one counter went down) never gives a negative delta:
# the day counts the scans since the reset (a lower bound) and says there was one.
INDEX_DAILY_ROLLUP_SQL = """
INSERT INTO dbhealth_indexdailystat AS d
    (node, day, schema_name, table_name, index_name, scans, size_bytes, reset, readings)
SELECT %(node)s, (%(taken_at)s AT TIME ZONE 'UTC')::date, c.schema_name, c.table_name, c.index_name,
       CASE WHEN p.idx_scan IS NULL OR %(db_reset)s OR c.idx_scan < p.idx_scan THEN c.idx_scan
            ELSE c.idx_scan - p.idx_scan END,
       c.size_bytes,
       p.idx_scan IS NOT NULL AND (%(db_reset)s OR c.idx_scan < p.idx_scan),
       1
FROM dbhealth_indexsnapshot c
LEFT JOIN dbhealth_indexsnapshot p
       ON p.run_id = %(previous)s AND p.schema_name = c.schema_name AND p.table_name = c.table_name
      AND p.index_name = c.index_name
WHERE c.run_id = %(run)s
ON CONFLICT (node, schema_name, table_name, index_name, day) DO UPDATE
SET scans = d.scans + EXCLUDED.scans, size_bytes = EXCLUDED.size_bytes, reset = d.reset OR EXCLUDED.reset,
    readings = d.readings + 1
"""


def index_daily_rollup(run: SnapshotRun) -> int:
    """Add `run`'s scans (since the node's previous snapshot) to the day's rows; the first snapshot of a
    node only sets the starting point. Returns the rows written."""
    previous = (
        SnapshotRun.objects.filter(node=run.node, error="")
        .filter(models.Q(taken_at__lt=run.taken_at) | models.Q(taken_at=run.taken_at, pk__lt=run.pk))
        .order_by("-taken_at", "-id")
        .first()
    )
    if previous is None:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            INDEX_DAILY_ROLLUP_SQL,
            {
                "node": run.node,
                "taken_at": run.taken_at,
                "db_reset": previous.stats_reset != run.stats_reset,
                "previous": previous.pk,
                "run": run.pk,
            },
        )
        return cursor.rowcount


def dbhealth_snapshot_take(source: str = SnapshotRun.Source.JOB) -> SnapshotRun:
    """Store one reading of every index's and table's statistics on every node, in one transaction.

    Returns the primary's run. A replica that cannot be read gets a run with `error` set and no readings,
    so the page can say so; the primary's reading is kept either way.
    """
    with transaction.atomic():
        run = _snapshot_primary(source)
        index_daily_rollup(run)
        for replica in nodes.replicas_configured():
            replica_run = _snapshot_replica(replica, source)
            if not replica_run.error:
                index_daily_rollup(replica_run)
    return run


def declared_definitions_store() -> int:
    """Compute every declared index's normalised definition (DDL on temporary tables, rolled back) and
    store them for the pages; run by migrate (post_migrate) and `manage.py dbhealth_declarations`."""
    definitions = declarations.declared_definitions_compute()
    items = {id(item): item for item in declarations.declared_indexes().values()}.values()
    now = timezone.now()
    rows = [
        DeclaredIndexDefinition(
            name=item.name,
            table_name=item.table,
            statement_sha=declarations.statement_sha(item),
            definition=definitions.get(item.name),
            computed_at=now,
        )
        for item in items
        if item.name in definitions
    ]
    with transaction.atomic():
        DeclaredIndexDefinition.objects.all().delete()
        DeclaredIndexDefinition.objects.bulk_create(rows)
    return len(rows)


def declared_definitions_after_migrate(
    sender: Any, using: str = DEFAULT_DB_ALIAS, plan: Any = None, **kw: Any
) -> None:
    """post_migrate receiver: a real migrate (flush sends no plan) on the default database."""
    if plan is None or using != DEFAULT_DB_ALIAS:
        return
    if DeclaredIndexDefinition._meta.db_table not in connection.introspection.table_names():
        return  # migrated backwards past the table
    declared_definitions_store()


def dbhealth_prune(older_than_days: int | None = None) -> dict[str, int]:
    """Delete snapshots and violation records older than the retention (default 90 days); set-based."""
    days = older_than_days if older_than_days is not None else settings.CUSTODIAN_DBHEALTH_RETENTION_DAYS
    cutoff = timezone.now() - timedelta(days=days)
    with transaction.atomic():
        # Children first, each one DELETE ... WHERE run_id IN (...), so the collector fetches nothing.
        indexes = IndexSnapshot.objects.filter(run__taken_at__lt=cutoff)._raw_delete(IndexSnapshot.objects.db)
        tables = TableSnapshot.objects.filter(run__taken_at__lt=cutoff)._raw_delete(TableSnapshot.objects.db)
        runs = SnapshotRun.objects.filter(taken_at__lt=cutoff)._raw_delete(SnapshotRun.objects.db)
        daily = IndexDailyStat.objects.filter(day__lt=cutoff.date())._raw_delete(IndexDailyStat.objects.db)
        violations = ConstraintViolation.objects.filter(occurred_at__lt=cutoff)._raw_delete(
            ConstraintViolation.objects.db
        )
    return {
        "runs": runs,
        "index_snapshots": indexes,
        "table_snapshots": tables,
        "index_daily": daily,
        "violations": violations,
    }


# Check existing data
# ----------------------------------------------------------------------------------------------------


def _model(label: str) -> type[models.Model]:
    from django.apps import apps

    return apps.get_model(label)


def _duplicate_rows(queryset: models.QuerySet, keys: list[Any]) -> int:
    """Rows sharing their key with another row (NULLs never clash, as in a unique index)."""
    annotations = {f"_k{n}": key if not isinstance(key, str) else F(key) for n, key in enumerate(keys)}
    names = list(annotations)
    groups = (
        queryset.annotate(**annotations)
        .filter(**{f"{name}__isnull": False for name in names})
        .values(*names)
        .annotate(_rows=Count("*"))
        .filter(_rows__gt=1)
        .values("_rows")
    )
    sql, params = groups.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(SUM(_rows), 0) FROM ({sql}) AS groups", params)
        return int(cursor.fetchone()[0])


EXCLUSION_LOOKUPS = {"=": "exact", "&&": "overlap"}


def constraint_violating_rows_count(name: str) -> int:
    """How many existing rows would violate constraint `name` if it were checked now (e.g. NOT VALID ones,
    or before adding it). ValidationError for an unknown name or a kind that cannot be counted."""
    item = declarations.declared_constraints().get(name)
    if item is None:
        raise ValidationError(f"No constraint named {name!r} is declared.", code="unknown_constraint")
    model = _model(item.model_label)
    rows = model._base_manager.all()
    constraint = item.constraint
    if item.kind == "check":
        # A CHECK fails only when its condition is false (NULL passes), which `= false` keeps.
        return (
            rows.alias(_ok=ExpressionWrapper(constraint.condition, output_field=BooleanField()))
            .filter(_ok=False)
            .count()
        )
    if item.kind == "unique":
        if constraint is not None and constraint.condition is not None:
            rows = rows.filter(constraint.condition)
        keys = (
            list(constraint.expressions or constraint.fields) if constraint is not None else list(item.fields)
        )
        keys = [model._meta.get_field(k).attname if isinstance(k, str) else k for k in keys]
        return _duplicate_rows(rows, keys)
    if item.kind == "exclusion":
        if constraint.condition is not None:
            rows = rows.filter(constraint.condition)
        others = rows.exclude(pk=OuterRef("pk"))
        for expression, operator in constraint.expressions:
            lookup = EXCLUSION_LOOKUPS.get(operator)
            if not isinstance(expression, str) or lookup is None:
                raise ValidationError(f"Cannot count rows for {name}: operator {operator} is not supported.")
            others = others.filter(**{f"{expression}__{lookup}": OuterRef(expression)})
        return rows.filter(Exists(others)).count()
    if item.kind == "foreign key":
        fk = model._meta.get_field(item.fields[0])
        parents = fk.related_model._base_manager.filter(**{fk.target_field.attname: OuterRef(fk.attname)})
        return rows.filter(**{f"{fk.attname}__isnull": False}).filter(~Exists(parents)).count()
    raise ValidationError(f"Cannot count rows for a {item.kind} constraint.", code="unsupported")


def constraint_check_start(user: Any, name: str) -> JobRun:
    """Queue a background count of the rows violating `name` (it reads a whole table); ValidationError if
    the constraint is unknown or cannot be counted."""
    item = declarations.declared_constraints().get(name)
    if item is None:
        raise ValidationError(f"No constraint named {name!r} is declared.", code="unknown_constraint")
    if item.kind not in {"check", "unique", "exclusion", "foreign key"}:
        raise ValidationError(f"Cannot count rows for a {item.kind} constraint.", code="unsupported")
    return job_run_start(CONSTRAINT_CHECK_KIND, user, "dbhealth.check_constraint", constraint=item.name)


def constraint_check_run(name: str, job_run_id: int | None = None) -> dict:
    """The task body: count, and say which constraint it was about."""
    from dashboard.jobs.services import job_run_progress

    if job_run_id is not None:
        job_run_progress(job_run_id, 0, 1)
    count = constraint_violating_rows_count(name)
    return {"constraint": name, "violating_rows": count, "checked_at": timezone.now().isoformat()}
