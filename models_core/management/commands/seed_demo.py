"""`manage.py seed_demo`: realistic demo data for the console (see models_core.demo for what it writes).

Runs once into a database: a second run refuses unless told what to do with the earlier demo data:
`--reset` hard-deletes the organizations an earlier seed_demo created (and everything of theirs) first,
`--append` adds more organizations next to them (slugs made unique). Other organizations are never touched.

stdout stays empty: the progress bar and the closing summary are diagnostics, on stderr, so a caller such
as setup_demo keeps its own output (the sign-in table) clean.
"""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError, OutputWrapper
from django.db import ProgrammingError, transaction
from tqdm import tqdm

from models_core.demo import (
    MAX_ORGANIZATIONS,
    MAX_TICKETS,
    demo_organizations,
    remove_demo_data,
    seed_demo_data,
)


def bounded_int(low: int, high: int) -> Any:
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
        if not low <= number <= high:
            raise argparse.ArgumentTypeError(f"{number} is out of range ({low} to {high})")
        return number

    return parse


class _RawStream:
    """tqdm redraws its line with "\\r"; Django's OutputWrapper would end every redraw with a newline."""

    def __init__(self, wrapper: OutputWrapper) -> None:
        self._wrapper = wrapper

    def write(self, text: str) -> None:
        # Django styles everything on a terminal's stderr as an error (red); a progress bar is not one.
        self._wrapper.write(text, style_func=str, ending="")

    def flush(self) -> None:
        self._wrapper.flush()


class Command(BaseCommand):
    help = "Create realistic demo organizations, people, tickets and a trash with something in it."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--orgs",
            type=bounded_int(1, MAX_ORGANIZATIONS),
            default=3,
            help="Organizations to create (plus one offboarded one that ends in the trash). Default 3.",
        )
        parser.add_argument(
            "--tickets",
            type=bounded_int(0, MAX_TICKETS),
            default=300,
            help="Tickets in all, shared among the organizations. Default 300.",
        )
        parser.add_argument(
            "--seed", type=int, default=42, help="Random seed; the same seed gives the same data."
        )
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            "--reset", action="store_true", help="First hard-delete the demo data of earlier seed_demo runs."
        )
        mode.add_argument(
            "--append", action="store_true", help="Keep earlier demo data and add more organizations."
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bar on stderr.")

    def handle(
        self,
        *args: Any,
        orgs: int,
        tickets: int,
        seed: int,
        reset: bool,
        append: bool,
        no_progress: bool,
        **options: Any,
    ) -> None:
        try:
            existing = demo_organizations().count()
        except ProgrammingError as exc:
            raise CommandError(f"The database is not ready ({exc}). Run `manage.py migrate` first.") from exc
        if existing and not (reset or append):
            raise CommandError(
                f"Demo data from an earlier seed_demo is here ({existing} organizations). "
                "Pass --reset to replace it or --append to add to it."
            )
        show = not no_progress and self.stderr.isatty()
        # One transaction for the reset and the seed: a failed seed leaves the earlier demo data in place.
        with transaction.atomic():
            if reset and existing:
                removed = remove_demo_data()
                self.stderr.write(
                    f"Removed {removed} demo organizations and everything in them.", style_func=str
                )
            with tqdm(
                total=tickets, unit="ticket", file=_RawStream(self.stderr), disable=not show, desc="seed_demo"
            ) as bar:
                result = seed_demo_data(organizations=orgs, tickets=tickets, seed=seed, progress=bar.update)
        counts = ", ".join(f"{n} {label.split('.')[-1]}" for label, n in sorted(result.counts.items()))
        trashed = len(result.trashed_batches)
        self.stderr.write(
            f"Seeded {len(result.organizations)} organizations (seed {seed}) in {result.seconds:.1f} s: "
            f"{counts}. {trashed} soft deletes, {result.due_for_purge} rows due for purge within days, "
            f"legacy rows: {result.legacy}.",
            style_func=self.style.SUCCESS,
        )
