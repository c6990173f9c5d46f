"""The console page kit: every console page outside a ModelAdmin: unfold's layout, its tabs, its refusals.

Pages extend templates/dashboard/page.html; their context starts from the admin site's (sidebar, branding,
the user's apps), so each view adds only its own keys. A refused request (bad input, a conflict) is one page
for the whole console: the message in a card, a link back, a 4xx status.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def page_context(request: HttpRequest, **context: Any) -> dict[str, Any]:
    """The admin site's context (sidebar, branding) plus the page's own keys."""
    return {**admin.site.each_context(request), **context}


def page_render(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    return render(request, template, page_context(request, **context), status=status)


def page_refuse(
    request: HttpRequest, message: str, *, back: str, status: int = 400, title: str = "Request refused"
) -> HttpResponse:
    """A clear message inside the console's layout, with a 4xx status and a link `back` to where to go on."""
    context = {"title": title, "message": message, "back": back}
    return page_render(request, "dashboard/refused.html", context, status=status)


def page_tabs(
    request: HttpRequest, tabs: Iterable[tuple[str, str, str, str]], active: str | None = None
) -> list[dict[str, Any]]:
    """A capability's tabs as unfold's navigation component takes them ("unfold/components/navigation.html").

    `tabs` are (link, title, name, icon) with an empty icon for none; the tab whose name is `active` (the
    page's URL name by default) is shown as the current one.
    """
    current = active if active is not None else getattr(request.resolver_match, "url_name", None)
    return [
        {"link": link, "title": title, "icon": icon, "active": name == current}
        for link, title, name, icon in tabs
    ]
