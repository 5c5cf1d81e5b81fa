"""The timer sweep: claims due rows under a lease, fires each timer once and never before its
due time, backs off and opens an incident when firing keeps failing. Cycle reminders,
deadlines, start and intermediate timers; failed service tasks retried with backoff.

The clock is moved with time-machine; nothing sleeps for a BPMN duration.
"""

import datetime as dt

import pytest

from tests.conftest import bundle_files
from tests.workers.operations import Payroll
from workflows import services
from workflows.engine import engine
from workflows.exceptions import Conflict
from workflows.models import (
    HumanTask,
    Incident,
    Notification,
    ProcessInstance,
    Timer,
    WorkflowEvent,
)

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
REMIND_AT = START + dt.timedelta(days=3)
DAY = dt.timedelta(days=1)
SECOND = dt.timedelta(seconds=1)
Kind = WorkflowEvent.Kind


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(START, tick=False)
    return time_machine


@pytest.fixture
def training(org, clock):
    """reminder_timer: a P3D non-interrupting reminder and a P7D deadline on the nurse's task."""
    services.version_deploy(files=bundle_files("reminder_timer"))
    return services.instance_start(
        process_key="reminder_timer", started_by=org.head_nurse.user, subject=org.nurse
    )


@pytest.fixture
def feedback(org, clock):
    """feedback_deadline: the supervisor answers, reminded daily (R3/P1D); after 5 days
    (interrupting) clinic HR answers instead."""
    services.version_deploy(files=bundle_files("feedback_deadline"))
    return services.instance_start(
        process_key="feedback_deadline", started_by=org.nurse.user, subject=org.nurse
    )


@pytest.fixture
def payroll(monkeypatch):
    monkeypatch.setattr(Payroll, "is_down", True)
    monkeypatch.setattr(Payroll, "calls", 0)
    return Payroll


def reminder(instance) -> Timer:
    return Timer.objects.get(instance=instance, element_id="remind_after_3_days")


def fired(instance) -> list[str]:
    return list(instance.events.filter(kind=Kind.TIMER_FIRED).values_list("element_id", flat=True))


def timer_rows(instance) -> list[tuple]:
    return list(
        Timer.objects.filter(instance=instance)
        .order_by("due_at", "pk")
        .values_list("kind", "element_id", "due_at", "status")
    )


def notes(user, kind) -> list[str]:
    return list(
        Notification.objects.filter(recipient=user, kind=kind)
        .order_by("pk")
        .values_list("title", flat=True)
    )


# --- claim and lease ---------------------------------------------------------------------------


def test_a_claimed_timer_is_held_for_the_lease(training, clock):
    clock.move_to(REMIND_AT + SECOND)

    first = services._timers_claim(limit=10)
    second = services._timers_claim(limit=10)

    row = reminder(training)
    assert [t.element_id for t in first] == ["remind_after_3_days"]
    assert second == []
    assert row.status == Timer.Status.WAITING
    assert row.attempts == 1
    assert row.leased_until == REMIND_AT + SECOND + dt.timedelta(seconds=120)


def test_a_sweeper_that_died_after_claiming_is_taken_over_after_the_lease(training, clock):
    # A sweeper claims the reminder and dies before firing it (its claim is all it did).
    clock.move_to(REMIND_AT + SECOND)
    services._timers_claim(limit=10)

    moved_during_lease = services.timer_fire_due()
    clock.move_to(REMIND_AT + SECOND + dt.timedelta(seconds=121))
    moved_after_lease = services.timer_fire_due()

    row = reminder(training)
    assert moved_during_lease == 0
    assert moved_after_lease == 1
    assert row.status == Timer.Status.FIRED
    assert row.attempts == 2
    assert row.leased_until is None
    assert fired(training) == ["remind_after_3_days"]


def test_a_timer_due_exactly_now_waits_for_the_next_sweep(training, clock):
    clock.move_to(REMIND_AT)
    at_due_time = services.timer_fire_due()
    clock.move_to(REMIND_AT + dt.timedelta(microseconds=1))

    just_after = services.timer_fire_due()

    assert at_due_time == 0
    assert just_after == 1
    assert fired(training) == ["remind_after_3_days"]


def test_the_eta_path_fires_a_timer_only_once_it_is_due(training, clock):
    timer_id = reminder(training).pk
    clock.move_to(REMIND_AT - SECOND)
    early = services.timer_fire(timer_id=timer_id)
    clock.move_to(REMIND_AT + SECOND)

    on_time = services.timer_fire(timer_id=timer_id)
    again = services.timer_fire(timer_id=timer_id)

    assert (early, on_time, again) == (False, True, False)
    assert fired(training) == ["remind_after_3_days"]
    assert reminder(training).status == Timer.Status.FIRED


