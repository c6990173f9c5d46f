"""kill -9 of a worker mid-job: within bounded time the job is retried or visibly failed with a retry button;
nothing is lost, nothing is done twice."""

import pytest
from django.db import connections
from django.test import override_settings
from django.urls import reverse
from procrastinate.contrib.django.models import ProcrastinateJob

from dashboard.jobs.models import JobRun
from dashboard.jobs.services import job_run_start, job_runs_reconcile
from dashboard.trash.models import PurgeRecord
from dashboard.trash.services import trash_items_named
from dashboard.trash.tasks import trash_purge_task
from models_core.models import Ticket, TicketComment
from tests.conditions import wait_until
from tests.factories import TicketCommentFactory, TicketFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def run_status(run: JobRun) -> str:
    run.refresh_from_db()
    return run.status


def purge_killed_mid_job(start_worker, admin, ticket: Ticket) -> JobRun:
    """Start a purge of `ticket`, let a real worker begin it, and SIGKILL the worker while its transaction
    waits on a row lock another session holds: the job is left "running" with nothing removed."""
    blocker = connections.create_connection("default")
    blocker.set_autocommit(False)
    with blocker.cursor() as cursor:
        cursor.execute("SELECT id FROM models_core_ticket WHERE id = %s FOR UPDATE", [ticket.pk])
    run = job_run_start(
        "trash_purge", admin, trash_purge_task, user_id=admin.pk, items=trash_items_named([ticket]), reason=""
    )
    worker = start_worker()
    try:
        wait_until(
            lambda: run_status(run) == "running",
            timeout=60,
            what=lambda: f"the worker to start the job\n{worker.output()}",
            interval=0.2,
        )
        worker.kill()
    finally:
        blocker.rollback()
        blocker.close()
    return run


def test_a_purge_killed_mid_job_is_retried_and_done_once(start_worker, organization, make_staff, client):
    admin = make_staff("Admins")
    ticket = TicketFactory(organization=organization)
    TicketCommentFactory.create_batch(3, ticket=ticket)
    ticket.soft_delete()
    ticket = Ticket.all_objects.get(pk=ticket.pk)

    # Another session holds the ticket's row: the worker's purge blocks inside its transaction, mid-job.
    run = purge_killed_mid_job(start_worker, admin, ticket)
    assert run_status(run) == "running"  # what the pages showed for ever before
    assert Ticket.all_objects.filter(pk=ticket.pk).exists()  # the killed transaction removed nothing

    # Its heartbeat is silent now: the reconciler (every minute in production) fails it, retries exhausted.
    with override_settings(CUSTODIAN_JOB_STALLED_RETRIES=0):
        # The killed worker may also have held its own periodic reconcile job: wait for this run's.
        wait_until(
            lambda: job_runs_reconcile(seconds_since_heartbeat=2) and run_status(run) == "failed",
            timeout=30,
            what="the killed worker's job to count as stalled",
            interval=0.5,
        )
    run.refresh_from_db()
    assert run.status == "failed" and "worker stopped" in run.error
    assert ProcrastinateJob.objects.get(pk=run.procrastinate_job_id).status == "failed"

    # The home page shows it failed, with a retry button for the person who started it.
    client.force_login(admin)
    home = client.get(reverse("admin:index")).content.decode()
    assert 'data-testid="job-retry"' in home
    assert f'action="{reverse("dashboard:job_run_retry", args=[run.pk])}" data-job-run-retry >' in home

    response = client.post(reverse("dashboard:job_run_retry", args=[run.pk]), {"next": "/"})
    assert response.status_code == 302
    assert run_status(run) == "queued"

    # A new worker (the supervisor's restart) runs it to the end, once.
    worker = start_worker()
    wait_until(
        lambda: run_status(run) == "succeeded",
        timeout=60,
        what=lambda: f"the retried job to finish\n{worker.output()}",
        interval=0.2,
    )
    assert worker.stop() == 0
    assert not Ticket.all_objects.filter(pk=ticket.pk).exists()
    assert not TicketComment.all_objects.filter(ticket_id=ticket.pk).exists()
    assert PurgeRecord.objects.filter(object_id=str(ticket.pk)).count() == 1
    assert run.result["outcomes"][0]["ok"] is True


def test_a_job_killed_mid_run_is_retried_automatically(start_worker, organization, make_staff):
    admin = make_staff("Admins")
    ticket = TicketFactory(organization=organization)
    ticket.soft_delete()
    ticket = Ticket.all_objects.get(pk=ticket.pk)
    run = purge_killed_mid_job(start_worker, admin, ticket)

    # The supervisor starts a new worker; reconcilers (ours here, the worker's own every minute) retry it.
    worker = start_worker()
    wait_until(
        lambda: job_runs_reconcile(seconds_since_heartbeat=2) and run_status(run) == "succeeded",
        timeout=60,
        what=lambda: f"the killed worker's job to be retried and finish\n{worker.output()}",
        interval=0.5,
    )
    # The run says "succeeded" from inside the task; procrastinate finishes its job (and counts the
    # attempt) only once the task has returned: stopping the worker waits for that.
    assert worker.stop() == 0
    assert PurgeRecord.objects.filter(object_id=str(ticket.pk)).count() == 1
    # procrastinate counts the retry and the run that finished it: retried once, not twice.
    job = ProcrastinateJob.objects.get(pk=run.procrastinate_job_id)
    assert (job.status, job.attempts) == ("succeeded", 2)
