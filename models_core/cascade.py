"""Set-based hard delete: Django's on_delete rules as a few SQL statements per model, not row by row.

Django's Collector (and the admin's NestedObjects) loads every row a delete reaches, because it has to send
signals and cannot always fast-delete. Purging an organization with 100k tickets would load them all. This
module walks the same on_delete graph at the *model* level (as `Collector.collect` does per row) and turns
each model reached into one queryset whose WHERE nests its parents' querysets as subqueries:

- CASCADE: the child's rows are those whose key is among the parent's rows, over every path that reaches the
  model (`cascade_paths.reached`);
- SET_NULL: one UPDATE per key, run just before the referenced rows go, of the rows the cascade keeps;
- RESTRICT: referencing rows block unless the cascade deletes them too (Django's rule); PROTECT always blocks;
- DO_NOTHING: skipped, as Django does.

A key to the root is compared with the root's ids. A key to other parents is looked up as
`key = ANY(ARRAY(parent rows))` (see `cascade_paths.KeyAmong`) while they are at most ARRAY_MAX: the
parents are read once, first, the child's rows found through the key's index, the paths of one model ORed
into one bitmap scan. Beyond, and for a model one of whose paths reaches more rows than that, it is
`key IN (parent rows)` semi-joins, a UNION of one per path (see `cascade_paths.reached` for why both). With
`trust_copies` (the purge, which can check), a path a copied key implies (a comment's organization is its
ticket's) is left out, and its foreign key checked right after the deletes (`CascadePlan.copies_check`).

The delete then runs bottom-up (children before parents, so the parents' subqueries still see their rows),
one DELETE per model whose WHERE is that condition, as Django's fast path writes it for one table, counting
the live rows it removed. Memory does not depend on how many rows go. Only the CASCADE keys order the
deletes: a row pointing at a deleted one through another key (a SET_NULL key of a row deleted later in the
same purge) is gone before the commit, where Django's foreign keys are checked (DEFERRABLE INITIALLY
DEFERRED); a caller running `SET CONSTRAINTS ALL IMMEDIATE` would have to purge with the Collector.

Anything this cannot express identically raises `Unsupported` and the caller keeps Django's Collector:
delete signal listeners (model delete hooks connect them), SET_DEFAULT / SET(...), generic relations,
multi-table inheritance and cycles in the cascade.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connections, models, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery, signals
from django.db.models.deletion import (
    CASCADE,
    DO_NOTHING,
    PROTECT,
    RESTRICT,
    SET_NULL,
    get_candidate_relations_to_delete,
)
from django.db.models.sql import DeleteQuery

from models_core import cascade_paths
from models_core.cascade_paths import Edge, KeyAmong, Path


class Unsupported(Exception):
    """The cascade cannot be expressed set-based with Django's exact semantics; use the Collector."""


class CopyDisagrees(Exception):
    """A row a path left out as implied by a copied key was still there once its parent went (the copy was
    written past the database's triggers): plan again with `trust_copies=False`."""


@dataclass
class Blockers:
    """Rows of one model that stop the delete (RESTRICT/PROTECT references), as a queryset."""

    model: type[models.Model]
    rows: QuerySet
    protect: bool


