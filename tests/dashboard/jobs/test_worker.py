"""A real procrastinate worker runs the housekeeping tasks against PostgreSQL; schedules are registered."""

from datetime import timedelta

import pytest
from django.utils import timezone
from procrastinate.contrib.django import app
from procrastinate.contrib.django.models import ProcrastinateJob

from dashboard.dataio.tasks import prune_import_uploads
from dashboard.jobs.models import JobRun
from dashboard.jobs.services import job_run_start
from dashboard.tasks import prune_job_runs
from dashboard.validation.tasks import prune_validation_history
from tests.factories import UserFactory
from tests.worker import run_queued_jobs


@pytest.fixture
def run_worker(transactional_db):
    """Run every queued job once, then return."""
    return run_queued_jobs


def test_prune_job_runs_end_to_end(run_worker, settings):
    settings.CUSTODIAN_JOB_RUN_RETENTION_DAYS = 30
    user = UserFactory(is_staff=True)
    old = JobRun.objects.create(kind="old", started_by=user, status="succeeded")
    recent = JobRun.objects.create(kind="recent", started_by=user, status="failed")
    JobRun.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=31))
    JobRun.objects.filter(pk=recent.pk).update(created_at=timezone.now() - timedelta(days=29))

    run = job_run_start("prune_job_runs", user, prune_job_runs)
    run_worker()

    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    assert run.result == {"deleted": 1}
    assert run.finished_at is not None
    assert not JobRun.objects.filter(pk=old.pk).exists()
    assert JobRun.objects.filter(pk=recent.pk).exists()
    assert ProcrastinateJob.objects.get(pk=run.procrastinate_job_id).status == "succeeded"


def test_prune_job_runs_is_scheduled_daily():
    periodic = {task.task.name: task for task in app.periodic_registry.periodic_tasks.values()}
    assert periodic["dashboard.prune_job_runs"].cron == "17 3 * * *"


@pytest.mark.parametrize(
    ("name", "cron"),
    [("validation.prune", "27 3 * * *"), ("dataio.prune_uploads", "47 * * * *")],
)
def test_pruning_tasks_are_scheduled(name, cron):
    periodic = {task.task.name: task for task in app.periodic_registry.periodic_tasks.values()}
    assert periodic[name].cron == cron
    assert periodic[name].task.queue == "housekeeping"


@pytest.mark.parametrize(
    ("task", "keys"),
    [
        (
            prune_validation_history,
            {"scans", "results", "organization_counts", "violations", "first_seen_moved", "waivers"},
        ),
        (prune_import_uploads, {"deleted", "stored_deleted"}),
    ],
)
def test_pruning_tasks_run_in_a_worker(run_worker, task, keys):
    run = job_run_start(task.name, UserFactory(is_staff=True), task)
    run_worker()
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    assert set(run.result) == keys


@pytest.mark.parametrize(
    ("name", "cron"),
    [("dashboard.reconcile_jobs", "* * * * *"), ("dashboard.remove_old_jobs", "37 3 * * *")],
)
def test_queue_housekeeping_is_scheduled(name, cron):
    periodic = {task.task.name: task for task in app.periodic_registry.periodic_tasks.values()}
    assert periodic[name].cron == cron
    assert periodic[name].task.queue == "housekeeping"


def test_remove_old_jobs_prunes_procrastinate_tables_in_a_worker(run_worker, settings):
    from django.db import connection

    from dashboard.tasks import remove_old_jobs

    settings.CUSTODIAN_QUEUE_JOB_RETENTION_HOURS = 1
    settings.CUSTODIAN_JOB_RUN_RETENTION_DAYS = 1
    user = UserFactory(is_staff=True)
    old_ok = job_run_start("prune_job_runs", user, prune_job_runs)
    recent_ok = job_run_start("prune_job_runs", user, prune_job_runs)
    old_failed = job_run_start("prune_job_runs", user, prune_job_runs)
    run_worker()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE procrastinate_jobs SET status = 'failed' WHERE id = %s", [old_failed.procrastinate_job_id]
        )
        # Age the events the cleanup goes by: two hours for one success, two days for the failure.
        cursor.execute(
            "UPDATE procrastinate_events SET at = at - interval '2 hours' WHERE job_id = %s",
            [old_ok.procrastinate_job_id],
        )
        cursor.execute(
            "UPDATE procrastinate_events SET at = at - interval '2 days' WHERE job_id = %s",
            [old_failed.procrastinate_job_id],
        )
    remove_old_jobs.defer()
    run_worker()
    kept = set(ProcrastinateJob.objects.values_list("pk", flat=True))
    assert old_ok.procrastinate_job_id not in kept
    assert old_failed.procrastinate_job_id not in kept
    assert recent_ok.procrastinate_job_id in kept


@pytest.mark.django_db(transaction=True)
def test_jobs_a_committed_test_queues_do_not_outlive_it(request):
    # A browser walk once left a prune job queued; the next test's worker pass ran it before its own.
    assert "queued_jobs_cleared" in request.fixturenames
    user = UserFactory(is_staff=True)
    job_run_start("prune_job_runs", user, prune_job_runs)
    assert ProcrastinateJob.objects.filter(status="todo").exists()
    from tests.conftest import queued_jobs_clear

    queued_jobs_clear()
    assert not ProcrastinateJob.objects.exists()
