"""A Department lane taken from process data stays within the instance's clinic or group.

The attack of issue 16 item 4, through the API: the process owner deploys a diagram whose
script names another clinic's department, so that its Department-lane task (asking for a
bank account and ID number) lands in that clinic's head nurse's inbox. The lane refuses a
unit outside the subject's clinic: no one gets the task, and the instance has an incident
naming the element and why.
"""

import io

import pytest

from hr.models import FeedbackTicket, RoleAssignment
from tests.api.conftest import client_for
from tests.conftest import shipped_bundle
from tests.factories import EmployeeFactory, RoleAssignmentFactory
from workflows import services
from workflows.models import HumanTask, Incident, Notification, ProcessInstance

pytestmark = pytest.mark.django_db

PROCESS = "payroll_details_check"


def diagram(department: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    id="{PROCESS}_definitions" targetNamespace="urn:test:{PROCESS}">
  <bpmn:collaboration id="{PROCESS}_collaboration">
    <bpmn:participant id="{PROCESS}_participant" name="Payroll check" processRef="{PROCESS}" />
  </bpmn:collaboration>
  <bpmn:process id="{PROCESS}" name="Payroll details check 薪资信息核对" isExecutable="true">
    <bpmn:laneSet id="{PROCESS}_lanes">
      <bpmn:lane id="lane_employee" name="Employee (员工)">
        <bpmn:flowNodeRef>started</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>pick_department</bpmn:flowNodeRef>
      </bpmn:lane>
      <bpmn:lane id="lane_department" name="Department (科室)">
        <bpmn:flowNodeRef>send_bank_details</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>done</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="started"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="pick_department" name="Pick department" scriptFormat="python">
      <bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>department = "{department}"</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:userTask id="send_bank_details" name="Send your bank account and ID number">
      <bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="done"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="started" targetRef="pick_department" />
    <bpmn:sequenceFlow id="f2" sourceRef="pick_department" targetRef="send_bank_details" />
    <bpmn:sequenceFlow id="f3" sourceRef="send_bank_details" targetRef="done" />
  </bpmn:process>
</bpmn:definitions>""".encode()


def deploy_as_owner(personas, department: str) -> None:
    part = io.BytesIO(diagram(department))
    part.name = f"{PROCESS}.bpmn"
    response = client_for(personas.process_owner).post(
        "/api/v1/deployments", {"files": [part]}, format="multipart"
    )
    assert response.status_code == 201, response.content


def start_as(user) -> ProcessInstance:
    response = client_for(user).post("/api/v1/instances/start", {"process": PROCESS}, format="json")
    assert response.status_code == 201, response.content
    return ProcessInstance.objects.get(pk=response.json()["id"])


def inbox(user) -> list[dict]:
    response = client_for(user).get("/api/v1/tasks")
    assert response.status_code == 200, response.content
    return response.json()["results"]


@pytest.fixture
def west_head_nurse(org):
    head = EmployeeFactory(user__username="west_head_nurse", org_unit=org.west_nursing)
    RoleAssignmentFactory(
        user=head.user, role=RoleAssignment.Role.SUPERVISOR, org_unit=org.west_nursing
    )
    return head.user


def test_a_lane_from_data_cannot_reach_another_clinics_head_nurse(personas, org, west_head_nurse):
    # Given a diagram whose script routes its task to West Clinic's nursing department
    deploy_as_owner(personas, "west-nursing")

    # When an East Clinic nurse starts it
    instance = start_as(personas.employee)

    # Then West Clinic's head nurse gets no task and no notification
    assert inbox(west_head_nurse) == []
    assert Notification.objects.filter(recipient=west_head_nurse).count() == 0
    # and the instance has an incident naming the element and why
    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.ERROR
    (incident,) = Incident.objects.filter(instance=instance)
    assert incident.element_id == "send_bank_details"
    assert incident.message == (
        "nobody can work 'send_bank_details': department 'west-nursing' from the process data "
        "is in west, outside this instance's clinic (east)"
    )
    (task,) = HumanTask.objects.filter(instance=instance)
    assert (task.candidate_user, task.candidate_role, task.candidate_org_unit) == (None, "", None)


def test_a_lane_from_data_within_the_subjects_clinic_still_works(personas, org, west_head_nurse):
    # Given the same diagram routing to the nurse's own clinic's nursing department
    deploy_as_owner(personas, "east-nursing")

    # When the East Clinic nurse starts it
    instance = start_as(personas.employee)

    # Then East Clinic's head nurse has the task; West Clinic's does not
    assert [t["instance"] for t in inbox(personas.supervisor)] == [instance.pk]
    assert inbox(west_head_nurse) == []
    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.WAITING


# --- the shipped feedback process: the handler names the department ----------------------------

CLINIC_TRIAGE = "triage_by_clinic_hr"


def triage_task(user, instance_id: int) -> dict:
    (task,) = [
        t for t in inbox(user) if t["instance"] == instance_id and t["element_id"] == CLINIC_TRIAGE
    ]
    return task


def test_feedback_about_a_clinic_cannot_be_routed_into_another_clinic(
    personas, org, west_head_nurse
):
    # Given a named complaint about East Clinic, triaged by East Clinic's HR
    services.version_deploy(files=shipped_bundle("feedback_closure.bpmn"))
    submitted = client_for(personas.employee).post(
        "/api/v1/feedback",
        {"text": "更衣室太挤", "is_anonymous": False, "clinic": "east"},
        format="json",
    )
    assert submitted.status_code == 201, submitted.content
    ticket = FeedbackTicket.objects.get(receipt_code=submitted.json()["receipt_code"])
    instance_id = submitted.json()["instance_id"]
    first = triage_task(personas.clinic_hr, instance_id)

    # When the handler names West Clinic's nursing department
    done = client_for(personas.clinic_hr).post(
        f"/api/v1/tasks/{first['id']}/complete",
        {"data": {"category": "workload", "department": "west-nursing"}},
        format="json",
    )

    # Then the triage comes back to the handler with the reason; West Clinic gets nothing
    assert done.status_code == 200, done.content
    again = triage_task(personas.clinic_hr, instance_id)
    routing = client_for(personas.clinic_hr).get(f"/api/v1/tasks/{again['id']}").json()
    assert routing["form"]["data"]["routing"] == {
        "is_routed": False,
        "problem": "West-Nursing (west-nursing) cannot take this feedback: it is in west, "
        "outside this instance's clinic (east). West-Nursing不在本反馈所属门店范围内。",
    }
    ticket.refresh_from_db()
    assert ticket.department is None
    assert inbox(west_head_nurse) == []
