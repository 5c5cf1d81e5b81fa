from django.core.management.base import BaseCommand

from hr.demo import DEMO_PASSWORD, demo_seed


class Command(BaseCommand):
    help = "Load the demo healthcare group (idempotent)."

    def handle(self, *args, **options):
        counts = demo_seed()
        self.stdout.write(
            f"demo group ready: {counts['org_units']} org units, {counts['employees']} demo users "
            f"among {counts['staff']} staff records, former staff included "
            f"(password for every demo user: {DEMO_PASSWORD})"
        )
