"""Boundary timers fire at their due time, never before, once; the clock is moved, never slept.

The reminder_timer bundle: `complete_training` (Employee) carries a non-interrupting
reminder after 3 days (-> `chase_training`, Supervisor) and an interrupting escalation
after 7 days (-> `escalate_to_hr`, Clinic HR).
"""

import datetime as dt

import pytest
from django.utils import timezone

from tests.conftest import bundle_files
from workflows import selectors, services
from workflows.models import HumanTask, ProcessInstance, Timer, WorkflowEvent

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
REMIND_AT = START + dt.timedelta(days=3)
ESCALATE_AT = START + dt.timedelta(days=7)


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(START, tick=False)
    return time_machine


@pytest.fixture
def training(org, clock):
    """A training assignment for the east nurse, started at START."""
    services.version_deploy(files=bundle_files("reminder_timer"))
    return services.instance_start(
        process_key="reminder_timer", started_by=org.head_nurse.user, subject=org.nurse
    )


def timer_rows(instance):
    return list(
        Timer.objects.filter(instance=instance)
        .order_by("due_at", "pk")
        .values_list("element_id", "due_at", "status")
    )


def task_rows(instance):
    return list(
        HumanTask.objects.filter(instance=instance)
        .order_by("pk")
        .values_list("element_id", "status", "candidate_user__username")
    )


def fired_events(instance):
    return list(
        instance.events.filter(kind=WorkflowEvent.Kind.TIMER_FIRED).values_list(
            "element_id", "data"
        )
    )


def test_starting_arms_both_boundary_timers(training):
    assert training.status == ProcessInstance.Status.WAITING
    assert timer_rows(training) == [
        ("remind_after_3_days", REMIND_AT, Timer.Status.WAITING),
        ("escalate_after_7_days", ESCALATE_AT, Timer.Status.WAITING),
    ]


def test_the_deadline_is_the_tasks_due_time(training, clock):
    # the interrupting escalation, not the reminder, makes the task due
    (task,) = HumanTask.objects.filter(instance=training)
    assert (task.element_id, task.due_at) == ("complete_training", ESCALATE_AT)
    clock.move_to(ESCALATE_AT + dt.timedelta(seconds=1), tick=False)
    assert [
        t.pk for t in selectors.inbox(training.subject.user).filter(due_at__lt=timezone.now())
    ] == [task.pk]


def test_nothing_fires_a_minute_before_the_reminder_is_due(training, clock):
    clock.move_to(REMIND_AT - dt.timedelta(minutes=1))

    moved = services.timer_fire_due()

    assert moved == 0
    assert timer_rows(training) == [
        ("remind_after_3_days", REMIND_AT, Timer.Status.WAITING),
        ("escalate_after_7_days", ESCALATE_AT, Timer.Status.WAITING),
    ]
    assert fired_events(training) == []
    assert task_rows(training) == [("complete_training", "open", "nurse")]


def test_the_reminder_fires_once_it_is_due(training, clock):
    clock.move_to(REMIND_AT + dt.timedelta(seconds=1))

    moved = services.timer_fire_due()

    training.refresh_from_db()
    reminder = Timer.objects.get(instance=training, element_id="remind_after_3_days")
    assert moved == 1
    assert training.status == ProcessInstance.Status.WAITING
    assert reminder.status == Timer.Status.FIRED
    assert reminder.fired_at == REMIND_AT + dt.timedelta(seconds=1)
    assert timer_rows(training) == [
        ("remind_after_3_days", REMIND_AT, Timer.Status.FIRED),
        ("escalate_after_7_days", ESCALATE_AT, Timer.Status.WAITING),
    ]
    assert fired_events(training) == [
        ("remind_after_3_days", {"due_at": "2026-03-05T09:00:00+00:00"})
    ]
    # Non-interrupting: the training task stays open beside the supervisor's reminder.
    assert task_rows(training) == [
        ("complete_training", "open", "nurse"),
        ("chase_training", "open", "head_nurse"),
    ]


def test_firing_again_at_the_same_time_does_nothing_more(training, clock):
    clock.move_to(REMIND_AT + dt.timedelta(seconds=1))
    services.timer_fire_due()
    events_before = list(training.events.values_list("seq", "kind"))

    moved = services.timer_fire_due()

    assert moved == 0
    assert list(training.events.values_list("seq", "kind")) == events_before
    assert task_rows(training) == [
        ("complete_training", "open", "nurse"),
        ("chase_training", "open", "head_nurse"),
    ]


