"""[trust] item 6, the deploy: a process owner's trojaned leave_request v2 adding
`hr.revoke_system_access` does not become current until group HR (not the deployer) approves
it after seeing the diff. Until then new instances start on v1 and nothing migrates to it."""

import io

import pytest
from rest_framework.test import APIClient

from hr.models import RoleAssignment
from tests.conftest import shipped_bundle
from tests.factories import RoleAssignmentFactory
from workflows.models import ProcessInstance, ProcessVersion

pytestmark = pytest.mark.django_db

REVOKE_TASK = """
    <bpmn:serviceTask id="revoke_accounts" name="Tidy up accounts 整理账号">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="hr.revoke_system_access" resultVariable="revoked">
          <spiffworkflow:parameters />
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
      <bpmn:incoming>flow_to_revoke_accounts</bpmn:incoming>
      <bpmn:outgoing>flow_short_review_to_merge</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="flow_to_revoke_accounts"
                       sourceRef="review_by_supervisor" targetRef="revoke_accounts" />
"""


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def upload(user, files: dict[str, bytes], **fields):
    parts = []
    for name, content in files.items():
        part = io.BytesIO(content)
        part.name = name
        parts.append(part)
    return api(user).post("/api/v1/deployments", {"files": parts, **fields}, format="multipart")


def trojaned_leave_request() -> dict[str, bytes]:
    """The shipped leave_request, with a service task revoking the employee's accounts as soon
    as the supervisor has reviewed the request."""
    files = shipped_bundle("leave_request.bpmn")
    bpmn = files["leave_request.bpmn"].decode()
    bpmn = bpmn.replace(
        "<bpmn:outgoing>flow_short_review_to_merge</bpmn:outgoing>\n    </bpmn:userTask>",
        "<bpmn:outgoing>flow_to_revoke_accounts</bpmn:outgoing>\n    </bpmn:userTask>",
        1,
    )
    bpmn = bpmn.replace(
        '<bpmn:sequenceFlow id="flow_short_review_to_merge" sourceRef="review_by_supervisor"',
        '<bpmn:sequenceFlow id="flow_short_review_to_merge" sourceRef="revoke_accounts"',
        1,
    )
    bpmn = bpmn.replace("  </bpmn:process>", REVOKE_TASK + "  </bpmn:process>", 1)
    assert bpmn.count("revoke_accounts") == 6
    return {**files, "leave_request.bpmn": bpmn.encode()}


def renamed_leave_request() -> dict[str, bytes]:
    """An honest v2: a clearer name for the supervisor's review, nothing else."""
    files = shipped_bundle("leave_request.bpmn")
    bpmn = (
        files["leave_request.bpmn"]
        .decode()
        .replace(
            'name="Review by supervisor 主管审批"', 'name="Supervisor decides 主管审批决定"', 1
        )
    )
    return {**files, "leave_request.bpmn": bpmn.encode()}


@pytest.fixture
def trojan(leave_request, personas) -> ProcessVersion:
    response = upload(personas.process_owner, trojaned_leave_request())
    assert response.status_code == 202, response.content
    return ProcessVersion.objects.get(pk=response.json()["version"]["id"])


def start_leave(personas) -> dict:
    response = api(personas.employee).post(
        "/api/v1/instances/start",
        {"process": "leave_request", "data": {"leave_type": "annual", "days": 2}},
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_the_trojaned_version_waits_for_approval(leave_request, personas):
    response = upload(personas.process_owner, trojaned_leave_request())

    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["created"], body["version"]["number"]) == (True, 2)
    assert body["version"]["approval_status"] == "pending"
    assert body["approval_reasons"] == [
        {
            "kind": "high_impact_operation",
            "operation": "hr.revoke_system_access",
            "element": "revoke_accounts",
            "change": "added",
        }
    ]
    assert body["diff"]["operations"]["added"] == [
        {"name": "hr.revoke_system_access", "elements": ["revoke_accounts"], "is_high_impact": True}
    ]
    definitions = api(personas.employee).get("/api/v1/definitions").json()
    assert [d["latest_version"] for d in definitions if d["key"] == "leave_request"] == [1]


def test_a_new_instance_starts_on_v1_while_v2_waits(trojan, personas):
    started = start_leave(personas)

    assert started["version"] == 1
    form = api(personas.employee).get("/api/v1/definitions/leave_request/start-form").json()
    assert form["version"] == 1


def test_no_instance_migrates_to_the_waiting_version(trojan, personas):
    instance_id = start_leave(personas)["id"]

    response = api(personas.group_hr).post(
        f"/api/v1/instances/{instance_id}/migrate", {"to_version": 2}, format="json"
    )

    assert response.status_code == 409, response.content
    assert "pending" in response.json()["detail"]
    assert ProcessInstance.objects.get(pk=instance_id).version.number == 1


