"""Duplicate, invalid and unused findings against real twins built in the test database.

Each case is one a DBA met where the advice was wrong: it must keep what a model declares or what a
constraint needs, compare everything that makes two indexes differ, and never decide by name order.
"""

import threading
from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from dashboard.dbhealth import index_findings, selectors
from dashboard.dbhealth.models import SnapshotRun
from dashboard.dbhealth.services import dbhealth_snapshot_take
from tests.conditions import wait_until_waiting_on_lock

pytestmark = pytest.mark.django_db


def execute(*statements: str) -> None:
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def duplicates() -> dict[str, selectors.Finding]:
    return {f.index: f for f in index_findings.index_duplicate_list(selectors.index_catalog_list())}


@pytest.mark.parametrize("twin", ["aaa_ticket_number_twin", "zzz_ticket_number_twin"])
def test_the_undeclared_twin_of_a_declared_unique_constraint_is_the_one_to_drop(twin):
    execute(f"CREATE UNIQUE INDEX {twin} ON models_core_ticket (organization_id, ticket_number)")
    found = duplicates()
    assert "unique_org_ticket_number" not in found
    assert found[twin].extra["covered_by"] == "unique_org_ticket_number"
    assert f"DROP INDEX CONCURRENTLY IF EXISTS public.{twin}" in found[twin].action


def test_a_declared_plain_index_is_kept_next_to_an_identical_undeclared_one_whatever_the_names():
    execute("CREATE INDEX aaa_org_status_copy ON models_core_ticket (organization_id, status)")
    found = duplicates()
    assert found["aaa_org_status_copy"].extra["covered_by"] == "idx_ticket_org_status"
    assert found["idx_ticket_org_status"].extra["covered_by"] == "idx_ticket_org_status_priority"


@pytest.mark.parametrize("twin", ["aaa_ticket_id", "zzz_ticket_id"])
def test_a_unique_index_on_the_primary_key_column_is_a_duplicate_of_the_primary_key(twin):
    execute(f"CREATE UNIQUE INDEX {twin} ON models_core_ticket (id)")
    found = duplicates()
    assert found[twin].extra["covered_by"] == "models_core_ticket_pkey"
    assert "models_core_ticket_pkey" not in found


def test_nulls_not_distinct_differs_from_plain_unique_where_a_column_is_nullable():
    execute(
        "CREATE TABLE dbh_nnd (a integer, b integer, c integer NOT NULL, d integer NOT NULL)",
        "CREATE UNIQUE INDEX dbh_nnd_ab ON dbh_nnd (a, b)",
        "CREATE UNIQUE INDEX dbh_nnd_ab_nnd ON dbh_nnd (a, b) NULLS NOT DISTINCT",
        "CREATE UNIQUE INDEX dbh_nnd_cd ON dbh_nnd (c, d)",
        "CREATE UNIQUE INDEX dbh_nnd_cd_nnd ON dbh_nnd (c, d) NULLS NOT DISTINCT",
    )
    found = duplicates()
    # Nullable columns: the NULLS NOT DISTINCT one forbids rows the plain one allows; never drop it for it.
    assert "dbh_nnd_ab_nnd" not in found
    # NOT NULL columns: NULLS NOT DISTINCT changes nothing, so these two are twins.
    assert {"dbh_nnd_cd", "dbh_nnd_cd_nnd"} & set(found)


def test_nulls_not_distinct_is_never_dropped_for_a_plain_twin_on_nullable_columns():
    # assigned_agent_id is nullable: the two differ, and the stricter one serves all the plain one does.
    execute(
        "CREATE UNIQUE INDEX dbh_agent_number_nnd ON models_core_ticket (assigned_agent_id, ticket_number) "
        "NULLS NOT DISTINCT",
        "CREATE UNIQUE INDEX dbh_agent_number ON models_core_ticket (assigned_agent_id, ticket_number)",
    )
    found = duplicates()
    assert "dbh_agent_number_nnd" not in found
    assert found["dbh_agent_number"].extra["covered_by"] == "dbh_agent_number_nnd"


