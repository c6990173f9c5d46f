"""dashboard.changelist_speed: unfold's per-row header, badge and checkbox work done once; same page."""

import re

import pytest
from unfold import admin as unfold_admin
from unfold.templatetags import unfold_list

from dashboard import changelist_speed
from tests.factories import TicketFactory

pytestmark = pytest.mark.django_db

URL = "/models_core/ticket/"


@pytest.fixture
def tickets(organization):
    statuses = ["open", "pending", "resolved", "closed"]
    return [
        TicketFactory(organization=organization, status=statuses[i % 4], sla_breach=i % 3 == 0)
        for i in range(12)
    ]


def _page(client) -> str:
    response = client.get(URL)
    assert response.status_code == 200
    # What differs between two renders of one page whatever the code: the CSRF token.
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())


def _unwrapped(monkeypatch) -> None:
    monkeypatch.setattr(unfold_list, "result_headers", unfold_list.result_headers.__wrapped__)
    monkeypatch.setattr(unfold_list, "display_for_label", unfold_list.display_for_label.__wrapped__)
    monkeypatch.setattr(
        unfold_admin.ModelAdmin, "action_checkbox", unfold_admin.ModelAdmin.action_checkbox.__wrapped__
    )


def test_the_page_is_the_one_unfold_renders(client, platform_superuser, tickets, monkeypatch):
    client.force_login(platform_superuser)
    fast = _page(client)
    assert fast.count('name="_selected_action"') == len(tickets)
    _unwrapped(monkeypatch)
    assert _page(client) == fast


def test_headers_are_built_once_per_page_not_once_per_row(client, platform_superuser, tickets, monkeypatch):
    calls = []
    original = unfold_list.result_headers.__wrapped__

    def counted(cl):
        calls.append(cl)
        return original(cl)

    monkeypatch.setattr(unfold_list, "result_headers", changelist_speed._headers_once(counted))
    client.force_login(platform_superuser)
    _page(client)
    assert len(calls) == 1  # unfold alone: once for the table's head, then once more for each of the 12 rows


def test_a_badge_is_rendered_once_per_value(monkeypatch):
    renders = []

    def display(value, empty, label):
        renders.append(value)
        return f"<{value}|{label}>"

    cached = changelist_speed._labels_cached(display)
    styles = {"open": "info", "closed": "default"}
    assert [cached(("open", "Open"), "-", styles) for _ in range(3)] == [
        "<('open', 'Open')|{'open': 'info', 'closed': 'default'}>"
    ] * 3
    assert cached(("closed", "Closed"), "-", styles).startswith("<('closed'")
    assert (
        cached(["a", "b"], "-", True) == "<['a', 'b']|True>"
    )  # a list of labels: not cacheable, still right
    assert cached(["a", "b"], "-", True) == "<['a', 'b']|True>"
    assert renders == [("open", "Open"), ("closed", "Closed"), ["a", "b"], ["a", "b"]]


def test_the_row_checkbox_carries_its_own_escaped_value():
    class Row:
        pk = '5" onclick="x'

    html = unfold_admin.ModelAdmin.action_checkbox(None, Row())
    assert 'value="5&quot; onclick=&quot;x"' in html
    assert html == unfold_admin.ModelAdmin.action_checkbox.__wrapped__(None, Row())
