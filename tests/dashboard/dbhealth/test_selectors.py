"""Selectors against the real catalog: unused, provenance, drift, duplicates, invalid, bloat, daily scans."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from dashboard.dbhealth import declarations, index_findings, selectors, trends
from dashboard.dbhealth.models import IndexSnapshot, SnapshotRun
from dashboard.dbhealth.services import dbhealth_snapshot_take, index_daily_rollup
from models_core.models import Ticket
from models_core.trashing import soft_delete_models

pytestmark = pytest.mark.django_db

DIRECT_UNUSED_SQL = """
SELECT s.indexrelname
FROM pg_stat_user_indexes s
JOIN pg_index i ON i.indexrelid = s.indexrelid
LEFT JOIN dbhealth_indexsnapshot b
       ON b.run_id = %(baseline)s AND b.schema_name = s.schemaname AND b.table_name = s.relname
      AND b.index_name = s.indexrelname
WHERE s.schemaname NOT LIKE 'pg_temp%%'
  AND i.indisvalid AND NOT i.indisunique AND NOT i.indisprimary
  AND NOT EXISTS (SELECT 1 FROM pg_constraint x WHERE x.conindid = i.indexrelid AND x.contype = 'x')
  AND CASE WHEN b.idx_scan IS NULL OR s.idx_scan < b.idx_scan THEN s.idx_scan
           ELSE s.idx_scan - b.idx_scan END <= %(max_scans)s
