"""Reads of the trash: the merged list over every soft-delete model and one record's page (restore plans and
purge previews: dashboard.trash.plans). Everything goes through the viewer's organization scope.

Scale: the list runs one query per model, each an ordered, limited range read of one of that model's
partial listing indexes (models_core.schema.trash_indexes: per organization or across all, roots only or
with what was taken along, per deleter), merged in Python by (deleted_at, model label, pk) and paged with a
keyset cursor over the same triple, so every page costs the same at any depth and any trash size. Batch
sizes of the page's rows come from one query, capped per model and batch (BATCH_COUNT_CAP) so a page
showing an organization's 100k-row batch does not count it. No query counts a whole table.
"""

from __future__ import annotations

import datetime
import math
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import connection, models
from django.db.models import Q, QuerySet, Value
from django.http import Http404
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import capfirst

from dashboard.scoping import get_object_in_scope, is_platform_staff, scope_to_organization
from dashboard.trash.models import PurgeRecord
from models_core.models import Organization, User
from models_core.schema import TRASH_ROOT
from models_core.softdelete import (
    EnhancedSoftDeleteModel,
    SoftDeleteModel,
    batch_summary,
    soft_delete_models,
)
from models_core.tenancy import organization_of, organization_path, organization_relation

PAGE_SIZE = 25
MAX_ITEMS = 100  # one request's selection; the list shows at most this many rows per page
PURGING_SOON_DAYS = 7
BATCH_ROWS_SHOWN = 50
# The list counts at most this many rows per model of a row's batch ("1,000+ taken along").
BATCH_COUNT_CAP = 1000
# Bulk work above this many rows runs as a background job (issue: "more than 1,000 rows").
BACKGROUND_THRESHOLD = 1000
HIDDEN_FIELDS = {"password"}
# Shown in the record page's "In the trash" card; is_active is always False in the trash.
TRASH_BOOKKEEPING = {
    "deleted_at",
    "deleted_by",
    "delete_reason",
    "deletion_batch",
    "deletion_metadata",
    "auto_delete_at",
    "is_active",
}


# Models and scope
# ----------------------------------------------------------------------------------------------------


def trash_model_key(model: type[models.Model]) -> str:
    """How URLs and forms name a model: "models_core.ticket"."""
    return f"{model._meta.app_label}.{model._meta.model_name}"


def trash_models() -> list[type[SoftDeleteModel]]:
    """Every soft-delete model, parents before children."""
    return list(soft_delete_models())


def trash_model_choices() -> list[tuple[str, str]]:
    return [(trash_model_key(m), capfirst(m._meta.verbose_name)) for m in trash_models()]


def trash_model_get(key: str) -> type[SoftDeleteModel]:
    """The soft-delete model a key names; Http404 for anything else."""
    for model in trash_models():
        if trash_model_key(model) == key:
            return model
    raise Http404("No such kind of record in the trash.")


def trash_queryset(model: type[SoftDeleteModel], user: Any) -> QuerySet:
    """The rows of `model` in the trash this user may see."""
    return scope_to_organization(model._base_manager.filter(deleted_at__isnull=False), user)


def _display_related(model: type[models.Model]) -> list[str]:
    """Relations a row's display needs (its organization's name; a comment's ticket number)."""
    path = organization_relation(model)
    related = ["deleted_by", path] if path else ["deleted_by"]
    if any(f.name == "ticket" and f.many_to_one for f in model._meta.concrete_fields):
        related.append("ticket")  # their labels name the ticket ("3 on ticket #12")
    return related


def trash_item_get(user: Any, key: str, pk: Any) -> SoftDeleteModel:
    """One trashed row in the user's scope; Http404 for bad keys/ids, live rows and other organizations."""
    model = trash_model_get(key)
    rows = trash_queryset(model, user).select_related(*_display_related(model))
    try:
        return get_object_in_scope(model._base_manager.all(), user, pk, scoped=rows)
    except Http404 as exc:
        # The usual way here is an old link or a second tab: say why, the same for every kind of miss.
        raise Http404(
            f"This {model._meta.verbose_name} is not in the trash any more: it was restored or purged "
            "meanwhile, or the address is wrong."
        ) from exc


