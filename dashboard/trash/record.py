"""One trashed record's page: its fields as people read them, what was taken along in its batch (as a tree),
and its admin history; related records are linked only within the viewer's organization.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import capfirst

from dashboard.scoping import scope_to_organization
from dashboard.trash.selectors import display_related, trash_model_key, trash_models
from models_core.restore import batch_summary
from models_core.softdelete import SoftDeleteModel
from models_core.trashing import TRASH_STATE_COLUMNS

BATCH_ROWS_SHOWN = 50
HIDDEN_FIELDS = {"password"}
# Shown in the record page's "In the trash" card; is_active is always False in the trash.
TRASH_BOOKKEEPING = {*TRASH_STATE_COLUMNS, "is_active"}


# One record's page
# ----------------------------------------------------------------------------------------------------


@dataclass
class FieldRow:
    label: str
    value: str
    url: str | None = None


def _format_value(value: Any) -> str:
    """A field's value as people read it: no Python reprs, no microseconds."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime.datetime):
        return date_format(timezone.localtime(value), "Y-m-d H:i T")
    if isinstance(value, datetime.date):
        return date_format(value, "Y-m-d")
    if isinstance(value, datetime.timedelta):
        minutes = int(value.total_seconds() // 60)
        return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_format_value(v)}" for k, v in value.items()) or "—"
    if isinstance(value, list | tuple):
        return ", ".join(_format_value(v) for v in value) or "—"
    return str(value)


def _related_url(target: models.Model) -> str | None:
    """The related record's page: its trash page when it is in the trash, else its admin change page."""
    if getattr(target, "deleted_at", None) is not None and type(target) in trash_models():
        return reverse("dashboard:trash:detail", args=[trash_model_key(type(target)), target.pk])
    meta = target._meta
    try:
        return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[target.pk])
    except NoReverseMatch:
        return None


def trash_item_fields(obj: models.Model, user: Any) -> list[FieldRow]:
    """The record's own fields, labelled and formatted, related records linked; secrets (password hashes)
    and the trash's bookkeeping (shown in its own card) left out. A related record outside the user's
    organization shows as its id only."""
    shown = []
    for f in obj._meta.concrete_fields:
        if f.name in HIDDEN_FIELDS or f.name in TRASH_BOOKKEEPING:
            continue
        url = None
        if f.is_relation:
            value = getattr(obj, f.attname)
            if value is not None:
                target = _related_in_scope(f.related_model, value, user)
                if target is not None:
                    url = _related_url(target)
                value = f"{target}" if target is not None else f"#{value}"
        elif f.choices:
            value = getattr(obj, f"get_{f.name}_display")()
        else:
            value = getattr(obj, f.attname)
        shown.append(FieldRow(capfirst(str(f.verbose_name)), _format_value(value), url))
    return shown


def _related_in_scope(model: type[models.Model], pk: Any, user: Any) -> models.Model | None:
    if not hasattr(model, "SoftDeleteMeta"):
        return None  # not a helpdesk record: its id is all the page needs
    return scope_to_organization(model._base_manager.filter(pk=pk), user).first()


@dataclass
class BatchGroup:
    model: type[models.Model]
    count: int
    rows: list[models.Model] = field(default_factory=list)
    depth: int = 0  # steps of foreign keys from the batch's root model: the batch drawn as a tree

    @property
    def key(self) -> str:
        return trash_model_key(self.model)

    @property
    def name(self) -> str:
        meta = self.model._meta
        return capfirst(meta.verbose_name if self.count == 1 else meta.verbose_name_plural)


def trash_batch_rows(obj: SoftDeleteModel) -> list[BatchGroup]:
    """The rows of the record's batch still in the trash, per model (the first BATCH_ROWS_SHOWN of each)."""
    if obj.deletion_batch is None:
        return []
    counts = batch_summary(obj.deletion_batch)
    groups = []
    for model in trash_models():
        count = counts.get(model._meta.label, 0)
        if not count:
            continue
        rows = list(
            model._base_manager.filter(deletion_batch=obj.deletion_batch, deleted_at__isnull=False)
            .select_related(*display_related(model))
            .order_by("pk")[:BATCH_ROWS_SHOWN]
        )
        groups.append(BatchGroup(model=model, count=count, rows=rows))
    return _as_tree(groups, (obj.deletion_metadata or {}).get("root"))


def _as_tree(groups: list[BatchGroup], root_label: str | None) -> list[BatchGroup]:
    """Order the groups root first, each after the group it points to, with its depth below the root
    (a ticket, its comments, their attachments)."""
    by_label = {g.model._meta.label: g for g in groups}
    root = by_label.get(root_label or "") or (groups[0] if groups else None)
    if root is None:
        return groups
    ordered, placed = [root], {root.model}
    frontier = [root]
    while frontier:
        parent = frontier.pop(0)
        for group in groups:
            if group.model in placed:
                continue
            points_up = any(
                f.is_relation and f.many_to_one and f.related_model is parent.model
                for f in group.model._meta.concrete_fields
            )
            if points_up:
                group.depth = parent.depth + 1
                placed.add(group.model)
                ordered.append(group)
                frontier.append(group)
    ordered.extend(g for g in groups if g.model not in placed)  # reached another way: listed at the end
    return ordered


def trash_item_history(obj: models.Model, limit: int = 50) -> list[LogEntry]:
    """The admin log of this record, newest first."""
    content_type = ContentType.objects.get_for_model(obj, for_concrete_model=False)
    return list(
        LogEntry.objects.filter(content_type=content_type, object_id=str(obj.pk))
        .select_related("user")
        .order_by("-action_time", "-id")[:limit]
    )
