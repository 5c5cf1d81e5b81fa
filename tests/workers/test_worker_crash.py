"""A worker killed while firing a timer leaves nothing half-done; after its lease runs out,
another worker fires the timer, once.

Real `celery worker` processes (SIGKILL, not a simulated failure) against PostgreSQL, whose
server rolls back the dead worker's transaction and releases its row locks.
"""

import datetime as dt
from pathlib import Path

import pytest

from tests.conftest import bundle_files
from tests.workers import operations  # noqa: F401 - registers test.slow_registry
from tests.workers.conftest import wait_until
from workers import tasks
from workflows import selectors, services
from workflows.models import ProcessInstance, Timer, WorkflowEvent

pytestmark = [
    pytest.mark.broker,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
DUE = START + dt.timedelta(days=1)


def snapshot(instance_id: int) -> tuple:
    instance = ProcessInstance.objects.get(pk=instance_id)
    timer = Timer.objects.get(instance=instance)
    return (
        instance.status,
        instance.state,
        list(instance.events.values_list("seq", "kind")),
        timer.status,
        timer.attempts,
    )


def test_a_worker_killed_while_firing_leaves_nothing_half_done_and_another_fires_once(
    org, time_machine, worker_processes, tmp_path
):
    time_machine.move_to(START, tick=False)
    services.version_deploy(files=bundle_files("blocking_timer"))
    instance = services.instance_start(process_key="blocking_timer", started_by=org.group_hr.user)
    before = snapshot(instance.pk)
    marker = tmp_path / "slow_registry_entered"
    # The first worker to run the step after the timer blocks there: it has fired the timer
    # and run the engine inside its transaction, but not committed.
    first = worker_processes(
        "first",
        DUE + dt.timedelta(seconds=10),
        CAREFLOW_TIMER_LEASE_SECONDS="5",
        CAREFLOW_TEST_BLOCK_FILE=str(marker),
    )
    tasks.fire_due_timers.delay()
    wait_until(marker.exists, timeout=60, what="the first worker to be inside the step")
    while_firing = snapshot(instance.pk)

    first.kill()

    after_kill = snapshot(instance.pk)
    # The second worker's clock is past the first one's lease.
    worker_processes(
        "second",
        DUE + dt.timedelta(minutes=1),
        CAREFLOW_TIMER_LEASE_SECONDS="5",
        CAREFLOW_TEST_BLOCK_FILE=str(marker),
    )
    tasks.fire_due_timers.delay()
    wait_until(
        lambda: ProcessInstance.objects.get(pk=instance.pk).status == "completed",
        timeout=60,
        what="the second worker to fire the timer",
    )

    timer = Timer.objects.get(instance=instance)
    instance.refresh_from_db()
    assert Path(marker).read_text() == str(first.process.pid)
    assert before[3:] == ("waiting", 0)
    # Claimed (attempts 1, leased) but nothing else visible: not fired, no events, same state.
    assert while_firing == (*before[:3], "waiting", 1)
    assert after_kill == while_firing
    assert timer.status == Timer.Status.FIRED
    assert timer.attempts == 2
    assert list(instance.events.values_list("kind", flat=True)) == [
        "instance_started",
        "timer_fired",
        "instance_completed",
    ]
    assert instance.events.filter(kind=WorkflowEvent.Kind.TIMER_FIRED).count() == 1
    assert selectors.history_verify(instance).is_valid is True
