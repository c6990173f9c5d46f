"""Reads of the trash shared by its pages: which models have a trash and which rows a viewer may act on
(every read goes through the viewer's organization scope), the list's filter choices and the purge records.

The list itself is dashboard.trash.listing, one record's page dashboard.trash.record, restore plans and purge
previews dashboard.trash.plans.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.text import capfirst

from dashboard.scoping import get_object_in_scope, is_platform_staff, scope_to_organization
from dashboard.trash.models import PurgeRecord
from models_core.models import Organization, PendingFileRemoval, User
from models_core.softdelete import SoftDeleteModel
from models_core.tenancy import organization_relation
from models_core.trashing import soft_delete_models

MAX_ITEMS = 100  # one request's selection; the list shows at most this many rows per page
# Bulk work above this many rows runs as a background job (issue: "more than 1,000 rows").
BACKGROUND_THRESHOLD = 1000


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


def display_related(model: type[models.Model]) -> list[str]:
    """Relations a row's display needs (its organization's name; a comment's ticket number)."""
    path = organization_relation(model)
    related = ["deleted_by", path] if path else ["deleted_by"]
    if any(f.name == "ticket" and f.many_to_one for f in model._meta.concrete_fields):
        related.append("ticket")  # their labels name the ticket ("3 on ticket #12")
    return related


def trash_item_get(user: Any, key: str, pk: Any) -> SoftDeleteModel:
    """One trashed row in the user's scope; Http404 for bad keys/ids, live rows and other organizations."""
    model = trash_model_get(key)
    rows = trash_queryset(model, user).select_related(*display_related(model))
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
        for obj in trash_queryset(model, user).select_related(*display_related(model)).filter(pk__in=pks):
            found[trash_item_value(obj)] = obj
    missing = [v for v in values if v not in found]
    if missing:
        raise Http404(
            "Some selected records are not in the trash any more: restored or purged meanwhile, or the "
            "address is wrong."
        )
    return [found[v] for v in values]


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


PENDING_FILES_SHOWN = 20
PENDING_FILES_COUNTED = 1000


def pending_files_visible_to(user: Any) -> dict[str, Any]:
    """Files of purged records not removed from the storage yet (their removal failed, or their purge was
    killed before it got to them), of the user's organization: the newest PENDING_FILES_SHOWN and how many
    (counted up to PENDING_FILES_COUNTED + 1, so a pile of them costs no full count)."""
    rows = scope_to_organization(PendingFileRemoval.objects.all(), user)
    return {
        "pending_files": list(rows.order_by("-pk")[:PENDING_FILES_SHOWN]),
        "pending_files_total": rows[: PENDING_FILES_COUNTED + 1].count(),
        "pending_files_counted": PENDING_FILES_COUNTED,
    }


def purge_records_visible_to(user: Any) -> QuerySet[PurgeRecord]:
    """Purge records of the user's organization; platform staff see all."""
    return scope_to_organization(PurgeRecord.objects.all(), user)


def purge_record_latest(user: Any, model: type[models.Model], pk: Any) -> PurgeRecord | None:
    """The newest purge record of one row, if the user may see it (one index probe)."""
    rows = purge_records_visible_to(user).filter(model_label=model._meta.label, object_id=str(pk))
    return rows.select_related("purged_by").order_by("-id").first()


def trash_own_restore_latest(user: Any, model: type[models.Model], pk: Any, since: Any) -> LogEntry | None:
    """The user's own newest restore of one row since `since`, from the admin log the restore wrote."""
    return (
        LogEntry.objects.filter(
            user_id=user.pk,
            content_type=ContentType.objects.get_for_model(model, for_concrete_model=False),
            object_id=str(pk),
            action_flag=CHANGE,
            change_message__startswith="Restored from the trash",
            action_time__gte=since,
        )
        .order_by("-action_time")
        .first()
    )


def trash_items_present(items: list[models.Model]) -> bool:
    """Are all of `items` still in the trash (one query per model)? A page built from them is stale if not."""
    wanted: dict[type, set[Any]] = defaultdict(set)
    for obj in items:
        wanted[type(obj)].add(obj.pk)
    return all(
        model._base_manager.filter(pk__in=pks, deleted_at__isnull=False).count() == len(pks)
        for model, pks in wanted.items()
    )


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
