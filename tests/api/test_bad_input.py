"""Bad input answers 400 naming the failing field, and changes nothing."""

import io

import pytest
from rest_framework.test import APIClient

from tests.api.conftest import client_for
from workflows.models import HumanTask, ProcessDefinition, ProcessInstance, WorkflowEvent

pytestmark = pytest.mark.django_db


def snapshot():
    return (
        ProcessDefinition.objects.count(),
        ProcessInstance.objects.count(),
        list(HumanTask.objects.values_list("pk", "status", "assignee_id")),
        WorkflowEvent.objects.count(),
    )


@pytest.fixture
def started(org, personas, leave_request):
    nurse = client_for(personas.employee)
    response = nurse.post(
        "/api/v1/instances/start",
        {"process": "leave_request", "data": {"leave_type": "annual", "days": 2}},
        format="json",
    )
    assert response.status_code == 201
    return HumanTask.objects.get(instance_id=response.json()["id"])


def fields(response) -> list[str]:
    return [e["field"] for e in response.json()["errors"]]


START = "/api/v1/instances/start"


@pytest.mark.parametrize(
    ("body", "expected_fields"),
    [
        ({"process": "leave_request", "data": {"leave_type": "annual", "days": 2}, "x": 1}, ["x"]),
        ({"process": 42, "data": {"leave_type": "annual", "days": 2}}, []),
        ({"process": "leave_request", "data": "not a dict"}, ["data"]),
        ({"data": {"leave_type": "annual", "days": 2}}, ["process"]),
        ({"process": "leave_request", "data": {"leave_type": "annual", "days": "two"}}, ["days"]),
        (
            {"process": "leave_request", "data": {"leave_type": "holiday", "days": 40}},
            ["days", "leave_type"],
        ),
        (
            {"process": "leave_request", "data": {"days": 2, "salary_note": "x"}},
            ["leave_type", "salary_note"],
        ),
        ({"process": "no_such_process", "data": {}}, ["process"]),
        ({"process": "leave_request", "subject": "NOBODY", "data": {}}, ["subject"]),
    ],
    ids=[
        "unknown-field",
        "number-as-process-is-coerced-then-unknown",
        "data-wrong-type",
        "process-missing",
        "form-wrong-type",
        "form-enum-and-range",
        "form-missing-and-unknown",
        "unknown-process",
        "unknown-subject",
    ],
)
def test_bad_start_requests(started, personas, body, expected_fields):
    before = snapshot()

    response = client_for(personas.employee).post(START, body, format="json")

    assert response.status_code == 400
    assert sorted(set(fields(response))) == sorted(set(expected_fields or ["process"]))
    assert snapshot() == before


@pytest.mark.parametrize(
    ("body", "expected_fields"),
    [
        ({"data": {"decision": "maybe"}}, ["decision"]),
        ({"data": {}}, ["decision"]),
        ({"data": {"decision": "approve", "bonus": 5}}, ["bonus"]),
        ({"data": {"decision": "approve"}, "extra": True}, ["extra"]),
        ({"data": ["approve"]}, ["data"]),
        ({}, ["data"]),
    ],
    ids=["enum", "required", "unknown-form-field", "unknown-field", "list-not-dict", "empty"],
)
def test_bad_task_completions(started, personas, body, expected_fields):
    before = snapshot()

    response = client_for(personas.supervisor).post(
        f"/api/v1/tasks/{started.pk}/complete", body, format="json"
    )

    assert response.status_code == 400
    assert fields(response) == expected_fields
    assert snapshot() == before


def test_malformed_json_is_400(started, personas):
    before = snapshot()

    response = client_for(personas.supervisor).post(
        f"/api/v1/tasks/{started.pk}/complete", b'{"data": {', content_type="application/json"
    )

    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]
    assert snapshot() == before


def test_wrong_content_type_is_415(started, personas):
    response = client_for(personas.supervisor).post(
        f"/api/v1/tasks/{started.pk}/complete", b"decision=approve", content_type="text/plain"
    )

    assert response.status_code == 415


def test_bad_inbox_filters_are_400(started, personas):
    response = client_for(personas.supervisor).get("/api/v1/tasks?due_before=yesterday&x=1")

    assert response.status_code == 400
    assert sorted(fields(response)) == ["due_before", "x"]


def test_unknown_instance_filter_is_400(started, personas):
    response = client_for(personas.auditor).get("/api/v1/instances?colour=red")

    assert response.status_code == 400
    assert fields(response) == ["colour"]


def upload(client, files):
    parts = []
    for name, content in files.items():
        part = io.BytesIO(content)
        part.name = name
        parts.append(part)
    return client.post("/api/v1/deployments", {"files": parts}, format="multipart")


def test_a_non_xml_upload_is_refused_with_the_file(org, personas):
    response = upload(client_for(personas.process_owner), {"process.bpmn": b"plain text, no XML"})

    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["file"] == "process.bpmn"
    assert error["message"].startswith("not well-formed XML")
    assert ProcessDefinition.objects.count() == 0


def test_a_binary_upload_is_refused_with_the_file(org, personas):
    response = upload(client_for(personas.process_owner), {"process.bpmn": b"\x89PNG\r\n\x1a"})

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"file": "process.bpmn", "element": "", "message": "file is not UTF-8 text"}
    ]


def test_an_oversize_upload_is_refused_with_the_file(org, personas, settings):
    settings.CAREFLOW = {**settings.CAREFLOW, "BUNDLE_MAX_FILE_BYTES": 1000}

    response = upload(client_for(personas.process_owner), {"big.bpmn": b"<a/>" + b" " * 2000})

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "files/big.bpmn", "message": "larger than 1000 bytes"}
    ]
    assert ProcessDefinition.objects.count() == 0


def test_an_upload_without_files_is_refused(org, personas):
    response = client_for(personas.process_owner).post(
        "/api/v1/deployments", {"note": "x"}, format="multipart"
    )

    assert response.status_code == 400
    assert fields(response) == ["note"]


def test_an_invalid_bundle_lists_every_problem(org, personas):
    bpmn = (
        b'<?xml version="1.0"?><definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"'
        b' id="d" targetNamespace="t"><process id="p" isExecutable="false"/></definitions>'
    )

    response = upload(
        client_for(personas.process_owner), {"p.bpmn": bpmn, "form.json": b"{not json"}
    )

    assert response.status_code == 400
    assert [e["file"] for e in response.json()["errors"]] == ["form.json"]


def test_token_login_with_a_wrong_password_is_400(org):
    response = APIClient().post(
        "/api/v1/auth/token", {"username": "nurse", "password": "wrong"}, format="json"
    )

    assert response.status_code == 400
    assert fields(response) == ["non_field_errors"]
