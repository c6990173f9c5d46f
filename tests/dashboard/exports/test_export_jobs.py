"""Exports above CUSTODIAN_EXPORT_SYNC_MAX_ROWS run as jobs: the request answers with the file's page, a real
worker writes the file in parts, and only its requester downloads it (dashboard.exports.files)."""

import csv
import io
import json
import re
from datetime import timedelta

import openpyxl
import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dashboard.exports import files
from dashboard.exports.models import ExportFile, ExportFilePart
from dashboard.jobs.kinds import job_run_result_link
from dashboard.jobs.models import JobRun
from tests.factories import TicketFactory
from tests.worker import run_queued_jobs

pytestmark = pytest.mark.django_db(transaction=True)

TRASH_EXPORT = reverse("dashboard:exports:trash_export")


def trash_tickets(organization, n: int, **kwargs) -> None:
    for ticket in TicketFactory.create_batch(n, organization=organization, **kwargs):
        ticket.soft_delete()


def download(client, export: ExportFile) -> bytes:
    response = client.get(reverse("dashboard:exports:file_download", args=[export.pk]))
    assert response.status_code == 200, response.content[:300]
    return b"".join(response.streaming_content)


def csv_rows(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode())))


def started(response) -> ExportFile:
    assert response.status_code == 302, response.content[:300]
    export = ExportFile.objects.get()
    assert response["Location"] == reverse("dashboard:exports:file", args=[export.pk])
    return export


@override_settings(CUSTODIAN_EXPORT_SYNC_MAX_ROWS=3, CUSTODIAN_EXPORT_CHUNK_ROWS=2)
def test_a_big_trash_export_runs_as_a_job_and_its_file_holds_what_the_download_would(
    client, manager, other_organization
):
    trash_tickets(manager.organization, 5)
    trash_tickets(other_organization, 2)
    client.force_login(manager)
    export = started(client.get(TRASH_EXPORT, {"format": "csv"}))
    page = client.get(reverse("dashboard:exports:file", args=[export.pk]))
    assert page.status_code == 200 and b'data-export-status="writing"' in page.content
    # Not ready: nothing to download yet.
    assert client.get(reverse("dashboard:exports:file_download", args=[export.pk])).status_code == 409

    run_queued_jobs()
    export.refresh_from_db()
    assert export.status == "ready" and export.rows == 5 and not export.truncated
    assert export.job.status == "succeeded" and export.job.progress_done == 5
    page = client.get(reverse("dashboard:exports:file", args=[export.pk]))
    assert b'data-testid="export-download"' in page.content
    rows = csv_rows(download(client, export))
    with override_settings(CUSTODIAN_EXPORT_SYNC_MAX_ROWS=100):
        response = client.get(TRASH_EXPORT, {"format": "csv"})
        direct = csv_rows(b"".join(response.streaming_content))
    assert rows == direct and len(rows) == 5
    assert {r["organization"] for r in rows} == {manager.organization.name}
    # The home page's job list links the run to the file's page.
    link = job_run_result_link(export.job)
    assert link is not None and link.url == reverse("dashboard:exports:file", args=[export.pk])


@override_settings(CUSTODIAN_EXPORT_SYNC_MAX_ROWS=2, CUSTODIAN_EXPORT_CHUNK_ROWS=2)
def test_the_job_keeps_the_filters_and_writes_json_and_xlsx(client, manager, organization):
    trash_tickets(organization, 3, subject="Keep this one")
    trash_tickets(organization, 2, subject="Other")
    client.force_login(manager)
    export = started(client.get(TRASH_EXPORT, {"format": "json", "q": "Keep"}))
    run_queued_jobs()
    data = json.loads(download(client, ExportFile.objects.get(pk=export.pk)))
    assert len(data) == 3 and all("Keep this one" in row["record"] for row in data)
    ExportFile.objects.all().delete()
    export = started(client.get(TRASH_EXPORT, {"format": "xlsx", "q": "Keep"}))
    run_queued_jobs()
    book = openpyxl.load_workbook(io.BytesIO(download(client, ExportFile.objects.get(pk=export.pk))))
    sheet_rows = list(book.active.iter_rows(values_only=True))
    assert sheet_rows[0][0] == "type" and len(sheet_rows) == 4


