"""How the set-based cascade (models_core.cascade) reaches a model's rows: one `Path` per foreign key that
leads to it, a key looked up among its parent's rows as an array or a semi-join, the paths of one model
ORed or UNIONed (`reached`), and the paths a copied key makes redundant (`implied`)."""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass

from django.db import models
from django.db.models import BooleanField, Func, Q, QuerySet

# Parents looked up as an array at most this many (a bounded count says which): see `reached`.
ARRAY_MAX = 10_000


class KeyAmong(Func):
    """`key = ANY(ARRAY(subquery))`: the subquery runs once, first (an InitPlan), and the key's index is
    probed for each value it returned.

    As `key IN (subquery)` PostgreSQL plans a semi-join from the estimated number of parent rows times the
    rows per key value: purging an organization, "the users of one organization" is the average
    organization's 20 (the purged one may have 2) and each agent holds ~1,000 tickets, so it hashed the
    users and read every ticket (one UPDATE per SET_NULL key, 0.2-0.4 s each at 1M, 10x that at 10M) to
    find rows the cascade had already deleted. ANY of an array it cannot see is priced as a few values
    through the index. And unlike IN, several of them ORed stay index conditions (a BitmapOr), where ORed
    semi-joins become hashed subplans tested on every row of the table. Django has no lookup for it (its
    `__in` always writes IN)."""

    output_field = BooleanField()

    def as_sql(self, compiler, connection, **extra_context):
        key, rows = self.source_expressions
        key_sql, key_params = compiler.compile(key)
        rows_sql, rows_params = compiler.compile(rows)  # a Subquery: "(SELECT ...)"
        return f"{key_sql} = ANY(ARRAY{rows_sql})", (*key_params, *rows_params)


@dataclass(frozen=True)
class Edge:
    """`child.field` points at `parent` with this on_delete rule."""

    parent: type[models.Model]
    child: type[models.Model]
    field: models.ForeignKey


@dataclass(frozen=True)
class Path:
    """How a model's rows are reached through one key: the condition, and whether it is certain to hold at
    most ARRAY_MAX rows' worth of parents as an array (None: a key to the root, which has to be counted)."""

    condition: Q
    bounded: bool | None


def implied(edge: Edge, edges: list[Edge], incoming: dict[type[models.Model], list[Edge]]) -> Edge | None:
    """The edge of the child's `edges` whose copied key reaches every row `edge` reaches, if there is one.

    A comment declares `copied_keys = {"organization": "ticket"}`: its organization is its ticket's. When
    the tickets are reached only by their organization and the comments by theirs too, the path through the
    tickets finds no comment the organization's does not (it was a UNION arm of 3M comments at 10M, read
    once more for every statement that names the comments)."""
    copied = getattr(edge.child, "copied_keys", {})
    key = next((k for k, via in copied.items() if via == edge.field.name), None)
    parent_paths = incoming.get(edge.parent, [])
    if (
        key is None
        or not edge.field.db_constraint  # its check after the deletes says whether the copies held
        or len(parent_paths) != 1
        or parent_paths[0].field.name != key
    ):
        return None
    return next((e for e in edges if e.field.name == key and e.parent is parent_paths[0].parent), None)


def above(cascade: list[Edge], models_: set[type[models.Model]]) -> set[type[models.Model]]:
    """`models_` and every model whose rows cascade to one of theirs."""
    found = set(models_)
    while more := {e.parent for e in cascade if e.child in found} - found:
        found |= more
    return found


def at_most(rows: QuerySet, n: int) -> bool:
    """Whether `rows` are at most `n`, reading at most n + 1 of them."""
    return rows.order_by().values("pk")[: n + 1].count() <= n


def reached(rows: QuerySet, paths: list[Path]) -> tuple[QuerySet, bool]:
    """(`rows` reached through any of `paths`, False when a path is known to hold more than ARRAY_MAX; a
    single path to the root is not counted here, whoever needs to know counts the rows).

    While every path is bounded (an array of at most ARRAY_MAX parents, or a key to the root holding at most
    that many rows), the conditions are ORed: one bitmap scan of the keys' indexes, each row found once. Past
    that, a UNION of one semi-join per path, `pk IN` removing a row reached twice.

    Why both. ORed semi-joins (`key IN (parents)`) are hashed subplans tested on every row of the table
    (every attachment of a 10M database for one ticket's purge preview). The UNION reads only the rows
    reached but finds each once per path, then by primary key, then again for the DELETE: 0.13 s of a
    2,000-ticket purge whose raw DELETEs take 7 ms. The ORed arrays are not hashed either: tested on a row
    (a sequential scan, which PostgreSQL picks once one path reaches many rows, or a bitmap's recheck once it
    is lossy) an array is searched element by element, so an organization of 1M tickets at 10M tested 30M
    comments against an array of its 1M tickets and never finished. Semi-joins hash, and spill to disk."""
    if len(paths) == 1:
        return rows.filter(paths[0].condition), paths[0].bounded is not False
    if all(p.bounded or (p.bounded is None and at_most(rows.filter(p.condition), ARRAY_MAX)) for p in paths):
        return rows.filter(functools.reduce(operator.or_, [p.condition for p in paths])), True
    arms = [rows.filter(p.condition).order_by().values("pk") for p in paths]
    return rows.filter(pk__in=arms[0].union(*arms[1:], all=True)), False
