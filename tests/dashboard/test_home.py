import re

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboard.jobs.models import JobRun

pytestmark = pytest.mark.django_db

# The trash registers itself (tests/dashboard/trash); these are not installed on this branch yet.
CAPABILITY_TITLES = ("Validation", "Hooks", "DB health")


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/"


def test_home_shows_role_organization_and_groups(client, manager):
    client.force_login(manager)
    response = client.get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Dashboard | Custodian</title>" in page
    assert 'data-testid="profile-organization">Acme Support<' in page
    assert 'data-testid="profile-groups">Support managers<' in page
    for title in CAPABILITY_TITLES:
        assert f">{title}<" not in page


def test_platform_staff_are_told_they_see_every_organization(client, dba):
    client.force_login(dba)
    page = client.get("/").content.decode()
    assert "Platform staff: every organization" in page


def test_recent_jobs_card_lists_only_own_runs_with_their_status_url(client, manager, org_admin):
    mine = JobRun.objects.create(
        kind="validation_scan", started_by=manager, progress_total=4, progress_done=1
    )
    JobRun.objects.create(kind="someone_elses_purge", started_by=org_admin)
    client.force_login(manager)
    page = client.get("/").content.decode()
    assert "Validation scan <span" in page
    assert "validation_scan" not in page  # a kind is an identifier; people read words
    assert "started now" in page and " UTC)" in page  # when, with its time zone
    assert f'data-job-run-status-url="{reverse("dashboard:job_run_status", args=[mine.pk])}"' in page
    assert "Queued · 25%" in page
    assert "Someone elses purge" not in page
    assert "dashboard/js/job_progress.js" in page


def test_recent_jobs_card_is_capped(client, manager):
    JobRun.objects.bulk_create(JobRun(kind=f"run-{i}", started_by=manager) for i in range(8))
    client.force_login(manager)
    page = client.get("/").content.decode()
    assert page.count("data-job-run-status-url=") == 5


def test_platform_staff_card_shows_their_console_groups_not_a_helpdesk_role(client, dba, manager):
    client.force_login(dba)
    page = client.get("/").content.decode()
    assert "Role: Admin" not in page and "Helpdesk role" not in page
    assert 'data-testid="profile-groups">DBAs<' in page
    client.force_login(manager)
    assert "Helpdesk role: Manager" in client.get("/").content.decode()


def job_item(page: str, run: JobRun) -> str:
    """The home page's list item of one run."""
    start = page.index(f'data-job-run-status-url="{reverse("dashboard:job_run_status", args=[run.pk])}"')
    return page[start : page.index("</li>", start)]


@pytest.mark.parametrize(
    ("kind", "result", "url", "words"),
    [
        (
            "validation_scan",
            {"scan_id": 7, "violations": 3},
            "/dashboard/validation/?scan=7",
            "validation report",
        ),
        (
            "validation_scan",
            None,
            "/dashboard/validation/",
            "validation report",
        ),  # running: the page follows it
        ("trash_purge", {"outcomes": []}, "/dashboard/trash/?job={pk}", "what the purge did"),
        ("trash_restore", {"outcomes": []}, "/dashboard/trash/?job={pk}", "what the restore did"),
        ("dbhealth_advisor", {"advisor_run": 2}, "/dashboard/dbhealth/advisor/", "index advice"),
        ("dbhealth_constraint_check", {}, "/dashboard/dbhealth/violations/", "constraint violations"),
    ],
)
def test_each_job_links_to_its_result_in_words(client, platform_superuser, kind, result, url, words):
    run = JobRun.objects.create(
        kind=kind, started_by=platform_superuser, status=JobRun.Status.SUCCEEDED, result=result
    )
    client.force_login(platform_superuser)
    item = job_item(client.get("/").content.decode(), run)
    link = re.search(r'<a href="([^"]+)"[^>]*data-testid="job-result">([^<]+)</a>', item)
    assert link, item
    assert link.group(1) == url.format(pk=run.pk)
    assert words in link.group(2)
    assert kind not in item  # named in words, not by its identifier


def test_a_job_of_a_kind_with_no_page_has_no_result_link(client, manager):
    run = JobRun.objects.create(kind="someone_elses_report", started_by=manager)
    client.force_login(manager)
    assert 'data-testid="job-result"' not in job_item(client.get("/").content.decode(), run)


def test_a_finished_job_says_when_it_finished_and_how_far_it_got(client, manager):
    run = JobRun.objects.create(
        kind="trash_restore",
        started_by=manager,
        status=JobRun.Status.SUCCEEDED,
        progress_done=1200,
        progress_total=1200,
        finished_at=timezone.now(),
    )
    running = JobRun.objects.create(
        kind="trash_purge", started_by=manager, progress_done=300, progress_total=1200
    )
    client.force_login(manager)
    page = client.get("/").content.decode()
    assert "finished now" in job_item(page, run) and "Succeeded · 100%" in job_item(page, run)
    assert "finished now" not in job_item(page, running) and "Queued · 25%" in job_item(page, running)


def test_the_status_poller_learns_where_the_result_is(client, manager):
    run = JobRun.objects.create(
        kind="validation_scan", started_by=manager, status=JobRun.Status.SUCCEEDED, result={"scan_id": 9}
    )
    client.force_login(manager)
    status = client.get(reverse("dashboard:job_run_status", args=[run.pk])).json()
    assert status["result_url"] == "/dashboard/validation/?scan=9"


def test_the_trash_job_card_names_the_job_in_words(client, org_admin):
    run = JobRun.objects.create(kind="trash_purge", started_by=org_admin, organization=org_admin.organization)
    client.force_login(org_admin)
    page = client.get(f"/dashboard/trash/?job={run.pk}").content.decode()
    assert f"Purge from the trash #{run.pk}" in page
    assert "trash_purge" not in page


def test_each_capability_card_is_a_link_that_says_where_it_goes(client, platform_superuser):
    client.force_login(platform_superuser)
    page = client.get("/").content.decode()
    cards = page[page.index('data-testid="capability-cards"') :]
    opens = re.findall(
        r'<a href="(/dashboard/[^"]*)"[^>]*>.*?data-testid="capability-open">([^<]+)<', cards, re.S
    )
    assert len(opens) >= 4, cards[:2000]
    for url, words in opens:
        assert words.strip().startswith("Open "), (url, words)


@pytest.mark.parametrize(
    ("job_field", "words"), [("preview_job", "See the preview"), ("confirm_job", "import did")]
)
def test_an_import_job_links_to_its_upload_until_the_upload_is_gone(client, org_admin, job_field, words):
    from dashboard.dataio.models import ImportUpload

    run = JobRun.objects.create(kind=f"import_{job_field.split('_')[0]}", started_by=org_admin)
    upload = ImportUpload.objects.create(
        model_label="models_core.ticket",
        resource_path="x",
        format_key="csv",
        original_file_name="tickets.csv",
        data=b"",
        row_count=300,
        uploaded_by=org_admin,
        **{job_field: run},
    )
    client.force_login(org_admin)
    item = job_item(client.get("/").content.decode(), run)
    link = re.search(r'<a href="([^"]+)"[^>]*data-testid="job-result">([^<]+)</a>', item)
    assert link, item
    assert link.group(1) == reverse("dashboard:dataio_upload", args=[upload.pk])
    assert words in link.group(2)
    assert "Import" in item and "import_" not in item

    upload.delete()  # pruned: no link to a page that would answer 404
    assert 'data-testid="job-result"' not in job_item(client.get("/").content.decode(), run)
