"""The trash CSV export streams: a keyset page of rows at a time, the same few queries for each page, every
row of the trash (no cap: nothing is held but one page)."""

import csv
import io

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import TicketFactory

pytestmark = pytest.mark.django_db

TRASH_EXPORT = reverse("dashboard:exports:trash_export")


def trash_tickets(organization, n: int) -> None:
    for ticket in TicketFactory.create_batch(n, organization=organization):
        ticket.soft_delete()


def streamed(client, monkeypatch, page: int) -> tuple[list[dict], list[int]]:
    """The export's rows and, for each page of lines received, how many queries it took to produce."""
    with override_settings(CUSTODIAN_EXPORT_CHUNK_ROWS=page):
        response = client.get(TRASH_EXPORT, {"format": "csv"})
        return _read(response, page)


def _read(response, page: int) -> tuple[list[dict], list[int]]:
    assert response.status_code == 200 and response.streaming
    lines, per_page = [], []
    content = iter(response.streaming_content)
    with CaptureQueriesContext(connection) as captured:
        lines.append(next(content))  # the header row costs no query
        assert len(captured) == 0
        seen = 0
        for line in content:
            if (len(lines) - 1) % page == 0:
                per_page.append(len(captured) - seen)
                seen = len(captured)
            lines.append(line)
    rows = list(csv.DictReader(io.StringIO(b"".join(lines).decode())))
    return rows, per_page


def test_the_csv_streams_a_page_at_a_time_with_the_same_queries_per_page(client, manager, monkeypatch):
    trash_tickets(manager.organization, 7)
    client.force_login(manager)
    rows, per_page = streamed(client, monkeypatch, page=3)
    assert len(rows) == 7 and {r["model"] for r in rows} == {"models_core.Ticket"}
    # Pages of 3, 3 and 1 rows: each its keys, its tickets and its batch sizes, nothing per row.
    assert per_page == [3, 3, 3]
    trash_tickets(manager.organization, 6)
    rows, per_page = streamed(client, monkeypatch, page=3)
    assert len(rows) == 13 and per_page == [3] * 5


@override_settings(CUSTODIAN_EXPORT_MAX_ROWS=2)
def test_the_csv_is_never_cut_short_and_stays_in_the_viewers_organization(
    client, manager, other_organization, monkeypatch
):
    trash_tickets(manager.organization, 5)
    trash_tickets(other_organization, 2)
    client.force_login(manager)
    rows, _ = streamed(client, monkeypatch, page=2)
    assert len(rows) == 5
    assert {r["organization"] for r in rows} == {manager.organization.name}
    response = client.get(TRASH_EXPORT, {"format": "csv"})
    assert response["X-Export-Truncated"] == "false"
