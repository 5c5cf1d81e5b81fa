import subprocess
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from workflows.management.commands._postgres import client_args, from_url, program


class Command(BaseCommand):
    help = (
        "Restore a dump written by `manage.py backup` into an empty PostgreSQL database, in one "
        "transaction (a failed restore leaves nothing behind). Run CareFlow against it with the "
        "same CAREFLOW_FIELD_KEYS as when the dump was taken."
    )

    def add_arguments(self, parser):
        parser.add_argument("input", help="the dump file written by `manage.py backup`")
        parser.add_argument(
            "--database-url",
            help="where to restore (an existing, empty database); default: the configured one",
        )

    def handle(self, *args, **options):
        source = Path(options["input"])
        if not source.is_file():
            raise CommandError(f"no dump file {source}")
        database = (
            from_url(options["database_url"])
            if options["database_url"]
            else settings.DATABASES["default"]
        )
        connection_args, env = client_args(database)
        command = [
            program("pg_restore"),
            *connection_args,
            f"--dbname={database['NAME']}",
            "--single-transaction",
            "--exit-on-error",
            "--no-owner",
            "--no-privileges",
            str(source),
        ]
        result = subprocess.run(command, env=env, capture_output=True, text=True)  # noqa: S603
        if result.returncode != 0:
            raise CommandError(f"pg_restore failed, nothing was restored: {result.stderr.strip()}")
        self.stdout.write(f"restored {source} into database {database['NAME']}")
