"""The console page kit: how every page outside a ModelAdmin gets unfold's layout and how it refuses.

Pages extend templates/dashboard/page.html; their context starts from the admin site's (sidebar, branding,
the user's apps), so each view adds only its own keys. A refused request (bad input, a conflict) is one page
for the whole console: the message in a card, a link back, a 4xx status.
"""

from __future__ import annotations

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
