"""Reads of the import pipeline: which records a user may touch, live or in the trash."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models
from django.db.models import QuerySet

from dashboard.scoping import scope_to_organization


def scoped_rows(model: type[models.Model], user: Any, *, trashed: bool = False) -> QuerySet:
    """The live rows of `model` this user may touch (`trashed=True`: its rows in the trash instead)."""
    return scope_to_organization(model.all_objects.filter(deleted_at__isnull=not trashed), user)


def trashed_ids_in_scope(model: type[models.Model], user: Any, ids: Iterable[Any]) -> set[Any]:
    """Which of `ids` name this user's records in the trash (one query for a whole file)."""
    ids = list(ids)
    if not ids:
        return set()
    return set(scoped_rows(model, user, trashed=True).filter(pk__in=ids).values_list("pk", flat=True))


def live_rows_by_id(model: type[models.Model], user: Any, ids: Iterable[Any]) -> dict[Any, models.Model]:
    """This user's live records among `ids`, by primary key (one query for a whole file)."""
    ids = list(ids)
    if not ids:
        return {}
    return {obj.pk: obj for obj in scoped_rows(model, user).filter(pk__in=ids)}


def queryset_exceeds(queryset: QuerySet, limit: int) -> bool:
    """Does `queryset` hold more than `limit` rows? Reads at most limit + 1 ids, never a full COUNT(*)."""
    return queryset.order_by().values("pk")[: limit + 1].count() > limit
