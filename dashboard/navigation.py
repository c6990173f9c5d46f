"""The sidebar and the home page's capability cards, from one registry.

Each capability (trash, validation, hooks, DB health) registers one entry when its pages exist, typically in
its AppConfig.ready() or at import of its urls module. An entry is shown only when its URL resolves and the
user holds its permission, so the menu never offers a dead link or a page that would answer 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from dashboard.scoping import is_platform_staff, user_has_console_permission


@dataclass(frozen=True)
class NavigationEntry:
    key: str
    title: str
    icon: str  # a Material Symbols name, as unfold uses
    url_name: str
    permission: str  # "app_label.codename"
    description: str = ""
    order: int = 100
    # Pages that cover every organization (DB health) open only for platform staff, whatever the permission.
    platform_only: bool = False


class NavigationRegistry:
    def __init__(self) -> None:
        self._entries: dict[str, NavigationEntry] = {}

    def register(self, entry: NavigationEntry) -> NavigationEntry:
        if entry.key in self._entries and self._entries[entry.key] != entry:
            raise ValueError(f"Navigation entry {entry.key!r} is already registered differently")
        self._entries[entry.key] = entry
        return entry

    def unregister(self, key: str) -> None:
        self._entries.pop(key, None)

    def entries(self) -> list[NavigationEntry]:
        return sorted(self._entries.values(), key=lambda e: (e.order, e.title))

    def visible_to(self, user: Any) -> list[tuple[NavigationEntry, str]]:
        """The entries this user may open, each with its resolved URL."""
        visible = []
        for entry in self.entries():
            if not user_has_console_permission(user, entry.permission):
                continue
            if entry.platform_only and not is_platform_staff(user):
                continue
            try:
                url = reverse(entry.url_name)
            except NoReverseMatch:
                continue
            visible.append((entry, url))
        return visible


registry = NavigationRegistry()


def sidebar_navigation(request: HttpRequest) -> list[dict]:
    """unfold's SIDEBAR["navigation"]: Home, then one item per capability the user may open."""
    groups: list[dict] = [
        {
            "title": None,
            "items": [{"title": _("Home"), "icon": "home", "link": reverse("admin:index")}],
        }
    ]
    items = [
        {"title": entry.title, "icon": entry.icon, "link": url}
        for entry, url in registry.visible_to(request.user)
    ]
    if items:
        groups.append({"title": _("Data care"), "separator": True, "items": items})
    data_items = helpdesk_data_items(request)
    if data_items:
        groups.append({"title": _("Helpdesk data"), "separator": True, "items": data_items})
    return groups


# The helpdesk's own models in the normal admin, in the order a support team thinks of them.
HELPDESK_DATA_ICONS = {
    "organization": "domain",
    "user": "group",
    "ticket": "confirmation_number",
    "ticketcomment": "chat",
    "ticketattachment": "attach_file",
    "knowledgebasearticle": "menu_book",
    "slapolicy": "timer",
    "usersession": "devices",
    "userpermission": "key",
}


def helpdesk_data_items(request: HttpRequest) -> list[dict]:
    """Links to the changelists of the models_core admins the user may view (as the admin index decides)."""
    if not user_has_console_permission(request.user, None):
        return []
    from django.apps import apps
    from django.contrib import admin

    items = []
    for model_name, icon in HELPDESK_DATA_ICONS.items():
        model = apps.get_model("models_core", model_name)
        model_admin = admin.site._registry.get(model)
        if model_admin is None or not model_admin.has_view_or_change_permission(request):
            continue
        items.append(
            {
                "title": capfirst(model._meta.verbose_name_plural),
                "icon": icon,
                "link": reverse(f"admin:models_core_{model_name}_changelist"),
            }
        )
    return items
