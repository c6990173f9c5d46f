"""How one rule's run becomes violations: its failing keys are collected into a temporary table, then
compared with the rule's current violations, and only the differences are written.

- new: failing now, not a current violation (a row resolved earlier fails again: it starts again as new);
- resolved: a current violation that no longer fails gets `resolved_scan`;
- moved: a current violation whose record changed organization gets the new one;
- everything else (the usual case: the same records keep failing) is not written at all. Rewriting every
  failing row on every scan (a "last seen" column) was most of a scan's cost beyond reading the data table:
  an index entry and a foreign-key check per row.

The comparison runs in SQL over the keys table and validation_violation_open_idx, so memory never holds the
failing keys, and a rule that finds nothing and had nothing costs two index probes. Called inside the rule's
transaction (its savepoint): the keys table is ON COMMIT DROP and goes with a rolled-back rule too.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection, models
from django.db.models import F, Q, Value

from dashboard.validation.models import ValidationScan
from dashboard.validation.selectors import live_rows
from models_core.tenancy import organization_path

# The failing keys of one rule's run, for the length of the rule's transaction.
FAILING_TABLE = "validation_scan_failing"


def _failing_rows(model: type[models.Model], q: Q) -> models.QuerySet:
    org = organization_path(model)
    org_value = F(org) if org else Value(None, output_field=models.BigIntegerField())
    return live_rows(model).filter(q).annotate(row_org_id=org_value).values_list("pk", "row_org_id")


def failing_keys_collect(model: type[models.Model], q: Q) -> int:
    """The live rows failing `q` into the keys table; returns how many.

    PostgreSQL 15 plans the SELECT of an INSERT ... SELECT without parallel workers, but CREATE TABLE AS may
    use them: the keys are collected by one parallel pass over the data table, what a hand-written count
    costs, and nothing below reads the data table again."""
    # ON COMMIT DROP outside a transaction would drop the table before it could be read.
    assert connection.in_atomic_block, "a rule runs inside its own transaction"
    select_sql, select_params = _failing_rows(model, q).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE {FAILING_TABLE} (object_id, organization_id) ON COMMIT DROP AS "
            f"{select_sql}",
            select_params,
        )
        return cursor.rowcount


def failing_keys_start() -> None:
    """An empty keys table, for a rule checked in Python chunk by chunk (failing_keys_add)."""
    assert connection.in_atomic_block, "a rule runs inside its own transaction"
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE {FAILING_TABLE} (object_id bigint, organization_id bigint) "
            "ON COMMIT DROP"
        )


def failing_keys_add(rows: Iterable[tuple[int, int | None]]) -> int:
    """Add (object id, organization id) keys to the keys table; returns how many."""
    rows = list(rows)
    if rows:
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {FAILING_TABLE} SELECT * FROM unnest(%s::bigint[], %s::bigint[])",
                [[pk for pk, _ in rows], [org for _, org in rows]],
            )
    return len(rows)


def violations_record(
    scan: ValidationScan, label: str, rule_name: str, *, failing: int
) -> dict[int | None, int]:
    """Compare the keys table (`failing` keys) with the rule's current violations and write the differences
    (see the module's docstring); drops the keys table. Returns the violations resolved, per organization."""
    key = [label, rule_name]
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH resolved AS ("
            "  UPDATE validation_violation v SET resolved_scan_id = %s"
            "  WHERE v.model_label = %s AND v.rule_name = %s AND v.resolved_scan_id IS NULL"
            f"  AND NOT EXISTS (SELECT 1 FROM {FAILING_TABLE} f WHERE f.object_id = v.object_id)"
            "  RETURNING v.organization_id"
            ") SELECT organization_id, count(*) FROM resolved GROUP BY organization_id",
            [scan.pk, *key],
        )
        resolved = dict(cursor.fetchall())
        if failing:
            # Left out: the open violations as they are. What conflicts is a resolved row failing again
            # (new again) or an open one whose record moved to another organization (only that changes).
            cursor.execute(
                "INSERT INTO validation_violation "
                "(model_label, rule_name, object_id, organization_id, first_seen_scan_id, resolved_scan_id) "
                f"SELECT %s, %s, f.object_id, f.organization_id, %s, NULL FROM {FAILING_TABLE} f "
                "WHERE NOT EXISTS (SELECT 1 FROM validation_violation v WHERE v.model_label = %s "
                "AND v.rule_name = %s AND v.object_id = f.object_id AND v.resolved_scan_id IS NULL "
                "AND v.organization_id IS NOT DISTINCT FROM f.organization_id) "
                "ON CONFLICT (model_label, rule_name, object_id) DO UPDATE SET "
                "first_seen_scan_id = CASE WHEN validation_violation.resolved_scan_id IS NULL "
                "THEN validation_violation.first_seen_scan_id ELSE EXCLUDED.first_seen_scan_id END, "
                "resolved_scan_id = NULL, organization_id = EXCLUDED.organization_id",
                [*key, scan.pk, *key],
            )
        cursor.execute(f"DROP TABLE {FAILING_TABLE}")
    return resolved
