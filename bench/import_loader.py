"""Benchmark: the import dry run with dataio's ScopedInstanceLoader vs import-export's ModelInstanceLoader.

Both import the same CSV (N rows, each updating one existing ticket's priority) as a dry run, the way the
admin previews a file. The baseline finds each row's record with one query per row (ModelInstanceLoader over
the same scoped queryset); dataio loads every record of the file up front (one query for live rows, one for
trashed ones among the rest). Prints time and query counts of both, and the ratios. All rolled back.

    .venv/bin/python bench/import_loader.py          # 2,000 rows, the default row cap of one import
    .venv/bin/python bench/import_loader.py 500
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


def main() -> None:
    from import_export.instance_loaders import ModelInstanceLoader

    from dashboard import formats
    from dashboard.dataio.resources import TicketResource
    from dashboard.dataio.services import import_dataset_parse
    from models_core.models import Organization, Ticket, User

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000

    class BaselineResource(TicketResource):
        class Meta(TicketResource.Meta):
            instance_loader_class = ModelInstanceLoader

    try:
        with transaction.atomic():
            stamp = time.time_ns()
            org = Organization.objects.create(name="Bench", slug=f"bench-{stamp}")
            admin = User.objects.create_user(f"bench-admin-{stamp}", organization=org, is_staff=True)
            customer = User.objects.create_user(f"bench-{stamp}", role="customer", organization=org)
            numbers = org.reserve_ticket_numbers(n)
            Ticket.objects.bulk_create(
                Ticket(organization=org, ticket_number=number, subject=f"Ticket {number}", customer=customer)
                for number in numbers
            )
            ids = Ticket.objects.filter(organization=org).values_list("pk", flat=True)
            data = "id,priority\n" + "".join(f"{pk},high\n" for pk in ids)
            dataset = import_dataset_parse(data.encode(), formats.CSV)

            timings = {}
            for name, resource_class in (("baseline", BaselineResource), ("dataio", TicketResource)):
                queries = [0]

                def count(execute, sql, params, many, context, queries=queries):
                    queries[0] += 1
                    return execute(sql, params, many, context)

                with connection.execute_wrapper(count):
                    started = time.perf_counter()
                    result = resource_class(user=admin).import_data(
                        dataset, dry_run=True, use_transactions=True
                    )
                    elapsed = time.perf_counter() - started
                assert not result.has_errors() and not result.has_validation_errors()
                assert result.totals["update"] == n
                timings[name] = (elapsed, queries[0])
                print(f"{name:9} {elapsed:7.2f} s  {queries[0]:7} queries  ({elapsed / n * 1000:.2f} ms/row)")
            (base_t, base_q), (ours_t, ours_q) = timings["baseline"], timings["dataio"]
            print(f"ratio dataio/baseline: time {ours_t / base_t:.2f}, queries {ours_q / base_q:.2f}")
            raise Rollback
    except Rollback:
        pass


if __name__ == "__main__":
    main()
