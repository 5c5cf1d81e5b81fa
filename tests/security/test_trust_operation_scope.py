"""A process owner's diagram cannot point a service operation at somebody else's records.

The attacks of issue 16 item 2, through the API: the process owner deploys a small diagram
whose service task passes another person's credential or ticket id; an employee allowed to
start it does; the registry refuses the id before the operation runs (an incident naming
the element), and the other person's records are unchanged. Every registered operation
declares its scope (workflows/registry.py).
"""

import datetime as dt
import inspect
import io

import pytest

from hr.models import Credential, CredentialRenewal, DutyRestriction, FeedbackTicket
from tests.api.conftest import client_for
from tests.conftest import shipped_bundle
from tests.factories import EmployeeFactory
from workflows import registry, services
from workflows.models import Incident, ProcessInstance
from workflows.registry import OperationContext, Scope, operation

pytestmark = pytest.mark.django_db

PROCESS = "colleague_records"


def diagram(operator: str, params: dict[str, str], retry: str = "") -> bytes:
    """A diagram an employee starts about themself, whose one service task calls `operator`
    with `params` (parameter name -> expression), retried by `retry` (a spiffworkflow:retry)."""
    parameters = "\n".join(
        f'<spiffworkflow:parameter id="{name}" type="any" value="{value}" />'
        for name, value in params.items()
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="{PROCESS}_definitions" targetNamespace="urn:test:{PROCESS}">
  <bpmn:collaboration id="{PROCESS}_collaboration">
    <bpmn:participant id="{PROCESS}_participant" name="Check records" processRef="{PROCESS}" />
  </bpmn:collaboration>
  <bpmn:process id="{PROCESS}" name="Check records 核对档案" isExecutable="true">
    <bpmn:laneSet id="{PROCESS}_lanes">
      <bpmn:lane id="lane_employee" name="Employee (员工)">
        <bpmn:flowNodeRef>started</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>act_on_colleague</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>done</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="started"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="act_on_colleague" name="Act on a colleague">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="{operator}" resultVariable="result">
          <spiffworkflow:parameters>{parameters}</spiffworkflow:parameters>{retry}
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:endEvent id="done"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="started" targetRef="act_on_colleague" />
    <bpmn:sequenceFlow id="f2" sourceRef="act_on_colleague" targetRef="done" />
  </bpmn:process>
</bpmn:definitions>""".encode()


def deploy_as_owner(personas, operator: str, params: dict[str, str], retry: str = "") -> None:
    """The owner deploys; a call to a high-impact operation waits for group HR, who approve it
    here: the scope must hold even for a diagram a reviewer let through (defence in depth)."""
    part = io.BytesIO(diagram(operator, params, retry))
    part.name = f"{PROCESS}.bpmn"
    response = client_for(personas.process_owner).post(
        "/api/v1/deployments", {"files": [part]}, format="multipart"
    )
    assert response.status_code in (201, 202), response.content
    if response.status_code == 202:
        approved = client_for(personas.group_hr).post(
            f"/api/v1/deployments/{response.json()['version']['id']}/approve", {}, format="json"
        )
        assert approved.status_code == 200, approved.content


def start_as(user) -> ProcessInstance:
    response = client_for(user).post("/api/v1/instances/start", {"process": PROCESS}, format="json")
    assert response.status_code == 201, response.content
    return ProcessInstance.objects.get(pk=response.json()["id"])


def credential_of(employee, number: str) -> Credential:
    return Credential.objects.create(
        employee=employee,
        kind=Credential.Kind.PRACTISING_LICENCE,
        number=number,
        issuer="Municipal Health Commission 市卫生健康委员会",
        valid_from_date=dt.date(2021, 7, 1),
        valid_until_date=dt.date(2026, 6, 30),
    )


@pytest.fixture
def other_doctor(org):
    return EmployeeFactory(
        user__username="west_doctor",
        org_unit=org.west_nursing,
        role_family="doctor",
    )


def the_incident(instance: ProcessInstance) -> Incident:
    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.ERROR
    (incident,) = instance.incidents.all()
    return incident


# --- the three attacks -------------------------------------------------------------------------


def test_a_diagram_cannot_make_another_doctor_ineligible_for_duty(personas, org, other_doctor):
    # Given another doctor's practising licence, and a diagram that restricts it
    licence = credential_of(other_doctor, "PL-2021-0042")
    deploy_as_owner(personas, "hr.licence_expiry_restrict", {"credential_id": str(licence.pk)})

    # When an employee allowed to start it does
    instance = start_as(personas.employee)

    # Then the element has an incident, and the doctor is still eligible for duty
    incident = the_incident(instance)
    assert incident.element_id == "act_on_colleague"
    assert incident.message == (
        f"OperationOutOfScope: hr.licence_expiry_restrict: credential_id {licence.pk} is outside"
        " this instance's scope (must be a credential of the instance's subject that this "
        "instance renews); nothing was changed"
    )
    licence.refresh_from_db()
    assert licence.status == Credential.Status.ACTIVE
    assert DutyRestriction.objects.filter(employee=other_doctor).count() == 0


def test_a_diagram_cannot_close_a_nurses_anonymous_complaint(personas, org):
    # Given a nurse's anonymous complaint, being handled by the shipped feedback process
    services.version_deploy(files=shipped_bundle("feedback_closure.bpmn"))
    submitted = client_for(org.west_nurse.user).post(
        "/api/v1/feedback", {"text": "夜班排班不公平", "is_anonymous": True}, format="json"
    )
    assert submitted.status_code == 201, submitted.content
    ticket = FeedbackTicket.objects.get(receipt_code=submitted.json()["receipt_code"])
    deploy_as_owner(
        personas,
        "hr.feedback_close_resolved",
        {"ticket_id": str(ticket.pk), "resolution": "'已处理 Handled'"},
    )

    # When an employee starts the diagram that closes it
    instance = start_as(personas.employee)

    # Then the element has an incident, and the complaint is still open, untouched
    incident = the_incident(instance)
    assert incident.element_id == "act_on_colleague"
    assert incident.message == (
        f"OperationOutOfScope: hr.feedback_close_resolved: ticket_id {ticket.pk} is outside "
        "this instance's scope (must be the feedback ticket this instance closes); nothing "
        "was changed"
    )
    ticket.refresh_from_db()
    assert (ticket.status, ticket.resolution, ticket.closed_at) == (
        FeedbackTicket.Status.RECEIVED,
        "",
        None,
    )


def test_a_diagram_cannot_take_over_another_doctors_renewal(personas, org, other_doctor):
    # Given another doctor's licence, not yet being renewed
    licence = credential_of(other_doctor, "PL-2021-0043")
    deploy_as_owner(personas, "hr.licence_renewal_open", {"credential_id": str(licence.pk)})

    # When an employee starts a diagram that opens its renewal
    instance = start_as(personas.employee)

    # Then the element has an incident, and no renewal was tied to that instance
    incident = the_incident(instance)
    assert incident.element_id == "act_on_colleague"
    assert incident.message.startswith(
        f"OperationOutOfScope: hr.licence_renewal_open: credential_id {licence.pk} is outside"
    )
    assert CredentialRenewal.objects.filter(credential=licence).count() == 0


def test_a_scope_refusal_is_not_tried_again(personas, org, other_doctor):
    # Given a service task the diagram asks to retry three times
    licence = credential_of(other_doctor, "PL-2021-0044")
    deploy_as_owner(
        personas,
        "hr.licence_expiry_restrict",
        {"credential_id": str(licence.pk)},
        retry='<spiffworkflow:retry retries="3" backoff_base="60" />',
    )

    # When its id is refused
    instance = start_as(personas.employee)

    # Then no retry is planned: the incident is there at once
    assert instance.timers.count() == 0
    assert the_incident(instance).element_id == "act_on_colleague"


def test_an_id_that_is_no_number_is_refused_too(personas, org):
    deploy_as_owner(personas, "hr.licence_expiry_restrict", {"credential_id": "'1 OR 1=1'"})

    instance = start_as(personas.employee)

    assert the_incident(instance).message == (
        "OperationOutOfScope: hr.licence_expiry_restrict: credential_id '1 OR 1=1' is outside "
        "this instance's scope (must be a credential of the instance's subject that this "
        "instance renews); nothing was changed"
    )


# --- honest use still works --------------------------------------------------------------------


def test_the_subjects_own_credential_is_within_scope(personas, org):
    # Given the starter's own licence
    licence = credential_of(org.nurse, "NL-2021-0001")
    deploy_as_owner(personas, "hr.licence_renewal_open", {"credential_id": str(licence.pk)})

    # When she starts the diagram
    instance = start_as(personas.employee)

    # Then the renewal is tied to her instance
    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.COMPLETED
    assert CredentialRenewal.objects.get(credential=licence).process_instance_id == instance.pk


# --- every operation declares its scope --------------------------------------------------------


def test_every_registered_operation_declares_its_scope_and_checks_its_ids():
    names = registry.registered_names()

    undeclared = [n for n in names if not isinstance(registry.spec(n).scope, Scope)]
    unchecked = [
        (n, p)
        for n in names
        for p in list(inspect.signature(registry.spec(n).fn).parameters)[1:]
        if p.endswith(("_id", "_ids")) and p not in registry.spec(n).ids
    ]

    assert len([n for n in names if not n.startswith("test.")]) >= 40
    assert undeclared == []
    assert unchecked == []
    assert registry.spec("hr.licence_expiry_restrict").scope == Scope.SUBJECT
    assert registry.spec("hr.feedback_close_resolved").scope == Scope.INSTANCE
    assert registry.spec("notify.send").scope == Scope.ORG_UNIT


def test_a_registration_without_a_scope_fails():
    with pytest.raises(ValueError, match="declares no scope"):

        @operation("test.unscoped")
        def unscoped(ctx: OperationContext) -> None: ...

    assert not registry.is_registered("test.unscoped")


def test_a_registration_taking_an_id_without_a_rule_fails():
    with pytest.raises(ValueError, match="takes employee_id from diagram data without a rule"):

        @operation("test.unchecked_id", scope=Scope.SUBJECT)
        def unchecked(ctx: OperationContext, employee_id: int) -> None: ...

    assert not registry.is_registered("test.unchecked_id")
