"""Fifty clients complete the same task at the same moment over real HTTP (gunicorn, two
worker processes with threads, against PostgreSQL): exactly one gets 200, the other 49 get
409, the history holds one completion and the instance moves on once."""

import threading

import pytest
import requests
from knox.models import AuthToken

from tests.conftest import bundle_files
from tests.reliability.servers import Gunicorn
from tests.workers.conftest import database_url_for_tests
from workflows import selectors, services
from workflows.models import HumanTask, ProcessInstance

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CLIENTS = 50


@pytest.fixture
def server(tmp_path):
    # No broker: notifications go out in-process, as on a laptop.
    gunicorn = Gunicorn(
        tmp_path, {"DATABASE_URL": database_url_for_tests(), "CELERY_BROKER_URL": ""}
    )
    gunicorn.start()
    yield gunicorn
    gunicorn.stop()


def test_fifty_clients_complete_one_task_exactly_one_wins(org, server):
    services.version_deploy(files=bundle_files("simple_task"))
    instance = services.instance_start(
        process_key="simple_task", started_by=org.nurse.user, subject=org.nurse
    )
    task = instance.tasks.get()
    _, token = AuthToken.objects.create(user=org.nurse.user)
    barrier = threading.Barrier(CLIENTS)
    statuses: list[int] = [0] * CLIENTS

    def complete(index: int) -> None:
        with requests.Session() as session:
            # Connect first, so the barrier releases requests rather than TCP handshakes.
            session.get(f"{server.url}/api/v1/me", headers={"Authorization": f"Token {token}"})
            barrier.wait(timeout=60)
            response = session.post(
                f"{server.url}/api/v1/tasks/{task.pk}/complete",
                json={"data": {"note": f"client {index}", "hours": 2}},
                headers={"Authorization": f"Token {token}"},
                timeout=60,
            )
            statuses[index] = response.status_code

    threads = [threading.Thread(target=complete, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    instance.refresh_from_db()
    assert sorted(statuses) == [200] + [409] * (CLIENTS - 1), server.log()[-2000:]
    assert HumanTask.objects.get(pk=task.pk).status == HumanTask.Status.COMPLETED
    assert instance.status == ProcessInstance.Status.COMPLETED
    # One completion in the history, and the instance moved on once.
    assert list(instance.events.values_list("kind", flat=True)) == [
        "instance_started",
        "task_created",
        "task_completed",
        "instance_completed",
    ]
    assert selectors.history_verify(instance).is_valid is True
