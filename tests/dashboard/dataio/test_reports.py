"""Report exports: the trash listing and index findings, through their download views."""

import csv
import io
import json

import openpyxl
import pytest
from django.test import override_settings
from django.urls import reverse

from tests.factories import TicketFactory

pytestmark = pytest.mark.django_db

TRASH_EXPORT = reverse("dashboard:exports:trash_export")
FINDINGS_EXPORT = reverse("dashboard:exports:index_findings_export")


def csv_rows(response) -> list[dict]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.DictReader(io.StringIO(body.decode())))


@pytest.fixture
def trashed(organization, other_organization, org_admin):
    """Two of Acme's tickets in the trash (one with a reason), one of Globex's, one live ticket."""
    first = TicketFactory(organization=organization, subject="Old printer")
    second = TicketFactory(organization=organization, subject="Spam")
    foreign = TicketFactory(organization=other_organization, subject="Globex's")
    TicketFactory(organization=organization, subject="Still open")
    first.soft_delete(user=org_admin, reason="duplicate")
    second.soft_delete(user=org_admin, reason="spam")
    foreign.soft_delete()
    return {"first": first, "second": second, "foreign": foreign}


class TestTrashExport:
    def test_lists_the_viewers_trash_with_the_pages_filters(self, client, manager, trashed):
        client.force_login(manager)
        response = client.get(TRASH_EXPORT, {"format": "csv"})
        assert response.status_code == 200
        assert response["Content-Disposition"].startswith('attachment; filename="trash-')
        rows = csv_rows(response)
        tickets = [row for row in rows if row["model"] == "models_core.Ticket"]
        assert [row["id"] for row in tickets] == [str(trashed["second"].pk), str(trashed["first"].pk)]
        assert tickets[1]["reason"] == "duplicate" and tickets[1]["deleted_by"] == "orgadmin"
        assert tickets[1]["restorable"] == "yes" and tickets[1]["days_until_purge"] == "30"

        filtered = csv_rows(client.get(TRASH_EXPORT, {"format": "csv", "reason": "spam"}))
        assert [row["id"] for row in filtered] == [str(trashed["second"].pk)]

    @pytest.mark.parametrize("kind", ["xlsx", "json"])
    def test_other_formats(self, client, manager, trashed, kind):
        client.force_login(manager)
        response = client.get(TRASH_EXPORT, {"format": kind})
        assert response.status_code == 200
        if kind == "json":
            records = json.loads(response.content)
        else:
            sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
            header, *values = list(sheet.values)
            records = [dict(zip(header, row, strict=True)) for row in values]
        assert {str(r["id"]) for r in records if r["model"] == "models_core.Ticket"} == {
            str(trashed["first"].pk),
            str(trashed["second"].pk),
        }

    def test_platform_staff_see_every_organization(self, client, platform_superuser, trashed):
        client.force_login(platform_superuser)
        rows = csv_rows(client.get(TRASH_EXPORT, {"format": "csv", "model": "models_core.ticket"}))
        assert {row["organization"] for row in rows} == {"Acme Support", "Globex"}

    @override_settings(CUSTODIAN_EXPORT_MAX_ROWS=1)
    def test_the_cap_cuts_and_says_so(self, client, manager, trashed):
        """XLSX and JSON are written whole, so the cap applies; CSV streams every row
        (tests/dashboard/trash/test_export_stream.py)."""
        client.force_login(manager)
        response = client.get(TRASH_EXPORT, {"format": "json"})
        assert len(json.loads(response.content)) == 1
        assert response["X-Export-Truncated"] == "true"

    @pytest.mark.parametrize("query", [{}, {"format": "pdf"}, {"format": "csv", "deleted_from": "yesterday"}])
    def test_bad_requests_are_400(self, client, manager, trashed, query):
        client.force_login(manager)
        response = client.get(TRASH_EXPORT, query)
        assert response.status_code == 400
        assert b'data-testid="refused-message"' in response.content

    def test_needs_the_trash_permission_and_is_get_only(self, client, dba, manager):
        client.force_login(dba)
        assert client.get(TRASH_EXPORT, {"format": "csv"}).status_code == 403
        client.force_login(manager)
        assert client.post(TRASH_EXPORT, {"format": "csv"}).status_code == 405

    def test_the_trash_page_links_to_it_with_its_filters(self, client, manager, trashed):
        client.force_login(manager)
        page = client.get(reverse("dashboard:trash:list"), {"reason": "spam"}).content.decode()
        assert f'href="{TRASH_EXPORT}?reason=spam&amp;format=xlsx"' in page


class TestIndexFindingsExport:
    def test_lists_the_findings_of_the_window(self, client, dba):
        client.force_login(dba)
        response = client.get(FINDINGS_EXPORT, {"format": "csv", "days": "7"})
        assert response.status_code == 200
        assert 'filename="index-findings-7d-' in response["Content-Disposition"]
        rows = csv_rows(response)
        assert list(rows[0]) == ["kind", "table", "index", "detail", "action", "size_bytes"]
        # idx_ticket_org_status is a prefix of a longer index (schema.py): a duplicate finding.
        assert any(r["kind"] == "duplicate" and r["index"] == "idx_ticket_org_status" for r in rows)

    def test_platform_staff_only(self, client, make_staff, manager):
        client.force_login(make_staff("DBAs"))  # bound to an organization
        assert client.get(FINDINGS_EXPORT, {"format": "csv"}).status_code == 403
        client.force_login(manager)
        assert client.get(FINDINGS_EXPORT, {"format": "csv"}).status_code == 403

    @pytest.mark.parametrize("query", [{"format": "csv", "days": "5"}, {"format": "exe"}])
    def test_bad_requests_are_400(self, client, dba, query):
        client.force_login(dba)
        assert client.get(FINDINGS_EXPORT, query).status_code == 400

    def test_the_index_page_links_to_it(self, client, dba):
        client.force_login(dba)
        page = client.get(reverse("dashboard:dbhealth:index_usage"), {"days": "90"}).content.decode()
        assert f'href="{FINDINGS_EXPORT}?days=90&amp;format=csv"' in page
