"""Hard delete of rows in the trash (purge), beside soft delete and restore (models_core.softdelete).

`purge_roots()` locks the rows, checks they are still in the trash, refuses when the delete would reach live
records or a RESTRICT/PROTECT reference stops it, deletes set-based (models_core.cascade: a few statements
per model, memory independent of the rows reached) unless the cascade needs Django's Collector (delete
hooks, ...), and removes the files the deleted rows pointed at once the transaction has committed.

The console's trash (dashboard.trash.services) adds what a person's purge leaves behind: the purge record and
the admin log, written in the same transaction through `before_delete`.
"""

from __future__ import annotations

import datetime
import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import connections, models, router, transaction
from django.db.models import F, ProtectedError, Q, RestrictedError
from django.db.models.deletion import Collector
from django.utils import timezone
from django.utils.text import capfirst

from models_core.cascade import CascadePlan, CopyDisagrees, Unsupported, cascade_plan
from models_core.models.files import PendingFileRemoval
from models_core.softdelete import SoftDeleteModel
from models_core.tenancy import organization_id_of

logger = logging.getLogger(__name__)

# The Collector's file names are written, and pending files removed, this many at a time (the set-based
# purge copies its names in one INSERT ... SELECT).
FILE_CHUNK = 2000
# The sweeper leaves files this young to the purge that is removing them.
SWEEP_AFTER = datetime.timedelta(minutes=10)

PurgeStrategy = Literal["auto", "collector", "set"]


def record_label(obj: models.Model) -> str:
    """How pages and messages name a record: its type and its trash label, e.g. 'Ticket #12'."""
    return f"{capfirst(obj._meta.verbose_name)} {obj.trash_label}"


def _file_fields(model: type[models.Model]) -> list[models.FileField]:
    return [f for f in model._meta.concrete_fields if isinstance(f, models.FileField)]


def _field_key(f: models.FileField) -> str:
    return f"{f.model._meta.label}.{f.name}"


def _collected_files(collector: Collector) -> Iterator[tuple[models.FileField, str]]:
    """(field, name) of every file the collected rows point at."""
    for model, instances in collector.data.items():
        for f in _file_fields(model):
            yield from ((f, name) for o in instances if (name := getattr(o, f.attname)))
    for qs in collector.fast_deletes:
        for f in _file_fields(qs.model):
            names = qs.exclude(**{f.attname: ""}).values_list(f.attname, flat=True)
            yield from ((f, name) for name in names.iterator(chunk_size=FILE_CHUNK))


class PurgeFileList:
    """The files one purge removes: written to PendingFileRemoval in the purge's own transaction, removed
    after its commit. An organization's 300k attachment names never sit in memory: the set-based purge
    copies them in SQL (`extend_selected`), the Collector's are written FILE_CHUNK rows per INSERT."""

    def __init__(self, organization_id: Any = None) -> None:
        self.token = uuid.uuid4()
        self.organization_id = organization_id
        self.count = 0

    def extend(self, files: Iterable[tuple[models.FileField, str]]) -> None:
        chunk: list[PendingFileRemoval] = []
        for f, name in files:
            chunk.append(
                PendingFileRemoval(
                    field=_field_key(f),
                    name=name,
                    organization_id=self.organization_id,
                    purge_token=self.token,
                )
            )
            if len(chunk) >= FILE_CHUNK:
                self._write(chunk)
                chunk = []
        if chunk:
            self._write(chunk)

    def extend_selected(self, f: models.FileField, names: models.QuerySet) -> None:
        """Record the names a `values_list(<file field>, flat=True)` queryset selects, in one
        INSERT ... SELECT (Django has none): the names never leave the database. Reading them into Python
        and writing them back 2,000 at a time took 50 ms of a 2,000-ticket purge, the raw DELETEs of all its
        rows 90 ms. The records live beside the purged rows: they commit or roll back with them."""
        opts = PendingFileRemoval._meta
        connection = connections[names.db]
        quote = connection.ops.quote_name
        filled = ("field", "name", "organization_id", "purge_token", "created_at", "attempts", "last_error")
        columns = ", ".join(quote(opts.get_field(name).column) for name in filled)
        sql, params = names.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {quote(opts.db_table)} ({columns}) "
                f"SELECT %s, selected.name, %s, %s, %s, 0, '' FROM ({sql}) AS selected(name)",
                [_field_key(f), self.organization_id, self.token, timezone.now(), *params],
            )
            self.count += cursor.rowcount

    def _write(self, chunk: list[PendingFileRemoval]) -> None:
        PendingFileRemoval.objects.bulk_create(chunk)
        self.count += len(chunk)


@dataclass
class FileRemoval:
    """What one pass over pending files did."""

    removed: int = 0
    failed: int = 0


def _field_of(key: str) -> models.FileField:
    label, _, field_name = key.rpartition(".")
    return apps.get_model(label)._meta.get_field(field_name)


