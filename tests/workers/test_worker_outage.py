"""With the broker down, people still complete their tasks; the notifications wait in the
outbox and go out once the broker is back. Nothing is lost.

The broker here is a private redis-server on a free port (tests/reliability/servers.py), so the
test can kill and start it.
"""

import contextlib
import datetime as dt
import shutil
import time

import pytest
from django.core import mail

from config.celery import app as celery_app
from tests.conftest import bundle_files
from tests.reliability.servers import PrivateRedis
from tests.workers.chat_robot import start_chat_robot
from tests.workers.conftest import Finished, Worker, use_broker, wait_until
from workers import tasks
from workflows import services
from workflows.models import Delivery, Notification, ProcessInstance

pytestmark = [
    pytest.mark.broker,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server"),
]

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def private_broker(tmp_path):
    server = PrivateRedis(tmp_path)
    server.start()
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    use_broker(server.url)
    yield server
    server.kill()
    celery_app.conf.task_always_eager = eager
    use_broker(None)


@pytest.fixture
def robot(settings):
    robot, server = start_chat_robot()
    settings.CAREFLOW = {**settings.CAREFLOW, "NOTIFY_WEBHOOKS": {"hr_chat": {"url": robot.url}}}
    yield robot
    server.shutdown()
    server.server_close()


@contextlib.contextmanager
def worker_thread():
    from celery.contrib.testing.worker import start_worker
    from celery.signals import task_postrun

    finished = Finished()
    task_postrun.connect(finished, weak=False)
    try:
        with start_worker(celery_app, pool="solo", perform_ping_check=False, loglevel="WARNING"):
            yield Worker(finished)
    finally:
        task_postrun.disconnect(finished)


def test_with_the_broker_down_work_goes_on_and_notifications_follow_when_it_is_back(
    org, private_broker, robot, time_machine
):
    time_machine.move_to(START, tick=True)
    org.nurse.user.email = "nurse@east.careflow.test"
    org.nurse.user.save(update_fields=["email"])
    services.version_deploy(files=bundle_files("reminder_timer"))
    private_broker.kill()

    began = time.monotonic()
    training = services.instance_start(
        process_key="reminder_timer", started_by=org.head_nurse.user, subject=org.nurse
    )
    services.task_complete(
        human_task_id=training.tasks.get().pk, user=org.nurse.user, data={"passed": True}
    )
    took = time.monotonic() - began
    training.refresh_from_db()
    during_outage = list(Delivery.objects.values_list("status", "attempts"))
    private_broker.start()
    time_machine.move_to(START + dt.timedelta(minutes=1), tick=True)

    with worker_thread() as worker:
        redispatched = worker.run(tasks.redispatch_deliveries)
        wait_until(
            lambda: not Delivery.objects.exclude(status=Delivery.Status.DELIVERED).exists(),
            timeout=30,
            what="the deliveries to go out",
        )

    assert training.status == ProcessInstance.Status.COMPLETED
    assert took < 10
    # In the app: the nurse's new task, and "completed" to the head nurse and the nurse. Out:
    # an email to the nurse for each (the head nurse has no address), a chat message for each.
    assert Notification.objects.count() == 3
    assert during_outage == [("pending", 0)] * 4
    assert redispatched == 4
    assert sorted(m.subject for m in mail.outbox) == [
        "新待办：Complete training 完成培训 / New task: Complete training 完成培训",
        "流程已完成：Training reminder 培训提醒 / Process completed: Training reminder 培训提醒",
    ]
    assert len(robot.received) == 2
    assert list(Delivery.objects.values_list("attempts", flat=True)) == [1] * 4