@dataclass
class CascadePlan:
    """What deleting `root_pks` of `root` does, as querysets (nothing is read until asked)."""

    using: str
    root: type[models.Model]
    root_pks: list[Any]
    order: list[type[models.Model]]  # parents before children
    rows: dict[type[models.Model], QuerySet]
    set_null: list[Edge] = field(default_factory=list)
    restrict: list[Edge] = field(default_factory=list)
    protect: list[Edge] = field(default_factory=list)
    few: dict[type[models.Model], bool] = field(default_factory=dict, repr=False)
    # Paths left out, each with the path of the copied key that implies it.
    trusted: dict[Edge, Edge] = field(default_factory=dict)

    # Reading
    def counts(self) -> dict[type[models.Model], int]:
        """Rows each model loses (one COUNT per model, zero counts left out)."""
        return {model: n for model in self.order if (n := self.rows[model].count())}

    def blockers(self) -> list[Blockers]:
        """Referencing rows that stop the delete, per (model, kind); PROTECT first, as Django raises it first.

        RESTRICT rows the cascade removes anyway do not block (Django clears them the same way)."""
        found = []
        for edges, protect in ((self.protect, True), (self.restrict, False)):
            by_model: dict[type[models.Model], list[Path]] = defaultdict(list)
            for edge in edges:
                by_model[edge.child].append(self._refers(edge))
            for model, paths in by_model.items():
                rows, _ = cascade_paths.reached(model._base_manager.using(self.using).all(), paths)
                if not protect and model in self.rows:
                    rows = self._kept(rows)
                found.append(Blockers(model, rows.order_by("pk"), protect))
        return found

    def live_rows(self) -> dict[type[models.Model], QuerySet]:
        """The rows still live (not in the trash) the delete would reach, per soft-delete model."""
        return {
            model: self.rows[model].filter(deleted_at__isnull=True).order_by("pk")
            for model in self.order
            if _has_trash_column(model)
        }

    def file_names(self) -> Iterator[tuple[models.FileField, QuerySet]]:
        """(field, the non-empty names it holds among the deleted rows, a values_list queryset) per file
        field of the models reached."""
        for model in self.order:
            for f in model._meta.concrete_fields:
                if isinstance(f, models.FileField):
                    names = self.rows[model].exclude(**{f.attname: ""})
                    names = names.exclude(**{f"{f.attname}__isnull": True}).order_by()
                    yield f, names.values_list(f.attname, flat=True)

    # Writing
    def execute(self) -> tuple[dict[str, int], int]:
        """Null the SET_NULL keys and delete bottom-up: ({model label: rows deleted}, as the Collector
        answers; how many of the deleted rows were live, not in the trash).

        Run it inside the caller's transaction, after checking `blockers()`. A purge refuses to remove live
        rows: it rolls the transaction back when the second number is not 0. Counted by the deletes
        themselves, the live rows cost no statement of their own (`live_rows()` read every model's rows
        once more: at 1M, a third of a 20,000-ticket organization's purge)."""
        set_null_by_parent: dict[type[models.Model], list[Edge]] = defaultdict(list)
        for edge in self.set_null:
            set_null_by_parent[edge.parent].append(edge)
        counts: dict[str, int] = {}
        live = 0
        deleted: set[type[models.Model]] = set()
        for model in reversed(self.order):
            # Just before `model`'s rows go. The cascade often deletes the very rows that point at it (an
            # organization's tickets name its agents): those still to be deleted are left out instead of
            # being written once more (a new version of the row in every index) to go a moment later; those
            # deleted already are gone for this UPDATE. The Collector updates them; the end state is the same.
            for edge in set_null_by_parent.get(model, ()):
                referencing = edge.child._base_manager.using(self.using)
                referencing = referencing.filter(self._refers(edge).condition)
                if edge.child in self.rows and edge.child not in deleted:
                    referencing = self._kept(referencing)
                # Plain QuerySet.update, as the Collector's field updates.
                referencing.update(**{edge.field.name: None})
            count, live_count = _delete_counting_live(self.rows[model], self.using)
            live += live_count
            deleted.add(model)
            if count:
                counts[model._meta.label] = counts.get(model._meta.label, 0) + count
        return counts, live

    def copies_check(self) -> None:
        """After `execute()`: CopyDisagrees if a row a trusted copy left out still points at a deleted parent.

        The foreign keys of the paths left out are checked at once instead of at the commit (the same
        checks, run earlier: nothing more to pay); a violation means the copy disagreed."""
        if not self.trusted:
            return
        connection = connections[self.using]
        keys = {(e.child._meta.db_table, e.field.column) for e in self.trusted}
        with connection.cursor() as cursor:
            # The tables resolved as Django's unqualified names are, through the search_path.
            cursor.execute(
                "SELECT k.t, k.col, c.conname FROM unnest(%s::text[], %s::text[]) AS k(t, col) "
                "JOIN pg_constraint c ON c.contype = 'f' AND c.conrelid = to_regclass(quote_ident(k.t)) "
                "JOIN pg_attribute a ON a.attrelid = c.conrelid AND c.conkey = ARRAY[a.attnum] "
                "AND a.attname = k.col",
                [[table for table, _ in keys], [column for _, column in keys]],
            )
            found = cursor.fetchall()
            if {(table, column) for table, column, _ in found} != keys:
                # A constraint dropped by hand: nothing says the copies held.
                raise CopyDisagrees("a foreign key of a path left out has no constraint to check")
            names = ", ".join(connection.ops.quote_name(name) for _, _, name in found)
            try:
                with transaction.atomic(using=self.using):
                    cursor.execute(f"SET CONSTRAINTS {names} IMMEDIATE")
            except IntegrityError as error:
                raise CopyDisagrees(str(error)) from error
            # Back to how Django declares them (INITIALLY DEFERRED; see the module's docstring).
            cursor.execute(f"SET CONSTRAINTS {names} DEFERRED")

    def copies_hold(self) -> bool:
        """Before any delete: whether the paths left out reach no row the plan misses, for a caller that
        deletes nothing and so cannot run `copies_check()` (the purge preview).

        One read of the rows each left-out path reaches (an organization's comments by its tickets), where
        following those paths in every count, sample and check of the preview read them once each (5.8 s
        against 0.5 s for a 100,000-ticket organization's preview at 1M): a row whose copy is not among the
        copy path's parents (not the purged organization) is one the plan misses, or one it reaches only by
        another path, a copy broken all the same. In plan order: a parent's rows are whole before its
        children's are checked."""
        for edge, copy in self.trusted.items():
            reached = edge.child._base_manager.using(self.using).filter(self._refers(edge).condition)
            disagree = ~self._refers(copy).condition | Q(**{f"{copy.field.attname}__isnull": True})
            # A count, not exists(): priced for a first row soon found, LIMIT 1 walked an index of every
            # comment when none was missing (80 s for a 100,000-ticket organization at 1M, against 0.3 s).
            if reached.filter(disagree).count():
                return False
        return True

    def _kept(self, rows: QuerySet) -> QuerySet:
        """`rows` the cascade does not delete (of a model it reaches), as NOT EXISTS: an anti-join.

        `pk NOT IN (the cascade's rows)` is a subplan PostgreSQL hashes only while the ids fit in work_mem;
        beyond (an organization of 1M tickets at 10M) it scans the materialized ids once per row tested: a
        RESTRICT count of that organization's customers' tickets ran for minutes without an end."""
        deleted = self.rows[rows.model].filter(pk=OuterRef("pk"))
        return rows.exclude(Exists(deleted))

    def _refers(self, edge: Edge) -> Path:
        """Rows of `edge.child` whose key points at a row of `edge.parent` being deleted.

        A key to the root's primary key is compared with the root's ids themselves: PostgreSQL then knows
        how many rows hold them (an organization's tickets), where it prices an array it cannot see as 10
        values (ten organizations' tickets, 34k at 1M), and beyond 100,000 cost units it JIT-compiles the
        statement: 40-60 ms of a 2,000-ticket purge, about half of what the raw DELETEs take. Other keys:
        among an array of the parents while they are few (`KeyAmong`), else a semi-join."""
        target = edge.field.target_field
        key = edge.field.attname
        if edge.parent is self.root and target.primary_key:
            return Path(Q(**{f"{key}__in": self.root_pks}), bounded=None)
        parents = self.rows[edge.parent].order_by().values(target.attname)
        if edge.parent not in self.few:
            self.few[edge.parent] = cascade_paths.at_most(self.rows[edge.parent], cascade_paths.ARRAY_MAX)
        if self.few[edge.parent]:
            return Path(Q(KeyAmong(F(key), Subquery(parents))), bounded=True)
        return Path(Q(**{f"{key}__in": parents}), bounded=False)


