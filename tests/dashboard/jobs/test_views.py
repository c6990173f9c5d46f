import pytest
from django.urls import reverse

from dashboard.jobs.models import JobRun
from dashboard.jobs.services import job_run_progress
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def status_url(run_or_id) -> str:
    return reverse("dashboard:job_run_status", args=[getattr(run_or_id, "pk", run_or_id)])


@pytest.fixture
def own_run(manager):
    run = JobRun.objects.create(kind="scan", started_by=manager, organization=manager.organization)
    job_run_progress(run.pk, 2, 8)
    return run


def test_own_job_status(client, manager, own_run):
    client.force_login(manager)
    response = client.get(status_url(own_run))
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    data = response.json()
    assert data["id"] == own_run.pk
    assert (data["status"], data["done"], data["total"], data["percent"], data["finished"]) == (
        "running",
        2,
        8,
        25,
        False,
    )


def test_someone_elses_job_is_404_even_in_the_same_organization(client, make_staff, own_run):
    colleague = make_staff("Admins")
    client.force_login(colleague)
    assert client.get(status_url(own_run)).status_code == 404


def test_platform_staff_may_follow_any_job(client, dba, own_run):
    client.force_login(dba)
    assert client.get(status_url(own_run)).json()["id"] == own_run.pk


def test_unknown_job_is_404(client, manager):
    client.force_login(manager)
    assert client.get(status_url(10**12)).status_code == 404
    assert client.get(f"/dashboard/jobs/{'9' * 30}/status/").status_code == 404  # beyond bigint


def test_anonymous_and_non_staff_are_sent_to_sign_in(client, own_run):
    response = client.get(status_url(own_run))
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")
    client.force_login(UserFactory(is_staff=False, organization=None))
    assert client.get(status_url(own_run)).status_code == 302


def test_status_is_read_only(client, manager, own_run):
    client.force_login(manager)
    assert client.post(status_url(own_run)).status_code == 405
