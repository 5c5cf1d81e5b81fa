"""Timers fired by a real Celery worker over Redis: once, at or after their due time.

The clock is moved with time-machine (ticking, so the worker thread's clock moves too);
the sweep runs as the beat task would send it, through the broker.
"""

import datetime as dt

import pytest

from tests.conftest import bundle_files
from tests.workers.conftest import wait_until
from tests.workers.operations import Payroll
from workers import tasks
from workflows import services
from workflows.models import Incident, Notification, ProcessInstance, Timer, WorkflowEvent

# A worker thread and the test share the database: SQLite's in-memory test database is not
# made for that, so these run on PostgreSQL (CI).
pytestmark = [
    pytest.mark.broker,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
REMIND_AT = START + dt.timedelta(days=3)


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(START, tick=True)
    return time_machine


def fired(instance) -> list[str]:
    return list(
        instance.events.filter(kind=WorkflowEvent.Kind.TIMER_FIRED).values_list(
            "element_id", flat=True
        )
    )


def test_a_p3d_reminder_fires_once_after_three_days_not_before_not_again(org, clock, worker):
    services.version_deploy(files=bundle_files("reminder_timer"))
    training = services.instance_start(
        process_key="reminder_timer", started_by=org.head_nurse.user, subject=org.nurse
    )
    clock.move_to(REMIND_AT - dt.timedelta(minutes=1), tick=True)
    before = worker.run(tasks.fire_due_timers)
    fired_before = fired(training)
    clock.move_to(REMIND_AT + dt.timedelta(seconds=1), tick=True)

    on_time = worker.run(tasks.fire_due_timers)
    again = worker.run(tasks.fire_due_timers)
    clock.move_to(REMIND_AT + dt.timedelta(days=3), tick=True)
    three_days_later = worker.run(tasks.fire_due_timers)

    reminder = Timer.objects.get(instance=training, element_id="remind_after_3_days")
    assert (before, on_time, again, three_days_later) == (0, 1, 0, 0)
    assert fired_before == []
    assert fired(training) == ["remind_after_3_days"]
    assert reminder.status == Timer.Status.FIRED
    assert reminder.fired_at >= REMIND_AT
    assert list(training.tasks.values_list("element_id", "status")) == [
        ("complete_training", "open"),
        ("chase_training", "open"),
    ]
    assert list(
        Notification.objects.filter(recipient=org.nurse.user).values_list("kind", flat=True)
    ) == ["task_reminder", "task_assigned"]


def test_a_timer_due_within_seconds_is_fired_by_its_eta_task(org, clock, worker):
    due = START + dt.timedelta(seconds=2)
    services.version_deploy(files=bundle_files("due_date_timer"))

    instance = services.instance_start(
        process_key="due_date_timer", started_by=org.group_hr.user, data={"due_at": due.isoformat()}
    )

    wait_until(
        lambda: ProcessInstance.objects.get(pk=instance.pk).status == "completed",
        timeout=20,
        what="the ETA task to fire the timer",
    )
    timer = Timer.objects.get(instance=instance)
    assert timer.status == Timer.Status.FIRED
    assert timer.fired_at > due
    assert fired(instance) == ["wait_until_due"]
    assert worker.ran("workers.fire_timer") == 1
    assert worker.ran("workers.fire_due_timers") == 0


def test_a_failing_service_task_retries_with_backoff_and_ends_in_an_incident_retry_resolves(
    org, clock, worker, monkeypatch, operator_user, settings
):
    # Only the sweep fires the retries here, so each sweep's count is exact.
    settings.CAREFLOW = {**settings.CAREFLOW, "TIMER_ETA_HORIZON_SECONDS": 0}
    monkeypatch.setattr(Payroll, "is_down", True)
    monkeypatch.setattr(Payroll, "calls", 0)
    services.version_deploy(files=bundle_files("retrying_service"))
    claim = services.instance_start(
        process_key="retrying_service", started_by=org.nurse.user, subject=org.nurse
    )
    services.task_complete(
        human_task_id=claim.tasks.get().pk, user=org.nurse.user, data={"overtime_hours": 3}
    )
    moved = []
    for wait in (30, 61, 121, 241):
        clock.shift(wait)
        moved.append(worker.run(tasks.fire_due_timers))
    claim.refresh_from_db()
    incident = claim.incidents.get()
    calls_while_down = Payroll.calls
    Payroll.is_down = False

    services.incident_retry(incident_id=incident.pk, actor=operator_user)

    claim.refresh_from_db()
    incident.refresh_from_db()
    assert moved == [0, 1, 1, 1]
    assert calls_while_down == 4
    assert incident.details == {"kind": "engine", "retries": 3}
    assert incident.status == Incident.Status.RESOLVED
    assert claim.status == ProcessInstance.Status.COMPLETED
    assert list(claim.timers.order_by("retry_number").values_list("retry_number", "status")) == [
        (1, "fired"),
        (2, "fired"),
        (3, "fired"),
    ]
