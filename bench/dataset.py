"""The benchmark dataset: N tickets across many organizations, built in SQL (generate_series), in its own
database so the demo data of `make run` is never touched.

    .venv/bin/python bench/dataset.py --tickets 200000          # build (or reuse) and print what is there
    BENCH_DATABASE_URL=postgres://... .venv/bin/python bench/dataset.py --tickets 10000000 --orgs 2000

Shape (per `--tickets` N, `--orgs` O): organization 1 ("big") holds 10% of the tickets (the restore
benchmark's big tenant), the rest are spread evenly; 20 users per organization (5 agents who are staff,
15 customers), 3 comments per ticket, an attachment on every fifth ticket, 10 articles per organization;
10% of the tickets are in the trash, each deleted on its own (its comments and attachments cascaded in
its batch), spread over 60 days and over the organization's agents as deleters.

Speed: secondary indexes are dropped before the load and rebuilt after it (one sorted build per index instead
of N inserts into each), then VACUUM ANALYZE. On this 2-core machine 1M tickets take a few minutes; 10M
are feasible (about ten times that, mostly index builds). The dataset is kept: a second run with the same
size reuses it (`--rebuild` forces a new one). The database is `<default name>_bench` in this checkout's
private cluster unless BENCH_DATABASE_URL names another.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BIG_SHARE = 10  # organization 1 holds 1/BIG_SHARE of the tickets
USERS_PER_ORG = 20
AGENTS_PER_ORG = 5
COMMENTS_PER_TICKET = 3
ARTICLES_PER_ORG = 10
TRASH_EVERY = 10  # one ticket in TRASH_EVERY is in the trash


def bench_database_url() -> str:
    """BENCH_DATABASE_URL, or this checkout's private cluster with a `_bench` database."""
    url = os.environ.get("BENCH_DATABASE_URL")
    if url:
        return url
    port_file = ROOT / ".pg" / "port"
    if not port_file.exists():
        sys.exit("No database: run `make db` first, or set BENCH_DATABASE_URL.")
    return f"postgres://postgres@127.0.0.1:{port_file.read_text().strip()}/custodian_bench"


