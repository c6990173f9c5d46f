"""JobRun follows procrastinate's job: stalled jobs (worker heartbeat) are retried or failed, a run whose
queue job failed without it stops "Running", people who may retry and cancel."""

import pytest
from django.db import connection
from procrastinate import sql
from procrastinate.contrib.django.models import ProcrastinateJob
from procrastinate.exceptions import JobAborted

from dashboard.jobs.models import JobRun
from dashboard.jobs.selectors import job_run_actions, job_runs_visible_to
from dashboard.jobs.services import (
    _queue,
    job_progress,
    job_run_cancel,
    job_run_retry,
    job_run_start,
    job_runs_reconcile,
)
from dashboard.tasks import prune_job_runs
from dashboard.trash.tasks import trash_purge_task

pytestmark = pytest.mark.django_db


def take_job(job_id: int, *, heartbeat_age_seconds: int) -> int:
    """A worker (registered the way procrastinate registers one) takes the job, then falls silent."""
    connector = _queue().connector
    worker_id = connector.execute_query_one(query=sql.queries["register_worker"])["worker_id"]
    job = connector.execute_query_one(query=sql.queries["fetch_job"], queues=None, worker_id=worker_id)
    assert job["id"] == job_id
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE procrastinate_workers SET last_heartbeat = now() - make_interval(secs => %s)"
            " WHERE id = %s",
            [heartbeat_age_seconds, worker_id],
        )
    return worker_id


def queue_status(run: JobRun) -> str:
    return ProcrastinateJob.objects.get(pk=run.procrastinate_job_id).status


def test_a_job_of_a_silent_worker_is_retried_then_failed_with_a_retry_offer(settings, manager):
    settings.CUSTODIAN_JOB_STALLED_RETRIES = 1
    run = job_run_start("prune_job_runs", manager, prune_job_runs)
    JobRun.objects.filter(pk=run.pk).update(status=JobRun.Status.RUNNING)
    take_job(run.procrastinate_job_id, heartbeat_age_seconds=120)

    assert job_runs_reconcile(seconds_since_heartbeat=30)["retried"] == 1
    run.refresh_from_db()
    assert run.status == JobRun.Status.QUEUED and "worker stopped" in run.error
    assert queue_status(run) == "todo"

    # Killed again: out of retries, the queue job fails and the run says so, offering a retry.
    take_job(run.procrastinate_job_id, heartbeat_age_seconds=120)
    assert job_runs_reconcile(seconds_since_heartbeat=30)["failed"] == 1
    run.refresh_from_db()
    assert run.status == JobRun.Status.FAILED and run.is_finished
    assert queue_status(run) == "failed"
    assert job_run_actions(manager, run)["can_retry"]

    job_run_retry(user=manager, job_run=run)
    run.refresh_from_db()
    assert (run.status, run.error, run.finished_at) == (JobRun.Status.QUEUED, "", None)
    assert queue_status(run) == "todo"


def test_a_job_of_a_live_worker_is_left_alone(manager):
    run = job_run_start("prune_job_runs", manager, prune_job_runs)
    take_job(run.procrastinate_job_id, heartbeat_age_seconds=1)
    assert job_runs_reconcile(seconds_since_heartbeat=30)["retried"] == 0
    assert queue_status(run) == "doing"


def test_a_run_whose_queue_job_failed_during_an_outage_no_longer_shows_running(manager):
    # The task's own "failed" write was lost with the database; procrastinate's was not.
    run = job_run_start("prune_job_runs", manager, prune_job_runs)
    JobRun.objects.filter(pk=run.pk).update(status=JobRun.Status.RUNNING)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE procrastinate_jobs SET status = 'failed' WHERE id = %s", [run.procrastinate_job_id]
        )
    assert job_runs_reconcile()["marked_failed"] == 1
    run.refresh_from_db()
    assert run.status == JobRun.Status.FAILED
    assert job_run_actions(manager, run)["can_retry"]


def test_cancel_a_queued_run_cancels_its_queue_job(manager):
    run = job_run_start("prune_job_runs", manager, prune_job_runs)
    job_run_cancel(user=manager, job_run=run)
    run.refresh_from_db()
    assert run.status == JobRun.Status.CANCELLED and "Cancelled by manager" in run.error
    assert queue_status(run) == "cancelled"
    # The same task queued again as a new queue job, for the same run.
    old_job = run.procrastinate_job_id
    job_run_retry(user=manager, job_run=run)
    run.refresh_from_db()
    assert run.status == JobRun.Status.QUEUED and run.procrastinate_job_id != old_job
    new = ProcrastinateJob.objects.get(pk=run.procrastinate_job_id)
    assert (new.task_name, new.status, new.args) == (
        "dashboard.prune_job_runs",
        "todo",
        {"job_run_id": run.pk},
    )


def test_cancel_reaches_a_running_job_at_its_next_progress_report(manager):
    run = job_run_start("prune_job_runs", manager, prune_job_runs)
    report = job_progress(run.pk)
    report(1, 10)
    job_run_cancel(user=manager, job_run=run)
    with pytest.raises(JobAborted):
        report(2, 10)
    run.refresh_from_db()
    assert run.status == JobRun.Status.CANCELLED and run.progress_done == 1


def test_a_finished_run_is_not_run_again(manager):
    run = job_run_start("prune_job_runs", manager, prune_job_runs)
    first = prune_job_runs(job_run_id=run.pk)
    run.refresh_from_db()
    finished_at = run.finished_at
    assert prune_job_runs(job_run_id=run.pk) == first
    run.refresh_from_db()
    assert run.finished_at == finished_at


def test_who_may_retry_and_cancel(make_staff, other_organization):
    starter = make_staff("Admins")
    colleague = make_staff("Admins")  # purge_trash in the same organization
    manager = make_staff("Support managers")  # same organization, no purge right
    stranger = make_staff("Admins", organization=other_organization)
    platform = make_staff("Admins", organization=None)
    run = job_run_start("trash_purge", starter, trash_purge_task, user_id=starter.pk, items=[], reason="")
    JobRun.objects.filter(pk=run.pk).update(status=JobRun.Status.FAILED)
    run.refresh_from_db()

    for user, may in [
        (starter, True),
        (colleague, True),
        (platform, True),
        (manager, False),
        (stranger, False),
    ]:
        assert job_run_actions(user, run)["can_retry"] is may, user.username
        assert job_runs_visible_to(user).filter(pk=run.pk).exists() is may, user.username


def test_retry_refuses_a_run_that_did_not_fail(manager):
    from django.core.exceptions import ValidationError

    run = job_run_start("prune_job_runs", manager, prune_job_runs)
    with pytest.raises(ValidationError, match="Only a failed or cancelled job"):
        job_run_retry(user=manager, job_run=run)
