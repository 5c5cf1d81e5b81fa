"""The connection arguments pg_dump and pg_restore need, from a Django database setting or a
DATABASE_URL; the password goes in the environment, never on the command line."""

import os
import shutil

import dj_database_url
from django.core.management.base import CommandError


def client_args(database: dict) -> tuple[list[str], dict[str, str]]:
    if "postgresql" not in database["ENGINE"]:
        raise CommandError(
            "backup and restore need PostgreSQL (set DATABASE_URL); the SQLite laptop "
            "database is a single file: copy it while the server is stopped"
        )
    args = [
        "--host",
        database.get("HOST") or "127.0.0.1",
        "--port",
        str(database.get("PORT") or 5432),
    ]
    if database.get("USER"):
        args += ["--username", database["USER"]]
    env = {**os.environ}
    if database.get("PASSWORD"):
        env["PGPASSWORD"] = database["PASSWORD"]
    return args, env


def from_url(url: str) -> dict:
    return dj_database_url.parse(url)


def program(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise CommandError(f"{name} is not installed (Debian: apt-get install postgresql-client)")
    return found
