"""Large imports run as background jobs: the upload answers at once, a preview job keeps every row for a
paged preview page, a confirm job imports the whole file or nothing, once."""

import csv
import io

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from procrastinate.contrib.django import app
from procrastinate.contrib.django.models import ProcrastinateJob

from dashboard.dataio.models import ImportPreviewRow, ImportUpload
from dashboard.dataio.uploads import import_upload_confirm, import_upload_confirm_start
from dashboard.jobs.models import JobRun
from dashboard.jobs.services import job_run_retry
from models_core.models import Ticket
from tests.dashboard.dataio.conftest import csv_bytes
from tests.dashboard.dataio.test_views import upload
from tests.factories import TicketFactory

pytestmark = pytest.mark.django_db

HEADERS = ["id", "subject", "customer", "priority"]


@pytest.fixture(autouse=True)
def small_threshold(settings):
    settings.CUSTODIAN_IMPORT_SYNC_MAX_ROWS = 3
    settings.CUSTODIAN_IMPORT_PREVIEW_PAGE_ROWS = 2


@pytest.fixture
def admin_client(client, org_admin):
    client.force_login(org_admin)
    return client


def run_job(run: JobRun) -> None:
    """Run a queued job's task here, with the arguments it was queued with (what a worker does)."""
    job = ProcrastinateJob.objects.get(pk=run.procrastinate_job_id)
    app.tasks[job.task_name](**job.args)


def new_rows(customer, count: int, prefix: str = "Bulk") -> list[list]:
    return [["", f"{prefix} {i}", customer.pk, "low"] for i in range(1, count + 1)]


def start_large(client, rows: list[list]) -> ImportUpload:
    response = upload(client, csv_bytes(HEADERS, rows))
    upload_obj = ImportUpload.objects.latest("pk")
    assert response.status_code == 302
    assert response.url == reverse("dashboard:dataio_upload", args=[upload_obj.pk])
    return upload_obj


def previewed(client, rows: list[list]) -> ImportUpload:
    upload_obj = start_large(client, rows)
    run_job(upload_obj.preview_job)
    upload_obj.refresh_from_db()
    return upload_obj


def page_of(client, upload_obj, query: str = ""):
    return client.get(reverse("dashboard:dataio_upload", args=[upload_obj.pk]) + query)


class TestUpload:
    def test_a_small_file_is_still_previewed_in_the_request(self, admin_client, tenant):
        response = upload(admin_client, csv_bytes(HEADERS, new_rows(tenant["customer"], 3)))
        assert response.status_code == 200 and "confirm_form" in response.context
        assert not ImportUpload.objects.exists()

    def test_a_large_file_answers_at_once_and_its_page_follows_the_preview_job(self, admin_client, tenant):
        upload_obj = start_large(admin_client, new_rows(tenant["customer"], 5))
        assert upload_obj.status == "previewing" and upload_obj.row_count == 5
        assert upload_obj.preview_job.kind == "import_preview"
        assert upload_obj.preview_job.status == "queued"
        assert not Ticket.objects.filter(subject__startswith="Bulk").exists()

        page = page_of(admin_client, upload_obj).content.decode()
        status_url = reverse("dashboard:job_run_status", args=[upload_obj.preview_job.pk])
        assert f'data-job-run-status-url="{status_url}"' in page and "data-job-run-reload" in page
        assert 'data-testid="import-preview-rows"' not in page

    def test_a_bad_file_is_refused_on_the_form_and_nothing_is_stored(self, admin_client, tenant):
        response = upload(admin_client, b"subject,nonsense\n" + b"a,b\n" * 10)
        assert response.status_code == 400
        assert "Unknown columns: nonsense" in response.content.decode()
        assert not ImportUpload.objects.exists()


