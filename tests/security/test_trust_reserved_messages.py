"""[trust] item 5: a process owner's new diagram that starts on or catches the shipped message
`offboarding_requested` (so that it runs beside, or instead of, the real offboarding) is
refused at deploy unless group HR approves it; the shipped offboarding keeps working."""

import datetime as dt
import io

import pytest
from rest_framework.test import APIClient

from tests.conftest import bundle_files, shipped_bundle
from workflows import services
from workflows.models import ProcessDefinition, ProcessInstance, ProcessVersion

pytestmark = pytest.mark.django_db


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


@pytest.fixture
def offboarding_on_request(org, time_machine):
    time_machine.move_to(dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC), tick=False)
    return services.version_deploy(files=shipped_bundle("offboarding_on_request.bpmn")).version


def send_offboarding_requested(personas, employee_no: str):
    return api(personas.group_hr).post(
        "/api/v1/messages",
        {
            "name": "offboarding_requested",
            "correlation": {"employee_no": employee_no},
            "payload": {"last_working_date": "2026-03-13", "reason": "resignation"},
        },
        format="json",
    )


def test_a_new_process_starting_on_the_shipped_message_is_refused(offboarding_on_request, personas):
    response = upload(personas.process_owner, bundle_files("offboarding_stub"))

    assert response.status_code == 400, response.content
    (error,) = response.json()["errors"]
    assert (error["file"], error["element"]) == ("offboarding_stub.bpmn", "offboarding_requested")
    assert error["message"].startswith(
        "message 'offboarding_requested' is reserved: offboarding_on_request already use it"
    )
    assert not ProcessDefinition.objects.filter(key="offboarding_stub").exists()


def test_a_new_process_catching_the_shipped_message_is_refused(offboarding_on_request, personas):
    response = upload(personas.process_owner, bundle_files("offboarding_catcher"))

    assert response.status_code == 400, response.content
    (error,) = response.json()["errors"]
    assert (error["file"], error["element"]) == (
        "offboarding_catcher.bpmn",
        "wait_for_offboarding",
    )
    assert "'offboarding_requested' is reserved" in error["message"]
    assert not ProcessDefinition.objects.filter(key="offboarding_catcher").exists()


def test_asked_for_approval_it_waits_and_never_receives_the_message(
    offboarding_on_request, personas, org
):
    response = upload(
        personas.process_owner, bundle_files("offboarding_stub"), request_approval="true"
    )

    assert response.status_code == 202, response.content
    assert response.json()["approval_reasons"] == [
        {
            "kind": "reserved_message",
            "message": "offboarding_requested",
            "file": "offboarding_stub.bpmn",
            "element": "offboarding_requested",
            "used_by": ["offboarding_on_request"],
        }
    ]
    sent = send_offboarding_requested(personas, org.nurse.employee_no)
    assert sent.status_code == 200, sent.content
    started = ProcessInstance.objects.filter(pk__in=sent.json()["started"])
    assert [i.definition.key for i in started] == ["offboarding_on_request"]


def test_approved_by_group_hr_it_becomes_current(offboarding_on_request, personas):
    deployed = upload(
        personas.process_owner, bundle_files("offboarding_stub"), request_approval="true"
    )
    version_id = deployed.json()["version"]["id"]

    response = api(personas.group_hr).post(
        f"/api/v1/deployments/{version_id}/approve", {"comment": "the PIP test stub"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert ProcessVersion.objects.get(pk=version_id).is_released is True
    definitions = api(personas.employee).get("/api/v1/definitions").json()
    assert "offboarding_stub" in [d["key"] for d in definitions]


def test_the_shipped_offboarding_still_starts_on_its_message(offboarding_on_request, personas, org):
    response = send_offboarding_requested(personas, org.nurse.employee_no)

    assert response.status_code == 200, response.content
    (instance_id,) = response.json()["started"]
    assert ProcessInstance.objects.get(pk=instance_id).definition.key == "offboarding_on_request"


def test_the_owner_of_the_receiving_process_deploys_a_new_version_of_it(
    offboarding_on_request, personas
):
    files = shipped_bundle("offboarding_on_request.bpmn")
    files["offboarding_on_request.bpmn"] = (
        files["offboarding_on_request.bpmn"]
        .decode()
        .replace("</bpmn:process>", "<!-- reviewed 2026 --></bpmn:process>", 1)
        .encode()
    )

    response = upload(personas.process_owner, files)

    assert response.status_code == 201, response.content
    assert response.json()["version"]["approval_status"] == "not_required"
