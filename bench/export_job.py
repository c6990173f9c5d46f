"""Export jobs: memory and queries per chunk of the trash export job, for a small and a large export of the
same dataset (bench/dataset.py), and the admin ticket export job for one organization.

    .venv/bin/python bench/export_job.py --tickets 200000

Prints, per export: rows, seconds, rows a second, queries, queries per keyset chunk
(CUSTODIAN_EXPORT_CHUNK_ROWS) and the Python heap's peak while writing (tracemalloc). Memory is bounded when
the peak stays flat as the rows grow tenfold. Nothing is kept: the files and jobs it makes are deleted.
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dataset


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=200_000)
    parser.add_argument("--orgs", type=int, default=200)
    args = parser.parse_args()
    dataset.setup_django()
    dataset.ensure(args.tickets, args.orgs)

    from django.conf import settings
    from django.db import connection
    from procrastinate.contrib.django.models import ProcrastinateJob

    from dashboard.exports import files
    from dashboard.exports.models import ExportFile
    from dashboard.jobs.models import JobRun
    from models_core.models import Organization, User

    platform, _ = User.objects.get_or_create(
        username="bench-platform", defaults={"is_staff": True, "is_superuser": True}
    )
    small_org = Organization.objects.order_by("-pk").first()  # a small tenant (1 holds 10% of the tickets)
    agent = User.objects.filter(organization=small_org, is_staff=True).first()
    big_agent = User.objects.filter(organization_id=1, is_staff=True).first()
    exports = [
        ("trash csv, a small organization", agent, "trash", "format=csv", "csv"),
        ("trash csv, the big organization", big_agent, "trash", "format=csv", "csv"),
        ("trash csv, platform (every organization)", platform, "trash", "format=csv", "csv"),
        ("trash xlsx, the big organization", big_agent, "trash", "format=xlsx", "xlsx"),
        (
            "admin tickets csv, the big organization",
            platform,
            "admin",
            "_export_model=models_core.ticket&_export_resource=0&organization__id__exact=1",
            "csv",
        ),
    ]
    # No query log: with DEBUG on, Django would keep every statement (each part's bytes too) in memory.
    settings.DEBUG = False
    queries = [0]

    def count(execute, sql, params, many, context):
        queries[0] += 1
        return execute(sql, params, many, context)

    chunk = settings.CUSTODIAN_EXPORT_CHUNK_ROWS
    print(f"chunk {chunk} rows, part {settings.CUSTODIAN_EXPORT_PART_BYTES} bytes")
    print(f"{'export':45} {'rows':>8} {'s':>7} {'rows/s':>8} {'queries':>8} {'q/chunk':>8} {'peak MB':>8}")
    for name, user, source, query, fmt in exports:
        export = files.export_file_start(user=user, source=source, query=query, format_key=fmt)
        queries[0] = 0
        tracemalloc.start()
        start = time.perf_counter()
        with connection.execute_wrapper(count):
            files.export_file_write(export_id=export.pk, job_run_id=export.job_id)
        seconds = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        export.refresh_from_db()
        chunks = max(1, -(-export.rows // chunk))
        print(
            f"{name:45} {export.rows:>8} {seconds:>7.2f} {export.rows / seconds:>8.0f} {queries[0]:>8}"
            f" {queries[0] / chunks:>8.1f} {peak / 2**20:>8.1f}"
        )
        job = JobRun.objects.get(pk=export.job_id)
        ProcrastinateJob.objects.filter(pk=job.procrastinate_job_id).delete()
        ExportFile.objects.filter(pk=export.pk).delete()
        job.delete()


if __name__ == "__main__":
    main()
