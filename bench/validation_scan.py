"""Benchmark: a scan of the ticket rules that have a `Q`, against the equivalent raw SQL counts.

Generates N tickets (default 200,000; ~1% break each of two rules) in a scratch organization, then times,
in the same run:
- baseline: one `SELECT count(*) ... WHERE <violation>` per rule, the SQL a hand-written check would run;
- scan: `_rule_scan()` per rule (upsert of failing ids, counts per organization, sample).
Prints the ratio scan / baseline. Everything is rolled back at the end.

    .venv/bin/python bench/validation_scan.py            # 200k tickets
    .venv/bin/python bench/validation_scan.py 1000000    # 1M tickets (a few minutes)
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

import django

django.setup()

from django.db import connection, transaction  # noqa: E402


class Rollback(Exception):
    pass


def generate(n: int) -> None:
    """Tickets by INSERT ... SELECT generate_series (fast): 1 in 100 with a blank subject, 1 in 100 resolved
    without a resolution time."""
    from models_core.models import Organization, User

    org = Organization.objects.create(name="Bench", slug=f"bench-{time.time_ns()}")
    customer = User.objects.create_user(f"bench-{time.time_ns()}", role="customer", organization=org)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO models_core_ticket (organization_id, ticket_number, subject, description, status,
                priority, customer_id, tags, custom_fields, sla_breach, created_at, updated_at, resolved_at,
                is_active, delete_reason, deletion_metadata, can_be_restored)
            SELECT %s, g, CASE WHEN g %% 100 = 0 THEN '' ELSE 'Ticket ' || g END, '',
                CASE WHEN g %% 100 = 1 THEN 'resolved' ELSE 'open' END, 'medium', %s, '[]', '{}', false,
                now() - interval '1 day', now(), NULL, true, '', '{}', true
            FROM generate_series(1, %s) AS g
            """,
            [org.pk, customer.pk, n],
        )
        cursor.execute("ANALYZE models_core_ticket")


def main() -> None:
    from dashboard.validation import selectors, services
    from models_core.models import Ticket
    from models_core.validation import validator

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    rules = [r for r in validator.rules_for(Ticket) if r.has_query]
    try:
        with transaction.atomic():
            t = time.perf_counter()
            generate(n)
            print(f"generated {n} tickets in {time.perf_counter() - t:.1f}s; {len(rules)} rules with a Q")
            scan = services.validation_scan_create(None)
            # Warm the cache once so neither side pays the first read from disk.
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM models_core_ticket")
            baseline = 0.0
            for rule in rules:
                sql, params = (
                    selectors.live_rows(Ticket)
                    .filter(rule.violation_q())
                    .values("pk")
                    .query.sql_with_params()
                )
                t = time.perf_counter()
                with connection.cursor() as cursor:
                    cursor.execute(f"SELECT count(*) FROM ({sql}) AS s", params)
                    count = cursor.fetchone()[0]
                baseline += time.perf_counter() - t
                print(f"  {rule.name:40s} {count:>8} failing")
            scanned = 0.0
            for rule in rules:
                t = time.perf_counter()
                services._rule_scan(scan, Ticket, rule)
                scanned += time.perf_counter() - t
            print(f"baseline (raw SQL counts): {baseline:.3f}s")
            print(f"scan (upsert + counts + sample): {scanned:.3f}s")
            print(f"ratio scan/baseline: {scanned / baseline:.2f}")
            raise Rollback
    except Rollback:
        pass


if __name__ == "__main__":
    main()
