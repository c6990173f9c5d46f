"""Benchmark: a scan of the ticket rules that have a `Q`, against the equivalent raw SQL counts.

Generates N tickets (default 200,000; ~1% break each of two rules) in a scratch organization, then times,
in the same run:
- baseline: one `SELECT count(*) ... WHERE <violation>` per rule, the SQL a hand-written check would run;
- scan: `_rule_scan()` per rule (failing keys collected, upserted, counts per organization, sample).
Both run once to warm up (the first scan stores every violation as new), then alternately `rounds` times
(default 5); prints the ratio of medians scan / baseline. The tickets are committed (a scan reads committed
rows) and deleted at the end, with the scans and their violations.

    .venv/bin/python bench/validation_scan.py              # 200k tickets
    .venv/bin/python bench/validation_scan.py 1000000      # 1M tickets (a few minutes)
    .venv/bin/python bench/validation_scan.py 200000 9     # 9 rounds
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

import django

django.setup()

from django.db import connection  # noqa: E402


def generate(n: int) -> tuple[int, int]:
    """Tickets by INSERT ... SELECT generate_series (fast): 1 in 100 with a blank subject, 1 in 100 resolved
    without a resolution time. Returns (organization id, customer id)."""
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
        cursor.execute("VACUUM ANALYZE models_core_ticket")
    return org.pk, customer.pk


def cleanup(org_id: int, customer_id: int, scan_ids: list[int]) -> None:
    from dashboard.validation.models import ValidationScan
    from models_core.models import Organization, User

    ValidationScan.objects.filter(pk__in=scan_ids).delete()  # results, counts and violations cascade
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM models_core_ticket WHERE organization_id = %s", [org_id])
    User.all_objects.filter(pk=customer_id).hard_delete()
    Organization.all_objects.filter(pk=org_id).hard_delete()


def counts_run(rules: list, sqls: list[tuple[str, list]]) -> dict[str, int]:
    failing = {}
    with connection.cursor() as cursor:
        for rule, (sql, params) in zip(rules, sqls, strict=True):
            cursor.execute(f"SELECT count(*) FROM ({sql}) AS s", params)
            failing[rule.name] = cursor.fetchone()[0]
    return failing


def scan_run(rules: list, scan_ids: list[int]) -> dict[str, int]:
    from dashboard.validation import services
    from dashboard.validation.models import ValidationScan
    from models_core.models import Ticket

    scan = services.validation_scan_create(None)
    scan_ids.append(scan.pk)
    failing = {rule.name: services._rule_scan(scan, Ticket, rule).violations for rule in rules}
    # What validation_scan_run does at the end: the next round's scan compares itself with this one.
    ValidationScan.objects.filter(pk=scan.pk).update(status=ValidationScan.Status.SUCCEEDED)
    return failing


def main() -> None:
    from dashboard.validation import selectors
    from models_core.models import Ticket
    from models_core.validation import validator

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    rules = [r for r in validator.rules_for(Ticket) if r.has_query]
    sqls = [
        selectors.live_rows(Ticket).filter(rule.violation_q()).values("pk").query.sql_with_params()
        for rule in rules
    ]
    # Committed, as a scan finds them: tickets inserted by the same open transaction make every DDL
    # statement of the scan (its temporary table) several times slower than it is on committed data.
    t = time.perf_counter()
    org_id, customer_id = generate(n)
    print(f"generated {n} tickets in {time.perf_counter() - t:.1f}s; {len(rules)} rules with a Q")
    scan_ids: list[int] = []
    try:
        # One warm-up of both, so neither side pays the first read from disk; the first scan stores every
        # violation as new, the ones timed below find them unchanged (a scan's usual case).
        failing = counts_run(rules, sqls)
        assert scan_run(rules, scan_ids) == failing, "the scan and the raw counts disagree"
        for name, count in failing.items():
            print(f"  {name:40s} {count:>8} failing")
        baseline: list[float] = []
        scanned: list[float] = []
        for i in range(rounds):
            # Scans run daily and autovacuum visits the violation table within minutes of one: each timed
            # scan starts, as in production, without the dead row versions the previous one left.
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE validation_violation")
            # Alternate which goes first, so drift in the machine's load hits both alike.
            order = [
                (baseline, lambda: counts_run(rules, sqls)),
                (scanned, lambda: scan_run(rules, scan_ids)),
            ]
            for times, fn in order if i % 2 == 0 else reversed(order):
                t = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t)
        base, scan = statistics.median(baseline), statistics.median(scanned)
        print(f"load average {os.getloadavg()[0]:.1f}; medians of {rounds} alternating rounds")
        print(f"baseline (raw SQL counts): {base:.3f}s")
        print(f"scan (collect + upsert + counts + sample): {scan:.3f}s")
        print(f"ratio scan/baseline: {scan / base:.2f}")
    finally:
        cleanup(org_id, customer_id, scan_ids)


if __name__ == "__main__":
    main()
