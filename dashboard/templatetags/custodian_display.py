"""How the console writes people: one form on every page ("Ada Lovelace (ada)", or the username alone)."""

from typing import Any

from django import template

register = template.Library()


@register.filter
def person(user: Any) -> str:
    if user is None:
        return "—"
    name = user.get_full_name() if hasattr(user, "get_full_name") else ""
    username = user.get_username() if hasattr(user, "get_username") else str(user)
    return f"{name} ({username})" if name else username
