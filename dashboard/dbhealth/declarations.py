"""What the Django code declares: every index and constraint each model asks for, named as Django names them.

Provenance and drift compare this with the catalog. Names come from the schema editor itself
(`_field_indexes_sql`, `Index.create_sql`, `_create_unique_sql`, `_fk_constraint_name`): those are private
APIs, so tests/dashboard/dbhealth check every model-layer index against the real database, and a Django
upgrade that renames anything fails there first.

Definitions are normalised by PostgreSQL, not by regexes: each declared statement is run against an empty
temporary copy of its table inside a transaction that is always rolled back, and pg_get_indexdef of the
result is compared with the real index's. Django's SQL and PostgreSQL's deparsed SQL differ in quoting,
casts and IN-lists, which only PostgreSQL itself can reconcile. That is DDL, so it runs at migrate time
(dbhealth.services.declared_definitions_store, from post_migrate or `manage.py dbhealth_declarations`) and
pages read the stored result.
"""

from __future__ import annotations

import copy
import hashlib
import logging
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.apps import apps
from django.contrib.postgres.constraints import ExclusionConstraint
from django.db import DatabaseError, connection, models, transaction
from django.db.backends.ddl_references import Statement

logger = logging.getLogger(__name__)

# Where an index came from, as the page names it.
PRIMARY_KEY = "primary key"
UNIQUE_FIELD = "unique"
UNIQUE_TOGETHER = "unique_together"
DB_INDEX = "db_index"
FOREIGN_KEY = "foreign key"
LIKE_INDEX = "_like index"
META_INDEXES = "Meta.indexes"
META_CONSTRAINTS = "Meta.constraints"
UNDECLARED = "undeclared"


@dataclass
class DeclaredIndex:
    name: str
    table: str
    model_label: str
    model_name: str
    source: str  # one of the names above
    declaration: str  # e.g. "Ticket.Meta.indexes" or "Ticket.customer"
    statement: Any = field(repr=False, default=None)  # Statement or SQL with {table} / {name}
    alternative_names: tuple[str, ...] = ()
    backs_constraint: bool = False  # unique, exclusion or primary key: never "unused"

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.alternative_names)

    def removal(self) -> str:
        """The migration operation that removes this index the Django way."""
        model = self.model_name
        if self.source == META_INDEXES:
            return (
                f"Remove it from {self.declaration} and run makemigrations; on a large table write "
                f"RemoveIndexConcurrently(model_name={model!r}, name={self.name!r}) "
                "(django.contrib.postgres.operations) in a migration with atomic = False."
            )
        if self.source in (DB_INDEX, FOREIGN_KEY, LIKE_INDEX):
            return (
                f"Set db_index=False on {self.declaration} and run makemigrations "
                f"(AlterField(model_name={model!r}, name={self.declaration.rsplit('.', 1)[-1]!r}, ...))."
            )
        return f"Change {self.declaration} and run makemigrations."


@dataclass
class DeclaredConstraint:
    """A constraint the database enforces, with what a user is told when it is hit."""

    name: str
    table: str
    model_label: str
    kind: str  # check, unique, exclusion, foreign key, primary key
    declaration: str
    message: str
    constraint: Any = field(repr=False, default=None)  # the Django object, when there is one
    fields: tuple[str, ...] = ()
    alternative_names: tuple[str, ...] = ()


def _qn(name: str) -> str:
    return connection.ops.quote_name(name)


def _statement_name(statement: Statement) -> str:
    return str(statement.parts["name"]).strip('"')


def _pg_key_name(table: str, column: str) -> str | None:
    # PostgreSQL's own name for a UNIQUE written inside CREATE TABLE (Django does that for unique fields).
    name = f"{table}_{column}_key"
    return name if len(name) <= 63 else None


def declared_models() -> list[type[models.Model]]:
    """Every model whose table Django creates: managed, concrete, not a proxy (auto-created M2M included)."""
    return [
        model
        for model in apps.get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy and not model._meta.abstract
    ]


def _editor() -> Any:
    return connection.schema_editor(collect_sql=True, atomic=False)


