"""Import and export through the admin: permissions, the dry-run/confirm flow, malformed files, scoping."""

import re

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.test import override_settings
from django.urls import reverse

from dashboard import formats
from dashboard.dataio.resources import TicketResource
from models_core.models import Ticket
from tests.dashboard.dataio.conftest import csv_bytes, json_bytes, xlsx_bytes
from tests.factories import TicketFactory

pytestmark = pytest.mark.django_db

FORMAT_INDEX = {"csv": "0", "xlsx": "1", "json": "2"}
IMPORT_URL = reverse("admin:models_core_ticket_import")
PROCESS_URL = reverse("admin:models_core_ticket_process_import")
EXPORT_URL = reverse("admin:models_core_ticket_export")
CHANGELIST_URL = reverse("admin:models_core_ticket_changelist")


def upload(client, data: bytes, kind: str = "csv", name: str | None = None, url: str = IMPORT_URL):
    from django.core.files.uploadedfile import SimpleUploadedFile

    file = SimpleUploadedFile(name or f"tickets.{kind}", data)
    return client.post(url, {"resource": "0", "format": FORMAT_INDEX[kind], "import_file": file})


def confirm_data(response) -> dict:
    form = response.context["confirm_form"]
    return {
        name: form.initial[name] for name in ("import_file_name", "original_file_name", "format", "resource")
    }


def export_post(client, kind: str = "csv", query: str = ""):
    resource = TicketResource()
    data = {"resource": "0", "format": FORMAT_INDEX[kind]}
    data.update({f"ticketresource_{name}": "on" for name in resource.get_export_order()})
    return client.post(EXPORT_URL + query, data)


def exported_ids(response) -> list[int]:
    text = b"".join(response.streaming_content if response.streaming else [response.content]).decode()
    return [int(line.split(",")[0]) for line in text.splitlines()[1:]]


@pytest.fixture
def admin_client(client, org_admin):
    client.force_login(org_admin)
    return client


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


class TestPermissions:
    def test_support_managers_export_but_do_not_import(self, manager_client, tenant):
        changelist = manager_client.get(CHANGELIST_URL)
        assert EXPORT_URL.encode() in changelist.content
        assert IMPORT_URL.encode() not in changelist.content
        assert manager_client.get(IMPORT_URL).status_code == 403
        assert manager_client.post(PROCESS_URL, {}).status_code == 403
        assert export_post(manager_client).status_code == 200

    def test_admins_import(self, admin_client, tenant):
        changelist = admin_client.get(CHANGELIST_URL)
        assert IMPORT_URL.encode() in changelist.content
        page = admin_client.get(IMPORT_URL)
        assert page.status_code == 200
        assert b'data-testid="import-rules"' in page.content

    def test_dbas_neither_import_nor_export(self, client, dba):
        client.force_login(dba)
        assert client.get(IMPORT_URL).status_code == 403
        assert client.get(EXPORT_URL).status_code == 403

    def test_confirm_is_post_only(self, admin_client):
        assert admin_client.get(PROCESS_URL).status_code == 405


