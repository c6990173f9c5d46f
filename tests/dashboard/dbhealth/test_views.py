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
        response = client.get(
            INDEX_USAGE, {"kind": "duplicate", "ftable": "models_core_ticket", "itable": "models_core_ticket"}
        )
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


# The index page's listings and each index's own page
# ----------------------------------------------------------------------------------------------------

INDEX_DETAIL = reverse("dashboard:dbhealth:index_detail")


def _index_rows(content: str) -> list[str]:
    import re

    return re.findall(r'data-index-row="([^"]+)"', content)


def test_every_index_is_two_clicks_away_paged_filtered_and_sorted(client, dba):
    import re
    from html import unescape

    from dashboard.dbhealth import selectors

    client.force_login(dba)
    first = client.get(INDEX_USAGE).content.decode()
    every = {i.name for i in selectors.index_catalog_list()}
    assert len(_index_rows(first)) == 50 < len(every)  # paged, not 19,000 px of rows
    # Click 1: any page (every page number is a link); click 2: the index's own page.
    pages = sorted(set(re.findall(r'href="(\?[^"]*ipage=\d+[^"]*)"', first)))
    seen = set()
    for link in pages:
        content = client.get(INDEX_USAGE + unescape(link).split("#")[0]).content.decode()
        seen.update(_index_rows(content))
        for name in re.findall(r'data-index-link="([^"]+)"', content):
            assert name in every
    assert seen == every
    only_ticket = client.get(INDEX_USAGE, {"itable": "models_core_ticket", "isort": "size"}).content.decode()
    rows = _index_rows(only_ticket)
    tickets = sorted(
        (i for i in selectors.index_catalog_list() if i.table == "models_core_ticket"),
        key=lambda i: (-i.size_bytes, i.name),
    )
    assert rows == [i.name for i in tickets][:50]


def test_findings_are_grouped_by_kind_filtered_by_table_and_paged(client, dba):
    client.force_login(dba)
    content = client.get(INDEX_USAGE, {"kind": "duplicate"}).content.decode()
    import re

    kinds = set(re.findall(r'data-finding="([a-z]+)"', content))
    assert kinds == {"duplicate"}
    content = client.get(INDEX_USAGE, {"kind": "duplicate", "ftable": "models_core_user"}).content.decode()
    tables = set(re.findall(r'data-finding="duplicate" data-index="[^"]+" data-table="([^"]+)"', content))
    assert tables == {"models_core_user"}
    assert 'data-index="idx_user_org_role"' in content


@pytest.mark.parametrize(
    "query",
    [{"kind": "nonsense"}, {"fsort": "drop table"}, {"ipage": "0"}, {"ipage": "x"}, {"isort": "<script>"}],
)
def test_bad_listing_parameters_are_a_400_with_a_message(client, dba, query):
    client.force_login(dba)
    response = client.get(INDEX_USAGE, query)
    assert response.status_code == 400
    assert "Unknown finding kind, sort order or page" in response.content.decode()


def test_a_page_past_the_end_shows_the_last_page(client, dba):
    client.force_login(dba)
    assert client.get(INDEX_USAGE, {"ipage": "999"}).status_code == 200


def test_an_index_has_its_own_page_with_declaration_findings_and_history(client, dba):
    from dashboard.dbhealth.services import dbhealth_snapshot_take

    dbhealth_snapshot_take()
    dbhealth_snapshot_take()
    client.force_login(dba)
    response = client.get(
        INDEX_DETAIL, {"schema": "public", "table": "models_core_ticket", "index": "idx_ticket_org_status"}
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert "Ticket.Meta.indexes" in content
    assert 'data-finding="duplicate"' in content
    assert 'id="dbh-index-scans"' in content and 'id="dbh-index-size"' in content


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ({"schema": "public", "table": "models_core_ticket", "index": "no_such_index"}, 404),
        ({"schema": "public", "table": "models_core_ticket"}, 400),
        ({"schema": "public", "table": "models_core_ticket", "index": "x" * 64}, 400),
        ({"schema": "public", "table": "t", "index": "i", "days": "5"}, 400),
    ],
)
def test_an_unknown_or_malformed_index_is_a_4xx_with_a_message(client, dba, query, status):
    client.force_login(dba)
    response = client.get(INDEX_DETAIL, query)
    assert response.status_code == status
    assert 'data-testid="refused-message"' in response.content.decode()


def test_the_index_page_needs_the_permission_and_no_organization(client, manager, make_staff):
    query = {"schema": "public", "table": "models_core_ticket", "index": "idx_ticket_org_status"}
    client.force_login(manager)
    assert client.get(INDEX_DETAIL, query).status_code == 403
    client.force_login(make_staff("DBAs"))
    assert client.get(INDEX_DETAIL, query).status_code == 403
