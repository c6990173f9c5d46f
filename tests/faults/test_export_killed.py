"""kill -9 of a worker in the middle of an export job: the parts it wrote are never offered as the file
(the download answers 409, the file stays "being written"), and the retry writes the whole file once."""

import csv
import io

import pytest
from django.db import connections
from django.test import Client
from django.urls import reverse
from procrastinate.contrib.django.models import ProcrastinateJob

from dashboard.exports.files import export_file_start
from dashboard.exports.models import ExportFile, ExportFilePart
from dashboard.jobs.models import JobRun
from dashboard.jobs.services import job_runs_reconcile
from tests.conditions import wait_until
from tests.factories import TicketFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROWS = 20
PART_BYTES = "256"  # the worker's parts: a few rows each, so the first is written long before the last


def state(export: ExportFile) -> tuple:
    export.refresh_from_db()
    run = JobRun.objects.get(pk=export.job_id)
    return export.status, ExportFilePart.objects.filter(export=export).count(), run.status


def test_an_export_killed_mid_file_offers_nothing_and_its_retry_writes_it_whole(start_worker, manager):
    for ticket in TicketFactory.create_batch(ROWS, organization=manager.organization):
        ticket.soft_delete()
    export = export_file_start(user=manager, source="trash", query="format=csv", format_key="csv")
    client = Client()
    client.force_login(manager)
    download = reverse("dashboard:exports:file_download", args=[export.pk])

    # Another session holds the file's row (FOR NO KEY UPDATE: the parts' foreign key checks still pass):
    # the worker commits its first part, then waits to count it on the file.
    blocker = connections.create_connection("default")
    blocker.set_autocommit(False)
    with blocker.cursor() as cursor:
        cursor.execute("SELECT id FROM dashboard_exportfile WHERE id = %s FOR NO KEY UPDATE", [export.pk])
    worker = start_worker(CUSTODIAN_EXPORT_PART_BYTES=PART_BYTES)
    try:
        wait_until(
            lambda: state(export)[1] >= 1,
            timeout=60,
            what=lambda: f"the worker to write its first part ({state(export)})\n{worker.output()}",
            interval=0.2,
        )
        worker.kill()
    finally:
        blocker.rollback()
        blocker.close()

    # Half a file in the database, and nobody is handed it.
    assert state(export)[:2] == ("writing", 1)
    assert client.get(download).status_code == 409

    worker = start_worker(CUSTODIAN_EXPORT_PART_BYTES=PART_BYTES)
    wait_until(
        lambda: job_runs_reconcile(seconds_since_heartbeat=2) and state(export)[2] == "succeeded",
        timeout=60,
        what=lambda: f"the killed export to be retried and finish ({state(export)})\n{worker.output()}",
        interval=0.5,
    )
    assert worker.stop() == 0
    assert ProcrastinateJob.objects.get(pk=export.job.procrastinate_job_id).attempts == 2  # retried once
    status, parts, _ = state(export)
    assert status == "ready" and parts > 1
    response = client.get(download)
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == ROWS and len({r["id"] for r in rows}) == ROWS  # every row once