def setup_django() -> None:
    """Point Django at the bench database (created when missing) and migrate it."""
    import dj_database_url
    import psycopg

    url = bench_database_url()
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    # Hook statistics written from a benchmark would be noise in its own timings.
    os.environ.setdefault("CUSTODIAN_HOOK_STATS_AUTOFLUSH", "false")
    params = dj_database_url.parse(url)
    admin = psycopg.connect(
        host=params["HOST"],
        port=params["PORT"] or 5432,
        user=params["USER"],
        password=params["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )
    with admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [params["NAME"]]).fetchone():
            admin.execute(f'CREATE DATABASE "{params["NAME"]}"')
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


TABLES = [
    "models_core_organization",
    "models_core_user",
    "models_core_ticket",
    "models_core_ticketcomment",
    "models_core_ticketattachment",
    "models_core_knowledgebasearticle",
]


def _secondary_indexes(cursor, tables: list[str]) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of every index that backs no constraint."""
    cursor.execute(
        """
        SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
        FROM pg_index i
        WHERE i.indrelid = ANY(%s::regclass[])
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
        """,
        [tables],
    )
    return cursor.fetchall()


def _foreign_keys(cursor, tables: list[str]) -> list[tuple[str, str, str]]:
    """(table, name, definition) of every foreign key from or to these tables."""
    cursor.execute(
        """
        SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
        FROM pg_constraint c
        WHERE c.contype = 'f' AND (c.conrelid = ANY(%s::regclass[]) OR c.confrelid = ANY(%s::regclass[]))
        """,
        [tables, tables],
    )
    return cursor.fetchall()


def dataset_info() -> dict | None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_dataset (tickets bigint, orgs int, built_at timestamptz)"
        )
        cursor.execute("SELECT tickets, orgs, built_at FROM bench_dataset")
        row = cursor.fetchone()
    return None if row is None else {"tickets": row[0], "orgs": row[1], "built_at": row[2]}


def build(tickets: int, orgs: int, *, log=print) -> None:
    """Replace every helpdesk row of the bench database with a generated dataset of this size."""
    from django.db import connection, transaction

    started = time.perf_counter()

    def step(what: str, sql: str, params: list | None = None) -> None:
        t = time.perf_counter()
        cursor.execute(sql, params or [])
        log(f"  {what:<34} {time.perf_counter() - t:7.1f}s")

    big = max(tickets // BIG_SHARE, 1)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE " + ", ".join(TABLES) + " RESTART IDENTITY CASCADE")
        indexes = _secondary_indexes(cursor, TABLES)
        foreign_keys = _foreign_keys(cursor, TABLES)
        for table, name, _ in foreign_keys:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {name}")
        # The rows below carry the columns triggers would fill (a comment's organization): skip the per-row
        # trigger calls while loading; re-enabled before the transaction commits.
        for table in TABLES:
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        step(
            "organizations",
            """
            INSERT INTO models_core_organization (is_active, delete_reason, deletion_metadata,
                can_be_restored, name, slug, subscription_tier, settings, last_ticket_number, created_at,
                updated_at)
            SELECT true, '', '{}', true,
                CASE WHEN o = 1 THEN 'Bench big' ELSE 'Bench org ' || o END, 'bench-' || o,
                (ARRAY['free','basic','professional','enterprise'])[1 + o %% 4], '{}',
                CASE WHEN o = 1 THEN %s ELSE (%s - %s) / GREATEST(%s - 1, 1) + 1 END, now(), now()
            FROM generate_series(1, %s) o
            """,
            [big, tickets, big, orgs, orgs],
        )
        # Users u = (o-1)*20 + k: k 1..5 agents, 6..20 customers.
        step(
            "users",
            """
            INSERT INTO models_core_user (password, is_superuser, username, first_name, last_name, email,
                is_staff, date_joined, delete_reason, deletion_metadata, can_be_restored, is_active, role,
                availability_status, skills, certifications, max_concurrent_tickets, customer_tier,
                created_at, organization_id)
            SELECT '!bench', false, 'bench-u' || u,
                (ARRAY['Ann','Bob','Cleo','Dev','Eve','Finn','Gus','Hana'])[1 + u %% 8], 'Person' || u,
                'user' || u || '@example.com', (u - 1) %% %s < %s, now(), '', '{}', true, true,
                CASE WHEN (u - 1) %% %s < %s THEN 'agent' ELSE 'customer' END,
                CASE WHEN (u - 1) %% %s < %s THEN 'available' ELSE 'offline' END, '[]', '[]', 10, 'basic',
                now(), (u - 1) / %s + 1
            FROM generate_series(1, %s * %s) u
            """,
            [USERS_PER_ORG, AGENTS_PER_ORG] * 3 + [USERS_PER_ORG, orgs, USERS_PER_ORG],
        )
        # Ticket g: organization 1 for g <= big, else spread round-robin over 2..orgs; its number within the
        # organization is its rank there.
        step(
            "tickets",
            """
            INSERT INTO models_core_ticket (id, is_active, deleted_at, delete_reason, deletion_batch,
                deletion_metadata, can_be_restored, auto_delete_at, ticket_number, subject, description,
                status, priority, tags, custom_fields, sla_breach, created_at, updated_at, customer_id,
                assigned_agent_id, deleted_by_id, organization_id)
            SELECT g, NOT trashed, CASE WHEN trashed THEN at END,
                CASE WHEN trashed THEN (ARRAY['duplicate','spam','customer asked','test ticket'])[1 + g %% 4]
                     ELSE '' END,
                CASE WHEN trashed THEN md5('t' || g)::uuid END,
                CASE WHEN trashed THEN jsonb_build_object('was_active', true, 'root', 'models_core.Ticket',
                     'cascaded', false) ELSE '{}' END,
                true, CASE WHEN trashed THEN at + interval '30 days' END, num,
                (ARRAY['Cannot log in','Invoice wrong','App crashes','Refund please','Password reset',
                       'Export fails','Slow dashboard','Billing question'])[1 + g %% 8] || ' ' || g,
                'Generated ticket ' || g,
                (ARRAY['new','open','pending','resolved','closed'])[1 + g %% 5],
                (ARRAY['low','medium','high','urgent'])[1 + g %% 4], '[]', '{}', false,
                now() - interval '90 days' + (g %% 7776000) * interval '1 second', now(),
                (org - 1) * %s + %s + 1 + g %% (%s - %s), (org - 1) * %s + 1 + g %% %s,
                CASE WHEN trashed THEN (org - 1) * %s + 1 + g %% %s END, org
            FROM (
                SELECT g, g %% %s = 0 AS trashed,
                    -- Deleted over the last 60 days at any size: g * 7919 (a prime) walks every second
                    -- of the 60 days (5,184,000) before it repeats, where g alone would cover 12 days at 1M.
                    now() - ((g::bigint * 7919) %% 5184000) * interval '1 second' AS at,
                    CASE WHEN g <= %s THEN 1 ELSE 2 + (g - %s - 1) %% GREATEST(%s - 1, 1) END AS org,
                    CASE WHEN g <= %s THEN g ELSE (g - %s - 1) / GREATEST(%s - 1, 1) + 1 END AS num
                FROM generate_series(1, %s) g
            ) s
            """,
            [
                USERS_PER_ORG, AGENTS_PER_ORG, USERS_PER_ORG, AGENTS_PER_ORG,
                USERS_PER_ORG, AGENTS_PER_ORG, USERS_PER_ORG, AGENTS_PER_ORG,
                TRASH_EVERY, big, big, orgs, big, big, orgs, tickets,
            ],
        )  # fmt: skip
        step(
            "comments",
            """
            INSERT INTO models_core_ticketcomment (is_active, deleted_at, delete_reason, deletion_batch,
                deletion_metadata, can_be_restored, auto_delete_at, content, comment_type, created_at,
                author_id, deleted_by_id, ticket_id, organization_id)
            SELECT t.is_active, t.deleted_at, t.delete_reason, t.deletion_batch,
                CASE WHEN t.deleted_at IS NULL THEN '{}' ELSE jsonb_build_object('was_active', true,
                     'root', 'models_core.Ticket', 'cascaded', true) END,
                true, t.auto_delete_at, 'Reply ' || c || ' on ticket ' || t.id,
                (ARRAY['public','internal','system'])[1 + c %% 3], t.created_at + c * interval '1 hour',
                t.assigned_agent_id, t.deleted_by_id, t.id, t.organization_id
            FROM models_core_ticket t CROSS JOIN generate_series(1, %s) c
            """,
            [COMMENTS_PER_TICKET],
        )
        step(
            "attachments",
            """
            INSERT INTO models_core_ticketattachment (is_active, deleted_at, delete_reason, deletion_batch,
                deletion_metadata, can_be_restored, auto_delete_at, file, filename, content_type, size,
                download_count, created_at, deleted_by_id, ticket_id, uploaded_by_id, organization_id)
            SELECT t.is_active, t.deleted_at, t.delete_reason, t.deletion_batch,
                CASE WHEN t.deleted_at IS NULL THEN '{}' ELSE jsonb_build_object('was_active', true,
                     'root', 'models_core.Ticket', 'cascaded', true) END,
                true, t.auto_delete_at, 'bench/' || t.id || '.txt', t.id || '.txt', 'text/plain', 100, 0,
                t.created_at, t.deleted_by_id, t.id, t.assigned_agent_id, t.organization_id
            FROM models_core_ticket t WHERE t.id %% 5 = 0
            """,
        )
        step(
            "articles",
            """
            INSERT INTO models_core_knowledgebasearticle (is_active, delete_reason, deletion_metadata,
                can_be_restored, title, slug, content, status, view_count, created_at, updated_at, author_id,
                organization_id)
            SELECT true, '', '{}', true, 'How to ' || a, 'how-to-' || a, 'Steps for ' || a, 'published', 0,
                now(), now(), (o - 1) * %s + 1, o
            FROM generate_series(1, %s) o CROSS JOIN generate_series(1, %s) a
            """,
            [USERS_PER_ORG, orgs, ARTICLES_PER_ORG],
        )
        for table in TABLES:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        t = time.perf_counter()
        for _, definition in indexes:
            cursor.execute(definition)
        log(f"  {'indexes (' + str(len(indexes)) + ')':<34} {time.perf_counter() - t:7.1f}s")
        # Re-adding a foreign key checks every row in one join, instead of one trigger call per inserted row.
        t = time.perf_counter()
        for table, name, definition in foreign_keys:
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        log(f"  {'foreign keys (' + str(len(foreign_keys)) + ')':<34} {time.perf_counter() - t:7.1f}s")
        for table in TABLES:
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        cursor.execute("DELETE FROM bench_dataset")
        cursor.execute("INSERT INTO bench_dataset VALUES (%s, %s, now())", [tickets, orgs])
    with connection.cursor() as cursor:
        t = time.perf_counter()
        for table in TABLES:
            cursor.execute(f"VACUUM ANALYZE {table}")
        log(f"  {'vacuum analyze':<34} {time.perf_counter() - t:7.1f}s")
    log(f"built {tickets:,} tickets in {orgs} organizations in {time.perf_counter() - started:.0f}s")


def ensure(tickets: int, orgs: int, *, rebuild: bool = False, log=print) -> dict:
    """The dataset of this size, built if the bench database holds another (or none)."""
    info = dataset_info()
    if rebuild or info is None or (info["tickets"], info["orgs"]) != (tickets, orgs):
        log(f"building {tickets:,} tickets in {orgs} organizations ...")
        build(tickets, orgs, log=log)
        info = dataset_info()
    return info


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=200_000)
    parser.add_argument("--orgs", type=int, default=200)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    setup_django()
    info = ensure(args.tickets, args.orgs, rebuild=args.rebuild)
    print(f"dataset: {info['tickets']:,} tickets, {info['orgs']} organizations, built {info['built_at']:%c}")


if __name__ == "__main__":
    main()
