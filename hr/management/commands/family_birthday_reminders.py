"""Start the birthday greetings due (the daily family-care scan; Celery beat runs it too)."""

import datetime as dt

from django.core.management.base import BaseCommand

from hr.services import family


class Command(BaseCommand):
    help = "Remind managers of the birthdays of their staff's children (with consent); idempotent."

    def add_arguments(self, parser):
        parser.add_argument(
            "--date", type=dt.date.fromisoformat, help="scan as of this day (default: today)"
        )

    def handle(self, *args, **options):
        sent = family.family_birthday_reminders_send(today=options["date"])
        self.stdout.write(f"{len(sent)} birthday reminders started")
