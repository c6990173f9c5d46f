"""Role ceilings: nobody grants more than they hold.

An organization-bound user never sets or clears an account's organization, superuser or staff flag, never
hands out or takes away a group they do not hold themselves, never creates, trashes or purges an
organization and never changes platform-wide state (hook statistics, DB health, other organizations'
retention). Only a superuser changes the superuser flag or per-user permissions.

The admin hides the fields these rules protect, but hiding is a convenience: the forms, the import
resources and the services call these functions themselves, so a replayed POST or a crafted file meets
the same rule.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from dashboard.scoping import is_platform_staff

PLATFORM_ONLY = "Only platform staff (no organization) may do this: it reaches beyond one organization."


def platform_required(user: Any, action: str = "") -> None:
    """PermissionDenied unless `user` is platform staff: for organization-wide or platform-wide changes."""
    if not is_platform_staff(user):
        raise PermissionDenied(f"{action}: {PLATFORM_ONLY}" if action else PLATFORM_ONLY)


def user_account_errors(editor: Any, account: Any, *, before: dict[str, Any] | None) -> dict[str, str]:
    """Field errors for what `editor` may not do to `account` (its values now, against `before`: the
    stored values, None for a new account). Empty when the change is within the editor's ceiling."""
    if editor.is_superuser:
        return {}
    errors: dict[str, str] = {}
    old = before or {"organization_id": None, "is_staff": False, "is_superuser": False}
    if account.is_superuser != old["is_superuser"]:
        errors["is_superuser"] = "Only a superuser may change the superuser status."
    if editor.organization_id is not None:
        wanted = editor.organization_id if before is None else old["organization_id"]
        if account.organization_id != wanted:
            errors["organization"] = "You manage the accounts of your own organization only."
        if account.is_staff != old["is_staff"]:
            errors["is_staff"] = "Only platform staff may give or take away access to this console."
    return errors


def user_account_values(account: Any) -> dict[str, Any]:
    """What `user_account_errors` compares, as stored before a change."""
    return {
        "organization_id": account.organization_id,
        "is_staff": account.is_staff,
        "is_superuser": account.is_superuser,
    }


def groups_grantable(editor: Any) -> QuerySet[Group]:
    """The groups `editor` may hand out or take away: every group for a superuser, else their own."""
    if editor.is_superuser:
        return Group.objects.all()
    return Group.objects.filter(pk__in=editor.groups.values("pk"))


def groups_after_change(editor: Any, current: QuerySet[Group] | list, chosen: QuerySet[Group] | list) -> list:
    """The account's groups after `editor` chose `chosen`: groups beyond the editor's ceiling stay as they
    were (neither added nor removed)."""
    grantable = set(groups_grantable(editor).values_list("pk", flat=True))
    kept = [g for g in current if g.pk not in grantable]
    return kept + [g for g in chosen if g.pk in grantable]
