"""The admin changelists' exports: read in keyset chunks with the same queries per chunk, and above
CUSTODIAN_EXPORT_SYNC_MAX_ROWS written by a job, scoped and filtered as the download would be."""

import csv
import io

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dashboard.dataio.resources import TicketResource
from dashboard.exports.models import ExportFile
from models_core.models import Ticket
from tests.factories import CustomerFactory, TicketFactory
from tests.worker import run_queued_jobs

EXPORT_URL = reverse("admin:models_core_ticket_export")
FORMAT_INDEX = {"csv": "0", "xlsx": "1", "json": "2"}


def export_post(client, kind: str = "csv", query: str = "", fields=None):
    data = {"resource": "0", "format": FORMAT_INDEX[kind]}
    names = fields or TicketResource().get_export_order()
    data.update({f"ticketresource_{name}": "on" for name in names})
    return client.post(EXPORT_URL + query, data)


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def csv_rows(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode())))


def tickets(organization, n: int, **kwargs) -> list[Ticket]:
    customer = CustomerFactory(organization=organization)
    return TicketFactory.create_batch(n, organization=organization, customer=customer, **kwargs)


@pytest.mark.django_db
def test_the_download_reads_keyset_chunks_with_the_same_queries_per_chunk(client, manager, organization):
    client.force_login(manager)

    def queries(n_rows: int) -> int:
        with override_settings(CUSTODIAN_EXPORT_CHUNK_ROWS=5), CaptureQueriesContext(connection) as captured:
            response = export_post(client)
        assert response.status_code == 200 and len(csv_rows(body(response))) == n_rows
        return len(captured)

    tickets(organization, 5)
    one_chunk = queries(5)
    tickets(organization, 10)
    three_chunks = queries(15)
    # Two more chunks, one query each (organization, customer and agent are joined in), nothing per row.
    assert three_chunks - one_chunk == 2, (one_chunk, three_chunks)


@pytest.mark.django_db(transaction=True)
@override_settings(CUSTODIAN_EXPORT_SYNC_MAX_ROWS=2, CUSTODIAN_EXPORT_CHUNK_ROWS=2)
def test_a_big_changelist_export_runs_as_a_job_with_the_changelists_filters_and_scope(
    client, manager, organization, other_organization, make_staff
):
    urgent = tickets(organization, 4, priority="urgent")
    tickets(organization, 2, priority="low")
    tickets(other_organization, 3, priority="urgent")
    Ticket.objects.filter(pk=urgent[0].pk).first().soft_delete()  # the trash is exported from the trash
    client.force_login(manager)
    fields = ["id", "subject", "priority", "organization"]
    response = export_post(client, query="?priority__exact=urgent", fields=fields)
    assert response.status_code == 302, response.content[:500]
    export = ExportFile.objects.get()
    assert response["Location"] == reverse("dashboard:exports:file", args=[export.pk])
    run_queued_jobs()
    export.refresh_from_db()
    assert export.status == "ready", (export.error, export.job.error)
    download = client.get(reverse("dashboard:exports:file_download", args=[export.pk]))
    rows = csv_rows(body(download))
    assert sorted(int(r["id"]) for r in rows) == sorted(t.pk for t in urgent[1:])
    assert set(rows[0]) == set(fields) and {r["organization"] for r in rows} == {str(organization.pk)}
    with override_settings(CUSTODIAN_EXPORT_SYNC_MAX_ROWS=100):
        direct = csv_rows(body(export_post(client, query="?priority__exact=urgent", fields=fields)))
    assert sorted(rows, key=lambda r: r["id"]) == sorted(direct, key=lambda r: r["id"])
    colleague = make_staff("Support managers", username="colleague")
    client.force_login(colleague)
    assert client.get(reverse("dashboard:exports:file_download", args=[export.pk])).status_code == 404


@pytest.mark.django_db(transaction=True)
@override_settings(CUSTODIAN_EXPORT_SYNC_MAX_ROWS=0)
def test_bad_changelist_filters_are_refused_before_any_job(client, manager, organization):
    tickets(organization, 2)
    client.force_login(manager)
    assert export_post(client, query="?created_at__gte=notadate").status_code == 400
    assert not ExportFile.objects.exists()
