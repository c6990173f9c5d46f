"""`manage.py validation_scan`: run a validation scan here and now, with a progress bar."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from dashboard.validation.services import ScanRefused, validation_scan_create, validation_scan_run


class Command(BaseCommand):
    help = "Check every validation rule against the live rows and store the results as a new scan."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--no-progress", action="store_true", help="Do not draw the progress bar.")

    def handle(self, *args: Any, no_progress: bool = False, **options: Any) -> None:
        try:
            scan = validation_scan_create(user=None)
        except ScanRefused as exc:
            raise CommandError(str(exc)) from exc
        bar = tqdm(total=None, unit="rule", disable=no_progress, file=self.stderr._out)

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        try:
            scan = validation_scan_run(scan.pk, progress=progress)
        finally:
            bar.close()
        self.stdout.write(
            f"Scan #{scan.pk}: {scan.violations_total} violations ({scan.waived_total} waived), "
            f"{scan.new_total} new, {scan.resolved_total} resolved, "
            f"{scan.rules_errored} of {scan.rules_total} rules errored."
        )
        for result in scan.results.filter(errored=True):
            self.stderr.write(f"  {result.model_label}.{result.rule_name}: {result.error_message}")