def _has_trash_column(model: type[models.Model]) -> bool:
    """Whether `model`'s rows can be live or in the trash (a soft-delete model's `deleted_at`)."""
    return any(f.name == "deleted_at" for f in model._meta.concrete_fields)


def _delete_counting_live(rows: QuerySet, using: str) -> tuple[int, int]:
    """Delete `rows` in one statement, the one the Collector's fast path (`_raw_delete`) writes for a
    condition on the table's own columns, `DELETE FROM t WHERE <condition>`: (rows deleted, how many of them
    were live). Hand-written because Django's delete cannot return anything.

    Django writes `DELETE ... WHERE pk IN (SELECT pk ... WHERE <condition>)` when the condition joins other
    tables (these conditions never do: parents are subqueries); that finds each row twice, the second time
    by primary key (a third of the purge's time at 2,000 tickets)."""
    quote = connections[using].ops.quote_name
    live = f"{quote('deleted_at')} IS NULL" if _has_trash_column(rows.model) else "FALSE"
    sql, params = rows.order_by().query.chain(klass=DeleteQuery).get_compiler(using).as_sql()
    with connections[using].cursor() as cursor:
        cursor.execute(
            f"WITH gone AS ({sql} RETURNING {live} AS live) "
            "SELECT count(*), count(*) FILTER (WHERE live) FROM gone",
            params,
        )
        deleted, live_deleted = cursor.fetchone()
    return deleted, live_deleted


