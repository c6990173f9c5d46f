import pytest
from django.urls import reverse

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
    assert "started 0" in page and " UTC)" in page  # when, with its time zone
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
