"""`make bench`: every benchmark against its baseline, measured in the same run, as one table of ratios.

    make bench                                  # 200,000 tickets in 200 organizations (built once, kept)
    make bench BENCH_TICKETS=1000000            # 1M (a few minutes to build on 2 cores)
    make bench BENCH_TICKETS=10000000 BENCH_ORGS=2000   # the design scale; build ~12 minutes, ~14 GB
    .venv/bin/python bench/run.py --only trash  # benchmarks whose name contains "trash"

The dataset lives in its own database (bench/dataset.py). Each benchmark times a measure and its baseline
alternately (`--rounds` each, after one warm-up of both) so drift in the machine's load hits both alike, and
reports the ratio of medians, of elapsed time and of this process's CPU time (on a busy machine elapsed
time is mostly waiting for a core). Server time: pages go through Django's test client (middleware, views,
templates; no network). Nothing a benchmark changes stays: writes run in a transaction rolled back, or are
undone by the benchmark itself.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DEBUG", "false")

from bench import dataset


@dataclass
class Result:
    name: str
    measure_ms: float
    baseline: str
    baseline_ms: float
    queries: int | None = None
    # CPU time of this process (Django's own work, not the database's) of each, when measured: on a shared,
    # busy machine elapsed time is mostly waiting for a core, CPU time much less so.
    measure_cpu_ms: float | None = None
    baseline_cpu_ms: float | None = None

    @property
    def ratio(self) -> float:
        return self.measure_ms / self.baseline_ms if self.baseline_ms else float("inf")

    @property
    def cpu_ratio(self) -> float | None:
        if self.measure_cpu_ms is None or not self.baseline_cpu_ms:
            return None
        return self.measure_cpu_ms / self.baseline_cpu_ms


def timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) * 1000


def timed_both(fn: Callable[[], object]) -> tuple[float, float]:
    """(elapsed ms, this process's CPU ms) of one call."""
    t, c = time.perf_counter(), time.process_time()
    fn()
    return (time.perf_counter() - t) * 1000, (time.process_time() - c) * 1000


def compare(
    name: str, measure: Callable[[], object], baseline_name: str, baseline: Callable[[], object], rounds: int
) -> Result:
    """Medians of `rounds` alternating runs of each, after one warm-up of both."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        measure()
    queries = len(captured)
    baseline()
    ours, theirs = [], []
    for _ in range(rounds):
        ours.append(timed_both(measure))
        theirs.append(timed_both(baseline))

    def median(runs: list, i: int) -> float:
        return statistics.median(r[i] for r in runs)

    return Result(
        name, median(ours, 0), baseline_name, median(theirs, 0), queries, median(ours, 1), median(theirs, 1)
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=int(os.environ.get("BENCH_TICKETS", 200_000)))
    parser.add_argument("--orgs", type=int, default=int(os.environ.get("BENCH_ORGS", 200)))
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--only", default="", help="run the benchmarks whose name contains this")
    args = parser.parse_args()
    dataset.setup_django()
    info = dataset.ensure(args.tickets, args.orgs, rebuild=args.rebuild)

    from bench import pages, purge_batch

    results: list[Result] = []
    for bench in [*pages.BENCHMARKS, purge_batch.purge_benchmark]:
        if args.only and args.only not in bench.__name__:
            continue
        for result in bench(args.rounds):
            results.append(result)
            print(
                f"  {result.name:<46} {result.measure_ms:9.1f} ms  vs {result.baseline:<34} "
                f"{result.baseline_ms:9.1f} ms  x{result.ratio:.2f}"
                + (f"  (cpu x{result.cpu_ratio:.2f})" if result.cpu_ratio is not None else ""),
                flush=True,
            )
    print()
    print(
        f"{info['tickets']:,} tickets, {info['orgs']} organizations; {os.cpu_count()} cores, "
        f"{platform.processor() or platform.machine()}, Python {platform.python_version()}; "
        f"medians of {args.rounds} alternating rounds"
    )
    print()
    print("| measure | ms | queries | baseline (same run) | ms | ratio | CPU ratio |")
    print("|---|---:|---:|---|---:|---:|---:|")
    for r in results:
        cpu = f"{r.cpu_ratio:.2f}" if r.cpu_ratio is not None else ""
        print(
            f"| {r.name} | {r.measure_ms:.1f} | {r.queries if r.queries is not None else ''} | {r.baseline} "
            f"| {r.baseline_ms:.1f} | {r.ratio:.2f} | {cpu} |"
        )


if __name__ == "__main__":
    main()
