"""Request-level protections of the console: no caching of its pages, the client address for throttling.

Headers and throttling come from the libraries that own them (django-csp, django-axes, Django's
SecurityMiddleware); this module holds the two small pieces they leave to the project.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control


class NoStoreMiddleware:
    """Every page and export the console answers carries staff-only data: `Cache-Control: private,
    no-store`, so neither a shared proxy nor the browser's cache (back button on a shared machine) keeps it.
    Static files never reach this (whitenoise answers them first, with their own long cache headers)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "public" in response.get("Cache-Control", ""):
            del response["Cache-Control"]
        patch_cache_control(response, private=True, no_store=True)
        return response


def client_ip(request: HttpRequest) -> str | None:
    """The client's address for django-axes (AXES_CLIENT_IP_CALLABLE).

    Behind CUSTODIAN_TRUSTED_PROXIES proxies, the client is that many entries from the right of
    X-Forwarded-For (entries further left are whatever the client sent, so they are not trusted); with none,
    the socket's address.
    """
    proxies = settings.CUSTODIAN_TRUSTED_PROXIES
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
    if proxies and len(forwarded) >= proxies:
        return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR")