def _names_in_use(chunk: list[PendingFileRemoval]) -> set[tuple[str, str]]:
    """(field key, name) of the rows in `chunk` whose name a row of the database points at again (a later
    upload took a name freed by hand meanwhile): those files are not the purged rows' any more. One query
    per field and chunk; the columns carry no index, which is why only the sweeper asks (its rows are few)."""
    by_field: dict[str, set[str]] = defaultdict(set)
    for row in chunk:
        by_field[row.field].add(row.name)
    used: set[tuple[str, str]] = set()
    for key, names in by_field.items():
        try:
            f = _field_of(key)
        except (LookupError, FieldDoesNotExist):
            continue  # reported as a failure by the removal itself
        found = f.model._base_manager.filter(**{f"{f.attname}__in": names}).values_list(f.attname, flat=True)
        used.update((key, name) for name in found)
    return used


def _error_text(error: Exception) -> str:
    """What the purge records page shows: the kind of failure, not the server's directory layout."""
    if isinstance(error, OSError) and error.strerror:
        return f"{type(error).__name__}: {error.strerror}"
    return f"{type(error).__name__}: {error}"[:1000]


def pending_files_remove(
    rows: models.QuerySet[PendingFileRemoval], *, skip_names_in_use: bool = False
) -> FileRemoval:
    """Remove the files of `rows` from their storage (a file already gone counts as removed), in keyset
    chunks; the rows of removed files are deleted, failures keep their row with the error, one attempt more.
    With `skip_names_in_use`, a file whose name a live row points at again is left alone (its row dropped).
    """
    outcome = FileRemoval()
    last = 0
    while True:
        chunk = list(rows.filter(pk__gt=last).order_by("pk")[:FILE_CHUNK])
        if not chunk:
            return outcome
        last = chunk[-1].pk
        in_use = _names_in_use(chunk) if skip_names_in_use else set()
        done: list[int] = []
        for row in chunk:
            if (row.field, row.name) in in_use:
                logger.info("Purged file %s is in use again (%s); left in place", row.name, row.field)
                done.append(row.pk)
                continue
            try:
                _field_of(row.field).storage.delete(row.name)
            except (OSError, LookupError, FieldDoesNotExist) as error:
                outcome.failed += 1
                logger.warning("Could not remove purged file %s (%s): %s", row.name, row.field, error)
                PendingFileRemoval.objects.filter(pk=row.pk).update(
                    attempts=F("attempts") + 1,
                    last_attempt_at=timezone.now(),
                    last_error=_error_text(error),
                )
            else:
                done.append(row.pk)
                outcome.removed += 1
        PendingFileRemoval.objects.filter(pk__in=done).delete()


def pending_files_sweep(*, older_than: datetime.timedelta = SWEEP_AFTER) -> FileRemoval:
    """Retry every file a purge could not remove (or whose purge was killed before it could try), leaving
    alone the ones younger than `older_than`: their own purge may be removing them right now."""
    cutoff = timezone.now() - older_than
    due = PendingFileRemoval.objects.filter(created_at__lt=cutoff).filter(
        Q(last_attempt_at__isnull=True) | Q(last_attempt_at__lt=cutoff)
    )
    return pending_files_remove(due, skip_names_in_use=True)


def _live_rows_hit(collector: Collector) -> int:
    live = 0
    for model, instances in collector.data.items():
        if issubclass(model, SoftDeleteModel):
            live += sum(1 for o in instances if o.deleted_at is None)
    for qs in collector.fast_deletes:
        if issubclass(qs.model, SoftDeleteModel):
            live += qs.filter(deleted_at__isnull=True).count()
    return live


def _refused(root: SoftDeleteModel, blockers: int, example: Any) -> ValidationError:
    shown = record_label(example) if isinstance(example, SoftDeleteModel) else example
    return ValidationError(
        f"Cannot purge {record_label(root)}: {blockers} record(s) still refer to it ({shown}).",
        code="restricted",
    )


def _reaches_live(root: SoftDeleteModel, live: int) -> ValidationError:
    return ValidationError(
        f"Cannot purge {record_label(root)}: it would also remove {live} live record(s). "
        "Move them to the trash first.",
        code="live_rows",
    )


def _delete_collected(row: SoftDeleteModel, using: str, files: PurgeFileList) -> dict[str, int]:
    """Django's Collector: every reached row in memory, signals (delete hooks) sent per row."""
    collector = Collector(using=using, origin=row)
    try:
        collector.collect([row])
    except (ProtectedError, RestrictedError) as error:
        blockers = list(getattr(error, "protected_objects", None) or error.restricted_objects)
        raise _refused(row, len(blockers), blockers[0]) from error
    live = _live_rows_hit(collector)
    if live:
        raise _reaches_live(row, live)
    files.extend(_collected_files(collector))
    _, counts = collector.delete()
    return counts


