"""403, 404 and 500 in the console's own layout, saying why and offering a way back (DEBUG off)."""

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from tests.factories import TicketFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.e2e.urls")]

SIDEBAR = 'id="nav-sidebar"'


def error_page(response, status: int) -> str:
    assert response.status_code == status
    page = response.content.decode()
    assert f'data-testid="error-page" data-status="{status}"' in page
    assert 'href="/"' in page and "Dashboard home" in page
    return page


def test_unknown_address_is_a_404_in_the_console_layout(client, manager):
    client.force_login(manager)
    page = error_page(client.get("/no-such-page/"), 404)
    assert "Page not found" in page
    assert SIDEBAR in page
    assert "Resolver404" not in page


def test_a_trash_record_gone_meanwhile_says_why(client, manager, organization):
    ticket = TicketFactory(organization=organization)
    ticket.soft_delete(reason="duplicate")
    url = reverse("dashboard:trash:detail", args=["models_core.ticket", ticket.pk])
    client.force_login(manager)
    assert client.get(url).status_code == 200
    ticket.restore()

    page = error_page(client.get(url), 404)
    assert "not in the trash any more: it was restored or purged meanwhile" in page


def test_a_restore_of_rows_gone_meanwhile_says_why(client, manager):
    client.force_login(manager)
    page = error_page(
        client.get(reverse("dashboard:trash:restore"), {"items": "models_core.ticket:99999"}), 404
    )
    assert "not in the trash any more: restored or purged meanwhile" in page


def test_a_refusal_is_a_403_in_the_console_layout_with_the_reason(client, manager, make_staff):
    client.force_login(manager)
    page = error_page(client.get(reverse("dashboard:dbhealth:index_usage")), 403)
    assert "You may not open this page" in page
    assert SIDEBAR in page

    client.force_login(make_staff("DBAs"))  # holds the right, but the page covers every organization
    page = error_page(client.get(reverse("dashboard:dbhealth:index_usage")), 403)
    assert "platform staff only" in page


def test_way_back_is_the_referring_page_of_this_site_only(client, manager):
    client.force_login(manager)
    page = error_page(client.get("/no-such-page/", HTTP_REFERER="http://testserver/dashboard/trash/"), 404)
    assert 'href="http://testserver/dashboard/trash/"' in page
    page = error_page(client.get("/no-such-page/", HTTP_REFERER="https://evil.example/"), 404)
    assert "evil.example" not in page
    assert "Back to the previous page" not in page


def test_server_error_is_a_500_in_the_console_layout(manager):
    client = Client(raise_request_exception=False)
    client.force_login(manager)
    page = error_page(client.get("/__e2e__/server-error/"), 500)
    assert "Something went wrong on our side" in page
    assert SIDEBAR in page
    assert "deliberate failure" not in page  # the exception's text stays in the log


def test_server_error_renders_without_the_console_layout_when_that_fails(manager, monkeypatch):
    """When the sidebar cannot be built (the database is down), the page still renders, in unfold's plain
    layout, and offers the way home."""

    def broken(request):
        if request.user.is_authenticated:
            raise RuntimeError("no database")
        return original(request)

    original = admin.site.each_context
    monkeypatch.setattr(admin.site, "each_context", broken)
    client = Client(raise_request_exception=False)
    client.force_login(manager)
    page = error_page(client.get("/__e2e__/server-error/"), 500)
    assert SIDEBAR not in page
    assert "unfold/css/styles.css" in page  # still the console's look


def test_anonymous_visitors_get_the_plain_layout(client):
    client = Client(raise_request_exception=False)
    page = error_page(client.get("/__e2e__/server-error/"), 500)
    assert SIDEBAR not in page
    assert "Custodian" in page
