import pytest
from django.test import RequestFactory

from dashboard.navigation import NavigationEntry, NavigationRegistry, registry, sidebar_navigation

pytestmark = pytest.mark.django_db

TRASH = NavigationEntry(
    key="test-trash",
    title="Test trash",
    icon="delete",
    url_name="admin:password_change",  # any URL that resolves stands in for a capability page
    permission="dashboard.view_trash",
    description="Deleted rows",
)


@pytest.fixture(autouse=True)
def no_capabilities(monkeypatch):
    """These tests are about the registry's mechanics: set aside the capabilities registered at start-up.

    One monkeypatch of the whole dict (never clearing it in place), so the real entries come back intact
    whatever order fixtures are torn down in.
    """
    monkeypatch.setattr(registry, "_entries", {})


@pytest.fixture
def trash_entry(no_capabilities):
    registry.register(TRASH)
    yield TRASH
    registry.unregister(TRASH.key)


def sidebar_groups(user) -> dict[str, list[str]]:
    request = RequestFactory().get("/")
    request.user = user
    return {
        str(group["title"]): [str(item["title"]) for item in group["items"]]
        for group in sidebar_navigation(request)
    }


def sidebar_titles(user) -> list[str]:
    """Home and the capability pages (the helpdesk data section is tested on its own)."""
    return [
        title for name, titles in sidebar_groups(user).items() if name != "Helpdesk data" for title in titles
    ]


def test_sidebar_has_only_home_while_no_capability_exists(
    no_capabilities, manager, org_admin, dba, platform_superuser
):
    for user in (manager, org_admin, dba, platform_superuser):
        assert sidebar_titles(user) == ["Home"]


def test_entry_shows_only_with_its_permission(trash_entry, manager, dba, platform_superuser):
    assert sidebar_titles(manager) == ["Home", "Test trash"]
    assert sidebar_titles(platform_superuser) == ["Home", "Test trash"]
    assert sidebar_titles(dba) == ["Home"]


def test_entry_whose_url_does_not_resolve_is_hidden(manager):
    local = NavigationRegistry()
    local.register(
        NavigationEntry("ghost", "Ghost", "help", "dashboard:no_such_page", "dashboard.view_trash")
    )
    assert local.visible_to(manager) == []


def test_entries_are_ordered_and_keys_unique():
    local = NavigationRegistry()
    second = local.register(NavigationEntry("b", "B", "x", "admin:index", "dashboard.view_trash", order=20))
    first = local.register(NavigationEntry("a", "A", "x", "admin:index", "dashboard.view_trash", order=10))
    local.register(first)  # registering the same entry again is harmless (module re-imports)
    assert local.entries() == [first, second]
    with pytest.raises(ValueError):
        local.register(NavigationEntry("a", "Other", "x", "admin:index", "dashboard.view_trash"))


def test_rendered_sidebar_and_cards_follow_permissions(client, trash_entry, manager, dba):
    client.force_login(manager)
    page = client.get("/").content.decode()
    assert 'href="/password_change/"' in page
    assert page.count("Test trash") == 3  # sidebar item, home card's title and its "Open Test trash"
    assert "Open Test trash" in page
    assert "Deleted rows" in page

    client.force_login(dba)
    page = client.get("/").content.decode()
    assert "Test trash" not in page


def test_helpdesk_data_section_follows_model_permissions(manager, org_admin, dba, platform_superuser):
    everything = [
        "Organizations",
        "Users",
        "Tickets",
        "Ticket comments",
        "Ticket attachments",
        "Knowledge base articles",
        "SLA policies",
        "User sessions",
        "User permissions",
    ]
    assert sidebar_groups(platform_superuser)["Helpdesk data"] == everything
    assert sidebar_groups(manager)["Helpdesk data"] == everything  # view rights on every model
    assert sidebar_groups(org_admin)["Helpdesk data"] == everything
    assert "Helpdesk data" not in sidebar_groups(dba)  # no customer content for DBAs
