"""The DB health pages: access, bad input, snapshots and existing-data checks through the views."""

import pytest
from django.urls import reverse

from dashboard.dbhealth.models import SnapshotRun
from dashboard.jobs.models import JobRun

pytestmark = pytest.mark.django_db

INDEX_USAGE = reverse("dashboard:dbhealth:index_usage")
VIOLATIONS = reverse("dashboard:dbhealth:violations")
SNAPSHOT = reverse("dashboard:dbhealth:snapshot")
CHECK = reverse("dashboard:dbhealth:constraint_check")


@pytest.mark.parametrize("url", [INDEX_USAGE, VIOLATIONS])
def test_anonymous_users_are_sent_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize("url", [INDEX_USAGE, VIOLATIONS])
def test_staff_without_the_permission_get_403(client, manager, url):
    client.force_login(manager)
    assert client.get(url).status_code == 403


def test_organization_bound_users_get_403_even_with_the_permission(client, make_staff):
    user = make_staff("DBAs")  # bound to an organization
    client.force_login(user)
    assert client.get(INDEX_USAGE).status_code == 403
    assert client.get(VIOLATIONS).status_code == 403
    assert client.post(SNAPSHOT).status_code == 403
    # ...so the sidebar does not offer them a page that would answer 403.
    from dashboard.navigation import registry

    assert not {entry.key for entry, _ in registry.visible_to(user)} & {"dbhealth", "dbhealth_violations"}


def test_index_usage_page_for_a_dba(client, dba, django_assert_max_num_queries):
    client.force_login(dba)
    with django_assert_max_num_queries(30):
        response = client.get(INDEX_USAGE)
    assert response.status_code == 200
    content = response.content.decode()
    assert 'data-index-row="idx_ticket_org_status"' in content
    assert 'id="dbh-scans"' in content and 'id="dbh-sizes"' in content and 'id="dbh-tables"' in content
    assert (
        "RemoveIndexConcurrently(model_name=&#x27;ticket&#x27;, name=&#x27;idx_ticket_org_status&#x27;)"
        in content
    )


def test_superuser_platform_staff_see_the_pages(client, platform_superuser):
    client.force_login(platform_superuser)
    assert client.get(VIOLATIONS).status_code == 200


@pytest.mark.parametrize("days", ["5", "abc", "-1", "30; DROP TABLE x"])
def test_a_bad_window_is_a_400_with_a_message(client, dba, days):
    client.force_login(dba)
    response = client.get(INDEX_USAGE, {"days": days})
    assert response.status_code == 400
    assert b"The window must be 7, 30 or 90 days." in response.content


def test_snapshot_is_a_post_and_a_double_submit_is_refused(client, dba):
    client.force_login(dba)
    assert client.get(SNAPSHOT).status_code == 405
    response = client.post(SNAPSHOT + "?days=7")
    assert response.status_code == 302 and response["Location"].endswith("?days=7")
    assert SnapshotRun.objects.get().source == SnapshotRun.Source.PAGE
    again = client.post(SNAPSHOT)
    assert again.status_code == 409
    assert SnapshotRun.objects.count() == 1


def test_snapshot_needs_csrf(dba):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(dba)
    assert client.post(SNAPSHOT).status_code == 403
    assert not SnapshotRun.objects.exists()


def test_check_existing_data_queues_a_job_and_refuses_repeats_and_unknown_names(client, dba):
    client.force_login(dba)
    response = client.post(CHECK, {"constraint": "check_ticket_status_valid"})
    assert response.status_code == 302
    run = JobRun.objects.get(kind="dbhealth_constraint_check")
    assert run.started_by == dba
    assert client.post(CHECK, {"constraint": "check_ticket_status_valid"}).status_code == 409
    assert client.post(CHECK, {"constraint": "no_such_constraint"}).status_code == 400
    assert client.post(CHECK, {}).status_code == 400
    page = client.get(VIOLATIONS).content.decode()
    assert 'data-check="check_ticket_status_valid"' in page


def test_violations_page_lists_constraints_with_declaration_and_message(client, dba):
    client.force_login(dba)
    content = client.get(VIOLATIONS).content.decode()
    assert 'data-constraint="exclude_overlapping_sla_policies"' in content
    assert "SLAPolicy.Meta.constraints" in content
    assert "Another active policy for this priority is valid during part of this period." in content
    for chart in ("dbh-violations-time", "dbh-violations-class", "dbh-violations-org"):
        assert f'id="{chart}"' in content


def test_navigation_shows_both_pages_to_dbas_only(client, dba, manager):
    from dashboard.navigation import registry

    assert {entry.key for entry, _ in registry.visible_to(dba)} >= {"dbhealth", "dbhealth_violations"}
    assert not {entry.key for entry, _ in registry.visible_to(manager)} & {"dbhealth", "dbhealth_violations"}
