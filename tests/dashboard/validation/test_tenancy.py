"""What a scan's job tells an organization-bound starter: their organization's totals, not the platform's."""

import pytest
from django.urls import reverse

from dashboard.validation.services import validation_scan_start
from dashboard.validation.tasks import validation_scan_task

pytestmark = pytest.mark.django_db


def test_job_status_of_an_org_bound_starter_shows_their_organizations_totals(client, legacy_rows, org_admin):
    scan = validation_scan_start(org_admin)
    validation_scan_task(scan_id=scan.pk, job_run_id=scan.job_run_id)
    scan.refresh_from_db()
    client.force_login(org_admin)
    result = client.get(reverse("dashboard:job_run_status", args=[scan.job_run_id])).json()["result"]
    mine = client.get(reverse("dashboard:validation:index"))
    # The other organization's blank ticket counts for the platform only.
    assert scan.violations_total > mine.context["totals"]["violations"]
    assert result["violations"] == mine.context["totals"]["violations"]
    assert result["scan_id"] == scan.pk
