"""The trash list: the merged list over every soft-delete model, in the viewer's organization scope.

Scale: the list runs one query per model, each an ordered, limited range read of one of that model's
partial listing indexes (models_core.schema.trash_indexes: per organization or across all, roots only or
with what was taken along, per deleter), merged in Python by (deleted_at, model label, pk) and paged with a
keyset cursor over the same triple, so every page costs the same at any depth and any trash size. "Purging
within 7 days" lists in purge order instead (auto_delete_at, label, pk ascending), which the purge-due
indexes serve: the rows due soon are the oldest deletions, so in deletion order each arm would walk nearly
the whole trash to find them. Batch
sizes of the page's rows come from one query, capped per model and batch (BATCH_COUNT_CAP) so a page
showing an organization's 100k-row batch does not count it. No query counts a whole table.
"""

from __future__ import annotations

import datetime
import math
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, models
from django.db.models import Q, QuerySet, Value
from django.utils import timezone
from django.utils.text import capfirst

from dashboard.trash.selectors import (
    display_related,
    model_label_text,
    trash_item_value,
    trash_model_key,
    trash_models,
    trash_queryset,
)
from models_core.schema import TRASH_ROOT
from models_core.softdelete import EnhancedSoftDeleteModel, SoftDeleteModel
from models_core.tenancy import organization_of, organization_path

PAGE_SIZE = 25
PURGING_SOON_DAYS = 7
# The list counts at most this many rows per model of a row's batch ("1,000+ taken along").
BATCH_COUNT_CAP = 1000


# The list
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrashFilters:
    model: str = ""
    organization: int | None = None
    deleted_by: int | None = None
    deleted_from: datetime.date | None = None
    deleted_to: datetime.date | None = None
    purging_soon: bool = False
    reason: str = ""
    include_cascaded: bool = False
    search: str = ""


@dataclass(frozen=True)
class TrashOrder:
    """A keyset order of the list: by `column`, then model label, then pk, all in one direction."""

    key: str
    column: str
    descending: bool

    @property
    def fields(self) -> tuple[str, str]:
        sign = "-" if self.descending else ""
        return (f"{sign}{self.column}", f"{sign}pk")


NEWEST_DELETED = TrashOrder("deleted", "deleted_at", descending=True)
SOONEST_PURGED = TrashOrder("purge", "auto_delete_at", descending=False)


def trash_order(filters: TrashFilters) -> TrashOrder:
    """Purging soon lists what goes first, first; everything else the newest deletion first."""
    return SOONEST_PURGED if filters.purging_soon else NEWEST_DELETED


@dataclass(frozen=True)
class TrashCursor:
    """Where a page ends: the last row's (order column, model label, pk); the next page starts after it."""

    at: datetime.datetime
    label: str
    pk: int
    order: TrashOrder = NEWEST_DELETED

    def encode(self) -> str:
        # Purge-order links say so, so that a link of one order is never read as a place in the other.
        prefix = "" if self.order is NEWEST_DELETED else f"{self.order.key}|"
        return f"{prefix}{self.at.isoformat()}|{self.label}|{self.pk}"

    @classmethod
    def decode(cls, value: str, order: TrashOrder = NEWEST_DELETED) -> TrashCursor:
        """ValidationError for anything that is not a cursor this page made for `order`."""
        try:
            parts = value.split("|")
            if order is not NEWEST_DELETED:
                if parts[0] != order.key:
                    raise ValueError
                parts = parts[1:]
            at, label, pk = parts
            when = datetime.datetime.fromisoformat(at)
            if timezone.is_naive(when) or not pk.isdigit() or len(pk) > 18 or len(label) > 100:
                raise ValueError
            return cls(when, label, int(pk), order)
        except ValueError as exc:
            raise ValidationError("The page link is damaged; start again from the first page.") from exc


@dataclass
class TrashRow:
    obj: SoftDeleteModel
    organization: Any = None
    batch_size: int = 0
    batch_capped: bool = False  # batch_size is a floor: the list stops counting at BATCH_COUNT_CAP per model

    @property
    def model(self) -> type[SoftDeleteModel]:
        return type(self.obj)

    @property
    def key(self) -> str:
        return trash_model_key(self.model)

    @property
    def value(self) -> str:
        return trash_item_value(self.obj)

    @property
    def type_name(self) -> str:
        return capfirst(self.model._meta.verbose_name)

    @property
    def root_name(self) -> str:
        """The kind of record whose deletion took this one along, in words ("ticket")."""
        root = (self.obj.deletion_metadata or {}).get("root", "")
        return model_label_text(root).lower() if root else "parent"

    @property
    def taken_along(self) -> int:
        """Rows this row's batch holds besides itself."""
        return max(self.batch_size - 1, 0)

    @property
    def cascaded(self) -> bool:
        return bool(getattr(self.obj, "deletion_metadata", {}).get("cascaded"))

    @property
    def days_until_purge(self) -> int | None:
        due = getattr(self.obj, "auto_delete_at", None)
        if due is None:
            return None
        # Whole days left, rounded up: "1 day" until the purge job may take it, "0" once it is due.
        return max(math.ceil((due - timezone.now()).total_seconds() / 86400), 0)

    @property
    def restorable(self) -> bool:
        return bool(getattr(self.obj, "can_be_restored", True))