def test_a_suspended_instance_keeps_its_due_timers_until_resumed(
    org, training, clock, operator_user
):
    services.instance_suspend(instance_id=training.pk, actor=operator_user)
    clock.move_to(REMIND_AT + SECOND)
    while_suspended = services.timer_fire_due()
    services.instance_resume(instance_id=training.pk, actor=operator_user)

    after_resume = services.timer_fire_due()

    assert while_suspended == 0
    assert after_resume == 1
    assert fired(training) == ["remind_after_3_days"]


# --- failures: backoff, then an incident -------------------------------------------------------


@pytest.fixture
def broken_engine(monkeypatch):
    def refresh_timers(workflow):
        raise RuntimeError("timer store unavailable")

    monkeypatch.setattr(engine, "refresh_timers", refresh_timers)
    return monkeypatch


def test_a_failed_firing_backs_off_and_records_the_error(training, clock, broken_engine):
    clock.move_to(REMIND_AT + SECOND)

    moved = services.timer_fire_due()

    row = reminder(training)
    assert moved == 0
    assert row.status == Timer.Status.WAITING
    assert row.attempts == 1
    assert row.last_error == "RuntimeError: timer store unavailable"
    assert row.leased_until == REMIND_AT + SECOND + dt.timedelta(seconds=10)
    assert fired(training) == []


def test_the_backoff_doubles_with_each_failed_attempt(training, clock, broken_engine):
    clock.move_to(REMIND_AT + SECOND)
    services.timer_fire_due()
    clock.move_to(REMIND_AT + dt.timedelta(seconds=10))
    before_backoff = services.timer_fire_due()
    attempts_before = reminder(training).attempts
    clock.move_to(REMIND_AT + dt.timedelta(seconds=12))

    services.timer_fire_due()

    row = reminder(training)
    assert before_backoff == 0
    assert attempts_before == 1
    assert row.attempts == 2
    assert row.leased_until == REMIND_AT + dt.timedelta(seconds=12 + 20)


def test_when_the_attempts_run_out_an_incident_opens_and_retry_fires_the_timer(
    org, training, clock, broken_engine, settings, operator_user
):
    settings.CAREFLOW = {**settings.CAREFLOW, "TIMER_MAX_ATTEMPTS": 2}
    clock.move_to(REMIND_AT + SECOND)
    services.timer_fire_due()
    clock.move_to(REMIND_AT + dt.timedelta(minutes=1))
    services.timer_fire_due()
    training.refresh_from_db()
    incident = training.incidents.get()
    row = reminder(training)
    assert training.status == ProcessInstance.Status.ERROR
    assert row.status == Timer.Status.FAILED
    assert incident.details == {"kind": "timer", "timer": row.pk}
    assert incident.element_id == "remind_after_3_days"
    assert incident.message == (
        "timer remind_after_3_days could not fire after 2 attempts: "
        "RuntimeError: timer store unavailable"
    )
    broken_engine.undo()

    services.incident_retry(incident_id=incident.pk, actor=operator_user)

    training.refresh_from_db()
    incident.refresh_from_db()
    row.refresh_from_db()
    assert incident.status == Incident.Status.RESOLVED
    assert training.status == ProcessInstance.Status.WAITING
    assert row.status == Timer.Status.FIRED
    assert fired(training) == ["remind_after_3_days"]
    assert list(
        training.tasks.filter(status=HumanTask.Status.OPEN).values_list("element_id", flat=True)
    ) == ["complete_training", "chase_training"]


# --- reminders and deadlines from BPMN ---------------------------------------------------------


def test_a_daily_reminder_fires_three_times_then_stops(org, feedback, clock):
    moved = []
    for day in (1, 2, 3, 4):
        clock.move_to(START + day * DAY + SECOND)
        moved.append(services.timer_fire_due())

    assert moved == [1, 1, 1, 0]
    assert fired(feedback) == ["remind_daily", "remind_daily", "remind_daily"]
    assert timer_rows(feedback) == [
        ("event", "remind_daily", START + DAY, "fired"),
        ("event", "remind_daily", START + 2 * DAY, "fired"),
        ("event", "remind_daily", START + 3 * DAY, "fired"),
        ("event", "deadline_5_days", START + 5 * DAY, "waiting"),
    ]
    assert (
        notes(org.head_nurse.user, Notification.Kind.TASK_REMINDER)
        == ["待办提醒：Answer feedback 回复员工心声 / Reminder: Answer feedback 回复员工心声"] * 3
    )
    assert list(feedback.tasks.values_list("element_id", "status")) == [("answer_feedback", "open")]


