"""`manage.py backup` / `manage.py restore` (pg_dump -Fc / pg_restore): a copy restored into a
second database carries on a running process. CareFlow is then served from the copy by a
real gunicorn; completing the pending task there moves that instance on, and the original
database is untouched."""

import os
import subprocess
import sys

import psycopg
import pytest
import requests
from django.core.management import CommandError, call_command
from knox.models import AuthToken

from tests.conftest import bundle_files
from tests.reliability.servers import ROOT, Gunicorn
from tests.workers.conftest import database_url_for_tests
from workflows import services
from workflows.models import HumanTask, ProcessInstance


def on_postgres(test):
    return pytest.mark.postgres(pytest.mark.django_db(transaction=True)(test))


@pytest.fixture
def second_database():
    """An empty database beside the test database, dropped afterwards."""
    url = database_url_for_tests()
    name = url.rsplit("/", 1)[1] + "_restored"
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    yield url.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def rows(url: str, instance_id: int) -> tuple:
    with psycopg.connect(url) as db:
        status = db.execute(
            "SELECT status FROM workflows_processinstance WHERE id = %s", [instance_id]
        ).fetchone()
        kinds = db.execute(
            "SELECT kind FROM workflows_workflowevent WHERE instance_id = %s ORDER BY seq",
            [instance_id],
        ).fetchall()
    return status[0], [k for (k,) in kinds]


@on_postgres
def test_a_restored_copy_continues_a_running_process(org, tmp_path, second_database, capsys):
    services.version_deploy(files=bundle_files("simple_task"))
    instance = services.instance_start(
        process_key="simple_task", started_by=org.nurse.user, subject=org.nurse
    )
    task = instance.tasks.get()
    _, token = AuthToken.objects.create(user=org.nurse.user)
    dump = tmp_path / "careflow.dump"

    call_command("backup", str(dump))
    call_command("restore", str(dump), database_url=second_database)
    restored = Gunicorn(tmp_path, {"DATABASE_URL": second_database, "CELERY_BROKER_URL": ""})
    restored.start()
    try:
        response = requests.post(
            f"{restored.url}/api/v1/tasks/{task.pk}/complete",
            json={"data": {"note": "after the restore", "hours": 1}},
            headers={"Authorization": f"Token {token}"},
            timeout=30,
        )
    finally:
        restored.stop()

    output = capsys.readouterr().out
    assert dump.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format
    assert "CAREFLOW_FIELD_KEYS" in output
    assert response.status_code == 200, response.content[:300]
    assert rows(second_database, instance.pk) == (
        "completed",
        ["instance_started", "task_created", "task_completed", "instance_completed"],
    )
    # The original is as it was: the task is still open there.
    assert ProcessInstance.objects.get(pk=instance.pk).status == "waiting"
    assert HumanTask.objects.get(pk=task.pk).status == HumanTask.Status.OPEN


@on_postgres
def test_a_failed_restore_leaves_the_target_as_it_was(org, tmp_path, second_database):
    services.version_deploy(files=bundle_files("simple_task"))
    dump = tmp_path / "careflow.dump"
    call_command("backup", str(dump))
    call_command("restore", str(dump), database_url=second_database)
    with psycopg.connect(second_database) as db:
        db.execute("DELETE FROM workflows_processversion")
        db.execute("DELETE FROM workflows_processdefinition")

    # Into a database that is not empty: the first conflicting object stops it, all of it.
    with pytest.raises(CommandError, match="pg_restore failed, nothing was restored"):
        call_command("restore", str(dump), database_url=second_database)

    with psycopg.connect(second_database) as db:
        (definitions,) = db.execute("SELECT count(*) FROM workflows_processdefinition").fetchone()
    assert definitions == 0


def test_backup_refuses_sqlite_with_a_clear_message(tmp_path):
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}

    result = subprocess.run(
        [sys.executable, "manage.py", "backup", str(tmp_path / "x.dump")],
        cwd=ROOT,
        env={**environment, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}"},
        capture_output=True,
        text=True,
    )

    assert result.returncode == 1
    assert "backup and restore need PostgreSQL" in result.stderr
    assert not (tmp_path / "x.dump").exists()
