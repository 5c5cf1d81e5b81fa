import subprocess
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from workflows.management.commands._postgres import client_args, program


class Command(BaseCommand):
    help = (
        "Dump the PostgreSQL database to one custom-format file (pg_dump -Fc): every process, "
        "instance, task, timer and history row. Keep CAREFLOW_FIELD_KEYS with it: encrypted "
        "fields cannot be read back without those keys."
    )

    def add_arguments(self, parser):
        parser.add_argument("output", help="the dump file to write, e.g. careflow.dump")

    def handle(self, *args, **options):
        database = settings.DATABASES["default"]
        connection_args, env = client_args(database)
        output = Path(options["output"])
        partial = output.with_name(output.name + ".partial")
        command = [
            program("pg_dump"),
            *connection_args,
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            f"--file={partial}",
            database["NAME"],
        ]
        result = subprocess.run(command, env=env, capture_output=True, text=True)  # noqa: S603
        if result.returncode != 0:
            partial.unlink(missing_ok=True)
            raise CommandError(f"pg_dump failed: {result.stderr.strip()}")
        # Only a complete dump gets the name: a failed run never leaves a truncated backup.
        partial.replace(output)
        self.stdout.write(
            f"backup written to {output} ({output.stat().st_size} bytes). Keep the field "
            "encryption keys (CAREFLOW_FIELD_KEYS) with it, stored apart from the dump."
        )
