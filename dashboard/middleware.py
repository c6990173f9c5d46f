"""A database outage answers 503 with a page in the console's look, not a 500.

The web process needs no restart afterwards: Django drops a connection that failed at the end of the request
(and checks a reused one first, CONN_HEALTH_CHECKS), so the first request after the database is back works.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.contrib import admin
from django.contrib.auth.models import AnonymousUser
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)

MESSAGE = "The database is unavailable right now. Nothing was changed; try again in a moment."
RETRY_AFTER_SECONDS = 15
# SQLSTATEs of a server going away: class 08 (connection exception), admin or crash shutdown, starting up.
_UNAVAILABLE_STATES = ("57P01", "57P02", "57P03")


def database_unavailable(exc: BaseException) -> bool:
    """Is `exc` the database being out of reach (as opposed to a query failing on a live database)?"""
    if isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    sqlstate = getattr(exc.__cause__, "sqlstate", None)
    # No SQLSTATE: the connection itself failed (refused, reset, closed by the server).
    return sqlstate is None or sqlstate.startswith("08") or sqlstate in _UNAVAILABLE_STATES


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if not database_unavailable(exc):
            return None
        logger.error("Database unavailable for %s %s: %s", request.method, request.path, exc)
        if "application/json" in request.headers.get("Accept", ""):
            response: HttpResponse = JsonResponse(
                {"error": MESSAGE, "retry_after": RETRY_AFTER_SECONDS}, status=503
            )
        else:
            response = HttpResponse(_page(request), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        response["Cache-Control"] = "no-store"
        return response


def _page(request: HttpRequest) -> str:
    # The session and the user live in the database: render as nobody (no sidebar, which needs permissions).
    request.user = AnonymousUser()
    try:
        context = {**admin.site.each_context(request), "title": "Database unavailable", "message": MESSAGE}
        return render_to_string("503.html", context)
    except Exception:  # the outage page itself must never fail
        logger.exception("Could not render the 503 page")
        return (
            f"<!DOCTYPE html><title>Database unavailable</title><h1>Database unavailable</h1><p>{MESSAGE}</p>"
        )
