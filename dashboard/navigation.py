"""The sidebar: one section per capability, shown only to users who may open it."""

from django.http import HttpRequest


def sidebar_navigation(request: HttpRequest) -> list[dict]:
    return []