@dataclass
class TrashPage:
    rows: list[TrashRow]
    next_cursor: str | None
    first_page: bool


def _keyset(model: type[models.Model], cursor: TrashCursor) -> Q:
    """Rows of `model` that sort after `cursor` in its order: (column, label, pk), all one direction."""
    column, label = cursor.order.column, model._meta.label
    after = "lt" if cursor.order.descending else "gt"
    if label == cursor.label:
        return Q(**{f"{column}__{after}": cursor.at}) | Q(**{column: cursor.at, f"pk__{after}": cursor.pk})
    # Another model's rows at the cursor's very time come after it when their label does.
    label_after = label < cursor.label if cursor.order.descending else label > cursor.label
    return Q(**{f"{column}__{after}{'e' if label_after else ''}": cursor.at})


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _filtered(model: type[SoftDeleteModel], user: Any, filters: TrashFilters) -> QuerySet | None:
    if filters.model and trash_model_key(model) != filters.model:
        return None
    rows = trash_queryset(model, user)
    if filters.organization is not None:
        path = organization_path(model)
        if path is None:
            return None
        rows = rows.filter(**{path: filters.organization})
    if filters.deleted_by is not None:
        rows = rows.filter(deleted_by_id=filters.deleted_by)
    # Days as ranges of deleted_at (in the site's time zone): `deleted_at__date` would compare a cast of the
    # column, which no index serves.
    if filters.deleted_from is not None:
        rows = rows.filter(deleted_at__gte=_day_start(filters.deleted_from))
    if filters.deleted_to is not None:
        rows = rows.filter(deleted_at__lt=_day_start(filters.deleted_to + datetime.timedelta(days=1)))
    if filters.reason:
        # ILIKE, which the partial trigram index on delete_reason serves (icontains is UPPER(col) LIKE).
        rows = rows.filter(delete_reason__ilike=filters.reason)
    if filters.search:
        matched = trash_search_q(model, filters.search)
        if matched is None:
            return None
        rows = rows.filter(matched)
    enhanced = issubclass(model, EnhancedSoftDeleteModel)
    if filters.purging_soon:
        if not enhanced:
            return None
        rows = rows.filter(auto_delete_at__lte=timezone.now() + datetime.timedelta(days=PURGING_SOON_DAYS))
    if not filters.include_cascaded and enhanced:
        # What people deleted; the rows it took along are counted in its batch size. The schema's own Q, so
        # the roots-only partial indexes match.
        rows = rows.filter(TRASH_ROOT)
    return rows


# What the trash search looks at per model: text fields (trigram GIN indexes serve `__ilike`; see
# models_core.schema) and, for a number like "4521" or "#4521", the ticket number.
SEARCH_TEXT_FIELDS: dict[str, tuple[str, ...]] = {
    "models_core.organization": ("name",),
    "models_core.user": ("username", "email", "first_name", "last_name"),
    "models_core.ticket": ("subject",),
    "models_core.knowledgebasearticle": ("title",),
    "models_core.slapolicy": ("name",),
}
SEARCH_NUMBER_FIELDS: dict[str, str] = {
    "models_core.ticket": "ticket_number",
    "models_core.ticketcomment": "ticket__ticket_number",
    "models_core.ticketattachment": "ticket__ticket_number",
}
SEARCH_MIN_LENGTH = 3  # trigram indexes need three characters to narrow anything down


def trash_search_q(model: type[models.Model], term: str) -> Q | None:
    """The rows of `model` a search term finds (None: this model cannot match it). "#4521" and "4521" find
    ticket 4521 and its comments and attachments; text finds subjects, titles, names and email addresses."""
    key = trash_model_key(model)
    term = term.strip()
    number = term.removeprefix("#")
    found = Q()
    if number.isdigit() and len(number) <= 9 and key in SEARCH_NUMBER_FIELDS:
        found |= Q(**{SEARCH_NUMBER_FIELDS[key]: int(number)})
    if len(term) >= SEARCH_MIN_LENGTH and not term.startswith("#"):
        for name in SEARCH_TEXT_FIELDS.get(key, ()):
            found |= Q(**{f"{name}__ilike": term})
    return found or None


