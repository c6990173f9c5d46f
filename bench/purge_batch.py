"""How fast is the set-based purge against Django's Collector and against raw DELETEs of the same rows?
Prints the ratios measured in the same run.

    .venv/bin/python bench/purge_batch.py [--tickets 5000] [--comments 3] [--rounds 2] [--no-memory]
        [--strategies collector,set,raw]
    DATABASE_URL=postgres://.../custodian_bench_1m .venv/bin/python bench/purge_batch.py \
        --tickets 20000 --strategies set,raw       # a generated organization among 1M tickets
    DATABASE_URL=postgres://.../custodian_bench_1m .venv/bin/python bench/purge_batch.py \
        --organization 1 --strategies set,raw      # the dataset's own organization 1 (100k tickets)

One organization is generated with bulk inserts (an agent, a customer, `--tickets` tickets with `--comments`
comments each and an attachment per ticket; generating 100k takes tens of minutes, the comments' trigram index
most of it), or `--organization` names one of a bench dataset's; it is moved to the trash as one batch, then
hard-deleted the way every purge does (`models_core.purge.purge_roots`), once with each strategy per round,
alternating so drift in the machine's load hits both alike. Each purge runs in a savepoint rolled back
afterwards; the whole run is rolled back, so nothing stays (attachment files are never written: only their
names, and removal happens after a commit that never comes). "raw" is the floor: one hand-written DELETE per
table of the same rows, keyed on the organization every row carries, in the order the foreign keys need (no
locks, no checks, no file records). With memory on, one more purge each under tracemalloc reports the peak
Python memory (the Collector's grows with the rows, the set-based purge's should not).
"""

import argparse
import os
import statistics
import sys
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

import django

django.setup()

from django.db import connection, transaction  # noqa: E402

from bench.run import Result, compare  # noqa: E402
from models_core.models import (  # noqa: E402
    KnowledgeBaseArticle,
    Organization,
    Ticket,
    TicketAttachment,
    TicketComment,
    User,
)
from models_core.purge import purge_roots  # noqa: E402

STRATEGIES = ("collector", "set", "raw")


def generate(tickets: int, comments: int) -> Organization:
    """An organization with the given volume, inserted in bulk (factories would take minutes)."""
    suffix = f"{os.getpid()}-{time.monotonic_ns()}"
    org = Organization.objects.create(name=f"Bench purge {suffix}", slug=f"bench-purge-{suffix}")
    agent = User.objects.create(
        username=f"bench-agent-{suffix}", email=f"agent-{suffix}@example.com", organization=org
    )
    customer = User.objects.create(
        username=f"bench-customer-{suffix}",
        email=f"customer-{suffix}@example.com",
        organization=org,
        role=User.Role.CUSTOMER,
        availability_status=User.Availability.OFFLINE,
    )
    numbers = org.reserve_ticket_numbers(tickets)
    rows = Ticket.objects.bulk_create(
        [
            Ticket(
                organization=org,
                ticket_number=n,
                subject=f"Bench ticket {n}",
                customer=customer,
                assigned_agent=agent,
            )
            for n in numbers
        ],
        batch_size=2000,
    )
    TicketComment.objects.bulk_create(
        [
            TicketComment(ticket=t, author=agent, content="Bench comment")
            for t in rows
            for _ in range(comments)
        ],
        batch_size=5000,
    )
    TicketAttachment.objects.bulk_create(
        [
            TicketAttachment(
                ticket=t,
                uploaded_by=agent,
                file=f"bench/{suffix}/{t.ticket_number}.txt",
                filename=f"{t.ticket_number}.txt",
                content_type="text/plain",
                size=1,
            )
            for t in rows
        ],
        batch_size=5000,
    )
    return org


def raw_delete(org_pk: int) -> dict[str, int]:
    """The organization and its rows removed by plain DELETEs, children first; {model label: count}."""
    counts: dict[str, int] = {}
    with connection.cursor() as cursor:
        # A dataset's organization may hold staff users the page benchmarks made (bench/pages.py), in groups.
        for m2m in User._meta.many_to_many:
            through = m2m.remote_field.through._meta
            cursor.execute(
                f"DELETE FROM {through.db_table} WHERE {m2m.m2m_column_name()} IN "
                f"(SELECT id FROM {User._meta.db_table} WHERE organization_id = %s)",
                [org_pk],
            )
            if cursor.rowcount:
                counts[through.label] = cursor.rowcount
        for model in (KnowledgeBaseArticle, TicketAttachment, TicketComment, Ticket, User):
            cursor.execute(f"DELETE FROM {model._meta.db_table} WHERE organization_id = %s", [org_pk])
            counts[model._meta.label] = cursor.rowcount
        cursor.execute(f"DELETE FROM {Organization._meta.db_table} WHERE id = %s", [org_pk])
        counts[Organization._meta.label] = cursor.rowcount
    return counts