def declared_indexes_for(model: type[models.Model], editor: Any = None) -> list[DeclaredIndex]:
    """The indexes `model` declares, in Django's names."""
    editor = editor or _editor()
    meta = model._meta
    table = meta.db_table
    label = meta.label
    object_name = meta.object_name
    result: list[DeclaredIndex] = []

    def add(name: str, source: str, declaration: str, statement: Any, **kwargs: Any) -> None:
        result.append(
            DeclaredIndex(
                name=name,
                table=table,
                model_label=label,
                model_name=meta.model_name,
                source=source,
                declaration=declaration,
                statement=statement,
                **kwargs,
            )
        )

    pk = meta.pk
    if pk is not None and pk.column:
        add(
            f"{table}_pkey",
            PRIMARY_KEY,
            f"{object_name}.{pk.name}",
            "ALTER TABLE {table} ADD CONSTRAINT {name} PRIMARY KEY (" + _qn(pk.column) + ")",
            backs_constraint=True,
        )
        like = editor._create_like_index_sql(model, pk)
        if like is not None:
            add(_statement_name(like), LIKE_INDEX, f"{object_name}.{pk.name}", like)
    for f in meta.local_concrete_fields:
        if f.primary_key:
            continue
        declaration = f"{object_name}.{f.name}"
        if f.unique:
            statement = editor._create_unique_sql(model, [f])
            pg_name = _pg_key_name(table, f.column)
            django_name = _statement_name(statement)
            names = (pg_name, django_name) if pg_name else (django_name,)
            add(
                names[0],
                UNIQUE_FIELD,
                declaration,
                statement,
                alternative_names=names[1:],
                backs_constraint=True,
            )
            like = editor._create_like_index_sql(model, f)
            if like is not None:
                add(_statement_name(like), LIKE_INDEX, declaration, like)
            continue
        for statement in editor._field_indexes_sql(model, f):
            name = _statement_name(statement)
            if name.endswith("_like"):
                source = LIKE_INDEX
            elif f.is_relation:
                source = FOREIGN_KEY
            else:
                source = DB_INDEX
            add(name, source, declaration, statement)
    for fields in meta.unique_together:
        statement = editor._create_unique_sql(model, [meta.get_field(name) for name in fields])
        add(
            _statement_name(statement),
            UNIQUE_TOGETHER,
            f"{object_name}.Meta.unique_together {tuple(fields)}",
            statement,
            backs_constraint=True,
        )
    for index in meta.indexes:
        add(index.name, META_INDEXES, f"{object_name}.Meta.indexes", index.create_sql(model, editor))
    for constraint in meta.constraints:
        if isinstance(constraint, models.UniqueConstraint | ExclusionConstraint):
            add(
                constraint.name,
                META_CONSTRAINTS,
                f"{object_name}.Meta.constraints",
                constraint.create_sql(model, editor),
                backs_constraint=True,
            )
    return result


@cache
def declared_indexes() -> dict[str, DeclaredIndex]:
    """Every declared index of every model, by every name it may carry in the database."""
    editor = _editor()
    by_name: dict[str, DeclaredIndex] = {}
    for model in declared_models():
        for item in declared_indexes_for(model, editor):
            for name in item.names:
                by_name[name] = item
    return by_name


def declared_tables() -> dict[str, str]:
    """Table name -> model label for every table Django manages."""
    return {model._meta.db_table: model._meta.label for model in declared_models()}


def unmanaged_tables() -> dict[str, str]:
    """Tables that have a model but are created by someone else (e.g. procrastinate's SQL migrations)."""
    return {
        model._meta.db_table: model._meta.label
        for model in apps.get_models(include_auto_created=True)
        if not model._meta.managed and not model._meta.proxy
    }


def _runnable(item: DeclaredIndex, probe_table: str) -> str:
    if isinstance(item.statement, str):
        return item.statement.format(table=_qn(probe_table), name=_qn(item.name))
    # Copies: rename_table_references rebinds the parts' table, and they are the cached declaration's.
    parts = {key: copy.copy(part) for key, part in item.statement.parts.items()}
    statement = Statement(item.statement.template, **{**parts, "name": _qn(item.name)})
    if probe_table != item.table:
        statement.rename_table_references(item.table, probe_table)
    return str(statement)


def normalise_definition(indexdef: str, unique: bool) -> str:
    """The part of pg_get_indexdef that says what the index is, without its name and table."""
    _, _, rest = indexdef.partition(" USING ")
    return ("UNIQUE " if unique else "") + "USING " + rest


class _Rollback(Exception):
    pass


def statement_sha(item: DeclaredIndex) -> str:
    """The hash of the statement that creates `item` on its own table (pure Python, no query)."""
    return hashlib.sha256(_runnable(item, item.table).encode()).hexdigest()