def test_the_deadline_hands_the_task_to_clinic_hr(org, feedback, clock):
    for day in (1, 2, 3):
        clock.move_to(START + day * DAY + SECOND)
        services.timer_fire_due()
    clock.move_to(START + 5 * DAY + SECOND)

    moved = services.timer_fire_due()

    handed_on = feedback.tasks.get(element_id="answer_as_hr")
    assert moved == 1
    assert list(feedback.tasks.values_list("element_id", "status")) == [
        ("answer_feedback", "cancelled"),
        ("answer_as_hr", "open"),
    ]
    assert (handed_on.candidate_role, handed_on.candidate_org_unit) == ("clinic_hr", org.east)
    assert fired(feedback)[-1] == "deadline_5_days"
    assert notes(org.head_nurse.user, Notification.Kind.TASK_ESCALATED) == [
        "待办已升级：Answer feedback 回复员工心声 / Escalated: Answer feedback 回复员工心声"
    ]
    assert notes(org.east_hr.user, Notification.Kind.TASK_ASSIGNED) == [
        "新待办：Answer overdue feedback 处理超期心声 / "
        "New task: Answer overdue feedback 处理超期心声"
    ]
    assert notes(org.west_hr.user, Notification.Kind.TASK_ASSIGNED) == []


def test_answering_in_time_cancels_the_reminders_and_the_deadline(org, feedback, clock):
    clock.move_to(START + DAY + SECOND)
    services.timer_fire_due()
    task = feedback.tasks.get()

    services.task_complete(
        human_task_id=task.pk, user=org.head_nurse.user, data={"answer": "已安排排班调整"}
    )

    feedback.refresh_from_db()
    assert feedback.status == ProcessInstance.Status.COMPLETED
    assert timer_rows(feedback) == [
        ("event", "remind_daily", START + DAY, "fired"),
        ("event", "remind_daily", START + 2 * DAY, "cancelled"),
        ("event", "deadline_5_days", START + 5 * DAY, "cancelled"),
    ]


# --- start and intermediate timers -------------------------------------------------------------


def test_a_start_timer_on_a_date_fires_on_that_date(org, clock):
    due = dt.datetime(2026, 4, 1, 1, 0, tzinfo=dt.UTC)
    services.version_deploy(files=bundle_files("dated_start"))
    instance = services.instance_start(process_key="dated_start", started_by=org.group_hr.user)
    clock.move_to(due - SECOND)
    before = services.timer_fire_due()
    clock.move_to(due + SECOND)

    after = services.timer_fire_due()

    instance.refresh_from_db()
    assert (before, after) == (0, 1)
    assert instance.status == ProcessInstance.Status.COMPLETED
    assert timer_rows(instance) == [("event", "on_appraisal_day", due, "fired")]


def test_a_cycle_start_timer_fires_each_time_then_completes(org, clock):
    first = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
    clock.move_to(first - DAY)
    services.version_deploy(files=bundle_files("cycle_start"))
    instance = services.instance_start(process_key="cycle_start", started_by=org.group_hr.user)

    moved = []
    for week in range(4):
        clock.move_to(first + week * dt.timedelta(days=7) + SECOND)
        moved.append(services.timer_fire_due())

    instance.refresh_from_db()
    assert moved == [1, 1, 1, 0]
    assert instance.status == ProcessInstance.Status.COMPLETED
    assert timer_rows(instance) == [
        ("event", "every_week", first, "fired"),
        ("event", "every_week", first + dt.timedelta(days=7), "fired"),
        ("event", "every_week", first + dt.timedelta(days=14), "fired"),
    ]


def test_an_intermediate_timer_waits_for_the_date_in_the_data(org, clock):
    due = START + dt.timedelta(days=90)
    services.version_deploy(files=bundle_files("due_date_timer"))
    instance = services.instance_start(
        process_key="due_date_timer",
        started_by=org.group_hr.user,
        data={"due_at": due.isoformat()},
    )
    clock.move_to(due + SECOND)

    moved = services.timer_fire_due()

    instance.refresh_from_db()
    assert moved == 1
    assert instance.status == ProcessInstance.Status.COMPLETED
    assert fired(instance) == ["wait_until_due"]


# --- a failing service task: retries with backoff, then an incident ----------------------------


@pytest.fixture
def claim(org, clock, payroll):
    """An overtime claim whose payroll step (3 retries, backoff base 60 s) failed once."""
    services.version_deploy(files=bundle_files("retrying_service"))
    instance = services.instance_start(
        process_key="retrying_service", started_by=org.nurse.user, subject=org.nurse
    )
    task = instance.tasks.get()
    services.task_complete(human_task_id=task.pk, user=org.nurse.user, data={"overtime_hours": 3})
    instance.refresh_from_db()
    return instance


