"""Which permission lets someone other than the starter follow, retry or cancel a kind of job.

Each capability registers its kinds once (in its `tasks` module, which procrastinate autodiscovers), so the
shared job kit never imports a capability. A kind nobody registered is the starter's and platform staff's.
"""

from __future__ import annotations

from typing import Any

_PERMISSIONS: dict[str, str] = {}


def job_kind_register(kind: str, *, permission: str) -> str:
    """Declare that holders of `permission` in the run's organization may manage runs of `kind`."""
    previous = _PERMISSIONS.setdefault(kind, permission)
    if previous != permission:
        raise ValueError(f"Job kind {kind!r} is already registered with {previous!r}.")
    return kind


def job_kind_permission(kind: str) -> str | None:
    return _PERMISSIONS.get(kind)


def job_kinds_with_permission(user: Any) -> list[str]:
    """The kinds whose permission `user` holds (their organization's runs of those kinds are theirs too)."""
    return [kind for kind, permission in _PERMISSIONS.items() if user.has_perm(permission)]