def batch_sizes(
    batch_ids: set[uuid.UUID], cap: int = BATCH_COUNT_CAP
) -> tuple[dict[uuid.UUID, int], set[uuid.UUID]]:
    """Rows still in the trash per batch, counting at most `cap` per model (a page's batches may hold an
    organization's millions of rows), and the batches where a cap was reached (their size is a floor): one
    query, each arm a capped range read of idx_<x>_batch per batch.

    Raw SQL because the ORM has no LATERAL/unnest form of "count at most N per key"."""
    sizes: dict[uuid.UUID, int] = defaultdict(int)
    capped: set[uuid.UUID] = set()
    if not batch_ids:
        return sizes, capped
    arms, params = [], []
    for model in trash_models():
        table = connection.ops.quote_name(model._meta.db_table)
        arms.append(
            f"SELECT b.id, (SELECT count(*) FROM (SELECT 1 FROM {table} t WHERE t.deletion_batch = b.id "
            f"AND t.deleted_at IS NOT NULL LIMIT %s) s) FROM unnest(%s::uuid[]) AS b(id)"
        )
        params += [cap, list(batch_ids)]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(arms), params)
        for batch_id, n in cursor.fetchall():
            sizes[batch_id] += n
            if n >= cap:
                capped.add(batch_id)
    return sizes, capped


def trash_list(
    user: Any, filters: TrashFilters, cursor: TrashCursor | None = None, page_size: int = PAGE_SIZE
) -> TrashPage:
    """One page of the trash across every soft-delete model, in trash_order(filters) (newest deletion
    first; purging soon: soonest purge first). ValueError for a cursor of the other order.

    One UNION ALL query finds the page's keys (each arm the ordered, limited index read of one model), then
    one query per model present on the page loads its rows, and one counts their batches: a page of tickets
    costs three queries however many models and rows the trash holds."""
    order = trash_order(filters)
    if cursor is not None and cursor.order is not order:
        raise ValueError("the cursor belongs to another order of the list")
    arms = []
    for model in trash_models():
        rows = _filtered(model, user, filters)
        if rows is None:
            continue
        if cursor is not None:
            rows = rows.filter(_keyset(model, cursor))
        label = Value(model._meta.label, output_field=models.CharField())
        arms.append(
            rows.order_by(*order.fields)
            .annotate(_trash_label=label)
            .values_list(order.column, "pk", "_trash_label")[: page_size + 1]
        )
    keys = list(arms[0].union(*arms[1:], all=True)) if arms else []
    keys.sort(key=lambda k: (k[0], k[2], k[1]), reverse=order.descending)
    wanted: dict[str, list] = defaultdict(list)
    for _, pk, label in keys[:page_size]:
        wanted[label].append(pk)
    loaded: dict[tuple[str, Any], SoftDeleteModel] = {}
    for model in trash_models():
        pks = wanted.get(model._meta.label)
        if pks:
            for obj in model._base_manager.select_related(*display_related(model)).filter(pk__in=pks):
                loaded[(model._meta.label, obj.pk)] = obj
    # A row restored or purged between the two queries is left out of this page.
    page = [loaded[(label, pk)] for _, pk, label in keys[:page_size] if (label, pk) in loaded]
    sizes, capped = batch_sizes({o.deletion_batch for o in page if o.deletion_batch})
    rows = [
        TrashRow(
            obj=o,
            organization=organization_of(o),
            batch_size=sizes.get(o.deletion_batch, 1),
            batch_capped=o.deletion_batch in capped,
        )
        for o in page
    ]
    next_cursor = None
    if len(keys) > page_size:
        at, pk, label = keys[page_size - 1]
        next_cursor = TrashCursor(at, label, pk, order).encode()
    return TrashPage(rows=rows, next_cursor=next_cursor, first_page=cursor is None)


def trash_count(user: Any, filters: TrashFilters, limit: int | None = None) -> int:
    """How many rows the trash list shows this user for `filters`; with `limit`, stops past it (each model's
    arm reads at most limit + 1 keys, the same index reads as a page): exports decide with it whether to
    answer at once or through a job, and a COUNT(*) of a big trash would take seconds."""
    total = 0
    for model in trash_models():
        rows = _filtered(model, user, filters)
        if rows is None:
            continue
        if limit is None:
            total += rows.order_by().count()
            continue
        total += rows.order_by(*trash_order(filters).fields).values("pk")[: limit + 1 - total].count()
        if total > limit:
            break
    return total
