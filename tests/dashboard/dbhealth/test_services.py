"""Snapshots, pruning, existing-data counts and the violation recorder, on the real database."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from procrastinate.contrib.django import app

from dashboard.dbhealth import selectors, violations
from dashboard.dbhealth.models import (
    ConstraintViolation,
    IndexDailyStat,
    IndexSnapshot,
    SnapshotRun,
    TableSnapshot,
)
from dashboard.dbhealth.recorder import violation_context
from dashboard.dbhealth.services import (
    constraint_violating_rows_count,
    dbhealth_prune,
    dbhealth_snapshot_take,
)
from dashboard.sidedb import side_connection
from models_core.models import Ticket, User
from tests.factories import SLAPolicyFactory, TicketFactory, UserFactory, build_tenant

pytestmark = pytest.mark.django_db


def test_snapshot_stores_every_index_and_table_with_flags():
    run = dbhealth_snapshot_take()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_user_indexes WHERE schemaname NOT LIKE 'pg_temp%%'")
        (index_count,) = cursor.fetchone()
    assert run.index_count == index_count == IndexSnapshot.objects.filter(run=run).count()
    assert run.table_count == TableSnapshot.objects.filter(run=run).count() > 0
    rows = {i.index_name: i for i in IndexSnapshot.objects.filter(run=run)}
    assert rows["unique_org_ticket_number"].is_unique
    assert rows["exclude_overlapping_sla_policies"].is_exclusion
    assert rows["models_core_ticket_pkey"].is_primary
    assert rows["idx_ticket_org_status"].method == "btree"
    assert rows["idx_ticket_tags_gin"].method == "gin"
    assert rows["idx_ticket_org_status"].size_bytes > 0
    assert "(organization_id, status)" in rows["idx_ticket_org_status"].definition
    assert run.stats_reset == selectors.stats_reset_current()


def test_command_takes_a_snapshot_and_prunes(capsys):
    old = SnapshotRun.objects.create(taken_at=timezone.now() - timedelta(days=91))
    call_command("dbhealth_snapshot", "--prune")
    out = capsys.readouterr().out
    assert "indexes" in out and "Pruned: 1 runs" in out
    assert not SnapshotRun.objects.filter(pk=old.pk).exists()
    assert SnapshotRun.objects.get().source == SnapshotRun.Source.COMMAND


def test_prune_keeps_90_days(recorded_violations):
    old = dbhealth_snapshot_take()
    SnapshotRun.objects.filter(pk=old.pk).update(taken_at=timezone.now() - timedelta(days=91))
    recent = dbhealth_snapshot_take()
    ConstraintViolation.objects.create(
        occurred_at=timezone.now() - timedelta(days=91), kind="error", sqlstate="23505"
    )
    kept = ConstraintViolation.objects.create(occurred_at=timezone.now(), kind="error", sqlstate="23505")
    result = dbhealth_prune()
    assert result["runs"] == 1 and result["violations"] == 1
    assert result["index_snapshots"] == old.index_count
    assert list(SnapshotRun.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not IndexSnapshot.objects.filter(run_id=old.pk).exists()
    assert list(ConstraintViolation.objects.values_list("pk", flat=True)) == [kept.pk]


def test_hourly_task_is_scheduled():
    periodic = {task.task.name: task for task in app.periodic_registry.periodic_tasks.values()}
    assert periodic["dbhealth.snapshot"].cron == "7 * * * *"


def _ddl(sql: str) -> None:
    with connection.cursor() as cursor:
        # Fire the deferred FK checks of the rows just written: ALTER refuses to run with pending triggers.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(sql)


def _drop(constraint: str, table: str) -> None:
    _ddl(f'ALTER TABLE "{table}" DROP CONSTRAINT "{constraint}"')


def test_check_existing_data_counts_rows_violating_a_check_constraint():
    tickets = TicketFactory.create_batch(3)
    assert constraint_violating_rows_count("check_ticket_status_valid") == 0
    _drop("check_ticket_status_valid", "models_core_ticket")
    Ticket.all_objects.filter(pk__in=[t.pk for t in tickets[:2]]).update(status="bogus")
    assert constraint_violating_rows_count("check_ticket_status_valid") == 2


def test_check_existing_data_counts_duplicates_of_unique_constraints():
    org = build_tenant(tickets=3)
    assert constraint_violating_rows_count("unique_org_ticket_number") == 0
    _drop("unique_org_ticket_number", "models_core_ticket")
    first, second, _ = Ticket.all_objects.filter(organization=org).order_by("pk")
    Ticket.all_objects.filter(pk=second.pk).update(ticket_number=first.ticket_number)
    assert constraint_violating_rows_count("unique_org_ticket_number") == 2
    # An expression (lower(email)) with a condition (live users only).
    UserFactory(email="same@example.com")
    _ddl("DROP INDEX unique_user_email_live")
    UserFactory(email="SAME@example.com")
    trashed = UserFactory(email="Same@Example.com")
    User.all_objects.filter(pk=trashed.pk).update(deleted_at=timezone.now(), is_active=False)
    assert constraint_violating_rows_count("unique_user_email_live") == 2


def test_check_existing_data_counts_overlaps_of_the_exclusion_constraint():
    policy = SLAPolicyFactory()
    _drop("exclude_overlapping_sla_policies", "models_core_slapolicy")
    SLAPolicyFactory(organization=policy.organization, priority=policy.priority, validity=policy.validity)
    SLAPolicyFactory(
        organization=policy.organization, priority="urgent" if policy.priority != "urgent" else "low"
    )
    assert constraint_violating_rows_count("exclude_overlapping_sla_policies") == 2


def test_check_existing_data_refuses_unknown_constraints():
    with pytest.raises(ValidationError):
        constraint_violating_rows_count("no_such_constraint")


# The recorder
# ----------------------------------------------------------------------------------------------------


def test_a_rolled_back_integrity_error_leaves_its_record_and_shows_in_the_chart(recorded_violations, dba):
    ticket = TicketFactory()
    with violation_context("view", "tickets:edit", dba), pytest.raises(IntegrityError), transaction.atomic():
        Ticket.all_objects.filter(pk=ticket.pk).update(status="bogus")
    # The write was rolled back...
    ticket.refresh_from_db()
    assert ticket.status != "bogus"
    # ...its record was not.
    record = ConstraintViolation.objects.get()
    assert (record.kind, record.sqlstate, record.constraint_name) == (
        "error",
        "23514",
        "check_ticket_status_valid",
    )
    assert (record.table_name, record.model_label) == ("models_core_ticket", "models_core.Ticket")
    assert (record.source_kind, record.source, record.user_id) == ("view", "tickets:edit", dba.pk)
    since = timezone.now() - timedelta(days=1)
    rows = violations.violations_per_constraint_daily(dba, since)
    assert [(r["constraint_name"], r["kind"], r["count"]) for r in rows] == [
        ("check_ticket_status_valid", "error", 1)
    ]
    summary = {row["name"]: row for row in violations.violation_constraint_summary(dba, since)}
    assert summary["check_ticket_status_valid"]["errors"] == 1
    assert summary["check_ticket_status_valid"]["message"] == "Status must be one of: " + (
        "new, open, pending, resolved, closed, cancelled."
    )


def test_deferred_foreign_key_violations_checked_early_are_recorded(recorded_violations):
    from models_core.models import TicketComment

    # Inside the test's transaction the deferred FK would be checked at its end; force the check now.
    with pytest.raises(IntegrityError), transaction.atomic():
        TicketComment.all_objects.create(ticket_id=987654321, content="orphan")
        connection.check_constraints()
    record = ConstraintViolation.objects.get()
    assert record.sqlstate == "23503"
    assert record.model_label == "models_core.TicketComment"
    assert record.constraint_name.endswith("_fk_models_co")


def test_organization_comes_from_the_user_and_no_values_are_kept(recorded_violations, manager):
    UserFactory(email="taken@example.com")
    with (
        violation_context("command", "import_users", manager),
        pytest.raises(IntegrityError),
        transaction.atomic(),
    ):
        UserFactory(email="TAKEN@example.com")
    record = ConstraintViolation.objects.get()
    assert record.constraint_name == "unique_user_email_live"
    assert record.organization_id == manager.organization_id
    assert "taken" not in " ".join(str(v) for v in ConstraintViolation.objects.values().get().values())


def test_violations_caught_by_validation_are_recorded_as_prevented(recorded_violations):
    UserFactory(email="taken@example.com")
    user = UserFactory.build(email="Taken@Example.com", username="another")
    with pytest.raises(ValidationError):
        user.full_clean()
    record = ConstraintViolation.objects.get()
    assert (record.kind, record.sqlstate, record.constraint_name) == (
        "prevented",
        "23505",
        "unique_user_email_live",
    )


def test_violations_of_other_organizations_are_not_visible_to_an_organization_bound_user(
    recorded_violations, manager, other_organization
):
    ConstraintViolation.objects.create(
        occurred_at=timezone.now(), kind="error", sqlstate="23505", organization_id=other_organization.pk
    )
    mine = ConstraintViolation.objects.create(
        occurred_at=timezone.now(), kind="error", sqlstate="23505", organization_id=manager.organization_id
    )
    assert list(violations.violations_visible_to(manager)) == [mine]


def _committed_violations(constraint_name: str) -> int:
    with side_connection() as conn:
        return conn.execute(
            f'SELECT count(*) FROM "{ConstraintViolation._meta.db_table}" WHERE constraint_name = %s',
            [constraint_name],
        ).fetchone()[0]


def test_a_test_that_does_not_ask_for_recorded_violations_leaves_none_behind_for_the_next():
    # The recorder commits through its own connection, so a record outlives the test's rollback and
    # used to show up in whichever test read the violations next (the charts test, in random order).
    before = _committed_violations("check_ticket_status_valid")
    ticket = TicketFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Ticket.all_objects.filter(pk=ticket.pk).update(status="bogus")
    assert _committed_violations("check_ticket_status_valid") == before


@pytest.mark.django_db(transaction=True)
def test_deferred_foreign_key_violations_at_commit_are_recorded(recorded_violations):
    from models_core.models import TicketComment

    with violation_context("command", "commit-test"), pytest.raises(IntegrityError), transaction.atomic():
        TicketComment.all_objects.create(ticket_id=987654321, content="orphan")  # fails at COMMIT
    record = ConstraintViolation.objects.get(source="commit-test")
    assert (record.sqlstate, record.model_label) == ("23503", "models_core.TicketComment")


# Daily rollups: written as snapshots are taken, so a window's chart reads one row per index and day
# ----------------------------------------------------------------------------------------------------


def test_each_snapshot_adds_its_scans_to_the_days_rollup():
    first = dbhealth_snapshot_take()
    assert not IndexDailyStat.objects.exists()  # the first snapshot only sets the starting point
    Ticket.objects.filter(ticket_number=1, organization_id=1).exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
    second = dbhealth_snapshot_take()
    third = dbhealth_snapshot_take()
    rows = IndexDailyStat.objects.filter(day=third.taken_at.date())
    assert rows.count() == second.index_count
    snaps = {
        (run, i.index_name): i.idx_scan
        for run in (first.pk, third.pk)
        for i in IndexSnapshot.objects.filter(run_id=run)
    }
    for row in rows:
        assert row.readings == 2
        assert row.scans == snaps[(third.pk, row.index_name)] - snaps[(first.pk, row.index_name)]
        assert not row.reset


def test_rollups_are_pruned_with_the_snapshots():
    dbhealth_snapshot_take()
    dbhealth_snapshot_take()
    IndexDailyStat.objects.update(day=timezone.now().date() - timedelta(days=92))
    result = dbhealth_prune()
    assert result["index_daily"] > 0
    assert not IndexDailyStat.objects.exists()


def test_the_migration_backfills_rollups_from_existing_snapshots():
    import importlib

    migration = importlib.import_module("dashboard.dbhealth.migrations.0002_daily_rollups_and_writes")
    day = timezone.now().replace(hour=2, minute=0, second=0, microsecond=0) - timedelta(days=3)
    runs = [SnapshotRun.objects.create(taken_at=day + timedelta(hours=h)) for h in (0, 1, 25)]
    for run, scans in zip(runs, (10, 15, 40), strict=True):
        IndexSnapshot.objects.create(
            run=run,
            schema_name="public",
            table_name="t",
            index_name="i",
            method="btree",
            idx_scan=scans,
            idx_tup_read=0,
            idx_tup_fetch=0,
            size_bytes=8192 * scans,
            is_valid=True,
            is_unique=False,
            is_primary=False,
            is_exclusion=False,
            definition="",
        )
    with connection.cursor() as cursor:
        cursor.execute(migration.BACKFILL_SQL)
    rows = {r.day: r for r in IndexDailyStat.objects.filter(index_name="i")}
    assert {d: (r.scans, r.readings, r.size_bytes) for d, r in rows.items()} == {
        day.date(): (5, 1, 8192 * 15),
        (day + timedelta(days=1)).date(): (25, 1, 8192 * 40),
    }