@override_settings(CUSTODIAN_EXPORT_SYNC_MAX_ROWS=1)
def test_only_the_requester_sees_or_downloads_the_file(
    client, manager, make_staff, other_organization, platform_superuser
):
    trash_tickets(manager.organization, 3)
    client.force_login(manager)
    export = started(client.get(TRASH_EXPORT, {"format": "csv"}))
    run_queued_jobs()
    colleague = make_staff("Support managers", username="colleague")
    stranger = make_staff("Support managers", organization=other_organization, username="stranger")
    for user in (colleague, stranger, platform_superuser):
        client.force_login(user)
        for name in ("dashboard:exports:file", "dashboard:exports:file_download"):
            assert client.get(reverse(name, args=[export.pk])).status_code == 404, (user, name)
    client.force_login(manager)
    assert client.get(reverse("dashboard:exports:file_download", args=[export.pk])).status_code == 200
    assert client.get(reverse("dashboard:exports:file", args=[export.pk + 1000])).status_code == 404


@override_settings(CUSTODIAN_EXPORT_SYNC_MAX_ROWS=1)
@pytest.mark.parametrize(
    "query",
    [{"format": "exe"}, {"format": "csv", "model": "nope"}, {"format": "csv", "deleted_from": "soon"}],
)
def test_bad_query_strings_are_refused_and_start_no_job(client, manager, query):
    trash_tickets(manager.organization, 3)
    client.force_login(manager)
    response = client.get(TRASH_EXPORT, query)
    assert response.status_code == 400
    assert not ExportFile.objects.exists() and not JobRun.objects.exists()


@pytest.mark.parametrize(
    "query, format_key",
    [("format=csv&deleted_from=soon", "csv"), ("format=csv", "exe"), ("model=nope", "csv")],
)
def test_a_query_the_source_refuses_at_start_answers_400_in_the_layout(rf, manager, query, format_key):
    # The one answer every capability gives when an export is too big for a request: a refusal raised while
    # starting it (the source re-checks the stored query) is a page with the message, never a 500.
    from django.contrib.messages.storage.fallback import FallbackStorage

    from dashboard.exports.views import export_file_start_response

    request = rf.get(TRASH_EXPORT)
    request.user, request.session = manager, {}
    request._messages = FallbackStorage(request)
    response = export_file_start_response(
        request, source="trash", query=query, format_key=format_key, back="/dashboard/trash/"
    )
    assert response.status_code == 400
    assert b'href="/dashboard/trash/"' in response.content
    assert not ExportFile.objects.exists() and not JobRun.objects.exists()


def written_queries(user, n_rows_before: int, organization) -> int:
    export = files.export_file_start(user=user, source="trash", query="format=csv", format_key="csv")
    with CaptureQueriesContext(connection) as captured:
        files.export_file_write(export_id=export.pk, job_run_id=export.job_id)
    assert ExportFile.objects.get(pk=export.pk).rows == n_rows_before
    return len(captured)


@override_settings(CUSTODIAN_EXPORT_CHUNK_ROWS=5)
def test_the_job_reads_in_chunks_with_the_same_queries_per_chunk(manager, organization):
    trash_tickets(organization, 5)
    one_chunk = written_queries(manager, 5, organization)
    trash_tickets(organization, 10)
    three_chunks = written_queries(manager, 15, organization)
    # 10 more rows, 2 more chunks: each chunk costs the list's few queries (keys, tickets, batch sizes),
    # nothing per row.
    assert three_chunks - one_chunk <= 2 * 4, (one_chunk, three_chunks)


@override_settings(CUSTODIAN_EXPORT_PART_BYTES=64)
def test_a_file_is_written_in_parts_and_read_back_whole(manager, organization):
    trash_tickets(organization, 4)
    export = files.export_file_start(user=manager, source="trash", query="format=csv", format_key="csv")
    files.export_file_write(export_id=export.pk, job_run_id=export.job_id)
    export.refresh_from_db()
    parts = ExportFilePart.objects.filter(export=export)
    assert parts.count() > 3 and max(len(bytes(p.data)) for p in parts) <= 64
    from dashboard.exports.selectors import export_file_bytes

    assert len(csv_rows(b"".join(export_file_bytes(export)))) == 4
    assert export.size_bytes == sum(len(bytes(p.data)) for p in parts)


