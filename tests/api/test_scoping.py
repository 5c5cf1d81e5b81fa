"""Scope: people of one clinic never see another clinic's tasks or instances."""

import pytest

from tests.api.conftest import client_for
from tests.conftest import bundle_files
from tests.factories import EmployeeFactory, RoleAssignmentFactory
from workflows import services
from workflows.models import HumanTask

pytestmark = pytest.mark.django_db


def start_leave(client, days=2):
    response = client.post(
        "/api/v1/instances/start",
        {"process": "leave_request", "data": {"leave_type": "annual", "days": days}},
        format="json",
    )
    assert response.status_code == 201
    return response.json()["id"]


@pytest.fixture
def two_clinics(org, personas, leave_request):
    east = start_leave(client_for(org.nurse.user), days=5)
    west = start_leave(client_for(org.west_nurse.user), days=5)
    return east, west


def ids(response):
    return sorted(item["id"] for item in response.json()["results"])


def test_each_clinic_hr_sees_only_their_clinic(org, two_clinics):
    east, west = two_clinics

    east_view = client_for(org.east_hr.user).get("/api/v1/instances")
    west_view = client_for(org.west_hr.user).get("/api/v1/instances")

    assert ids(east_view) == [east]
    assert ids(west_view) == [west]


def test_the_east_hr_inbox_has_the_east_review_only(org, two_clinics):
    east, _ = two_clinics

    inbox = client_for(org.east_hr.user).get("/api/v1/tasks").json()["results"]
    other = client_for(org.west_hr.user).get(f"/api/v1/instances/{east}")

    assert [(t["instance"], t["element_id"]) for t in inbox] == [(east, "review_by_clinic_hr")]
    assert other.status_code == 404


def test_an_employee_sees_their_own_instances_only(org, two_clinics):
    east, west = two_clinics

    mine = client_for(org.nurse.user).get("/api/v1/instances")
    theirs = client_for(org.nurse.user).get(f"/api/v1/instances/{west}/history")

    assert ids(mine) == [east]
    assert theirs.status_code == 404


def test_auditors_and_group_hr_see_the_whole_group(personas, two_clinics):
    assert ids(client_for(personas.auditor).get("/api/v1/instances")) == sorted(two_clinics)
    assert ids(client_for(personas.group_hr).get("/api/v1/instances")) == sorted(two_clinics)


def test_instance_filters(personas, two_clinics, org):
    east, west = two_clinics
    auditor = client_for(personas.auditor)

    by_unit = auditor.get("/api/v1/instances?org_unit=west")
    by_subject = auditor.get(f"/api/v1/instances?subject={org.nurse.employee_no}")
    by_status = auditor.get("/api/v1/instances?status=completed")
    by_process = auditor.get("/api/v1/instances?process=leave_request")

    assert ids(by_unit) == [west]
    assert ids(by_subject) == [east]
    assert ids(by_status) == []
    assert ids(by_process) == sorted(two_clinics)


def test_the_inbox_filters_by_process_and_overdue(org, two_clinics):
    east, _ = two_clinics
    HumanTask.objects.filter(instance_id=east, element_id="review_by_clinic_hr").update(
        due_at="2020-01-01T00:00:00Z"
    )
    east_hr = client_for(org.east_hr.user)

    overdue = east_hr.get("/api/v1/tasks?overdue=true").json()["results"]
    not_overdue = east_hr.get("/api/v1/tasks?overdue=false").json()["results"]
    other_process = east_hr.get("/api/v1/tasks?process=simple_task").json()["results"]

    assert [(t["element_id"], t["is_overdue"]) for t in overdue] == [("review_by_clinic_hr", True)]
    assert not_overdue == []
    assert other_process == []


def test_a_supervisor_may_not_start_a_leave_for_someone_else(org, personas, leave_request):
    response = client_for(org.head_nurse.user).post(
        "/api/v1/instances/start",
        {
            "process": "leave_request",
            "subject": org.nurse.employee_no,
            "data": {"leave_type": "annual", "days": 2},
        },
        format="json",
    )

    assert response.status_code == 403


def test_delegate_then_the_colleague_completes(org, personas, leave_request):
    instance = start_leave(client_for(org.nurse.user))
    task = HumanTask.objects.get(instance_id=instance, status="open")
    head_nurse = client_for(org.head_nurse.user)
    deputy = EmployeeFactory(user__username="deputy_head_nurse", org_unit=org.east_nursing)
    RoleAssignmentFactory(user=deputy.user, role="supervisor", org_unit=org.east_nursing)

    delegated = head_nurse.post(
        f"/api/v1/tasks/{task.pk}/delegate", {"to_user": "deputy_head_nurse"}, format="json"
    )
    completed = client_for(deputy.user).post(
        f"/api/v1/tasks/{task.pk}/complete", {"data": {"decision": "approve"}}, format="json"
    )

    assert delegated.json()["assignee"] == "deputy_head_nurse"
    assert completed.status_code == 200


def test_an_integration_correlates_an_appraisal(org, personas):
    services.version_deploy(files=bundle_files("await_appraisal"))
    instance = services.instance_start(
        process_key="await_appraisal",
        started_by=org.nurse.user,
        subject=org.nurse,
        business_key="E-2026-11",
    )

    response = client_for(personas.integration).post(
        "/api/v1/messages",
        {
            "name": "appraisal_scores",
            "correlation": {"business_key": "E-2026-11"},
            "payload": {"scores": [90, 85]},
        },
        format="json",
    )

    assert response.status_code == 200
    assert response.json() == {"correlated": [instance.pk], "started": []}
    instance.refresh_from_db()
    assert instance.status == "completed"


def test_a_process_owner_sees_versions_and_counts_not_data(org, personas, two_clinics):
    owner = client_for(personas.process_owner)

    versions = owner.get("/api/v1/definitions/leave_request/versions").json()
    instances = owner.get("/api/v1/instances").json()["results"]

    assert [(v["number"], v["instances"], v["active_instances"]) for v in versions] == [(1, 2, 2)]
    assert instances == []
