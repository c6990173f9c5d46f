"""The admin log (django.contrib.admin's LogEntry) of the console's own changes: restores, purges, moves to
the trash, retention and waivers. One entry per object, written in bulk in the caller's transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import models


def admin_log_write(
    user: Any,
    objs: Iterable[models.Model],
    *,
    flag: int,
    message: Callable[[models.Model], str],
    object_repr: Callable[[models.Model], str] = str,
) -> None:
    """Log `flag` (ADDITION, CHANGE, DELETION) with `message(obj)` for each object; nothing for no user (jobs
    of the system, such as the retention purge)."""
    if user is None or getattr(user, "pk", None) is None:
        return
    LogEntry.objects.bulk_create(
        [
            LogEntry(
                user_id=user.pk,
                content_type_id=ContentType.objects.get_for_model(obj, for_concrete_model=False).pk,
                object_id=str(obj.pk),
                object_repr=object_repr(obj)[:200],
                action_flag=flag,
                change_message=message(obj),
            )
            for obj in objs
        ]
    )
