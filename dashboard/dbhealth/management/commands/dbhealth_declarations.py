from django.core.management.base import BaseCommand

from dashboard.dbhealth.services import declared_definitions_store


class Command(BaseCommand):
    help = (
        "Compute the declared indexes' definitions as PostgreSQL normalises them and store them for the DB "
        "health pages (migrate does this too). Needs the TEMP privilege: run it as the deploying role."
    )

    def handle(self, *args, **options) -> None:
        count = declared_definitions_store()
        self.stdout.write(f"Stored {count} declared index definitions.")