def declared_definitions_compute() -> dict[str, str | None]:
    """Declared index name -> normalised definition as PostgreSQL would store it (None if it cannot be built).

    Runs DDL on temporary tables in a transaction that is always rolled back: migrate time only (see the
    module's docstring), never from a page.
    """
    items: dict[int, DeclaredIndex] = {id(item): item for item in declared_indexes().values()}
    by_table: dict[str, list[DeclaredIndex]] = {}
    for item in items.values():
        by_table.setdefault(item.table, []).append(item)
    definitions: dict[str, str | None] = {}
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            for number, (table, table_items) in enumerate(sorted(by_table.items())):
                probe = f"dbhealth_probe_{number}"
                try:
                    with transaction.atomic():
                        cursor.execute(f"CREATE TEMP TABLE {_qn(probe)} (LIKE {_qn(table)}) ON COMMIT DROP")
                except DatabaseError:
                    continue  # the table does not exist (yet): it shows as "missing" anyway
                for item in table_items:
                    try:
                        with transaction.atomic():
                            cursor.execute(_runnable(item, probe))
                            cursor.execute(
                                "SELECT pg_get_indexdef(i.indexrelid), i.indisunique FROM pg_index i "
                                "JOIN pg_class c ON c.oid = i.indexrelid "
                                "WHERE c.relname = %s AND c.relnamespace = pg_my_temp_schema()",
                                [item.name],
                            )
                            row = cursor.fetchone()
                        definitions[item.name] = normalise_definition(row[0], row[1]) if row else None
                    except DatabaseError:
                        logger.info("Could not rebuild declared index %s", item.name, exc_info=True)
                        definitions[item.name] = None
            raise _Rollback
    except _Rollback:
        pass
    return definitions


def declared_constraints() -> dict[str, DeclaredConstraint]:
    """Every constraint Django declares (Meta.constraints, unique fields, unique_together, foreign keys)."""
    editor = _editor()
    found: dict[str, DeclaredConstraint] = {}
    for model in declared_models():
        meta = model._meta
        table = meta.db_table
        for constraint in meta.constraints:
            from dashboard.dbhealth.recorder import constraint_kind

            found[constraint.name] = DeclaredConstraint(
                name=constraint.name,
                table=table,
                model_label=meta.label,
                kind=constraint_kind(constraint),
                declaration=f"{meta.object_name}.Meta.constraints",
                message=str(constraint.get_violation_error_message()),
                constraint=constraint,
                fields=tuple(getattr(constraint, "fields", ()) or ()),
            )
        for f in meta.local_concrete_fields:
            if f.unique and not f.primary_key:
                django_name = _statement_name(editor._create_unique_sql(model, [f]))
                pg_name = _pg_key_name(table, f.column)
                names = (pg_name, django_name) if pg_name else (django_name,)
                item = DeclaredConstraint(
                    name=names[0],
                    table=table,
                    model_label=meta.label,
                    kind="unique",
                    declaration=f"{meta.object_name}.{f.name} (unique=True)",
                    message=str(f.error_messages.get("unique", ""))
                    .replace("%(model_name)s", str(meta.verbose_name))
                    .replace("%(field_label)s", str(f.verbose_name)),
                    fields=(f.name,),
                    alternative_names=names[1:],
                )
                for name in names:
                    found[name] = item
            if f.is_relation and f.many_to_one and getattr(f, "db_constraint", False):
                name = str(editor._fk_constraint_name(model, f, "_fk_%(to_table)s_%(to_column)s")).strip('"')
                found[name] = DeclaredConstraint(
                    name=name,
                    table=table,
                    model_label=meta.label,
                    kind="foreign key",
                    declaration=f"{meta.object_name}.{f.name} (ForeignKey to {f.related_model._meta.label})",
                    message=(
                        f"The {f.related_model._meta.verbose_name} referenced by {f.verbose_name} must exist."
                    ),
                    fields=(f.name,),
                )
        for fields in meta.unique_together:
            name = _statement_name(editor._create_unique_sql(model, [meta.get_field(n) for n in fields]))
            found[name] = DeclaredConstraint(
                name=name,
                table=table,
                model_label=meta.label,
                kind="unique",
                declaration=f"{meta.object_name}.Meta.unique_together {tuple(fields)}",
                message=f"This combination of {', '.join(fields)} already exists.",
                fields=tuple(fields),
            )
    return found
