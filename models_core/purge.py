"""Hard delete of rows in the trash (purge), beside soft delete and restore (models_core.softdelete).

`purge_roots()` locks the rows, checks they are still in the trash, refuses when the delete would reach live
records or a RESTRICT/PROTECT reference stops it, deletes set-based (models_core.cascade: a few statements
per model, memory independent of the rows reached) unless the cascade needs Django's Collector (delete
hooks, ...), and removes the files the deleted rows pointed at once the transaction has committed.

The console's trash (dashboard.trash.services) adds what a person's purge leaves behind: the purge record and
the admin log, written in the same transaction through `before_delete`.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.db import models, router, transaction
from django.db.models import ProtectedError, RestrictedError
from django.db.models.deletion import Collector
from django.utils.text import capfirst

from models_core.cascade import CascadePlan, Unsupported, cascade_plan
from models_core.softdelete import SoftDeleteModel

# File names are read from the database this many at a time, and kept in memory up to SPOOL_BYTES.
FILE_CHUNK = 2000
SPOOL_BYTES = 1 << 20

PurgeStrategy = Literal["auto", "collector", "set"]


def record_label(obj: models.Model) -> str:
    """How pages and messages name a record: its type and its trash label, e.g. 'Ticket #12'."""
    return f"{capfirst(obj._meta.verbose_name)} {obj.trash_label}"


def _file_fields(model: type[models.Model]) -> list[models.FileField]:
    return [f for f in model._meta.concrete_fields if isinstance(f, models.FileField)]


def _collected_files(collector: Collector) -> Iterator[tuple[Any, str]]:
    """(storage, name) of every file the collected rows point at; removed once the purge has committed."""
    for model, instances in collector.data.items():
        for f in _file_fields(model):
            yield from ((f.storage, name) for o in instances if (name := getattr(o, f.attname)))
    for qs in collector.fast_deletes:
        for f in _file_fields(qs.model):
            names = qs.exclude(**{f.attname: ""}).values_list(f.attname, flat=True)
            yield from ((f.storage, name) for name in names.iterator(chunk_size=FILE_CHUNK))


def _remove_files(files: Iterable[tuple[Any, str]]) -> None:
    for storage, name in files:
        # A file already gone is what we wanted; anything else is left for the storage's own cleanup.
        with contextlib.suppress(OSError):
            storage.delete(name)


class PurgeFileList:
    """The files a purge removes after its commit, spooled to a temporary file past SPOOL_BYTES: the rows are
    gone by then, and an organization's 300k attachment names must not all sit in memory."""

    def __init__(self) -> None:
        # Closed by remove_all after the commit, or by the purge when it rolls back (no `with` fits both).
        self._file = tempfile.SpooledTemporaryFile(  # noqa: SIM115
            max_size=SPOOL_BYTES, mode="w+", encoding="utf-8"
        )
        self._storages: list[Any] = []
        self.count = 0

    def extend(self, files: Iterable[tuple[Any, str]]) -> None:
        for storage, name in files:
            if storage not in self._storages:
                self._storages.append(storage)
            # One JSON line per file: names may hold any character but a JSON string never holds a newline.
            self._file.write(json.dumps([self._storages.index(storage), name]) + "\n")
            self.count += 1

    def __iter__(self) -> Iterator[tuple[Any, str]]:
        self._file.seek(0)
        for line in self._file:
            index, name = json.loads(line)
            yield self._storages[index], name

    def remove_all(self) -> None:
        try:
            _remove_files(self)
        finally:
            self.close()

    def close(self) -> None:
        self._file.close()


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
    for blocking in plan.blockers():
        example = blocking.rows.first()
        if example is not None:
            raise _refused(row, blocking.rows.count(), example)
    live = sum(rows.count() for rows in plan.live_rows().values())
    if live:
        raise _reaches_live(row, live)
    files.extend(plan.file_names(chunk_size=FILE_CHUNK))
    return plan.execute()


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
) -> list[tuple[SoftDeleteModel, dict[str, int]]]:
    """Hard-delete `roots` (rows of one batch, all in the trash) and everything Django's on_delete rules take
    with them, in one transaction (a savepoint of the caller's, if it holds one); ValidationError (nothing
    removed) when a row left the trash meanwhile, when the delete would reach live records, or when a
    RESTRICT/PROTECT reference stops it.

    `before_delete(row)` is called with each locked row just before its delete, while the row and what it
    points at can still be read (the trash writes its admin log and reads the organization there).

    `strategy`: "auto" deletes set-based (bounded memory, see models_core.cascade) unless the cascade needs
    Django's Collector (delete hooks, ...); "collector" and "set" force one (tests and the benchmark).

    Returns each root with the rows its delete removed ({model label: count}, zero counts left out).
    """
    using = router.db_for_write(type(roots[0]))
    done: list[tuple[SoftDeleteModel, dict[str, int]]] = []
    files = PurgeFileList()
    committed = False
    try:
        with transaction.atomic(using=using):
            locked = _lock_in_trash(roots)
            for root in roots:
                row = locked[(type(root), root.pk)]
                if before_delete is not None:
                    before_delete(row)
                plan = None
                if strategy != "collector":
                    try:
                        plan = cascade_plan(type(row), [row.pk], using)
                    except Unsupported:
                        if strategy == "set":
                            raise
                if plan is not None:
                    counts = _delete_set_based(plan, row, files)
                else:
                    counts = _delete_collected(row, using, files)
                done.append((root, {k: v for k, v in counts.items() if v}))
            if files.count:
                # Inside a caller's transaction this runs at its commit; if that rolls back, Django drops the
                # callback and the spooled list goes with it (a temporary file is unlinked from the start).
                transaction.on_commit(files.remove_all, using=using)
                committed = True
    finally:
        if not committed:
            # Rolled back (or nothing to remove): the list is not needed; remove_all closes it otherwise.
            files.close()
    return done
