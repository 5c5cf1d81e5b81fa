"""The statements one HTTP start and one HTTP completion cost (bench/db_work.py measures the
same on PostgreSQL; docs/benchmarks.md, item 3). Token auth as a real client sends it."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from knox.models import AuthToken
from rest_framework.test import APIClient

from tests.conftest import bundle_files
from workflows import services
from workflows.models import WorkflowEvent

pytestmark = pytest.mark.django_db


def test_a_lifecycle_over_http_stays_within_its_statement_budget(org):
    services.version_deploy(files=bundle_files("simple_task"))
    client = APIClient()
    _, token = AuthToken.objects.create(user=org.nurse.user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    with CaptureQueriesContext(connection) as start:
        started = client.post("/api/v1/instances/start", {"process": "simple_task"}, format="json")
    assert started.status_code == 201, started.json()
    (task,) = started.json()["open_tasks"]

    with CaptureQueriesContext(connection) as complete:
        done = client.post(
            f"/api/v1/tasks/{task['id']}/complete", {"data": {"note": "done"}}, format="json"
        )
    assert done.status_code == 200, done.json()
    assert done.json()["status"] == "completed"
    kinds = list(
        WorkflowEvent.objects.filter(instance_id=started.json()["id"]).values_list(
            "kind", flat=True
        )
    )
    assert kinds[-2:] == ["task_completed", "instance_completed"]

    def statements(captured):
        # SQLite's BEGIN IMMEDIATE / COMMIT bookkeeping is not a statement of ours.
        return [
            q["sql"]
            for q in captured.captured_queries
            if q["sql"].split()[0].upper() not in ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE")
        ]

    assert len(statements(start)) <= 9, statements(start)
    assert len(statements(complete)) <= 10, statements(complete)
