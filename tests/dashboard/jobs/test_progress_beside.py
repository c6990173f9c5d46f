"""job_progress_beside: progress of work that is one long transaction is seen while that transaction is open,
and a cancel stops it (its transaction rolls back)."""

import pytest
from django.db import connections, transaction
from procrastinate.exceptions import JobAborted

from dashboard.jobs.models import JobRun
from dashboard.jobs.services import job_progress, job_progress_beside
from models_core.models import Organization
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db(transaction=True)


def elsewhere(sql: str, params: list) -> tuple | None:
    """Run `sql` in another session (autocommit: it sees and writes committed data only)."""
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone() if cursor.description else None
    finally:
        other.close()


def seen_elsewhere(run: JobRun) -> tuple:
    table = JobRun._meta.db_table
    return elsewhere(f"SELECT status, progress_done, progress_total FROM {table} WHERE id = %s", [run.pk])


def test_reports_are_seen_while_the_works_transaction_is_open(manager):
    run = JobRun.objects.create(kind="import", started_by=manager)
    with job_progress_beside(run.pk) as report, transaction.atomic():
        OrganizationFactory(slug="half-way")
        report(3, 10)
        assert seen_elsewhere(run) == ("running", 3, 10)
        # job_progress (the reporter of jobs made of many transactions) writes inside this one: unseen.
        job_progress(run.pk)(5, 10)
        assert seen_elsewhere(run) == ("running", 3, 10)


def test_a_cancel_aborts_the_work_and_rolls_its_transaction_back(manager):
    run = JobRun.objects.create(kind="import", started_by=manager)
    with pytest.raises(JobAborted), job_progress_beside(run.pk) as report, transaction.atomic():
        OrganizationFactory(slug="never-kept")
        report(1, 10)
        # job_run_cancel, from another page's request
        elsewhere(f"UPDATE {JobRun._meta.db_table} SET status = 'cancelled' WHERE id = %s", [run.pk])
        report(2, 10)
    assert not Organization.objects.filter(slug="never-kept").exists()


def test_a_finished_run_is_left_alone(manager):
    run = JobRun.objects.create(kind="import", started_by=manager, status="succeeded")
    with job_progress_beside(run.pk) as report:
        report(1, 2)
    assert seen_elsewhere(run) == ("succeeded", 0, None)


def test_without_a_run_it_reports_nowhere():
    with job_progress_beside(None) as report:
        report(1, 2)
