"""One story over HTTP: a process owner uploads a bundle, an employee starts it, the
supervisor completes the next task from the inbox, an auditor exports the history."""

import csv
import io

import pytest
from rest_framework.test import APIClient

from tests.conftest import shipped_bundle

pytestmark = pytest.mark.django_db


def signed_in(username: str, password: str) -> APIClient:
    token = APIClient().post(
        "/api/v1/auth/token", {"username": username, "password": password}, format="json"
    )
    assert token.status_code == 200
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")
    return client


def set_password(user, password="s3cret-pass"):
    user.set_password(password)
    user.save()
    return password


def upload(client, files: dict[str, bytes]):
    parts = [io.BytesIO(content) for content in files.values()]
    for part, name in zip(parts, files, strict=True):
        part.name = name
    return client.post("/api/v1/deployments", {"files": parts}, format="multipart")


def test_leave_request_from_upload_to_audited_history(personas):
    bundle = shipped_bundle("leave_request.bpmn")
    owner = signed_in("owner", set_password(personas.process_owner))
    nurse = signed_in("nurse", set_password(personas.employee))
    head_nurse = signed_in("head_nurse", set_password(personas.supervisor))
    auditor = signed_in("auditor", set_password(personas.auditor))

    deployed = upload(owner, bundle)
    assert deployed.status_code == 201
    assert deployed.json()["version"]["number"] == 1
    assert deployed.json()["version"]["process"] == "leave_request"

    form = nurse.get("/api/v1/definitions/leave_request/start-form")
    assert form.status_code == 200
    assert form.json()["schema"]["required"] == ["leave_type", "days"]

    started = nurse.post(
        "/api/v1/instances/start",
        {"process": "leave_request", "data": {"leave_type": "annual", "days": 2}},
        format="json",
    )
    assert started.status_code == 201
    instance_id = started.json()["id"]
    assert started.json()["status"] == "waiting"
    assert started.json()["waiting_at"] == ["Review by supervisor 主管审批"]

    inbox = head_nurse.get("/api/v1/tasks")
    assert inbox.status_code == 200
    (task,) = inbox.json()["results"]
    assert task["element_id"] == "review_by_supervisor"
    detail = head_nurse.get(f"/api/v1/tasks/{task['id']}")
    assert detail.json()["form"]["data"]["days"] == 2
    assert detail.json()["form"]["schema"]["required"] == ["decision"]

    done = head_nurse.post(
        f"/api/v1/tasks/{task['id']}/complete", {"data": {"decision": "approve"}}, format="json"
    )
    assert done.status_code == 200
    assert done.json()["status"] == "completed"

    (ack,) = nurse.get("/api/v1/tasks").json()["results"]
    assert ack["element_id"] == "acknowledge_outcome"
    assert (
        nurse.post(
            f"/api/v1/tasks/{ack['id']}/complete", {"data": {"acknowledged": True}}, format="json"
        ).status_code
        == 200
    )
    assert nurse.get(f"/api/v1/instances/{instance_id}").json()["status"] == "completed"

    exported = auditor.get(f"/api/v1/instances/{instance_id}/history/export.csv")
    assert exported.status_code == 200
    rows = list(csv.DictReader(io.StringIO(exported.content.decode())))
    assert [r["kind"] for r in rows] == [
        "instance_started",
        "task_created",
        "task_completed",
        "task_created",
        "task_completed",
        "instance_completed",
    ]
    assert [r["actor"] for r in rows if r["kind"] == "task_completed"] == ["head_nurse", "nurse"]
    as_json = auditor.get(f"/api/v1/instances/{instance_id}/history/export.json").json()
    assert len(as_json["events"]) == 6
    assert as_json["verification"]["is_valid"] is True
    verified = auditor.get(f"/api/v1/instances/{instance_id}/history/verify")
    assert verified.json() == {
        "is_valid": True,
        "events_checked": 6,
        "first_bad_seq": None,
        "reason": "",
    }


def test_completing_a_completed_task_answers_409(personas, leave_request):
    nurse = APIClient()
    nurse.force_authenticate(personas.employee)
    head_nurse = APIClient()
    head_nurse.force_authenticate(personas.supervisor)
    nurse.post(
        "/api/v1/instances/start",
        {"process": "leave_request", "data": {"leave_type": "sick", "days": 1}},
        format="json",
    )
    (task,) = head_nurse.get("/api/v1/tasks").json()["results"]
    url = f"/api/v1/tasks/{task['id']}/complete"
    first = head_nurse.post(url, {"data": {"decision": "approve"}}, format="json")

    second = head_nurse.post(url, {"data": {"decision": "approve"}}, format="json")

    assert first.status_code == 200
    assert second.status_code == 409
    assert second.json() == {"detail": f"task {task['id']} is already completed"}
