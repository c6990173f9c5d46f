from django.core.management.base import BaseCommand, CommandParser

from dashboard.dbhealth.models import SnapshotRun
from dashboard.dbhealth.recorder import violation_context
from dashboard.dbhealth.services import dbhealth_prune, dbhealth_snapshot_take


class Command(BaseCommand):
    help = "Store a snapshot of index and table statistics (the hourly dbhealth.snapshot job does the same)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--prune",
            action="store_true",
            help="Also delete snapshots and violation records past the retention.",
        )

    def handle(self, *args, **options) -> None:
        with violation_context("command", "dbhealth_snapshot"):
            run = dbhealth_snapshot_take(SnapshotRun.Source.COMMAND)
            self.stdout.write(
                f"Snapshot {run.pk} at {run.taken_at:%Y-%m-%d %H:%M:%S} UTC: {run.index_count} indexes, "
                f"{run.table_count} tables (statistics since {run.stats_reset or 'the cluster started'})."
            )
            if options["prune"]:
                pruned = dbhealth_prune()
                self.stdout.write("Pruned: " + ", ".join(f"{n} {what}" for what, n in pruned.items()))
