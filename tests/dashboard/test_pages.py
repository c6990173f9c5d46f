"""The page kit: every refused request of the console is the same page (one template, one test id, a link
back to where to go on, a 4xx)."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("user", "url", "query", "back"),
    [
        ("manager", "dashboard:trash:purge_records", {"before": "x"}, "dashboard:trash:list"),
        ("manager", "dashboard:exports:trash_export", {"format": "pdf"}, "dashboard:trash:list"),
        ("dba", "dashboard:exports:index_findings_export", {"format": "x"}, "dashboard:dbhealth:index_usage"),
        ("dba", "dashboard:dbhealth:index_usage", {"days": "5"}, "dashboard:dbhealth:index_usage"),
    ],
)
def test_refusals_share_one_page(request, client, user, url, query, back):
    client.force_login(request.getfixturevalue(user))
    response = client.get(reverse(url), query)
    assert response.status_code == 400
    assert response.templates[0].name == "dashboard/refused.html"
    page = response.content.decode()
    assert 'data-testid="refused-message"' in page
    assert f'href="{reverse(back)}"' in page


def test_a_validation_refusal_is_the_same_page(client, manager):
    client.force_login(manager)
    url = reverse("dashboard:validation:export", args=["ticket", "subject_required"])
    response = client.get(url, {"format": "pdf"})
    assert response.status_code == 400
    assert response.templates[0].name == "dashboard/refused.html"
    assert f'href="{reverse("dashboard:validation:index")}"' in response.content.decode()


@pytest.mark.parametrize(
    ("user", "url", "tabs", "current"),
    [
        (
            "org_admin",
            "dashboard:trash:purge_records",
            ["Trash", "Purge records", "Retention"],
            "Purge records",
        ),
        ("manager", "dashboard:trash:list", ["Trash", "Purge records"], "Trash"),
        (
            "dba",
            "dashboard:dbhealth:violations",
            ["Index usage", "Constraint violations", "Index advisor"],
            None,
        ),
    ],
)
def test_capability_tabs_are_unfolds_navigation_with_the_current_one_marked(
    request, client, user, url, tabs, current
):
    client.force_login(request.getfixturevalue(user))
    response = client.get(reverse(url))
    assert response.status_code == 200
    assert "unfold/components/navigation.html" in [t.name for t in response.templates]
    items = response.context["tabs"]
    assert [item["title"] for item in items] == tabs
    active = [item["title"] for item in items if item["active"]]
    assert active == [current or "Constraint violations"]


def test_report_tables_share_the_console_table_class(client, manager):
    client.force_login(manager)
    page = client.get(reverse("dashboard:trash:purge_records")).content.decode()
    assert '<table class="console-table" data-testid="purge-records">' in page
    assert 'class="px-3 py-2' not in page  # the look lives in console.css, not on every cell
