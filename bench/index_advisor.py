"""Does the index advisor find the index a workload needs, and is its estimate honest? Ratios in one run.

    .venv/bin/python bench/index_advisor.py [--tickets 100000] [--statements 5000] [--indexes 300]
                                            [--rounds 3] [--keep]

In a database of its own (created with the migrations, dropped at the end unless --keep):
1. Known missing index: `--tickets` tickets over 50 organizations (a tenth in the trash), the project's own
   `idx_ticket_trash` dropped, and the trash page's query run for every organization. The advisor must
   propose exactly that index (or one beginning with its columns, same predicate). Its estimated gain in
   server time (dashboard.dbhealth.advisor.timing) is compared with the gain measured by running the
   workload before and after creating the real index (pg_stat_statements' mean execution time): the ratio
   must lie within 2x, in each of `--rounds` rounds (each drops the index, runs the workload and advises).
2. A workload no index helps (primary-key lookups, a whole-table count): no advice.
3. Scale: `--statements` distinct statements in pg_stat_statements and at least `--indexes` indexes in the
   database (the project's own, then two-column indexes on a table of the bench's own): the advisor page's
   time and query count, and the run's time.
Needs pg_stat_statements preloaded and HypoPG (the private cluster of scripts/pg.sh has both).
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from dashboard.dbhealth.advisor.services import advisor_run  # noqa: E402
from dashboard.dbhealth.models import IndexAdvice  # noqa: E402

DROPPED = "idx_ticket_trash"
TRASH_PAGE = (
    "SELECT id FROM models_core_ticket WHERE organization_id = %s AND deleted_at IS NOT NULL "
    "ORDER BY deleted_at DESC, id DESC LIMIT 50"
)


def sql(statement: str, params: list | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])
        return cursor.fetchall() if cursor.description else []


def generate(tickets: int) -> list[int]:
    from models_core.models import Organization, User

    # The private cluster commits asynchronously; VACUUM cannot mark a page all-visible before the commit
    # of its rows is on disk, so this session's commits wait for theirs.
    sql("SET synchronous_commit = on")
    orgs = Organization.objects.bulk_create(
        [Organization(name=f"Bench {n}", slug=f"bench-{n}") for n in range(50)]
    )
    customer = User.objects.create(username="bench-customer", email="c@example.com", organization=orgs[0]).pk
    orgs = [org.pk for org in orgs]
    sql(
        """
        INSERT INTO models_core_ticket (is_active, deleted_at, delete_reason, deletion_metadata,
            can_be_restored, ticket_number, subject, description, status, priority, tags, custom_fields,
            sla_breach, created_at, updated_at, customer_id, organization_id)
        -- Every organization gets a tenth of its tickets in the trash (g / 50 and g mod 50 are independent).
        SELECT (g / 50) %% 10 <> 0, CASE WHEN (g / 50) %% 10 = 0 THEN now() - g * interval '1 second' END,
            '', '{}', true,
            g, 'Subject ' || g, '', 'open', 'low', '[]', '{}', false, now(), now(), %s,
            (%s::bigint[])[1 + g %% 50]
        FROM generate_series(1, %s) g
        """,
        [customer, orgs, tickets],
    )
    # A table in its steady state, as autovacuum leaves it (visibility map set): otherwise whether
    # autovacuum got to it before a round decides whether index-only scans touch the heap.
    sql("VACUUM ANALYZE models_core_ticket")
    sql("ANALYZE")
    return orgs


def stats_reset() -> None:
    """Forget this database's statements only: other databases of the cluster (a test run) keep theirs."""
    sql(
        "SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database "
        "WHERE datname = current_database()), 0)"
    )


def workload(orgs: list[int], passes: int) -> None:
    for _ in range(passes):
        for org in orgs:
            sql(TRASH_PAGE, [org])