class TestPreview:
    def test_the_preview_job_keeps_every_row_and_the_page_shows_them_in_pages(self, admin_client, tenant):
        ticket = tenant["ticket"]
        rows = [
            [ticket.pk, "Renamed", tenant["customer"].pk, ticket.priority],
            *new_rows(tenant["customer"], 4),
        ]
        upload_obj = previewed(admin_client, rows)
        assert upload_obj.status == "previewed"
        assert upload_obj.totals["new"] == 4 and upload_obj.totals["update"] == 1
        assert ImportPreviewRow.objects.filter(upload=upload_obj).count() == 5
        run = JobRun.objects.get(pk=upload_obj.preview_job_id)
        assert run.status == "succeeded"
        assert not Ticket.objects.filter(subject__startswith="Bulk").exists()  # a dry run

        first = page_of(admin_client, upload_obj)
        html = first.content.decode()
        assert html.count('data-testid="import-preview-row"') == 2
        assert 'data-testid="import-total-new">4<' in html and 'data-testid="import-total-changed">1<' in html
        assert f"<del>{ticket.subject}</del> <ins>Renamed</ins>" in html
        assert "Confirm import" in html
        assert 'role="region"' in html and 'tabindex="0"' in html  # the wide table scrolls in its own box

        second = page_of(admin_client, upload_obj, "?after=2").content.decode()
        assert second.count('data-testid="import-preview-row"') == 2
        assert "Bulk 2" in second and "Bulk 3" in second and "Bulk 1" not in second
        last = page_of(admin_client, upload_obj, "?after=4").content.decode()
        assert last.count('data-testid="import-preview-row"') == 1 and "Next rows" not in last

    @pytest.mark.parametrize("after", ["x", "-3", "1e9", "99999999999"])
    def test_a_bad_page_is_refused_with_a_message(self, admin_client, tenant, after):
        upload_obj = previewed(admin_client, new_rows(tenant["customer"], 5))
        response = page_of(admin_client, upload_obj, f"?after={after}")
        assert response.status_code == 400
        assert "does not exist" in response.content.decode()

    def test_refused_rows_are_summed_per_column_paged_and_downloadable(
        self, admin_client, tenant, other_organization
    ):
        foreign = TicketFactory(organization=other_organization)
        customer = tenant["customer"]
        rows = [
            *new_rows(customer, 2),
            ["", "Bad priority", customer.pk, "whenever"],
            [foreign.pk, "Hijack", customer.pk, "low"],  # another organization's ticket: refused, per row
            ["", "Bad too", customer.pk, "someday"],
        ]
        upload_obj = previewed(admin_client, rows)
        assert upload_obj.status == "refused"
        assert upload_obj.error_columns == {"priority": 2, "id": 1}
        assert upload_obj.totals["invalid"] == 3

        html = page_of(admin_client, upload_obj, "?show=errors").content.decode()
        assert html.count('data-testid="import-preview-row"') == 2  # failing rows only, in pages of 2
        assert "Confirm import" not in html
        assert (
            f"No ticket with id {foreign.pk} in {tenant['organization']}"
            in page_of(admin_client, upload_obj, "?show=errors&after=3").content.decode()
        )

        download = admin_client.get(reverse("dashboard:exports:import_errors", args=[upload_obj.pk]))
        assert download.status_code == 200 and download["Content-Type"] == "text/csv"
        lines = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode())))
        assert lines[0] == ["row", "column", "error"]
        assert [(r[0], r[1]) for r in lines[1:]] == [("3", "priority"), ("4", "id"), ("5", "priority")]

        refused = admin_client.post(reverse("dashboard:dataio_upload_confirm", args=[upload_obj.pk]))
        assert refused.status_code == 400
        assert not Ticket.objects.filter(subject__startswith="Bulk").exists()