def purge(org_pk: int, strategy: str) -> tuple[float, dict[str, int]]:
    """One purge of the organization's batch inside a savepoint that is rolled back; (seconds, counts)."""
    savepoint = transaction.savepoint()
    try:
        start = time.perf_counter()
        if strategy == "raw":
            counts = raw_delete(org_pk)
        else:
            org = Organization.all_objects.get(pk=org_pk)
            [(_, counts)] = purge_roots([org], strategy=strategy)
        with connection.cursor() as cursor:
            # Django's foreign keys are deferred: each pays their checks inside its timing, as at a commit.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        return time.perf_counter() - start, {k: v for k, v in counts.items() if v}
    finally:
        transaction.savepoint_rollback(savepoint)


def purge_benchmark(rounds: int) -> Iterator[Result]:
    """For `make bench` (bench/run.py): a generated 2,000-ticket organization's purge against raw DELETEs of
    the same rows, among the dataset's tickets (issue 15's goal: <= 3x). Rolled back, as `main`'s."""
    with transaction.atomic():
        org = generate(2000, 3)
        org.soft_delete(reason="bench")
        yield compare(
            "purge of a 2,000-ticket organization",
            lambda: purge(org.pk, "set"),
            "raw DELETEs of the same rows",
            lambda: purge(org.pk, "raw"),
            max(rounds // 2, 1),
        )
        transaction.set_rollback(True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=5000)
    parser.add_argument("--comments", type=int, default=3, help="comments per ticket")
    parser.add_argument(
        "--organization", type=int, help="purge this organization of the database instead of generating one"
    )
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-memory", action="store_true", help="skip the tracemalloc pass")
    parser.add_argument(
        "--strategies",
        default=",".join(STRATEGIES),
        help="which to time, comma-separated (the Collector takes minutes and GBs at 100k tickets)",
    )
    args = parser.parse_args()
    strategies = tuple(s for s in STRATEGIES if s in args.strategies.split(","))
    if "set" not in strategies or len(strategies) < 2:
        parser.error("--strategies: 'set' and at least one of collector, raw")
    with transaction.atomic():
        start = time.perf_counter()
        if args.organization is not None:
            org = Organization.objects.get(pk=args.organization)
            made = f"trashed organization {org.pk}"
        else:
            org = generate(args.tickets, args.comments)
            made = (
                f"generated and trashed {args.tickets} tickets, {args.tickets * args.comments} comments, "
                f"{args.tickets} attachments"
            )
        org.soft_delete(reason="bench")
        print(f"{made} in {time.perf_counter() - start:.1f}s")
        times: dict[str, list[float]] = {s: [] for s in strategies}
        counts: dict[str, dict[str, int]] = {}
        for round_ in range(args.rounds):
            # Alternate which goes first: a warm cache should not favour one strategy.
            for strategy in strategies if round_ % 2 == 0 else reversed(strategies):
                elapsed, counts[strategy] = purge(org.pk, strategy)
                times[strategy].append(elapsed)
        if any(c != counts["set"] for c in counts.values()):
            raise SystemExit(f"counts differ: {counts}")
        print(f"removed per purge: {counts['set']}")
        median = {s: statistics.median(times[s]) for s in strategies}
        for strategy in strategies:
            print(f"{strategy:>9}: median {median[strategy]:.3f}s over {args.rounds} rounds")
        if "collector" in median:
            ratio = median["set"] / median["collector"]
            print(f"set-based / collector time: {ratio:.3f} ({1 / ratio:.1f}x faster)")
        if "raw" in median:
            print(f"set-based / raw DELETEs time: {median['set'] / median['raw']:.2f}x")
        if not args.no_memory:
            for strategy in strategies:
                tracemalloc.start()
                purge(org.pk, strategy)
                _, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
                print(f"{strategy:>9}: peak Python memory {peak / 2**20:.1f} MiB")
        transaction.set_rollback(True)


if __name__ == "__main__":
    main()