def _delete_set_based(plan: CascadePlan, row: SoftDeleteModel, files: PurgeFileList) -> dict[str, int]:
    """The same delete as `_delete_collected`, as a few statements per model (see models_core.cascade)."""
    recorded = files.count
    try:
        with transaction.atomic(using=plan.using):
            return _delete_planned(plan, row, files)
    except CopyDisagrees as error:
        # A copied key written past the database's triggers (a restore with them disabled, hand-written SQL):
        # the paths it implied are followed after all, from the start.
        logger.warning(
            "Purge of %s: a copied key disagrees (%s), every path followed", record_label(row), error
        )
        files.count = recorded
        plan = cascade_plan(type(row), [row.pk], plan.using, trust_copies=False)
        return _delete_planned(plan, row, files)


def _delete_planned(plan: CascadePlan, row: SoftDeleteModel, files: PurgeFileList) -> dict[str, int]:
    for blocking in plan.blockers():
        # Count first: `first()` is ORDER BY pk LIMIT 1, which PostgreSQL answers by walking the primary key
        # until a row matches, every row of the table when none does (0.5 s at 1M for an organization's
        # customers), where the count reads only the rows referencing the purged ones.
        if blockers := blocking.rows.count():
            raise _refused(row, blockers, blocking.rows.first())
    for f, names in plan.file_names():
        files.extend_selected(f, names)
    counts, live = plan.execute()
    plan.copies_check()
    if live:
        # Raised inside purge_roots' transaction, which rolls the deletes and the file records back.
        raise _reaches_live(row, live)
    return counts


def _lock_in_trash(roots: list[SoftDeleteModel]) -> dict[tuple[type, Any], SoftDeleteModel]:
    """The rows of `roots` locked FOR UPDATE; ValidationError when one left the trash meanwhile."""
    by_model: dict[type, list[Any]] = defaultdict(list)
    for root in roots:
        by_model[type(root)].append(root.pk)
    locked: dict[tuple[type, Any], SoftDeleteModel] = {}
    for model, pks in by_model.items():
        for row in model._base_manager.select_for_update().filter(pk__in=pks, deleted_at__isnull=False):
            locked[(model, row.pk)] = row
    for root in roots:
        if (type(root), root.pk) not in locked:
            raise ValidationError(
                f"{record_label(root)} is not in the trash any more (restored or purged meanwhile).",
                code="not_deleted",
            )
    return locked


def purge_roots(
    roots: list[SoftDeleteModel],
    *,
    strategy: PurgeStrategy = "auto",
    before_delete: Callable[[SoftDeleteModel], Any] | None = None,
    files_removed: Callable[[FileRemoval], Any] | None = None,
) -> list[tuple[SoftDeleteModel, dict[str, int]]]:
    """Hard-delete `roots` (rows of one batch, all in the trash) and everything Django's on_delete rules take
    with them, in one transaction (a savepoint of the caller's, if it holds one); ValidationError (nothing
    removed) when a row left the trash meanwhile, when the delete would reach live records, or when a
    RESTRICT/PROTECT reference stops it.

    `before_delete(row)` is called with each locked row just before its delete, while the row and what it
    points at can still be read (the trash writes its admin log and reads the organization there).

    `strategy`: "auto" deletes set-based (bounded memory, see models_core.cascade) unless the cascade needs
    Django's Collector (delete hooks, ...); "collector" and "set" force one (tests and the benchmark).

    The files the deleted rows pointed at are recorded (PendingFileRemoval) in the same transaction and
    removed once it has committed; `files_removed(FileRemoval)` then says how many went and how many could
    not (they stay recorded, for `pending_files_sweep`). If the process dies in between, the sweeper
    removes them.

    Returns each root with the rows its delete removed ({model label: count}, zero counts left out).
    """
    using = router.db_for_write(type(roots[0]))
    done: list[tuple[SoftDeleteModel, dict[str, int]]] = []
    files = PurgeFileList()
    with transaction.atomic(using=using):
        locked = _lock_in_trash(roots)
        for root in roots:
            row = locked[(type(root), root.pk)]
            files.organization_id = organization_id_of(row)  # read before it goes
            if before_delete is not None:
                before_delete(row)
            plan = None
            if strategy != "collector":
                try:
                    plan = cascade_plan(type(row), [row.pk], using, trust_copies=True)
                except Unsupported:
                    if strategy == "set":
                        raise
            if plan is not None:
                counts = _delete_set_based(plan, row, files)
            else:
                counts = _delete_collected(row, using, files)
            done.append((root, {k: v for k, v in counts.items() if v}))
        if files.count:
            # Inside a caller's transaction this runs at its commit; if that rolls back, so do the records.
            token = files.token

            def remove() -> None:
                outcome = pending_files_remove(PendingFileRemoval.objects.filter(purge_token=token))
                if files_removed is not None:
                    files_removed(outcome)

            transaction.on_commit(remove, using=using)
    return done