class TestImportFlow:
    def test_preview_then_confirm_writes_once_and_logs(self, admin_client, tenant, org_admin):
        data = csv_bytes(
            ["id", "subject", "customer", "priority"],
            [
                [tenant["ticket"].pk, "Renamed", tenant["customer"].pk, "high"],
                ["", "Brand new", tenant["customer"].pk, "low"],
            ],
        )
        preview = upload(admin_client, data)
        assert preview.status_code == 200
        assert "confirm_form" in preview.context
        assert (
            Ticket.objects.filter(subject__in=["Renamed", "Brand new"]).count() == 0
        )  # a dry run writes nothing

        done = admin_client.post(PROCESS_URL, confirm_data(preview))
        assert done.status_code == 302 and done.url == CHANGELIST_URL
        assert set(Ticket.objects.values_list("subject", flat=True)) == {"Renamed", "Brand new"}
        logged = LogEntry.objects.filter(user=org_admin).values_list("action_flag", flat=True)
        assert sorted(logged) == [ADDITION, CHANGE]

        again = admin_client.post(PROCESS_URL, confirm_data(preview))  # double submit
        assert again.status_code == 400
        assert "already confirmed" in again.content.decode()
        assert Ticket.objects.filter(subject="Brand new").count() == 1

    def test_row_errors_are_listed_and_nothing_can_be_confirmed(self, admin_client, tenant):
        tenant["ticket"].soft_delete()
        data = csv_bytes(
            ["id", "subject", "customer"],
            [
                [tenant["ticket"].pk, "Revive", ""],
                ["", "", tenant["customer"].pk],
                ["", "Fine", tenant["customer"].pk],
            ],
        )
        response = upload(admin_client, data)
        assert response.status_code == 200
        assert "confirm_form" not in response.context
        listed = re.findall(r'data-testid="import-row-error">(.*?)</li>', response.content.decode(), re.S)
        text = [" ".join(re.sub(r"<[^>]+>", "", item).split()) for item in listed]
        assert text == [
            f"Row 1 · id: Ticket {tenant['ticket'].pk} is in the trash: restore it first. "
            "An import never brings records back from the trash.",
            "Row 2 · subject: This field cannot be blank.",
            "Row 2 · subject: Subject is required.",  # the centralized validation rule, through full_clean()
        ]
        assert not Ticket.objects.filter(subject="Fine").exists()

    def test_confirm_after_data_changed_writes_nothing(self, admin_client, tenant):
        data = csv_bytes(["id", "subject"], [[tenant["ticket"].pk, "Renamed"]])
        preview = upload(admin_client, data)
        tenant["ticket"].soft_delete()  # someone trashed it between preview and confirm

        response = admin_client.post(PROCESS_URL, confirm_data(preview))

        assert response.status_code == 409
        assert "Nothing was imported" in response.content.decode()
        assert b'data-testid="import-row-error"' in response.content
        assert Ticket.all_objects.get().subject != "Renamed"

    def test_confirm_of_an_upload_this_session_did_not_preview(
        self, admin_client, client, tenant, make_staff
    ):
        preview = upload(admin_client, csv_bytes(["id", "subject"], [[tenant["ticket"].pk, "Mine"]]))
        other = make_staff("Admins", username="other.admin")
        client.force_login(other)
        response = client.post(PROCESS_URL, confirm_data(preview))
        assert response.status_code == 400
        assert Ticket.objects.get().subject != "Mine"

    @pytest.mark.parametrize("tamper", [{"format": "x"}, {"format": "99"}, {"import_file_name": ""}])
    def test_tampered_confirmations_are_refused(self, admin_client, tenant, tamper):
        preview = upload(admin_client, csv_bytes(["id", "subject"], [[tenant["ticket"].pk, "Tampered"]]))
        response = admin_client.post(PROCESS_URL, {**confirm_data(preview), **tamper})
        assert response.status_code == 400
        assert Ticket.objects.get().subject != "Tampered"

    @pytest.mark.parametrize("kind", ["xlsx", "json"])
    def test_other_formats_import(self, admin_client, tenant, kind):
        headers, row = ["subject", "customer"], ["From " + kind, tenant["customer"].pk]
        data = (
            xlsx_bytes(headers, [row])
            if kind == "xlsx"
            else json_bytes([dict(zip(headers, row, strict=True))])
        )
        preview = upload(admin_client, data, kind)
        assert "confirm_form" in preview.context, preview.content.decode()[:2000]
        admin_client.post(PROCESS_URL, confirm_data(preview))
        assert Ticket.objects.filter(subject="From " + kind).exists()