"""


def direct_unused(baseline_id=None, max_scans=0) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(DIRECT_UNUSED_SQL, {"baseline": baseline_id, "max_scans": max_scans})
        return {row[0] for row in cursor.fetchall()}


def index_names(findings) -> set[str]:
    return {finding.index for finding in findings}


def test_unused_equals_direct_query_without_snapshots():
    window = selectors.window_for(30)
    assert window.baseline is None
    unused = index_names(index_findings.index_unused_list(window, min_bytes=0))
    assert unused == direct_unused()
    assert "unique_org_ticket_number" not in unused  # backs a unique constraint
    assert "exclude_overlapping_sla_policies" not in unused  # backs an exclusion constraint
    assert "models_core_ticket_pkey" not in unused


@pytest.mark.parametrize("max_scans", [0, 3])
def test_unused_equals_direct_query_against_a_baseline_snapshot(max_scans):
    Ticket.objects.filter(ticket_number=1, organization_id=1).exists()  # some scans on ticket indexes
    run = dbhealth_snapshot_take()
    SnapshotRun.objects.filter(pk=run.pk).update(taken_at=timezone.now() - timedelta(days=31))
    # Make one baseline counter exceed the live one, as a single-table reset would.
    IndexSnapshot.objects.filter(run=run, index_name="idx_ticket_sla_breach").update(idx_scan=10**9)
    window = selectors.window_for(30)
    assert window.baseline == SnapshotRun.objects.get(pk=run.pk)
    unused = index_names(index_findings.index_unused_list(window, max_scans=max_scans, min_bytes=0))
    assert unused == direct_unused(run.pk, max_scans)


def test_provenance_of_every_model_layer_index():
    indexes = {index.name: index for index in selectors.index_usage_list(selectors.window_for(30))}
    model_layer = [i for i in indexes.values() if i.table.startswith("models_core_")]
    assert model_layer
    for index in model_layer:
        assert index.provenance != declarations.UNDECLARED, index.name
        assert index.drift == "ok", (index.name, index.normalised_definition, index.declared_definition)
    # Every Meta index and index-backed constraint the model layer declares is found, with its source.
    for model in [*soft_delete_models()]:
        for index in model._meta.indexes:
            assert indexes[index.name].provenance == declarations.META_INDEXES
            assert indexes[index.name].declaration == f"{model.__name__}.Meta.indexes"
    expected = {
        "unique_org_ticket_number": declarations.META_CONSTRAINTS,
        "exclude_overlapping_sla_policies": declarations.META_CONSTRAINTS,
        "unique_user_email_live": declarations.META_CONSTRAINTS,
        "models_core_ticket_pkey": declarations.PRIMARY_KEY,
        "models_core_user_username_key": declarations.UNIQUE_FIELD,
    }
    for name, source in expected.items():
        assert indexes[name].provenance == source, name
    sources = {i.provenance for i in model_layer}
    assert {declarations.FOREIGN_KEY, declarations.LIKE_INDEX} <= sources
    customer_fk = [i for i in model_layer if i.declaration == "Ticket.customer"]
    assert [i.provenance for i in customer_fk] == [declarations.FOREIGN_KEY]
    username = {i.provenance: i.name for i in model_layer if i.declaration == "User.username"}
    assert set(username) == {declarations.UNIQUE_FIELD, declarations.LIKE_INDEX}
    assert username[declarations.LIKE_INDEX].endswith("_like")


def test_drift_undeclared_missing_and_differs():
    with connection.cursor() as cursor:
        cursor.execute("CREATE INDEX dbh_test_undeclared ON models_core_ticket (subject)")
        cursor.execute("DROP INDEX idx_ticket_sla_breach")
        cursor.execute("DROP INDEX idx_ticket_resolution_due")
        cursor.execute("CREATE INDEX idx_ticket_resolution_due ON models_core_ticket (resolution_due DESC)")
    indexes = selectors.index_usage_list(selectors.window_for(30))
    drift = {(f.kind, f.index) for f in index_findings.index_drift_list(indexes)}
    missing = {(f.kind, f.index) for f in index_findings.index_missing_list(indexes)}
    assert ("undeclared", "dbh_test_undeclared") in drift
    assert ("differs", "idx_ticket_resolution_due") in drift
    assert missing == {("missing", "idx_ticket_sla_breach")}
    # procrastinate's own tables are not Django's to declare: no drift reported for them.
    assert not any(f.table.startswith("procrastinate_") for f in index_findings.index_drift_list(indexes))


def test_duplicates_are_the_prefix_pairs_and_never_unique_indexes():
    findings = {f.index: f for f in index_findings.index_duplicate_list()}
    assert findings["idx_ticket_org_status"].extra["covered_by"] == "idx_ticket_org_status_priority"
    assert findings["idx_ticket_org_agent"].extra["covered_by"] == "idx_ticket_org_agent_status"
    assert findings["idx_user_org_role"].extra["covered_by"] == "idx_user_org_role_active"
    # Different predicate: the partial open-tickets index is not a duplicate of the full one.
    assert "idx_ticket_active_org_agent" not in findings
    catalog = {i.name: i for i in selectors.index_catalog_list()}
    assert not any(catalog[name].backs_constraint for name in findings)
    assert "RemoveIndexConcurrently(model_name='ticket', name='idx_ticket_org_status')" in (
        findings["idx_ticket_org_status"].action
    )


def test_identical_indexes_are_duplicates():
    with connection.cursor() as cursor:
        cursor.execute("CREATE INDEX zz_copy_of_org_status ON models_core_ticket (organization_id, status)")
    findings = {f.index: f for f in index_findings.index_duplicate_list()}
    assert findings["zz_copy_of_org_status"].extra["covered_by"] == "idx_ticket_org_status"
    assert "DROP INDEX CONCURRENTLY" in findings["zz_copy_of_org_status"].action


def test_invalid_index_is_found():
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'idx_ticket_sla_breach'::regclass"
        )
    window = selectors.window_for(30)
    indexes = selectors.index_usage_list(window)
    assert index_names(index_findings.index_invalid_list(indexes)) == {"idx_ticket_sla_breach"}
    assert "idx_ticket_sla_breach" not in index_names(index_findings.index_unused_list(window, indexes))


def test_bloated_btree_is_estimated():
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE dbh_bloat (id integer, note text)")
        cursor.execute("INSERT INTO dbh_bloat SELECT g, 'x' FROM generate_series(1, 20000) g")
        cursor.execute("CREATE INDEX dbh_bloat_id ON dbh_bloat (id)")
        cursor.execute("DELETE FROM dbh_bloat WHERE mod(id, 10) <> 0")
        cursor.execute("ANALYZE dbh_bloat")
        # The same rows, indexed without churn: no bloat.
        cursor.execute("CREATE TABLE dbh_fresh AS SELECT g AS id FROM generate_series(1, 20000, 10) g")
        cursor.execute("CREATE INDEX dbh_bloat_fresh ON dbh_fresh (id)")
        cursor.execute("ANALYZE dbh_fresh")
    bloated = {f.index: f for f in index_findings.index_bloat_list(min_ratio=0.3, min_wasted_bytes=0)}
    assert bloated["dbh_bloat_id"].extra["ratio"] > 0.7
    assert "dbh_bloat_fresh" not in bloated
    assert "REINDEX INDEX CONCURRENTLY public.dbh_bloat_id" in bloated["dbh_bloat_id"].action


def _run(taken_at, reset, scans: dict[str, int]) -> SnapshotRun:
    """A snapshot as dbhealth_snapshot_take stores it (readings, then the day's rollup)."""
    run = SnapshotRun.objects.create(taken_at=taken_at, stats_reset=reset)
    for name, count in scans.items():
        IndexSnapshot.objects.create(
            run=run,
            schema_name="public",
            table_name="t",
            index_name=name,
            method="btree",
            idx_scan=count,
            idx_tup_read=0,
            idx_tup_fetch=0,
            size_bytes=8192,
            is_valid=True,
            is_unique=False,
            is_primary=False,
            is_exclusion=False,
            definition="",
        )
    index_daily_rollup(run)
    return run


def test_daily_scans_survive_a_reset_between_snapshots():
    day = timezone.now().replace(hour=1, minute=0, second=0, microsecond=0) - timedelta(days=5)
    first_reset, second_reset = day - timedelta(days=30), day + timedelta(days=1, hours=12)
    _run(day, first_reset, {"a": 100, "b": 7})
    _run(day + timedelta(days=1), first_reset, {"a": 150, "b": 7})  # +50, +0
    reset_run = _run(day + timedelta(days=2), second_reset, {"a": 20, "b": 1})  # reset: since it 20, 1
    _run(day + timedelta(days=2, hours=3), second_reset, {"a": 25, "b": 0})  # a +5; b's own counter reset: 0
    window = selectors.window_for(30)
    daily = trends.index_scans_daily(window)
    assert daily.days == [(day + timedelta(days=n)).date() for n in (1, 2)]
    assert daily.series["t.a"] == [50, 25]
    assert daily.series["t.b"] == [0, 1]
    assert all(value >= 0 for values in daily.series.values() for value in values)
    assert daily.resets == [reset_run.taken_at]
    assert {label for _, label in daily.index_resets} == {"t.a", "t.b"}


def test_daily_scans_name_the_busiest_indexes_and_sum_the_others_per_day():
    day = timezone.now().replace(hour=1, minute=0, second=0, microsecond=0) - timedelta(days=3)
    names = [f"i{n:02}" for n in range(13)]  # i00 never scanned, i12 the busiest
    _run(day, None, dict.fromkeys(names, 0))
    _run(day + timedelta(days=1), None, {name: n for n, name in enumerate(names)})
    _run(day + timedelta(days=2), None, {name: 3 * n for n, name in enumerate(names)})

    daily = trends.index_scans_daily(selectors.window_for(30), top=10)

    assert list(daily.series) == [f"t.i{n:02}" for n in range(12, 2, -1)] + [trends.OTHER_INDEXES]
    assert daily.series["t.i12"] == [12, 24]
    assert daily.series[trends.OTHER_INDEXES] == [0 + 1 + 2, 0 + 2 + 4]  # i00, i01, i02
    assert daily.day_totals == {daily.days[0]: sum(range(13)), daily.days[1]: 2 * sum(range(13))}
    assert daily.keys["t.i12"] == ("public", "t", "i12")


def test_window_knows_about_a_reset_after_its_baseline():
    SnapshotRun.objects.create(taken_at=timezone.now() - timedelta(days=40), stats_reset=None)
    SnapshotRun.objects.create(
        taken_at=timezone.now() - timedelta(days=31), stats_reset=timezone.now() - timedelta(days=300)
    )
    window = selectors.window_for(30)
    assert window.reset_in_window  # the live stats_reset is not the baseline's
    assert window.effective_start == window.stats_reset


def test_page_queries_do_not_grow_with_snapshots(django_assert_max_num_queries):
    for _ in range(3):
        dbhealth_snapshot_take()
    window = selectors.window_for(30)
    with django_assert_max_num_queries(4):
        trends.index_scans_daily(window)
    with django_assert_max_num_queries(3):
        trends.table_usage_list(window)