# Selections ("models_core.ticket:12" per selected row)
# ----------------------------------------------------------------------------------------------------


def trash_item_value(obj: models.Model) -> str:
    return f"{trash_model_key(type(obj))}:{obj.pk}"


def trash_items_get(user: Any, values: list[str]) -> list[SoftDeleteModel]:
    """The selected rows, in the order given, without repeats.

    ValidationError for a malformed or empty selection (the view answers 400); Http404 when a row is not in
    the user's trash (another organization's, restored or purged meanwhile).
    """
    values = list(dict.fromkeys(v.strip() for v in values if v.strip()))
    if not values:
        raise ValidationError("Select at least one record.", code="empty")
    if len(values) > MAX_ITEMS:
        raise ValidationError(f"Select at most {MAX_ITEMS} records at a time.", code="too_many")
    wanted: dict[type, list[str]] = defaultdict(list)
    for value in values:
        key, sep, pk = value.rpartition(":")
        if not sep or not pk.isdigit() or len(pk) > 18:
            raise ValidationError(f"Not a record reference: {value[:60]!r}.", code="malformed")
        try:
            model = trash_model_get(key)
        except Http404 as exc:
            raise ValidationError(f"Not a kind of record: {key[:60]!r}.", code="malformed") from exc
        wanted[model].append(pk)
    found: dict[str, SoftDeleteModel] = {}
    for model, pks in wanted.items():
        for obj in trash_queryset(model, user).select_related(*_display_related(model)).filter(pk__in=pks):
            found[trash_item_value(obj)] = obj
    missing = [v for v in values if v not in found]
    if missing:
        raise Http404(
            "Some selected records are not in the trash any more: restored or purged meanwhile, or the "
            "address is wrong."
        )
    return [found[v] for v in values]


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
class TrashCursor:
    """Where a page ends: the last row's (deleted_at, model label, pk); the next page starts after it."""

    deleted_at: datetime.datetime
    label: str
    pk: int

    def encode(self) -> str:
        return f"{self.deleted_at.isoformat()}|{self.label}|{self.pk}"

    @classmethod
    def decode(cls, value: str) -> TrashCursor:
        """ValidationError for anything that is not a cursor this page made."""
        try:
            at, label, pk = value.split("|")
            deleted_at = datetime.datetime.fromisoformat(at)
            if timezone.is_naive(deleted_at) or not pk.isdigit() or len(pk) > 18 or len(label) > 100:
                raise ValueError
            return cls(deleted_at, label, int(pk))
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
    """Rows of `model` that sort after `cursor` in (deleted_at, label, pk) descending order."""
    label = model._meta.label
    if label < cursor.label:
        return Q(deleted_at__lte=cursor.deleted_at)
    if label == cursor.label:
        return Q(deleted_at__lt=cursor.deleted_at) | Q(deleted_at=cursor.deleted_at, pk__lt=cursor.pk)
    return Q(deleted_at__lt=cursor.deleted_at)


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
        rows = rows.filter(delete_reason__icontains=filters.reason)
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
    """One page of the trash, newest first, across every soft-delete model.

    One UNION ALL query finds the page's keys (each arm the ordered, limited index read of one model), then
    one query per model present on the page loads its rows, and one counts their batches: a page of tickets
    costs three queries however many models and rows the trash holds."""
    arms = []
    for model in trash_models():
        rows = _filtered(model, user, filters)
        if rows is None:
            continue
        if cursor is not None:
            rows = rows.filter(_keyset(model, cursor))
        label = Value(model._meta.label, output_field=models.CharField())
        arms.append(
            rows.order_by("-deleted_at", "-pk")
            .annotate(_trash_label=label)
            .values_list("deleted_at", "pk", "_trash_label")[: page_size + 1]
        )
    keys = list(arms[0].union(*arms[1:], all=True)) if arms else []
    keys.sort(key=lambda k: (k[0], k[2], k[1]), reverse=True)
    wanted: dict[str, list] = defaultdict(list)
    for _, pk, label in keys[:page_size]:
        wanted[label].append(pk)
    loaded: dict[tuple[str, Any], SoftDeleteModel] = {}
    for model in trash_models():
        pks = wanted.get(model._meta.label)
        if pks:
            for obj in model._base_manager.select_related(*_display_related(model)).filter(pk__in=pks):
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
        next_cursor = TrashCursor(at, label, pk).encode()
    return TrashPage(rows=rows, next_cursor=next_cursor, first_page=cursor is None)


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
            .select_related(*_display_related(model))
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


