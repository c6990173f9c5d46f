"""The Django side of an advice: which model, the Meta.indexes entry to add, the migration to write, and the
existing indexes the new one would make redundant."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import psycopg
from django.apps import apps
from django.db import models
from django.db.migrations.loader import MigrationLoader

from dashboard.dbhealth.advisor.plans import Candidate

# Django refuses index names longer than this (models.Index.max_name_length).
MAX_NAME = 30


@dataclass(frozen=True)
class ExistingIndex:
    name: str
    method: str
    columns: tuple[str, ...]  # "col" or "col DESC"; expressions as "expr:..."
    opclasses: tuple[str, ...]
    predicate: str
    unique: bool
    valid: bool


@dataclass(frozen=True)
class DjangoSide:
    model_label: str
    meta_entry: str
    migration: str
    index_name: str


def model_for_table(table: str) -> type[models.Model] | None:
    for model in apps.get_models():
        if model._meta.db_table == table and not model._meta.proxy:
            return model
    return None


def _field_name(model: type[models.Model], column: str) -> str:
    for model_field in model._meta.concrete_fields:
        if model_field.column == column:
            return model_field.name
    return column


def _condition(model: type[models.Model], predicate: str) -> str:
    terms = []
    for term in predicate.split(" AND "):
        column, _, op = term.partition(" ")
        value = "True" if op == "IS NULL" else "False"
        terms.append(f"{_field_name(model, column)}__isnull={value}")
    return f"models.Q({', '.join(terms)})"


def index_name(model: type[models.Model] | None, candidate: Candidate) -> str:
    stem = (model._meta.model_name if model else candidate.table)[:10]
    cols = "_".join(c[:3] for c in candidate.key_columns)[:12]
    digest = hashlib.sha256(candidate.fingerprint.encode()).hexdigest()[:5]
    return f"idx_{stem}_{cols}_{digest}"[:MAX_NAME].rstrip("_")


def _leaf_migration(app_label: str) -> str:
    leaves = MigrationLoader(None, ignore_no_migrations=True).graph.leaf_nodes(app_label)
    return leaves[0][1] if leaves else "<latest migration>"


def django_side(candidate: Candidate) -> DjangoSide:
    model = model_for_table(candidate.table)
    name = index_name(model, candidate)
    if model is None:
        sql = candidate.definition(name).replace("CREATE INDEX", "CREATE INDEX CONCURRENTLY", 1)
        return DjangoSide(
            "",
            "",
            f'migrations.RunSQL("{sql}", reverse_sql="DROP INDEX CONCURRENTLY {name}")  # atomic = False',
            name,
        )
    fields = []
    for column in candidate.columns:
        col, _, direction = column.partition(" ")
        fields.append(("-" if direction == "DESC" else "") + _field_name(model, col))
    args = [f"fields={fields!r}", f'name="{name}"']
    if candidate.opclasses:
        args.append(f"opclasses={list(candidate.opclasses)!r}")
    if candidate.predicate:
        args.append(f"condition={_condition(model, candidate.predicate)}")
    cls = "GinIndex" if candidate.method == "gin" else "models.Index"
    entry = f"{cls}({', '.join(args)})"
    app_label = model._meta.app_label
    imports = "from django.contrib.postgres.indexes import GinIndex\n" if candidate.method == "gin" else ""
    migration = (
        "from django.contrib.postgres.operations import AddIndexConcurrently\n"
        f"{imports}from django.db import migrations, models\n\n\n"
        "class Migration(migrations.Migration):\n"
        "    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction\n"
        f'    dependencies = [("{app_label}", "{_leaf_migration(app_label)}")]\n'
        "    operations = [\n"
        f'        AddIndexConcurrently(model_name="{model._meta.model_name}", index={entry}),\n'
        "    ]\n"
    )
    return DjangoSide(model._meta.label, entry, migration, name)


def existing_indexes(conn: psycopg.Connection, table: str) -> list[ExistingIndex]:
    rows = conn.execute(
        """
        SELECT ci.relname, am.amname, i.indisunique, i.indisvalid,
               COALESCE(pg_get_expr(i.indpred, i.indrelid), ''),
               ARRAY(
                   SELECT CASE
                       WHEN k.attnum = 0 THEN 'expr:' || pg_get_indexdef(i.indexrelid, k.n::int, true)
                       ELSE a.attname || CASE WHEN (i.indoption[k.n - 1] & 1) = 1 THEN ' DESC' ELSE '' END
                   END
                   FROM unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)
                   LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                   WHERE k.n <= i.indnkeyatts ORDER BY k.n
               ),
               ARRAY(
                   SELECT oc.opcname FROM unnest(i.indclass) WITH ORDINALITY AS c(oid, n)
                   JOIN pg_opclass oc ON oc.oid = c.oid WHERE c.n <= i.indnkeyatts ORDER BY c.n
               )
        FROM pg_index i
        JOIN pg_class ci ON ci.oid = i.indexrelid
        JOIN pg_class ct ON ct.oid = i.indrelid
        JOIN pg_namespace n ON n.oid = ct.relnamespace
        JOIN pg_am am ON am.oid = ci.relam
        WHERE ct.relname = %s AND n.nspname = 'public'
        """,
        [table],
    ).fetchall()
    return [ExistingIndex(r[0], r[1], tuple(r[5]), tuple(r[6]), _bare(r[4]), r[2], r[3]) for r in rows]


def _bare(predicate: str) -> str:
    text = predicate.strip()
    while text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    return text


def _same_opclasses(candidate: Candidate, existing: ExistingIndex) -> bool:
    if not candidate.opclasses:
        return True  # btree default opclasses
    return tuple(existing.opclasses[: len(candidate.opclasses)]) == candidate.opclasses


def already_served(candidate: Candidate, existing: list[ExistingIndex]) -> str | None:
    """An existing valid index that already is this candidate (or begins with it, for btree)."""
    for index in existing:
        if not index.valid or index.method != candidate.method or index.predicate != candidate.predicate:
            continue
        if not _same_opclasses(candidate, index):
            continue
        n = len(candidate.columns)
        if candidate.method == "btree" and index.columns[:n] == candidate.columns:
            return index.name
        if candidate.method != "btree" and set(candidate.columns) <= set(index.columns):
            return index.name
    return None


def made_redundant(candidate: Candidate, existing: list[ExistingIndex]) -> list[str]:
    """Existing plain btree indexes whose columns are a proper prefix of the candidate's: it serves theirs."""
    if candidate.method != "btree":
        return []
    return [
        index.name
        for index in existing
        if index.valid
        and index.method == "btree"
        and not index.unique
        and index.predicate == candidate.predicate
        and len(index.columns) < len(candidate.columns)
        and candidate.columns[: len(index.columns)] == index.columns
    ]