def test_a_single_column_gin_is_covered_by_a_multicolumn_gin_with_the_same_operator_class():
    execute(
        "CREATE TABLE dbh_gin (a jsonb, b jsonb)",
        "CREATE INDEX dbh_gin_ab ON dbh_gin USING gin (a, b)",
        "CREATE INDEX dbh_gin_a ON dbh_gin USING gin (a)",
        "CREATE INDEX dbh_gin_b ON dbh_gin USING gin (b)",
        "CREATE INDEX dbh_gin_a_path ON dbh_gin USING gin (a jsonb_path_ops)",
    )
    found = duplicates()
    assert found["dbh_gin_a"].extra["covered_by"] == "dbh_gin_ab"
    # GIN answers a condition on any of its columns equally well, not only the leading one.
    assert found["dbh_gin_b"].extra["covered_by"] == "dbh_gin_ab"
    assert "dbh_gin_a_path" not in found  # another operator class answers other operators
    assert "dbh_gin_ab" not in found


def test_include_columns_are_compared():
    execute(
        "CREATE TABLE dbh_inc (a integer, b integer, c integer)",
        "CREATE INDEX dbh_inc_a ON dbh_inc (a)",
        "CREATE INDEX dbh_inc_a_inc_b ON dbh_inc (a) INCLUDE (b)",
        "CREATE INDEX dbh_inc_a_inc_c ON dbh_inc (a) INCLUDE (c)",
        "CREATE INDEX dbh_inc_ab ON dbh_inc (a, b)",
    )
    found = duplicates()
    # (a) INCLUDE (b) answers index-only scans that (a) cannot, and (a) INCLUDE (c) others still.
    assert "dbh_inc_a_inc_c" not in found
    assert found["dbh_inc_a"].extra["covered_by"] in {"dbh_inc_a_inc_b", "dbh_inc_a_inc_c", "dbh_inc_ab"}
    # (a, b) holds b as a key column: it serves everything (a) INCLUDE (b) does.
    assert found["dbh_inc_a_inc_b"].extra["covered_by"] == "dbh_inc_ab"
    assert "dbh_inc_ab" not in found


def test_a_failed_unique_build_says_to_remove_the_duplicates_first():
    execute(
        "CREATE UNIQUE INDEX dbh_failed_unique ON models_core_ticket (organization_id, status)",
        "UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'dbh_failed_unique'::regclass",
    )
    invalid = {f.index: f for f in index_findings.index_invalid_list(selectors.index_catalog_list())}
    finding = invalid["dbh_failed_unique"]
    assert "duplicate" in finding.detail.lower()
    assert "REINDEX fails the same way" in finding.action
    # The query that lists the rows to resolve, on the index's own key columns.
    assert "GROUP BY organization_id, status HAVING count(*) > 1" in finding.action


@pytest.mark.django_db(transaction=True)
def test_an_index_being_built_concurrently_is_not_invalid():
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as setup:
        setup.execute("CREATE TABLE dbh_cic (id integer, v integer)")
        setup.execute("INSERT INTO dbh_cic SELECT g, g FROM generate_series(1, 100) g")
    blocker = psycopg.connect(**params)
    builder = psycopg.connect(**params, autocommit=True)
    errors: list[Exception] = []
    try:
        # An open writer makes CREATE INDEX CONCURRENTLY wait after it has registered the (invalid) index.
        blocker.execute("LOCK TABLE dbh_cic IN ROW EXCLUSIVE MODE")

        def build() -> None:
            try:
                builder.execute("CREATE INDEX CONCURRENTLY dbh_cic_v ON dbh_cic (v)")
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

        thread = threading.Thread(target=build)
        thread.start()
        # The build has registered its index once it queues behind the open writer.
        wait_until_waiting_on_lock(builder.info.backend_pid)
        catalog = {i.name: i for i in selectors.index_catalog_list()}
        index = catalog["dbh_cic_v"]
        assert not index.is_valid and index.building
        invalid = {f.index: f for f in index_findings.index_invalid_list(list(catalog.values()))}
        assert "dbh_cic_v" not in invalid
        building = {f.index: f for f in index_findings.index_building_list(list(catalog.values()))}
        assert "being built" in building["dbh_cic_v"].detail
        assert "dbh_cic_v" not in {
            f.index for f in index_findings.index_unused_list(selectors.window_for(30))
        }
        blocker.rollback()
        thread.join(timeout=30)
        assert not errors
        catalog = {i.name: i for i in selectors.index_catalog_list()}
        assert catalog["dbh_cic_v"].is_valid and not catalog["dbh_cic_v"].building
    finally:
        blocker.close()
        builder.close()
        with psycopg.connect(**params, autocommit=True) as cleanup:
            cleanup.execute("DROP TABLE IF EXISTS dbh_cic")


