"""Where a model's rows find their organization: the one declaration every tenancy rule is built on.

Each model holding a tenant's data declares the lookup from its rows to their organization once, on the
model, as a class attribute::

    class Ticket(...):
        organization_path = "ticket__organization"   # a comment; "organization" for a ticket

- ``"pk"``: the row *is* the organization (Organization itself).
- a relation path (``"organization"``, ``"user__organization"``) or a plain id column (``"organization_id"``
  on records that outlive their organization, such as purge records).
- nothing declared: the rows belong to no tenant (platform-wide state). Organization-bound users see none
  of them; platform staff see all.

Querysets filter with ``{path: organization_id}``, which works for all three forms. The console's scoping
API (dashboard.scoping) and the model layer's retention read these; adding a model is one line.
"""

from __future__ import annotations

from typing import Any

from django.db import models

ORGANIZATION_ITSELF = "pk"


def organization_path(model: type[models.Model] | models.Model) -> str | None:
    """The model's declared lookup to its organization id; None when its rows belong to no tenant."""
    return getattr(model, "organization_path", None)


def organization_id_of(obj: models.Model) -> Any:
    """The id of the organization `obj` belongs to (None: no tenant, or a link that is missing)."""
    path = organization_path(obj)
    if path is None:
        return None
    if path == ORGANIZATION_ITSELF:
        return obj.pk
    *hops, last = path.split("__")
    current: Any = obj
    for hop in hops:
        current = getattr(current, hop, None)
        if current is None:
            return None
    field = current._meta.get_field(last)
    return getattr(current, field.attname)


def organization_of(obj: models.Model) -> models.Model | None:
    """The organization row `obj` belongs to (itself for an organization), following loaded relations."""
    path = organization_path(obj)
    if path is None:
        return None
    if path == ORGANIZATION_ITSELF:
        return obj
    current: Any = obj
    for hop in path.split("__"):
        current = getattr(current, hop, None)
        if current is None or not isinstance(current, models.Model):
            return None
    return current


def organization_relation(model: type[models.Model]) -> str | None:
    """The select_related path that loads a row's organization (None: itself or no relation to follow)."""
    path = organization_path(model)
    if path is None or path == ORGANIZATION_ITSELF:
        return None
    last = model
    for hop in path.split("__"):
        field = last._meta.get_field(hop)
        if not field.is_relation:
            return None
        last = field.related_model
    return path


def organization_settings_path(model: type[models.Model]) -> str | None:
    """The lookup to the organization's `settings` JSON (retention reads it in SQL); None: no tenant."""
    if organization_relation(model) is not None:
        return f"{organization_path(model)}__settings"
    return "settings" if organization_path(model) == ORGANIZATION_ITSELF else None
