"""The site's 403, 404 and 500 pages, in the console's own layout, each with a way back.

Django's handlers render a bare template with no admin context; these give signed-in staff the sidebar and
header (admin.site.each_context) and everyone else unfold's sign-in layout. A 500 page must render when
the database is what failed, so it falls back to a layout that needs no query, and then to plain text.
"""

from __future__ import annotations

import copy
import logging
from typing import Any
from urllib.parse import urlsplit

from django.contrib import admin
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

logger = logging.getLogger(__name__)

CONSOLE_TEMPLATE = "errors/console.html"
PLAIN_TEMPLATE = "errors/plain.html"

TEXTS = {
    403: (
        "You may not open this page",
        "Your groups do not include the permission this page needs. If your work needs it, ask an "
        "administrator to add you to the right group.",
    ),
    404: ("Page not found", "There is no page at this address: the link may be old or mistyped."),
    500: (
        "Something went wrong on our side",
        "The error was logged for the developers. Try again in a moment; if it keeps happening, tell them "
        "what you were doing.",
    ),
}


def error_reason(exception: Exception | None) -> str | None:
    """The message a view raised on purpose (`raise Http404("...")`), not Django's resolver details."""
    if exception is None or not exception.args:
        return None
    message = exception.args[0]
    return message if isinstance(message, str) and message.strip() else None


def back_url(request: HttpRequest) -> str | None:
    """Where the visitor came from, when that is a page of this site other than this one."""
    referer = request.META.get("HTTP_REFERER", "")
    if not referer or not url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return None
    if urlsplit(referer).path == request.path:
        return None
    return referer


def _is_console_user(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated and user.is_active and user.is_staff)


def error_page_render(request: HttpRequest, status: int, exception: Exception | None = None) -> str:
    """The page's HTML: the console layout for staff, unfold's plain layout otherwise or when that fails."""
    title, text = TEXTS[status]
    context: dict[str, Any] = {
        "title": title,
        "status": status,
        "text": text,
        "reason": error_reason(exception) if status != 500 else None,
        "back_url": back_url(request),
        "home_url": reverse("admin:index"),
    }
    if _is_console_user(request):
        try:
            return render_to_string(
                CONSOLE_TEMPLATE, {**admin.site.each_context(request), **context}, request=request
            )
        except Exception:  # the sidebar needs the database; a 500 may be the database failing
            logger.exception("The console layout of the %s page could not be rendered", status)
    # No request: context processors (and their queries) stay out of it.
    return render_to_string(PLAIN_TEMPLATE, {**_plain_context(request), **context})


def _plain_context(request: HttpRequest) -> dict[str, Any]:
    """unfold's site context (branding, colours, theme) as an anonymous visitor sees it: no query runs."""
    anonymous = copy.copy(request)
    anonymous.user = AnonymousUser()
    try:
        return admin.site.each_context(anonymous)
    except Exception:
        logger.exception("The site context of an error page could not be built")
        return {"site_title": "Custodian"}


def permission_denied_view(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return HttpResponse(error_page_render(request, 403, exception), status=403)


def page_not_found_view(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return HttpResponse(error_page_render(request, 404, exception), status=404)


def server_error_view(request: HttpRequest) -> HttpResponse:
    try:
        return HttpResponseServerError(error_page_render(request, 500))
    except Exception:
        logger.exception("The 500 page could not be rendered")
        return HttpResponseServerError(
            "Server error (500): something went wrong on our side. Try again in a moment.",
            content_type="text/plain",
        )