# Filter choices (the list's autocomplete boxes)
# ----------------------------------------------------------------------------------------------------

CHOICES_SHOWN = 20


def trash_organization_choices(user: Any, term: str) -> list[tuple[int, str]]:
    """Organizations (live or in the trash) whose name contains `term`, for platform staff: the list's
    organization filter (a trigram index on the name serves it at thousands of organizations)."""
    if not is_platform_staff(user):
        return []
    rows = Organization.all_objects.all()
    if term.strip():
        rows = rows.filter(name__ilike=term.strip())
    return list(rows.order_by("name", "pk").values_list("pk", "name")[:CHOICES_SHOWN])


def trash_deleter_choices(user: Any, term: str) -> list[tuple[int, str]]:
    """Staff users in the viewer's scope whose username, name or email contains `term`: the list's
    "deleted by" filter."""
    rows = scope_to_organization(User.all_objects.filter(is_staff=True), user)
    term = term.strip()
    if term:
        rows = rows.filter(
            Q(username__ilike=term)
            | Q(email__ilike=term)
            | Q(first_name__ilike=term)
            | Q(last_name__ilike=term)
        )
    return list(rows.order_by("username", "pk").values_list("pk", "username")[:CHOICES_SHOWN])


# Purge records
# ----------------------------------------------------------------------------------------------------


def purge_records_visible_to(user: Any) -> QuerySet[PurgeRecord]:
    """Purge records of the user's organization; platform staff see all."""
    return scope_to_organization(PurgeRecord.objects.all(), user)


def model_label_text(label: str, count: int | None = None) -> str:
    """ "models_core.TicketComment" -> "Ticket comment" (or "3 ticket comments" with a count)."""
    try:
        meta = apps.get_model(label)._meta
    except (LookupError, ValueError):
        return label if count is None else f"{count} {label}"
    if count is None:
        return capfirst(str(meta.verbose_name))
    return f"{count} {meta.verbose_name if count == 1 else meta.verbose_name_plural}"


def counts_in_words(counts: dict[str, int]) -> str:
    """{"models_core.Ticket": 1, "models_core.TicketComment": 2} -> "1 ticket and 2 ticket comments"."""
    parts = [model_label_text(label, n) for label, n in counts.items() if n]
    if not parts:
        return "nothing"
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


@dataclass
class PurgeRecordRow:
    record: PurgeRecord
    type_name: str
    organization: str
    removed: str


def purge_record_rows(records: list[PurgeRecord]) -> list[PurgeRecordRow]:
    """Purge records as people read them: the kind of record, its organization's name, what went with it."""
    org_ids = {r.organization_id for r in records if r.organization_id is not None}
    names = dict(Organization.all_objects.filter(pk__in=org_ids).values_list("pk", "name"))
    return [
        PurgeRecordRow(
            record=r,
            type_name=model_label_text(r.model_label),
            organization=(
                "—"
                if r.organization_id is None
                else names.get(r.organization_id, f"Organization #{r.organization_id} (purged)")
            ),
            removed=counts_in_words(r.counts),
        )
        for r in records
    ]
