"""kill -9 of a worker in the middle of a large import's confirm job: nothing of the file is written, the
JobRun does not hang (it is retried), and the retry imports the file once."""

import pytest
from django.db import connections
from procrastinate.contrib.django.models import ProcrastinateJob

from dashboard.dataio.models import ImportUpload
from dashboard.dataio.resources import TicketResource
from dashboard.dataio.uploads import import_upload_confirm, import_upload_confirm_start, import_upload_start
from dashboard.jobs.models import JobRun
from dashboard.jobs.services import job_runs_reconcile
from models_core.models import Ticket
from tests.conditions import wait_until
from tests.dashboard.dataio.conftest import csv_bytes
from tests.factories import CustomerFactory, TicketFactory
from tests.worker import run_queued_jobs

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

NEW_ROWS = 30


def run_state(run: JobRun) -> tuple:
    run.refresh_from_db()
    return run.status, run.progress_done, run.progress_total


def test_a_confirm_killed_mid_import_writes_nothing_and_its_retry_imports_once(
    start_worker, organization, make_staff
):
    admin = make_staff("Admins")
    customer = CustomerFactory(organization=organization)
    ticket = TicketFactory(organization=organization, customer=customer, subject="Before")
    rows = [["", f"Bulk {i}", customer.pk, "low"] for i in range(1, NEW_ROWS + 1)]
    rows.append([ticket.pk, "After", customer.pk, "low"])  # the last row: the one the worker blocks on
    upload = import_upload_start(
        user=admin,
        resource_class=TicketResource,
        format_key="csv",
        file_name="tickets.csv",
        data=csv_bytes(["id", "subject", "customer", "priority"], rows),
        row_count=len(rows),
    )
    run_queued_jobs()  # the preview job
    upload.refresh_from_db()
    assert upload.status == "previewed", upload.error

    # Another session holds the ticket's row: the confirm inserts the 30 new tickets, then waits on the last
    # row inside its transaction.
    blocker = connections.create_connection("default")
    blocker.set_autocommit(False)
    with blocker.cursor() as cursor:
        cursor.execute("SELECT id FROM models_core_ticket WHERE id = %s FOR UPDATE", [ticket.pk])
    run = import_upload_confirm_start(user=admin, upload=upload).confirm_job
    worker = start_worker()
    try:
        # Progress is seen while the import's transaction is open (reported beside it).
        wait_until(
            lambda: run_state(run) == ("running", NEW_ROWS, NEW_ROWS + 1),
            timeout=60,
            what=lambda: (
                f"the worker to import 30 rows and wait on the 31st ({run_state(run)})\n{worker.output()}"
            ),
            interval=0.2,
        )
        worker.kill()
    finally:
        blocker.rollback()
        blocker.close()

    assert not Ticket.objects.filter(
        subject__startswith="Bulk"
    ).exists()  # the killed transaction wrote nothing
    assert Ticket.objects.get(pk=ticket.pk).subject == "Before"
    assert ImportUpload.objects.get(pk=upload.pk).status == "previewed"  # still waiting, not consumed

    # A new worker (the supervisor's restart); the reconciler retries the stalled job, which finishes.
    worker = start_worker()
    wait_until(
        lambda: job_runs_reconcile(seconds_since_heartbeat=2) and run_state(run)[0] == "succeeded",
        timeout=60,
        what=lambda: f"the killed import to be retried and finish\n{worker.output()}",
        interval=0.5,
    )
    assert worker.stop() == 0
    assert Ticket.objects.filter(subject__startswith="Bulk").count() == NEW_ROWS
    assert Ticket.objects.get(pk=ticket.pk).subject == "After"
    upload.refresh_from_db()
    assert upload.status == "imported"
    assert ProcrastinateJob.objects.get(pk=run.procrastinate_job_id).attempts == 2  # retried once

    # Once more (a job delivered again): imported already, nothing is imported twice.
    assert import_upload_confirm(upload_id=upload.pk)["imported"] is False
    assert Ticket.objects.filter(subject__startswith="Bulk").count() == NEW_ROWS