def test_the_non_interrupting_reminder_does_not_wait_again(training, clock):
    # SpiffWorkflow completes a fired non-interrupting boundary timer; it is not re-armed,
    # so three more days bring no second reminder.
    clock.move_to(REMIND_AT + dt.timedelta(seconds=1))
    services.timer_fire_due()
    clock.move_to(REMIND_AT + dt.timedelta(days=3, seconds=2))

    moved = services.timer_fire_due()

    assert moved == 0
    assert Timer.objects.filter(instance=training).count() == 2
    assert [e for e, _ in fired_events(training)] == ["remind_after_3_days"]
    assert task_rows(training) == [
        ("complete_training", "open", "nurse"),
        ("chase_training", "open", "head_nurse"),
    ]


def test_the_escalation_interrupts_the_training_task(org, training, clock):
    clock.move_to(REMIND_AT + dt.timedelta(seconds=1))
    services.timer_fire_due()
    clock.move_to(ESCALATE_AT + dt.timedelta(seconds=1))

    moved = services.timer_fire_due()

    training.refresh_from_db()
    escalation = training.tasks.get(element_id="escalate_to_hr")
    cancelled = training.events.get(kind=WorkflowEvent.Kind.TASK_CANCELLED)
    assert moved == 1
    assert training.status == ProcessInstance.Status.WAITING
    assert task_rows(training) == [
        ("complete_training", "cancelled", "nurse"),
        ("chase_training", "open", "head_nurse"),
        ("escalate_to_hr", "open", None),
    ]
    assert escalation.candidate_role == "clinic_hr"
    assert escalation.candidate_org_unit == org.east
    assert cancelled.element_id == "complete_training"
    assert [e for e, _ in fired_events(training)] == [
        "remind_after_3_days",
        "escalate_after_7_days",
    ]
    assert timer_rows(training) == [
        ("remind_after_3_days", REMIND_AT, Timer.Status.FIRED),
        ("escalate_after_7_days", ESCALATE_AT, Timer.Status.FIRED),
    ]
    assert [t.element_id for t in selectors.inbox(org.east_hr.user)] == ["escalate_to_hr"]
    assert list(selectors.inbox(org.west_hr.user)) == []


def test_both_timers_fire_when_the_sweep_comes_late(training, clock):
    clock.move_to(ESCALATE_AT + dt.timedelta(hours=1))

    services.timer_fire_due()

    assert timer_rows(training) == [
        ("remind_after_3_days", REMIND_AT, Timer.Status.FIRED),
        ("escalate_after_7_days", ESCALATE_AT, Timer.Status.FIRED),
    ]
    assert task_rows(training) == [
        ("complete_training", "cancelled", "nurse"),
        ("chase_training", "open", "head_nurse"),
        ("escalate_to_hr", "open", None),
    ]


def test_a_late_sweep_counts_an_instance_once(training, clock):
    clock.move_to(ESCALATE_AT + dt.timedelta(hours=1))

    moved = services.timer_fire_due()

    assert moved == 1


def test_completing_the_training_in_time_cancels_both_timers(org, training, clock):
    clock.move_to(START + dt.timedelta(days=2))
    task = training.tasks.get()

    services.task_complete(human_task_id=task.pk, user=org.nurse.user, data={"passed": True})

    training.refresh_from_db()
    assert training.status == ProcessInstance.Status.COMPLETED
    assert timer_rows(training) == [
        ("remind_after_3_days", REMIND_AT, Timer.Status.CANCELLED),
        ("escalate_after_7_days", ESCALATE_AT, Timer.Status.CANCELLED),
    ]


def test_cancelled_timers_never_fire(org, training, clock):
    clock.move_to(START + dt.timedelta(days=2))
    task = training.tasks.get()
    services.task_complete(human_task_id=task.pk, user=org.nurse.user, data={"passed": True})
    clock.move_to(ESCALATE_AT + dt.timedelta(days=1))

    moved = services.timer_fire_due()

    assert moved == 0
    assert fired_events(training) == []
    assert task_rows(training) == [("complete_training", "completed", "nurse")]
