"""Every report export reads keyset chunks of CUSTODIAN_EXPORT_CHUNK_ROWS: its queries grow with the chunks,
never with the rows (3 rows in one chunk against three chunks' worth)."""

import csv
import io

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dashboard.dataio.models import ImportPreviewRow, ImportUpload
from dashboard.trash.models import PurgeRecord
from dashboard.validation import services
from models_core.models import Ticket
from tests.factories import CustomerFactory, TicketFactory

pytestmark = pytest.mark.django_db

CHUNK = 3


def fetched(client, url: str, query: dict | None = None) -> tuple[list[dict], int]:
    """The export's CSV rows and how many queries answering it took (the streamed body included)."""
    with override_settings(CUSTODIAN_EXPORT_CHUNK_ROWS=CHUNK), CaptureQueriesContext(connection) as captured:
        response = client.get(url, query or {"format": "csv"})
        assert response.status_code == 200, response.content[:300]
        data = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.DictReader(io.StringIO(data.decode()))), len(captured)


def grows_per_chunk(one_chunk: int, three_chunks: int, per_chunk: int) -> None:
    assert three_chunks - one_chunk == 2 * per_chunk, (one_chunk, three_chunks)


def test_validation_failing_records(client, manager, organization):
    customer = CustomerFactory(organization=organization)
    url = reverse("dashboard:validation:export", args=["ticket", "subject_required"])
    client.force_login(manager)

    def blank_tickets(n: int) -> None:
        tickets = TicketFactory.create_batch(n, organization=organization, customer=customer)
        Ticket.objects.filter(pk__in=[t.pk for t in tickets]).update(subject="")
        services.validation_scan_run(services.validation_scan_create(None).pk)

    blank_tickets(CHUNK)
    rows, one_chunk = fetched(client, url)
    assert len(rows) == CHUNK
    blank_tickets(2 * CHUNK)
    rows, three_chunks = fetched(client, url)
    assert len(rows) == 3 * CHUNK
    grows_per_chunk(one_chunk, three_chunks, 1)


def test_purge_records(client, manager, organization):
    client.force_login(manager)
    url = reverse("dashboard:trash:purge_records")

    def records(n: int) -> None:
        PurgeRecord.objects.bulk_create(
            PurgeRecord(model_label="models_core.Ticket", object_id=str(i), organization_id=organization.pk)
            for i in range(n)
        )

    records(CHUNK)
    rows, one_chunk = fetched(client, url, {"export": "csv"})
    assert len(rows) == CHUNK
    records(2 * CHUNK)
    rows, three_chunks = fetched(client, url, {"export": "csv"})
    assert len(rows) == 3 * CHUNK
    assert [int(r["id"]) for r in rows] == sorted((int(r["id"]) for r in rows), reverse=True)  # newest first
    grows_per_chunk(one_chunk, three_chunks, 1)


def test_import_errors(client, org_admin, organization):
    client.force_login(org_admin)
    upload = ImportUpload.objects.create(
        model_label="models_core.ticket", format_key="csv", original_file_name="t.csv",
        resource_path="dashboard.dataio.resources.TicketResource", data=b"", row_count=9,
        status=ImportUpload.Status.REFUSED, uploaded_by=org_admin, organization=organization,
    )  # fmt: skip
    url = reverse("dashboard:exports:import_errors", args=[upload.pk])

    def failing(first: int, n: int) -> None:
        ImportPreviewRow.objects.bulk_create(
            ImportPreviewRow(upload=upload, number=i, import_type="invalid", errors=[["subject", f"bad {i}"]])
            for i in range(first, first + n)
        )

    failing(1, CHUNK)
    rows, one_chunk = fetched(client, url, {})
    assert len(rows) == CHUNK
    failing(CHUNK + 1, 2 * CHUNK)
    rows, three_chunks = fetched(client, url, {})
    assert [int(r["row"]) for r in rows] == list(range(1, 3 * CHUNK + 1))
    grows_per_chunk(one_chunk, three_chunks, 1)