# Unused: ranked by what dropping saves, with a size threshold, and honest about a young window
# ----------------------------------------------------------------------------------------------------


def _big_unused_table() -> None:
    execute(
        "CREATE TABLE dbh_big (id integer, v integer, w integer)",
        "INSERT INTO dbh_big SELECT g, g, g FROM generate_series(1, 60000) g",
        "CREATE INDEX dbh_big_v ON dbh_big (v)",  # about 1.3 MB
        "CREATE INDEX dbh_big_vw ON dbh_big (v, w, id)",  # bigger still
        "CREATE TABLE dbh_tiny (id integer)",
        "CREATE INDEX dbh_tiny_id ON dbh_tiny (id)",  # 8 kB
    )


@override_settings(CUSTODIAN_DBHEALTH_UNUSED_MIN_BYTES=1024 * 1024)
def test_unused_are_ranked_by_size_and_small_ones_are_summarised_not_listed():
    _big_unused_table()
    window = selectors.window_for(30)
    indexes = selectors.index_usage_list(window)
    unused = index_findings.index_unused_list(window, indexes)
    names = [f.index for f in unused]
    # Only our own tables are known here: the rows that earlier tests rolled back still take up pages in the
    # project's indexes (a ticket index may well be the biggest by now), whatever order the tests ran in.
    assert [name for name in names if name.startswith("dbh_")] == ["dbh_big_vw", "dbh_big_v"]
    assert [f.size_bytes for f in unused] == sorted((f.size_bytes for f in unused), reverse=True)
    assert "dbh_tiny_id" not in names
    assert all(f.size_bytes >= 1024 * 1024 for f in unused)
    small = index_findings.index_unused_small(window, indexes)
    assert small.count >= 1 and small.size_bytes >= 8192
    assert small.min_bytes == 1024 * 1024


@pytest.mark.django_db(transaction=True)
def test_unused_finding_says_what_dropping_saves_in_writes():
    # Committed, so the inserts reach pg_stat_user_tables (a transaction's counts show only at its end).
    try:
        _big_unused_table()
        execute("SELECT pg_stat_force_next_flush()")
        window = selectors.window_for(30)
        unused = {f.index: f for f in index_findings.index_unused_list(window, min_bytes=0)}
        finding = unused["dbh_big_v"]
        # 60,000 inserts into its table, each of which also wrote this index.
        assert finding.extra["writes"] == 60000
        assert "60,000 writes" in finding.detail
    finally:
        execute("DROP TABLE IF EXISTS dbh_big", "DROP TABLE IF EXISTS dbh_tiny")


def test_a_young_window_says_so_and_when_unused_can_be_judged():
    run = dbhealth_snapshot_take()
    SnapshotRun.objects.filter(pk=run.pk).update(taken_at=timezone.now() - timedelta(days=2))
    window = selectors.window_for(30)
    assert window.young
    assert window.judge_after.date() == (timezone.now() + timedelta(days=5)).date()
    unused = index_findings.index_unused_list(window, min_bytes=0)
    assert unused and all("too young" in f.detail for f in unused)


def test_an_old_enough_window_is_not_young():
    run = dbhealth_snapshot_take()
    SnapshotRun.objects.filter(pk=run.pk).update(taken_at=timezone.now() - timedelta(days=31))
    window = selectors.window_for(30)
    assert not window.young
    assert all("too young" not in f.detail for f in index_findings.index_unused_list(window, min_bytes=0))