def _has_delete_listeners(model: type[models.Model]) -> bool:
    # The same test as Collector._has_signal_listeners: listeners need instances, which this never loads.
    return signals.pre_delete.has_listeners(model) or signals.post_delete.has_listeners(model)


def _check(model: type[models.Model]) -> None:
    opts = model._meta
    if opts.parents:
        raise Unsupported(f"{opts.label}: multi-table inheritance")
    if any(hasattr(f, "bulk_related_objects") for f in opts.private_fields):
        raise Unsupported(f"{opts.label}: generic relations")
    if not opts.auto_created and _has_delete_listeners(model):
        raise Unsupported(f"{opts.label}: delete signal listeners (delete hooks)")


def cascade_plan(
    model: type[models.Model], pks: list[Any], using: str, *, trust_copies: bool = False
) -> CascadePlan:
    """The set-based plan for deleting `model` rows `pks`; Unsupported when the Collector must do it.

    `trust_copies`: leave out a path a copied key implies (`cascade_paths.implied`), for a caller that runs
    `copies_check()` after the delete, or `copies_hold()` before reading anything, and plans again without
    them when a copy did not hold. Off, the plan's counts and rows are exact whatever the copies say."""
    cascade: list[Edge] = []
    set_null: list[Edge] = []
    restrict: list[Edge] = []
    protect: list[Edge] = []
    reached: list[type[models.Model]] = [model]
    pending = [model]
    while pending:
        parent = pending.pop()
        _check(parent)
        for related in get_candidate_relations_to_delete(parent._meta):
            fk = related.field
            on_delete = fk.remote_field.on_delete
            edge = Edge(parent=parent, child=related.related_model, field=fk)
            if on_delete is DO_NOTHING:
                continue
            if on_delete is CASCADE:
                cascade.append(edge)
                if edge.child not in reached:
                    reached.append(edge.child)
                    pending.append(edge.child)
            elif on_delete is SET_NULL:
                set_null.append(edge)
            elif on_delete is RESTRICT:
                restrict.append(edge)
            elif on_delete is PROTECT:
                protect.append(edge)
            else:
                raise Unsupported(f"{fk.model._meta.label}.{fk.name}: on_delete {on_delete!r}")
    order = _parents_first(reached, cascade)
    rows: dict[type[models.Model], QuerySet] = {
        model: model._base_manager.using(using).filter(pk__in=list(pks)),
    }
    plan = CascadePlan(using, model, list(pks), order, rows, set_null, restrict, protect)
    incoming: dict[type[models.Model], list[Edge]] = defaultdict(list)
    for edge in cascade:
        incoming[edge.child].append(edge)
    # A row a broken copy hides would count as kept where a RESTRICT key decides, and refuse the purge before
    # the copies are checked: no shortcut into a model with such a row at or below it.
    restricted = cascade_paths.above(cascade, {e.child for e in restrict})
    for child in order[1:]:
        # Every parent precedes the child, so its queryset is complete: all its paths together reach each row.
        edges = incoming[child]
        if trust_copies and child not in restricted:
            for edge in edges:
                if copy := cascade_paths.implied(edge, edges, incoming):
                    plan.trusted[edge] = copy
        paths = [plan._refers(e) for e in edges if e not in plan.trusted]
        rows[child], bounded = cascade_paths.reached(child._base_manager.using(using).all(), paths)
        if not bounded:
            # Many rows reach it; counting them to know would cost a read of them all (the UNION first).
            plan.few[child] = False
    return plan


def _parents_first(reached: list[type[models.Model]], cascade: list[Edge]) -> list[type[models.Model]]:
    """Topological order of the cascade (the root first); Unsupported on a cycle (self-references included),
    which a finite nesting of subqueries cannot follow."""
    parents: dict[type[models.Model], set[type[models.Model]]] = defaultdict(set)
    for edge in cascade:
        parents[edge.child].add(edge.parent)
    order: list[type[models.Model]] = []
    placed: set[type[models.Model]] = set()
    remaining = list(reached)
    while remaining:
        ready = [m for m in remaining if parents[m] <= placed]
        if not ready:
            raise Unsupported("a cycle of CASCADE keys: " + ", ".join(m._meta.label for m in remaining))
        for m in ready:
            order.append(m)
            placed.add(m)
        remaining = [m for m in remaining if m not in placed]
    return order
