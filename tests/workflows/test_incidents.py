"""A failing step becomes an incident an operator can retry; nothing is ever half-saved."""

import pytest

from tests.conftest import bundle_files
from workflows import services
from workflows.exceptions import Conflict, NotFound
from workflows.models import HumanTask, Incident, ProcessInstance, WorkflowEvent
from workflows.registry import OperationContext, Scope, operation

pytestmark = pytest.mark.django_db

PAYROLL_DOWN = "ConnectionError: payroll system unreachable"


class _Payroll:
    """The outside payroll system `test.flaky_payroll` stands in for."""

    is_down = False


@operation("test.flaky_payroll", scope=Scope.SUBJECT)
def flaky_payroll(ctx: OperationContext, hours: int) -> dict:
    if _Payroll.is_down:
        raise ConnectionError("payroll system unreachable")
    return {"recorded_hours": hours, "employee_id": ctx.subject_employee_id}


@pytest.fixture
def payroll(monkeypatch):
    """The payroll system, down until a test brings it back (reset after each test)."""
    monkeypatch.setattr(_Payroll, "is_down", True)
    return _Payroll


@pytest.fixture
def failed_claim(org, payroll):
    """An overtime claim whose payroll step failed when the nurse completed her task."""
    services.version_deploy(files=bundle_files("failing_service"))
    instance = services.instance_start(
        process_key="failing_service", started_by=org.nurse.user, subject=org.nurse
    )
    task = instance.tasks.get()
    services.task_complete(human_task_id=task.pk, user=org.nurse.user, data={"overtime_hours": 3})
    instance.refresh_from_db()
    return instance


# --- a failing service task ------------------------------------------------------------------


def test_a_failing_service_task_keeps_the_completion(org, failed_claim):
    task = failed_claim.tasks.get()

    assert task.element_id == "claim_overtime"
    assert task.status == HumanTask.Status.COMPLETED
    assert task.completed_by == org.nurse.user
    assert failed_claim.status == ProcessInstance.Status.ERROR
    assert failed_claim.ended_at is None


def test_a_failing_service_task_opens_an_incident(failed_claim):
    incident = failed_claim.incidents.get()
    opened = failed_claim.events.get(kind=WorkflowEvent.Kind.INCIDENT_OPENED)

    assert incident.status == Incident.Status.OPEN
    assert incident.element_id == "record_in_payroll"
    assert incident.message == PAYROLL_DOWN
    assert incident.details == {"kind": "engine"}
    assert incident.resolved_by is None
    assert list(failed_claim.events.values_list("kind", flat=True)) == [
        "instance_started",
        "task_created",
        "task_completed",
        "incident_opened",
    ]
    assert opened.element_id == "record_in_payroll"
    assert opened.task_id == incident.task_id
    assert opened.data == {"incident": incident.pk, "message": PAYROLL_DOWN}


def test_retry_after_the_service_recovers_resolves_and_completes(
    org, failed_claim, payroll, operator_user
):
    incident = failed_claim.incidents.get()
    payroll.is_down = False

    result = services.incident_retry(incident_id=incident.pk, actor=operator_user)

    failed_claim.refresh_from_db()
    completed = failed_claim.events.get(kind=WorkflowEvent.Kind.INSTANCE_COMPLETED)
    resolved = failed_claim.events.get(kind=WorkflowEvent.Kind.INCIDENT_RESOLVED)
    assert result.pk == incident.pk
    assert result.status == Incident.Status.RESOLVED
    assert result.resolved_by == operator_user
    assert result.resolved_at is not None
    assert failed_claim.status == ProcessInstance.Status.COMPLETED
    assert failed_claim.incidents.filter(status=Incident.Status.OPEN).count() == 0
    assert completed.data["data"]["payroll"] == {"recorded_hours": 3, "employee_id": org.nurse.pk}
    assert resolved.actor == operator_user
    assert resolved.element_id == "record_in_payroll"
    assert resolved.data == {"incident": incident.pk}
    assert list(failed_claim.events.values_list("kind", flat=True)) == [
        "instance_started",
        "task_created",
        "task_completed",
        "incident_opened",
        "incident_resolved",
        "instance_completed",
    ]


def test_a_resolved_incident_cannot_be_retried(failed_claim, payroll, operator_user):
    incident = failed_claim.incidents.get()
    payroll.is_down = False
    services.incident_retry(incident_id=incident.pk, actor=operator_user)
    events_before = failed_claim.events.count()

    with pytest.raises(Conflict, match=f"incident {incident.pk} is already resolved"):
        services.incident_retry(incident_id=incident.pk, actor=operator_user)

    assert failed_claim.events.count() == events_before


def test_retry_while_still_failing_opens_a_new_incident(failed_claim, operator_user):
    first = failed_claim.incidents.get()

    services.incident_retry(incident_id=first.pk, actor=operator_user)

    failed_claim.refresh_from_db()
    first.refresh_from_db()
    second = failed_claim.incidents.get(status=Incident.Status.OPEN)
    assert failed_claim.status == ProcessInstance.Status.ERROR
    assert first.status == Incident.Status.RESOLVED
    assert first.resolved_by == operator_user
    assert second.pk != first.pk
    assert second.element_id == "record_in_payroll"
    assert second.task_id == first.task_id
    assert second.message == PAYROLL_DOWN
    assert list(failed_claim.events.values_list("kind", flat=True))[-2:] == [
        "incident_resolved",
        "incident_opened",
    ]


def test_retrying_an_unknown_incident_is_not_found(operator_user):
    with pytest.raises(NotFound, match="incident 999999 does not exist"):
        services.incident_retry(incident_id=999999, actor=operator_user)


# --- a runaway script ------------------------------------------------------------------------


def test_a_runaway_script_is_stopped_and_opens_an_incident(org, settings):
    settings.CAREFLOW = {**settings.CAREFLOW, "SCRIPT_MAX_LINES": 1000}
    services.version_deploy(files=bundle_files("script_loop"))

    instance = services.instance_start(
        process_key="script_loop", started_by=org.nurse.user, subject=org.nurse
    )

    incident = instance.incidents.get()
    assert instance.status == ProcessInstance.Status.ERROR
    assert incident.status == Incident.Status.OPEN
    assert incident.element_id == "spin_forever"
    assert "script ran more than 1000 lines" in incident.message
    assert list(instance.events.values_list("kind", flat=True)) == [
        "instance_started",
        "incident_opened",
    ]


# --- one transaction per change --------------------------------------------------------------


def test_a_failure_while_saving_leaves_nothing_half_saved(org, monkeypatch):
    services.version_deploy(files=bundle_files("simple_task"))
    instance = services.instance_start(
        process_key="simple_task", started_by=org.nurse.user, subject=org.nurse
    )
    task = instance.tasks.get()
    state_before = instance.state
    events_before = list(instance.events.values_list("seq", "kind"))

    def broken_projection(*args, **kwargs):
        raise RuntimeError("timer table unavailable")

    monkeypatch.setattr(services, "_project_timers", broken_projection)
    with pytest.raises(RuntimeError, match="timer table unavailable"):
        services.task_complete(
            human_task_id=task.pk, user=org.nurse.user, data={"note": "ward rounds"}
        )

    task.refresh_from_db()
    instance.refresh_from_db()
    assert task.status == HumanTask.Status.OPEN
    assert task.completed_by is None
    assert task.completed_at is None
    assert instance.status == ProcessInstance.Status.WAITING
    assert instance.state == state_before
    assert list(instance.events.values_list("seq", "kind")) == events_before
    assert instance.incidents.count() == 0
