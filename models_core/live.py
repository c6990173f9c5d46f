"""Joins over live rows: filter, exclude and count across relations without seeing the trash.

`Model.objects` hides the trash on its own table only. A lookup across a relation joins the related table
as Django does, trash included: `Ticket.objects.filter(comments__content="x")` matches through a trashed
comment, `Organization.objects.annotate(n=Count("tickets"))` counts trashed tickets. (django-safedelete has
the same hole and lists it as a known failure.) Use these instead wherever a lookup crosses a relation into
a soft-delete model:

    Ticket.objects.filter_live(comments__content="x")          # the same live comment matches
    Ticket.objects.filter_live(Q(comments__author=a) | Q(attachments__filename="f"))
    Ticket.objects.exclude_live(comments__content="x")         # no live comment says "x"
    Organization.objects.annotate(open=LiveCount("tickets", filter=Q(tickets__status="open")))
    queryset.filter(live_q(Ticket, "comments__author") & Q(...))  # the conditions alone

Each soft-delete model a path passes through gets `<hop>__deleted_at__isnull=True` in the same `filter()`
call (so Django puts it on the same join: the live row is the one that matches), in a `FILTER (WHERE ...)`
for counts, and in an `EXISTS` subquery for excludes (Django's `exclude()` does not tie several conditions
on a multi-valued relation to one row). A forward hop counts too: `filter_live(customer__email=...)` skips
tickets whose customer is in the trash.

`tests/models_core/test_live_joins.py` reads the project's code and fails on a relation lookup into a
soft-delete model that goes around these (a line may opt out with a `# trash-aware: <why>` comment).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.constants import LOOKUP_SEP


def _is_soft_delete(model: type[models.Model]) -> bool:
    return any(f.name == "deleted_at" for f in model._meta.concrete_fields) and hasattr(model, "all_objects")


def live_hops(model: type[models.Model], path: str) -> list[str]:
    """The prefixes of `path` (a lookup like "tickets__comments__content") that reach a soft-delete model
    through a relation, e.g. ["tickets", "tickets__comments"]."""
    hops: list[str] = []
    parts = path.split(LOOKUP_SEP)
    current = model
    for index, name in enumerate(parts):
        if name == "pk":
            break
        try:
            field = current._meta.get_field(name)
        except FieldDoesNotExist:
            break  # a lookup or a transform ("icontains", "year"): the path ends here
        if not field.is_relation or field.related_model is None:
            break
        current = field.related_model
        if _is_soft_delete(current):
            hops.append(LOOKUP_SEP.join(parts[: index + 1]))
    return hops


def live_q(model: type[models.Model], path: str) -> Q:
    """`deleted_at IS NULL` on every soft-delete model `path` passes through (an empty Q if none)."""
    return Q(**{f"{hop}__deleted_at__isnull": True for hop in live_hops(model, path)})


def _live_condition(model: type[models.Model], node: Q | tuple) -> Q:
    if isinstance(node, tuple):
        lookup, value = node
        return Q(**{lookup: value}) & live_q(model, lookup)
    if node.negated:
        raise ValueError("filter_live() takes positive conditions; use exclude_live() for negated ones.")
    combined = Q()
    for child in node.children:
        part = _live_condition(model, child)
        combined = part if not combined else Q(combined, part, _connector=node.connector)
    return combined


def filter_live(queryset: models.QuerySet, *conditions: Q, **lookups: Any) -> models.QuerySet:
    """`queryset.filter(...)` whose relation lookups see live related rows only (in one filter() call)."""
    model = queryset.model
    parts = [_live_condition(model, q) for q in conditions]
    parts += [_live_condition(model, item) for item in lookups.items()]
    return queryset.filter(*parts)


def exclude_live(queryset: models.QuerySet, *conditions: Q, **lookups: Any) -> models.QuerySet:
    """`queryset.exclude(...)` over live related rows: leaves out the rows for which `filter_live` with the
    same conditions would match, as one correlated NOT EXISTS."""
    model = queryset.model
    matching = filter_live(model._base_manager.filter(pk=OuterRef("pk")), *conditions, **lookups)
    return queryset.filter(~Exists(matching))


class LiveCount(Count):
    """`Count(path)` over live rows of every soft-delete model on the path (Postgres: COUNT ... FILTER)."""

    def __init__(self, path: str, *, filter: Q | None = None, distinct: bool = False, **extra: Any) -> None:
        self.live_path = path
        super().__init__(path, filter=filter, distinct=distinct, **extra)

    def resolve_expression(self, query: Any = None, *args: Any, **kwargs: Any) -> Any:
        clone = self.copy()
        live = live_q(query.model, self.live_path) if query is not None else Q()
        if live:
            clone.filter = live & clone.filter if clone.filter is not None else live
        return super(LiveCount, clone).resolve_expression(query, *args, **kwargs)