def retries(instance) -> list[tuple]:
    return list(
        instance.timers.filter(kind=Timer.Kind.SERVICE_RETRY)
        .order_by("pk")
        .values_list("retry_number", "due_at", "status")
    )


def test_a_failing_service_task_with_retries_waits_for_its_first_retry(claim, payroll):
    scheduled = claim.events.get(kind=Kind.SERVICE_RETRY_SCHEDULED)

    assert claim.status == ProcessInstance.Status.WAITING
    assert claim.incidents.count() == 0
    assert retries(claim) == [(1, START + dt.timedelta(seconds=60), "waiting")]
    assert scheduled.element_id == "record_in_payroll"
    assert scheduled.data == {
        "retry": 1,
        "retries": 3,
        "due_at": "2026-03-02T09:01:00+00:00",
        "error": "ConnectionError: payroll system unreachable",
    }
    assert payroll.calls == 1


def test_retries_back_off_and_end_in_an_incident(claim, payroll, clock):
    clock.move_to(START + dt.timedelta(seconds=59))
    too_early = services.timer_fire_due()
    calls_too_early = payroll.calls
    # Retry n waits 60 s * 2^(n-1) after the failure before it.
    for at in (61, 61 + 121, 61 + 121 + 241):
        clock.move_to(START + dt.timedelta(seconds=at))
        services.timer_fire_due()

    claim.refresh_from_db()
    incident = claim.incidents.get()
    assert too_early == 0
    assert calls_too_early == 1
    assert payroll.calls == 4
    assert retries(claim) == [
        (1, START + dt.timedelta(seconds=60), "fired"),
        (2, START + dt.timedelta(seconds=61 + 120), "fired"),
        (3, START + dt.timedelta(seconds=61 + 121 + 240), "fired"),
    ]
    assert claim.status == ProcessInstance.Status.ERROR
    assert incident.element_id == "record_in_payroll"
    assert incident.message == "ConnectionError: payroll system unreachable"
    assert incident.details == {"kind": "engine", "retries": 3}
    assert list(claim.events.values_list("kind", flat=True)) == [
        "instance_started",
        "task_created",
        "task_completed",
        "service_retry_scheduled",
        "service_retry_scheduled",
        "service_retry_scheduled",
        "incident_opened",
    ]


def test_retry_resolves_the_incident_once_the_service_is_back(claim, payroll, clock, operator_user):
    for at in (61, 61 + 121, 61 + 121 + 241):
        clock.move_to(START + dt.timedelta(seconds=at))
        services.timer_fire_due()
    incident = claim.incidents.get()
    payroll.is_down = False

    services.incident_retry(incident_id=incident.pk, actor=operator_user)

    claim.refresh_from_db()
    incident.refresh_from_db()
    completed = claim.events.get(kind=Kind.INSTANCE_COMPLETED)
    assert incident.status == Incident.Status.RESOLVED
    assert claim.status == ProcessInstance.Status.COMPLETED
    assert completed.data["data"]["payroll"] == {
        "recorded_hours": 3,
        "employee_id": claim.subject_id,
    }


def test_a_retry_that_succeeds_completes_the_process(claim, payroll, clock):
    payroll.is_down = False
    clock.move_to(START + dt.timedelta(seconds=61))

    moved = services.timer_fire_due()

    claim.refresh_from_db()
    assert moved == 1
    assert claim.status == ProcessInstance.Status.COMPLETED
    assert claim.incidents.count() == 0
    assert retries(claim) == [(1, START + dt.timedelta(seconds=60), "fired")]
    assert payroll.calls == 2


def test_terminating_cancels_a_waiting_retry(claim, operator_user):
    services.instance_terminate(instance_id=claim.pk, actor=operator_user)

    assert retries(claim) == [(1, START + dt.timedelta(seconds=60), "cancelled")]


def test_an_operator_retry_that_fails_again_opens_an_incident_at_once(
    claim, payroll, clock, operator_user
):
    for at in (61, 61 + 121, 61 + 121 + 241):
        clock.move_to(START + dt.timedelta(seconds=at))
        services.timer_fire_due()
    first = claim.incidents.get()

    services.incident_retry(incident_id=first.pk, actor=operator_user)

    claim.refresh_from_db()
    second = claim.incidents.get(status=Incident.Status.OPEN)
    assert claim.status == ProcessInstance.Status.ERROR
    assert second.details == {"kind": "engine"}
    assert len(retries(claim)) == 3
    with pytest.raises(Conflict):
        services.incident_retry(incident_id=first.pk, actor=operator_user)
