import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from hr.services.licences import RENEWAL_WINDOW_MONTHS, licence_renewal_scan
from workflows.exceptions import WorkflowError


class Command(BaseCommand):
    help = (
        "Start a licence_renewal instance for every credential whose reminder date "
        f"({RENEWAL_WINDOW_MONTHS} calendar months before its last valid day) has come and "
        "that has none yet (what Celery beat runs daily). Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--today",
            type=dt.date.fromisoformat,
            default=None,
            help="YYYY-MM-DD (tests, backfills)",
        )

    def handle(self, *args, **options):
        try:
            started = licence_renewal_scan(today=options["today"])
        except WorkflowError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"licence renewals started: {len(started)}")
        for instance in started:
            self.stdout.write(f"  instance {instance.pk} {instance.business_key}")
