"""Put last month's most appreciated stories to group HR (monthly; Celery beat runs it too)."""

import datetime as dt

from django.core.management.base import BaseCommand

from hr.services import stories


class Command(BaseCommand):
    help = "Open the monthly story award for the month before --date (default: today); idempotent."

    def add_arguments(self, parser):
        parser.add_argument(
            "--date", type=dt.date.fromisoformat, help="run as of this day (default: today)"
        )

    def handle(self, *args, **options):
        award = stories.story_monthly_award_start(today=options["date"])
        if award is None:
            self.stdout.write("no award round opened (already open, or no candidates)")
            return
        count = len(award.candidates)
        self.stdout.write(f"award round {award.period_date:%Y-%m} opened with {count} candidates")
