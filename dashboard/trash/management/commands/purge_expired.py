"""manage.py purge_expired [--dry-run]: hard-delete what is past its retention (auto_delete_at)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from tqdm import tqdm

from dashboard.trash.retention import trash_purge_expired


class Command(BaseCommand):
    help = "Purge soft-deleted rows whose retention period ended (one transaction per batch)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Only count what is due; remove nothing.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar (e.g. under cron).")

    def handle(self, *args: Any, dry_run: bool = False, no_progress: bool = False, **options: Any) -> None:
        bar: tqdm | None = None

        def progress(done: int, total: int) -> None:
            nonlocal bar
            if no_progress:
                return
            if bar is None:
                bar = tqdm(total=total, unit="row", desc="Purging", file=self.stderr._out)
            bar.update(done - bar.n)

        result = trash_purge_expired(dry_run=dry_run, progress=progress)
        if bar is not None:
            bar.close()
        due = result["due"]
        if not due:
            self.stdout.write("Nothing is past its retention.")
            return
        for label, count in due.items():
            self.stdout.write(f"due  {label}: {count}")
        if dry_run:
            self.stdout.write(f"Dry run: {sum(due.values())} rows would be purged; nothing was removed.")
            return
        for label, count in result["purged"].items():
            self.stdout.write(f"purged  {label}: {count}")
        if result["skipped"]:
            self.stdout.write(self.style.WARNING(f"Skipped {result['skipped']} rows:"))
            for problem in result["problems"]:
                self.stdout.write(f"  {problem}")
        if result["files_not_removed"]:
            self.stdout.write(
                self.style.WARNING(
                    f"{result['files_not_removed']} files could not be removed from the storage yet; they "
                    "are listed on the trash's purge records page and retried hourly (trash.sweep_files)."
                )
            )
        self.stdout.write(self.style.SUCCESS(f"Purged {sum(result['purged'].values())} rows."))