class TestMalformedFiles:
    @pytest.mark.parametrize(
        ("data", "kind", "message"),
        [
            (b"", "csv", "The submitted file is empty."),
            (b"   \n", "csv", "The file is empty."),
            ("subject,customer\nCafé,1\n".encode("latin-1"), "csv", "The file is not UTF-8 text"),
            (xlsx_bytes(["subject"], [["x"]]), "csv", "choose the XLSX format"),
            (b"subject,customer\n", "csv", "header row but no rows"),
            (b"subject,customer\nx,1\n", "xlsx", "not an XLSX workbook"),
            (b'{"subject": "x"}', "json", "A JSON import is a list of objects"),
            (b"[{oops", "json", "could not be read as JSON"),
            (b"subject,colour\nx,red\n", "csv", "Unknown columns: colour."),
            (b"subject\nx\n", "csv", "Missing columns: customer."),
            (b"subject,subject,customer\nx,y,1\n", "csv", "Columns named twice: subject."),
            (b"\x89PNG\r\n\x1a\n\x00\x00", "csv", "binary data"),
        ],
        ids=[
            "empty",
            "blank",
            "latin1",
            "xlsx-as-csv",
            "no-rows",
            "csv-as-xlsx",
            "json-object",
            "bad-json",
            "unknown-column",
            "missing-column",
            "duplicate-column",
            "binary",
        ],
    )
    def test_refused_on_the_form(self, admin_client, tenant, data, kind, message):
        response = upload(admin_client, data, kind)
        assert response.status_code == 400
        assert message in response.content.decode()
        assert "confirm_form" not in response.context

    @override_settings(CUSTODIAN_IMPORT_MAX_BYTES=100)
    def test_files_over_the_size_limit(self, admin_client, tenant):
        response = upload(admin_client, csv_bytes(["subject", "customer"], [["x" * 200, 1]]))
        assert response.status_code == 400
        assert "an import takes at most 100" in response.content.decode()

    @override_settings(CUSTODIAN_IMPORT_MAX_ROWS=2)
    def test_files_over_the_row_limit(self, admin_client, tenant):
        response = upload(admin_client, csv_bytes(["subject", "customer"], [["x", 1]] * 3))
        assert response.status_code == 400
        assert "The file has more than 2 rows; an import takes at most 2." in response.content.decode()

    def test_updates_by_id_need_no_other_columns(self, admin_client, tenant):
        response = upload(admin_client, csv_bytes(["id", "priority"], [[tenant["ticket"].pk, "urgent"]]))
        assert "confirm_form" in response.context


class TestExport:
    def test_export_follows_filters_scope_and_trash(self, manager_client, tenant, other_organization):
        org, customer = tenant["organization"], tenant["customer"]
        urgent = TicketFactory(organization=org, customer=customer, priority="urgent")
        trashed = TicketFactory(organization=org, customer=customer, priority="urgent")
        trashed.soft_delete()
        TicketFactory(organization=other_organization, priority="urgent")

        everything = export_post(manager_client)
        assert sorted(exported_ids(everything)) == sorted([tenant["ticket"].pk, urgent.pk])
        assert everything["Content-Disposition"].startswith('attachment; filename="tickets-')

        filtered = export_post(manager_client, query="?priority__exact=urgent")
        assert exported_ids(filtered) == [urgent.pk]

    @pytest.mark.parametrize("kind", ["xlsx", "json"])
    def test_other_formats(self, manager_client, tenant, kind):
        response = export_post(manager_client, kind)
        assert response.status_code == 200
        assert response["Content-Type"] == getattr(formats, kind.upper()).CONTENT_TYPE

    def test_bad_filter_parameters_are_a_400(self, manager_client, tenant):
        response = export_post(manager_client, query="?created_at__gte=notadate")
        assert response.status_code == 400

    @override_settings(CUSTODIAN_EXPORT_MAX_ROWS=1)
    def test_exports_over_the_cap_are_refused(self, manager_client, tenant):
        TicketFactory(organization=tenant["organization"], customer=tenant["customer"])
        response = export_post(manager_client)
        assert response.status_code == 200
        assert "More than 1 tickets match: narrow the filters" in response.content.decode()
        assert not response.has_header("Content-Disposition")

    def test_export_queries_do_not_grow_with_rows(
        self, manager_client, tenant, django_assert_max_num_queries
    ):
        for _ in range(15):
            TicketFactory(organization=tenant["organization"], customer=tenant["customer"])
        with django_assert_max_num_queries(12):
            response = export_post(manager_client)
        assert len(exported_ids(response)) == 16
