import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from hr.services.licences import RENEWAL_WINDOW_DAYS, licence_renewal_scan
from workflows.exceptions import WorkflowError


class Command(BaseCommand):
    help = (
        f"Start a licence_renewal instance for every credential at most {RENEWAL_WINDOW_DAYS} "
        "days from expiry that has none yet (what Celery beat runs daily). Idempotent."
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