def test_the_owner_cannot_approve_their_own_deploy(trojan, personas):
    response = api(personas.process_owner).post(
        f"/api/v1/deployments/{trojan.pk}/approve", {}, format="json"
    )

    assert response.status_code == 403, response.content
    trojan.refresh_from_db()
    assert trojan.approval_status == "pending"


def test_an_owner_who_is_also_group_hr_cannot_approve_their_own_deploy(
    leave_request, personas, org
):
    RoleAssignmentFactory(
        user=personas.process_owner, role=RoleAssignment.Role.GROUP_HR, org_unit=org.group
    )
    deployed = upload(personas.process_owner, trojaned_leave_request())
    version_id = deployed.json()["version"]["id"]

    response = api(personas.process_owner).post(
        f"/api/v1/deployments/{version_id}/approve", {}, format="json"
    )

    assert response.status_code == 403, response.content
    assert "not its deployer" in response.json()["detail"]
    assert ProcessVersion.objects.get(pk=version_id).approval_status == "pending"


@pytest.mark.parametrize("who", ["supervisor", "clinic_hr", "auditor", "employee"])
def test_only_group_hr_may_approve(trojan, personas, who):
    response = api(getattr(personas, who)).post(
        f"/api/v1/deployments/{trojan.pk}/approve", {}, format="json"
    )

    assert response.status_code == 403, response.content
    trojan.refresh_from_db()
    assert trojan.approval_status == "pending"


def test_group_hr_sees_the_diff_and_approves(trojan, personas):
    diff = api(personas.group_hr).get(f"/api/v1/deployments/{trojan.pk}/diff")
    assert diff.status_code == 200, diff.content
    assert (diff.json()["version"], diff.json()["against_version"]) == (2, 1)
    assert diff.json()["operations"]["added"] == [
        {"name": "hr.revoke_system_access", "elements": ["revoke_accounts"], "is_high_impact": True}
    ]
    added = {e["id"]: e for e in diff.json()["elements"]["added"]}
    assert added["revoke_accounts"]["is_high_impact"] is True
    changed = {e["id"] for e in diff.json()["elements"]["changed"]}
    assert changed == {"review_by_supervisor", "merge_routes"}

    response = api(personas.group_hr).post(
        f"/api/v1/deployments/{trojan.pk}/approve",
        {"comment": "checked with the owner: accounts of leavers only"},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["approval_status"] == "approved"
    assert response.json()["reviewed_by"] == "group_hr"
    assert response.json()["review_comment"] == "checked with the owner: accounts of leavers only"
    assert start_leave(personas)["version"] == 2
    detail = api(personas.auditor).get(f"/api/v1/deployments/{trojan.pk}").json()
    assert (detail["approval_status"], detail["reviewed_by"]) == ("approved", "group_hr")
    assert detail["reviewed_at"] is not None


def test_group_hr_rejects_and_the_version_never_runs(trojan, personas):
    response = api(personas.group_hr).post(
        f"/api/v1/deployments/{trojan.pk}/reject", {"comment": "no"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["approval_status"] == "rejected"
    assert start_leave(personas)["version"] == 1
    again = api(personas.group_hr).post(
        f"/api/v1/deployments/{trojan.pk}/approve", {}, format="json"
    )
    assert again.status_code == 409, again.content


def test_group_hr_lists_the_deploys_waiting_for_them(trojan, personas):
    response = api(personas.group_hr).get("/api/v1/deployments?approval_status=pending")

    assert response.status_code == 200, response.content
    assert [(d["process"], d["number"]) for d in response.json()["results"]] == [
        ("leave_request", 2)
    ]


def test_a_new_process_calling_a_high_impact_operation_waits_too(personas, org):
    files = trojaned_leave_request()
    files["leave_request.bpmn"] = (
        files["leave_request.bpmn"]
        .decode()
        .replace('id="leave_request"', 'id="leave_request_copy"')
        .replace('processRef="leave_request"', 'processRef="leave_request_copy"')
        .encode()
    )

    response = upload(personas.process_owner, files)

    assert response.status_code == 202, response.content
    assert response.json()["version"]["approval_status"] == "pending"
    definitions = api(personas.employee).get("/api/v1/definitions").json()
    assert "leave_request_copy" not in [d["key"] for d in definitions]


def test_a_version_without_high_impact_changes_is_current_at_once(leave_request, personas):
    response = upload(personas.process_owner, renamed_leave_request())

    assert response.status_code == 201, response.content
    assert response.json()["version"]["approval_status"] == "not_required"
    assert response.json()["approval_reasons"] == []
    assert start_leave(personas)["version"] == 2


def test_the_shipped_processes_are_current_when_the_operator_deploys_them(leave_request):
    assert leave_request.approval_status == "not_required"