class TestConfirm:
    def test_the_confirm_job_imports_the_whole_file_once(self, admin_client, tenant, org_admin):
        ticket = tenant["ticket"]
        rows = [
            [ticket.pk, "Renamed", tenant["customer"].pk, ticket.priority],
            *new_rows(tenant["customer"], 4),
        ]
        upload_obj = previewed(admin_client, rows)
        confirm_url = reverse("dashboard:dataio_upload_confirm", args=[upload_obj.pk])

        response = admin_client.post(confirm_url)
        assert response.status_code == 302
        upload_obj.refresh_from_db()
        assert upload_obj.confirm_job.kind == "import_confirm"
        again = admin_client.post(confirm_url, follow=True)  # a double submit while the job waits
        assert again.redirect_chain == [(reverse("dashboard:dataio_upload", args=[upload_obj.pk]), 302)]
        assert "already running" in again.content.decode()
        assert JobRun.objects.filter(kind="import_confirm").count() == 1
        assert not Ticket.objects.filter(subject__startswith="Bulk").exists()

        run_job(upload_obj.confirm_job)
        upload_obj.refresh_from_db()
        assert upload_obj.status == "imported" and upload_obj.imported_at is not None
        assert bytes(upload_obj.data) == b""
        assert Ticket.objects.filter(subject__startswith="Bulk").count() == 4
        assert Ticket.objects.get(pk=ticket.pk).subject == "Renamed"
        flags = sorted(LogEntry.objects.filter(user=org_admin).values_list("action_flag", flat=True))
        assert flags == [ADDITION] * 4 + [CHANGE]
        assert JobRun.objects.get(pk=upload_obj.confirm_job_id).status == "succeeded"
        assert 'data-testid="import-done"' in page_of(admin_client, upload_obj).content.decode()

        # Run twice (a job delivered again, a retry): the upload is imported already; nothing more is.
        second = import_upload_confirm(upload_id=upload_obj.pk)
        assert second["imported"] is False
        assert Ticket.objects.filter(subject__startswith="Bulk").count() == 4
        done = admin_client.post(confirm_url, follow=True)
        assert "imported already" in done.content.decode()
        assert JobRun.objects.filter(kind="import_confirm").count() == 1
        with pytest.raises(ValidationError):
            job_run_retry(user=org_admin, job_run=JobRun.objects.get(pk=upload_obj.confirm_job_id))

    def test_rows_that_fail_at_confirm_roll_the_whole_file_back(self, admin_client, tenant):
        ticket = tenant["ticket"]
        rows = [*new_rows(tenant["customer"], 4), [ticket.pk, "Renamed", tenant["customer"].pk, "low"]]
        upload_obj = previewed(admin_client, rows)
        assert upload_obj.status == "previewed"
        ticket.soft_delete()  # after the preview: the 5th row fails now

        admin_client.post(reverse("dashboard:dataio_upload_confirm", args=[upload_obj.pk]))
        upload_obj.refresh_from_db()
        run_job(upload_obj.confirm_job)
        upload_obj.refresh_from_db()
        assert upload_obj.status == "refused"
        assert not Ticket.objects.filter(subject__startswith="Bulk").exists()  # rows 1-4 rolled back
        failing = ImportPreviewRow.objects.get(upload=upload_obj, import_type="invalid")
        assert failing.number == 5 and "in the trash" in failing.errors[0][1]

    def test_a_confirm_job_whose_user_lost_the_right_imports_nothing(self, admin_client, tenant, org_admin):
        upload_obj = previewed(admin_client, new_rows(tenant["customer"], 5))
        admin_client.post(reverse("dashboard:dataio_upload_confirm", args=[upload_obj.pk]))
        upload_obj.refresh_from_db()
        org_admin.groups.clear()
        run_job(upload_obj.confirm_job)
        upload_obj.refresh_from_db()
        assert upload_obj.status == "refused" and "may not import" in upload_obj.error
        assert not Ticket.objects.filter(subject__startswith="Bulk").exists()


class TestTenancy:
    def test_another_organizations_admin_gets_404_everywhere(
        self, admin_client, client, tenant, make_staff, other_organization
    ):
        upload_obj = previewed(admin_client, new_rows(tenant["customer"], 5))
        intruder = make_staff("Admins", organization=other_organization, username="intruder")
        colleague = make_staff("Admins", username="colleague")  # same organization, not the uploader
        for user in (intruder, colleague):
            client.force_login(user)
            assert page_of(client, upload_obj).status_code == 404
            assert (
                client.post(reverse("dashboard:dataio_upload_confirm", args=[upload_obj.pk])).status_code
                == 404
            )
            assert (
                client.get(reverse("dashboard:exports:import_errors", args=[upload_obj.pk])).status_code
                == 404
            )
            status = client.get(reverse("dashboard:job_run_status", args=[upload_obj.preview_job_id]))
            assert status.status_code == 404
        with pytest.raises(PermissionDenied):
            import_upload_confirm_start(user=intruder, upload=upload_obj)
        assert ImportUpload.objects.get(pk=upload_obj.pk).confirm_job is None

    def test_a_manager_without_the_import_right_is_refused(self, client, manager, tenant):
        client.force_login(manager)
        assert upload(client, csv_bytes(HEADERS, new_rows(tenant["customer"], 5))).status_code == 403
        assert not ImportUpload.objects.exists()

    def test_an_uploader_who_lost_the_right_gets_403(self, admin_client, tenant, org_admin):
        upload_obj = previewed(admin_client, new_rows(tenant["customer"], 5))
        org_admin.groups.clear()
        assert page_of(admin_client, upload_obj).status_code == 403