def timed_workload(orgs: list[int], passes: int) -> float:
    """Mean server execution time (ms) of one trash query, as pg_stat_statements measures it: the time the
    advisor reads as the workload's, without client round trips or EXPLAIN ANALYZE's own overhead."""
    stats_reset()
    workload(orgs, passes)
    row = sql(
        "SELECT SUM(total_exec_time) / SUM(calls) FROM pg_stat_statements s "
        "JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = current_database() "
        "AND s.query LIKE %s",
        ["%deleted_at DESC, id DESC LIMIT $%"],
    )
    return float(row[0][0])


def known_missing_index_once(orgs: list[int], round_number: int) -> tuple[bool, float | None]:
    """Drop the index, run the workload, advise; then create the advised index and measure the gain."""
    definition = sql("SELECT pg_get_indexdef(%s::regclass)", [DROPPED])[0][0]
    sql(f"DROP INDEX {DROPPED}")
    try:
        stats_reset()
        workload(orgs, 8)
        run = advisor_run()
        proven = list(IndexAdvice.objects.filter(run=run, proven=True))
        match = [
            a
            for a in proven
            if "(organization_id, deleted_at DESC, id DESC" in a.definition
            and "WHERE deleted_at IS NOT NULL" in a.definition
        ]
        print(f"1.{round_number} dropped {DROPPED}; advisor proposed {len(proven)} index(es):")
        for advice in proven:
            print(
                f"   {advice.definition}  (planner cost {advice.gain:.1f}x cheaper, "
                f"estimated server time {advice.time_gain or 0:.1f}x less)"
            )
        if not match or len(proven) != 1:
            print("   MISSED: not exactly one proposal starting with the dropped index's columns")
            return False, None
        advice = match[0]
        # Without and with the real index, in turns: a machine whose load changes meanwhile moves both.
        befores, afters = [], []
        for _ in range(3):
            befores.append(timed_workload(orgs, 8))
            sql(advice.definition)
            afters.append(timed_workload(orgs, 8))
            sql(f"DROP INDEX {advice.definition.split()[2]}")
        before, after = statistics.median(befores), statistics.median(afters)
        measured = before / after
        ratio = (advice.time_gain or 0) / measured
        ok = 0.5 <= ratio <= 2
        print(f"   measured: {before:.4f} ms -> {after:.4f} ms per query = {measured:.1f}x less server time")
        print(
            f"   estimate {advice.time_gain or 0:.1f}x / measured {measured:.1f}x = {ratio:.2f} "
            f"(goal 0.5 .. 2): {'ok' if ok else 'OUTSIDE'}"
        )
        return ok, ratio
    finally:
        sql(definition)


def known_missing_index(orgs: list[int], rounds: int) -> bool:
    results = [known_missing_index_once(orgs, n) for n in range(1, rounds + 1)]
    ratios = [f"{r:.2f}" if r is not None else "missed" for _, r in results]
    within = sum(ok for ok, _ in results)
    print(
        f"   estimate / measured over {rounds} rounds: {', '.join(ratios)}; within 2x in {within} of {rounds}"
    )
    return within == rounds


def no_index_helps(orgs: list[int]) -> bool:
    stats_reset()
    for n in range(1, 200):
        sql("SELECT subject FROM models_core_ticket WHERE id = %s", [n])
    sql("SELECT count(*) FROM models_core_ticket")
    run = advisor_run()
    count = IndexAdvice.objects.filter(run=run).count()
    print(
        f"2. pk lookups and a whole-table count: {count} advice (goal 0): {'ok' if count == 0 else 'WRONG'}"
    )
    return count == 0


def indexes_add(total: int) -> int:
    """Indexes on a table of the bench's own until the database holds `total`; returns how many it holds."""
    held = sql("SELECT count(*) FROM pg_stat_user_indexes")[0][0]
    if held < total:
        columns = [f"c{n}" for n in range(20)]
        sql(f"CREATE TABLE bench_wide (id bigint PRIMARY KEY, {', '.join(f'{c} integer' for c in columns)})")
        sql(
            f"INSERT INTO bench_wide SELECT g, {', '.join(f'g %% {n + 2}' for n in range(len(columns)))} "
            "FROM generate_series(1, 10000) g"
        )
        pairs = [(a, b) for a in columns for b in columns if a != b]  # 380 distinct two-column keys
        for n, (a, b) in enumerate(pairs[: total - held - 1]):  # the primary key is one
            sql(f"CREATE INDEX bench_wide_{n} ON bench_wide ({a}, {b})")
        sql("ANALYZE bench_wide")
    return sql("SELECT count(*) FROM pg_stat_user_indexes")[0][0]