def test_a_second_attempt_starts_the_file_again(manager, organization):
    trash_tickets(organization, 3)
    export = files.export_file_start(user=manager, source="trash", query="format=csv", format_key="csv")
    # What a killed attempt left: a part and a file still "being written".
    ExportFilePart.objects.create(export=export, number=1, data=b"half a file")
    files.export_file_write(export_id=export.pk, job_run_id=export.job_id)
    from dashboard.exports.selectors import export_file_bytes

    data = b"".join(export_file_bytes(ExportFile.objects.get(pk=export.pk)))
    assert b"half a file" not in data and len(csv_rows(data)) == 3


def test_old_files_are_pruned_with_their_parts(manager, organization, settings):
    settings.CUSTODIAN_EXPORT_FILE_TTL_HOURS = 24
    trash_tickets(organization, 2)
    old = files.export_file_start(user=manager, source="trash", query="format=csv", format_key="csv")
    files.export_file_write(export_id=old.pk, job_run_id=old.job_id)
    JobRun.objects.filter(pk=old.job_id).update(status="succeeded")
    recent = files.export_file_start(user=manager, source="trash", query="format=csv", format_key="csv")
    ExportFile.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=25))
    assert files.export_files_prune() == 1
    assert list(ExportFile.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not ExportFilePart.objects.filter(export_id=old.pk).exists()


@pytest.mark.parametrize("rows, answer", [(3, 200), (4, 302)])
def test_the_size_check_is_a_capped_count_never_a_full_one(client, manager, rows, answer):
    trash_tickets(manager.organization, rows)
    client.force_login(manager)
    with override_settings(CUSTODIAN_EXPORT_SYNC_MAX_ROWS=3), CaptureQueriesContext(connection) as captured:
        response = client.get(TRASH_EXPORT, {"format": "xlsx"})
    assert response.status_code == answer
    sqls = [q["sql"] for q in captured.captured_queries]
    # Each model's count reads at most the keys still missing (limit + 1 in all); no plain COUNT(*).
    capped = [re.search(r"^SELECT COUNT\(\*\) FROM \(.* LIMIT (\d+)\) subquery$", sql) for sql in sqls]
    assert [int(m.group(1)) for m in capped if m] and all(int(m.group(1)) <= 4 for m in capped if m)
    assert not [sql for sql in sqls if 'COUNT(*) AS "__count"' in sql]


def test_the_home_page_link_goes_once_the_file_was_pruned(manager, organization):
    export = files.export_file_start(user=manager, source="trash", query="format=csv", format_key="csv")
    run = JobRun.objects.get(pk=export.job_id)
    assert job_run_result_link(run).url == reverse("dashboard:exports:file", args=[export.pk])
    ExportFile.objects.filter(pk=export.pk).delete()
    assert job_run_result_link(run) is None


@override_settings(CUSTODIAN_EXPORT_SYNC_MAX_ROWS=2, CUSTODIAN_EXPORT_CHUNK_ROWS=2)
def test_a_big_validation_export_runs_as_a_job_in_the_viewers_scope(
    client, manager, organization, other_organization
):
    from dashboard.validation import services
    from models_core.models import Ticket

    for org, n in ((organization, 5), (other_organization, 2)):
        tickets = TicketFactory.create_batch(n, organization=org)
        Ticket.objects.filter(pk__in=[t.pk for t in tickets]).update(subject="")
    services.validation_scan_run(services.validation_scan_create(None).pk)
    client.force_login(manager)
    url = reverse("dashboard:validation:export", args=["ticket", "subject_required"])
    export = started(client.get(url, {"format": "csv"}))
    run_queued_jobs()
    rows = csv_rows(download(client, ExportFile.objects.get(pk=export.pk)))
    assert len(rows) == 5 and {r["organization_id"] for r in rows} == {str(organization.pk)}
    with override_settings(CUSTODIAN_EXPORT_SYNC_MAX_ROWS=100):
        assert rows == csv_rows(client.get(url, {"format": "csv"}).content)


@override_settings(CUSTODIAN_EXPORT_SYNC_MAX_ROWS=1)
def test_a_requester_who_lost_the_right_gets_no_file(client, manager, organization):
    trash_tickets(organization, 3)
    client.force_login(manager)
    export = started(client.get(TRASH_EXPORT, {"format": "csv"}))
    manager.groups.clear()
    run_queued_jobs()
    export.refresh_from_db()
    assert export.status == "failed" and "may no longer view the trash" in export.error
    assert export.job.status == "failed"
