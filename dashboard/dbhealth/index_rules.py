"""When one index makes another redundant, and which of two twins to keep: pure rules over catalog rows.

PgHero's rule (same table, method, expressions and predicate; one's columns a prefix of the other's) is the
start. Where it is silent or decides by name order, these rules say:
- Everything that makes two indexes answer different queries or enforce different rules is compared: key
  columns with their operator classes, sort options and collations, INCLUDE columns, uniqueness and
  NULLS NOT DISTINCT (which only matters when a key column may be NULL).
- btree serves a prefix of its keys; GIN and BRIN serve any subset of their columns equally well (PostgreSQL's
  manual, "Multicolumn Indexes"), so a single-column GIN is covered by a multicolumn one holding its column.
- A unique index is only covered by a unique index on the same keys that forbids at least as much.
- What to keep is decided by what the index is for, never by its name: a primary key, an index a foreign key
  or a table constraint needs, and what a model declares are kept over what nobody declared. Between two
  equals, the one the planner reads (more scans) stays, then the older one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dashboard.dbhealth.selectors import CatalogIndex

# Methods whose multicolumn indexes answer a condition on any of their columns, not only a leading prefix.
ANY_COLUMN_METHODS = {"gin", "brin"}
PREFIX_METHODS = {"btree"}


def _key_columns(index: CatalogIndex) -> list[tuple[str, str, str, str]]:
    n = index.key_count
    return list(
        zip(index.keys[:n], index.opclasses[:n], index.options[:n], index.collations[:n], strict=False)
    )


def _same_shape(a: CatalogIndex, b: CatalogIndex) -> bool:
    return (
        a.schema == b.schema
        and a.table == b.table
        and a.method == b.method
        and a.predicate == b.predicate
        and a.expressions == b.expressions
    )


def _forbids(index: CatalogIndex) -> tuple[bool, bool]:
    """What a unique index forbids: (unique at all, also rows equal but for NULLs)."""
    return index.is_unique, index.is_unique and index.nulls_not_distinct and index.nullable_key


def identical(a: CatalogIndex, b: CatalogIndex) -> bool:
    """The same reads and the same rule: either one can go."""
    return (
        _same_shape(a, b)
        and _key_columns(a) == _key_columns(b)
        and set(a.include_keys) == set(b.include_keys)
        and _forbids(a) == _forbids(b)
    )


def serves_reads_of(wide: CatalogIndex, narrow: CatalogIndex) -> bool:
    """Does `wide` answer every query `narrow` answers, as well?"""
    if not _same_shape(wide, narrow):
        return False
    narrow_keys, wide_keys = _key_columns(narrow), _key_columns(wide)
    if narrow_keys == wide_keys:
        return set(narrow.include_keys) <= set(wide.include_keys)
    if narrow.expressions:
        return False  # expression keys are compared as one text: no prefix reasoning over them
    wide_columns = {key for key, *_ in wide_keys} | set(wide.include_keys)
    if narrow.method in PREFIX_METHODS:
        return (
            len(narrow_keys) < len(wide_keys)
            and wide_keys[: len(narrow_keys)] == narrow_keys
            and set(narrow.include_keys) <= wide_columns
        )
    if narrow.method in ANY_COLUMN_METHODS:
        return set(narrow_keys) <= set(wide_keys)
    return False


def enforces_all_of(wide: CatalogIndex, narrow: CatalogIndex) -> bool:
    """Does `wide` forbid every row `narrow` forbids? (Exclusion constraints are never compared.)"""
    if narrow.is_exclusion or wide.is_exclusion:
        return False
    if not narrow.is_unique:
        return True
    if not wide.is_unique or [k for k, *_ in _key_columns(wide)] != [k for k, *_ in _key_columns(narrow)]:
        return False
    return wide.expressions == narrow.expressions and (_forbids(wide)[1] or not _forbids(narrow)[1])


def may_drop_for(narrow: CatalogIndex, wide: CatalogIndex) -> bool:
    """May the advice remove `narrow` in favour of `wide`? Never a primary key or an index a foreign key
    needs; never a declared index or a constraint's for one nobody declared or no constraint owns."""
    if narrow.is_primary or narrow.referenced_by_foreign_key or narrow.is_exclusion:
        return False
    if narrow.is_declared and not wide.is_declared:
        return False
    return not (narrow.constraint_type and not wide.constraint_type)


def keep_order(index: CatalogIndex) -> tuple:
    return (
        index.is_primary,
        index.referenced_by_foreign_key,
        index.constraint_type is not None,
        index.is_declared,
        index.idx_scan,
        -index.oid,
    )


def redundant_because_of(narrow: CatalogIndex, wide: CatalogIndex) -> bool:
    """Should the advice be to drop `narrow` because `wide` exists?"""
    if narrow is wide or narrow.oid == wide.oid:
        return False
    if identical(narrow, wide):
        if may_drop_for(narrow, wide) and may_drop_for(wide, narrow):
            return keep_order(narrow) < keep_order(wide)
        return may_drop_for(narrow, wide)
    return serves_reads_of(wide, narrow) and enforces_all_of(wide, narrow) and may_drop_for(narrow, wide)