def scale(statements: int, indexes: int) -> None:
    from django.test.utils import CaptureQueriesContext

    indexes = indexes_add(indexes)
    stats_reset()
    columns = [
        "subject",
        "status",
        "priority",
        "ticket_number",
        "created_at",
        "updated_at",
        "organization_id",
        "customer_id",
        "sla_breach",
        "tags",
        "custom_fields",
        "description",
        "is_active",
        "deleted_at",
        "delete_reason",
        "can_be_restored",
        "resolution_due",
        "first_response_due",
        "resolved_at",
        "assigned_agent_id",
        "deletion_batch",
        "auto_delete_at",
        "first_responded_at",
        "customer_satisfaction_score",
        "time_to_first_response",
    ]
    made = 0
    for size in range(1, statements // len(columns) + 2):
        for column in columns:
            if made >= statements:
                break
            marks = ", ".join(["%s"] * size)
            sql(f"SELECT {column} FROM models_core_ticket WHERE id IN ({marks})", list(range(1, size + 1)))
            made += 1
    # This database's statements; pg_stat_statements.max (5000 by default) is the whole cluster's, and a
    # full view evicts the least used 5%, so a cluster at the cap holds a little under it.
    held = sql(
        "SELECT count(*) FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid "
        "WHERE d.datname = current_database()"
    )[0][0]
    cluster = sql("SELECT count(*), current_setting('pg_stat_statements.max') FROM pg_stat_statements")[0]
    start = time.perf_counter()
    advisor_run()
    run_seconds = time.perf_counter() - start
    from models_core.models import User

    dba = User.objects.create(username="bench-dba", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(dba)
    # The query log is a deque of 9,000 by then (the workload above): a full one cannot be sliced by count.
    reset_queries()
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/dashboard/dbhealth/advisor/").status_code == 200
    page_queries = len(queries)  # now: the next request empties the connection's query log
    page, usage = [], []
    for _ in range(5):
        start = time.perf_counter()
        assert client.get("/dashboard/dbhealth/advisor/").status_code == 200
        page.append(time.perf_counter() - start)
        start = time.perf_counter()
        assert client.get("/dashboard/dbhealth/indexes/").status_code == 200
        usage.append(time.perf_counter() - start)
    p, u = statistics.median(page), statistics.median(usage)
    load = os.getloadavg()
    print(
        f"3. {cluster[0]} statements in pg_stat_statements (pg_stat_statements.max {cluster[1]}; {held} of "
        f"this database), {indexes} indexes: advisor run {run_seconds:.1f} s "
        f"(background job); advisor page {p * 1000:.0f} ms (goal <= 1000, {page_queries} queries), "
        f"index usage page {u * 1000:.0f} ms: ratio {p / u:.2f} (load average {load[0]:.1f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--statements", type=int, default=5000)
    parser.add_argument("--indexes", type=int, default=300, help="indexes the database holds at least")
    parser.add_argument("--rounds", type=int, default=3, help="known-missing-index comparisons")
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    args = parser.parse_args()
    setup_test_environment()
    connection.settings_dict["TEST"]["NAME"] = f"{connection.settings_dict['NAME']}_bench_advisor"
    settings.ALLOWED_HOSTS = ["*"]
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        start = time.perf_counter()
        orgs = generate(args.tickets)
        print(f"{args.tickets} tickets over {len(orgs)} organizations in {time.perf_counter() - start:.1f} s")
        ok = known_missing_index(orgs, args.rounds)
        ok = no_index_helps(orgs) and ok
        scale(args.statements, args.indexes)
    finally:
        if not args.keep:
            connection.creation.destroy_test_db(old_name, verbosity=0)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
