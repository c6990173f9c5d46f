import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from dashboard.hooks.models import HookStat
from dashboard.hooks.services import hook_stats_flush
from tests.factories import KnowledgeBaseArticleFactory

pytestmark = pytest.mark.django_db
URL = reverse("dashboard:hooks:registry")
RESET = reverse("dashboard:hooks:reset")
SLUG_HOOK_KEY = (
    "models_core.KnowledgeBaseArticle:before_save:models_core.helpdesk_hooks.article_slug_from_title"
)


@pytest.fixture
def flushed_stats():
    KnowledgeBaseArticleFactory(slug="")
    hook_stats_flush()


def signed_in(client, user):
    client.force_login(user)
    return client


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_support_manager_may_not_see_the_registry(client, manager):
    assert signed_in(client, manager).get(URL).status_code == 403


@pytest.mark.parametrize("who", ["dba", "org_admin", "platform_superuser"])
def test_registry_page_shows_hooks_with_provenance_and_statistics(request, client, who, flushed_stats):
    user = request.getfixturevalue(who)
    response = signed_in(client, user).get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "ticket_stamp_resolved_at" in html
    assert "models_core/helpdesk_hooks.py:" in html
    assert "Stamp `resolved_at`" in html
    assert f'data-hook-key="{SLUG_HOOK_KEY}"' in html
    # The statistics are every organization's: only platform staff (DBAs, superusers) may reset them.
    assert ('action="/dashboard/hooks/reset/"' in html) is (who != "org_admin")


def test_filters_narrow_the_page(client, dba):
    response = signed_in(client, dba).get(URL, {"model": "models_core.Ticket", "event": "before_create"})
    assert response.status_code == 200
    groups = response.context["groups"]
    assert [(g.model_label, g.hook_type.value) for g in groups] == [("models_core.Ticket", "before_create")]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"model": "auth.Group"}, "There is no hooked model"),
        ({"event": "before_lunch"}, "There is no hook event"),
        ({"model": "x" * 5000}, "There is no hooked model"),
    ],
)
def test_bad_filters_get_a_clear_400(client, dba, query, message):
    response = signed_in(client, dba).get(URL, query)
    assert response.status_code == 400
    assert message in response.content.decode()


def test_page_query_count_does_not_grow_with_statistics(
    client, dba, flushed_stats, django_assert_max_num_queries
):
    signed_in(client, dba)
    with django_assert_max_num_queries(12):
        assert client.get(URL).status_code == 200


def test_reset_needs_post_and_the_permission(client, manager, flushed_stats):
    signed_in(client, manager)
    assert client.post(RESET, {"key": SLUG_HOOK_KEY}).status_code == 403
    assert HookStat.objects.get(key=SLUG_HOOK_KEY).calls == 1


def test_viewer_without_reset_permission_sees_no_reset_buttons_and_is_refused(
    client, make_staff, flushed_stats
):
    viewer = make_staff(None)
    viewer.user_permissions.add(Permission.objects.get(codename="view_hook_registry"))
    signed_in(client, viewer)
    assert 'action="/dashboard/hooks/reset/"' not in client.get(URL).content.decode()
    assert client.post(RESET, {}).status_code == 403


def test_get_on_reset_changes_nothing(client, dba, flushed_stats):
    assert signed_in(client, dba).get(RESET, {"key": SLUG_HOOK_KEY}).status_code == 405
    assert HookStat.objects.get(key=SLUG_HOOK_KEY).calls == 1


def test_dba_resets_one_hook_and_returns_to_the_filtered_page(client, dba, flushed_stats):
    response = signed_in(client, dba).post(
        RESET, {"key": SLUG_HOOK_KEY, "model": "models_core.KnowledgeBaseArticle", "event": ""}
    )
    assert response.status_code == 302
    assert response["Location"] == f"{URL}?model=models_core.KnowledgeBaseArticle"
    stat = HookStat.objects.get(key=SLUG_HOOK_KEY)
    assert (stat.calls, stat.reset_by) == (0, dba)
    page = client.get(response["Location"])
    assert "start again from now" in page.content.decode()


def test_reset_without_csrf_token_is_refused(dba, flushed_stats):
    client = Client(enforce_csrf_checks=True)
    client.force_login(dba)
    assert client.post(RESET, {"key": SLUG_HOOK_KEY}).status_code == 403
    assert HookStat.objects.get(key=SLUG_HOOK_KEY).calls == 1


@pytest.mark.parametrize("key", ["no:such:hook", "k" * 600])
def test_reset_of_an_unknown_hook_is_a_clear_4xx(client, dba, key):
    response = signed_in(client, dba).post(RESET, {"key": key})
    assert response.status_code in (400, 404)
    text = response.content.decode()
    assert "no statistics to reset" in text or "malformed" in text


def test_double_submitted_reset_all_is_harmless(client, dba, flushed_stats):
    signed_in(client, dba)
    assert client.post(RESET, {}).status_code == 302
    assert client.post(RESET, {}).status_code == 302
    assert HookStat.objects.filter(calls__gt=0).count() == 0


def test_hooks_entry_in_the_sidebar_follows_the_permission(client, manager, org_admin, dba):
    for user, shown in ((manager, False), (org_admin, True), (dba, True)):
        client.force_login(user)
        assert ('href="/dashboard/hooks/"' in client.get("/").content.decode()) is shown


def test_registry_shows_conditions_and_counts_skips_beside_bulk_bypasses(client, dba, hooks):
    """Each hook's `when=` condition is on the page; `save(skip_hooks=True)` and `bypass_hooks()` are
    counted in the bypass table next to bulk writes."""
    from models_core.hooks import bypass_hooks
    from models_core.models import Ticket
    from tests.factories import TicketFactory

    def notify_on_reopen(ticket, **context):
        """Tell the agent a ticket came back."""

    hooks("after_update", Ticket, notify_on_reopen, when="status", was="resolved", is_now="open")
    ticket = TicketFactory()
    ticket.save(skip_hooks=True)
    with bypass_hooks():
        ticket.save()
    hook_stats_flush()
    html = signed_in(client, dba).get(URL).content.decode()
    assert "when status was &#x27;resolved&#x27;, is now &#x27;open&#x27;" in html
    assert 'data-operation="skip_hooks"' in html and "save(skip_hooks=True)" in html
    assert 'data-operation="bypass_hooks"' in html and "inside bypass_hooks()" in html
