"""The leave request's reason (`"x-sensitive": true` in its start form) is sealed in the
instance state and in history events, and revealed only to the subject and HR over them."""

import base64
import io
import json
import logging

import pytest
from django.core.management import call_command
from django.db import connection

from hr.models import SensitiveAccess
from tests.api.conftest import client_for
from workflows import selectors, sensitive, services
from workflows.exceptions import InvalidInput

pytestmark = pytest.mark.django_db

REASON = "术后复查 post-surgery check-up, cardiology"


@pytest.fixture
def sick_leave(org, personas, leave_request, caplog):
    """The nurse asks for 8 days of sick leave through the API, giving a medical reason."""
    caplog.set_level(logging.DEBUG)
    response = client_for(org.nurse.user).post(
        "/api/v1/instances/start",
        {"process": "leave_request", "data": {"leave_type": "sick", "days": 8, "reason": REASON}},
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def raw(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def test_the_reason_is_ciphertext_in_the_instance_row_and_in_every_event(sick_leave, caplog):
    (state,) = raw("SELECT state FROM workflows_processinstance WHERE id = %s", [sick_leave])
    events = raw("SELECT data FROM workflows_workflowevent WHERE instance_id = %s", [sick_leave])

    assert REASON not in str(state[0])
    stored = state[0] if isinstance(state[0], dict) else json.loads(state[0])  # PG: jsonb
    assert '"x-sensitive": "enc:v1:dev:' in json.dumps(stored)
    assert all(REASON not in str(data) for (data,) in events)
    assert REASON not in caplog.text


def test_the_engine_carries_only_the_envelope(sick_leave, org):
    task = selectors.inbox(org.east_hr.user).get(element_id="review_by_clinic_hr")

    data = selectors.task_form(task)["data"]

    assert sensitive.is_envelope(data["reason"])


READERS = {
    "employee": REASON,
    "clinic_hr": REASON,
    "group_hr": REASON,
    "supervisor": sensitive.MASK,
    "auditor": sensitive.MASK,
}


@pytest.mark.parametrize("persona", list(READERS))
def test_history_reveals_the_reason_only_to_the_subject_and_hr(sick_leave, personas, org, persona):
    response = client_for(getattr(personas, persona)).get(f"/api/v1/instances/{sick_leave}/history")

    assert response.status_code == 200
    started = response.json()[0]
    assert started["kind"] == "instance_started"
    assert started["data"]["data"]["reason"] == READERS[persona]
    logged = list(SensitiveAccess.objects.values_list("username", "fields", "endpoint"))
    if READERS[persona] == REASON:
        user = getattr(personas, persona).username
        path = f"/api/v1/instances/{sick_leave}/history"
        assert logged == [(user, ["leave_request.reason"], f"GET {path}")]
    else:
        assert logged == []
        assert REASON not in response.content.decode()


@pytest.mark.parametrize(
    ("persona", "element_id"),
    [("clinic_hr", "review_by_clinic_hr"), ("supervisor", "review_by_supervisor_long")],
)
def test_the_task_form_data_shows_the_reason_to_hr_and_masks_it_for_the_supervisor(
    sick_leave, personas, persona, element_id
):
    user = getattr(personas, persona)
    task = selectors.inbox(user).get(element_id=element_id)

    response = client_for(user).get(f"/api/v1/tasks/{task.pk}")

    assert response.status_code == 200
    expected = REASON if persona == "clinic_hr" else sensitive.MASK
    assert response.json()["form"]["data"]["reason"] == expected


def test_the_exports_mask_the_reason_for_auditors(sick_leave, personas):
    auditor = client_for(personas.auditor)

    csv_export = auditor.get(f"/api/v1/instances/{sick_leave}/history/export.csv")
    json_export = auditor.get(f"/api/v1/instances/{sick_leave}/history/export.json")

    assert csv_export.status_code == json_export.status_code == 200
    assert REASON not in csv_export.content.decode()
    assert REASON not in json_export.content.decode()
    assert json_export.json()["verification"]["is_valid"] is True


def test_the_history_chain_still_verifies_over_the_envelopes(sick_leave, org, personas):
    hr_task = selectors.inbox(org.east_hr.user).get(element_id="review_by_clinic_hr")
    client_for(org.east_hr.user).post(
        f"/api/v1/tasks/{hr_task.pk}/complete",
        {"data": {"hr_decision": "approve"}},
        format="json",
    )

    response = client_for(personas.auditor).get(f"/api/v1/instances/{sick_leave}/history/verify")

    assert response.json()["is_valid"] is True
    assert response.json()["events_checked"] >= 3


def test_a_form_without_sensitive_fields_is_left_as_it_is():
    data = {"decision": "approve"}

    assert sensitive.seal({"properties": {"decision": {"type": "string"}}}, data) is data


def test_rotation_re_encrypts_sealed_fields_in_running_instances(org, leave_request, settings):
    k1 = "k1:" + base64.b64encode(b"1" * 32).decode()
    k2 = "k2:" + base64.b64encode(b"2" * 32).decode()
    settings.CAREFLOW_FIELD_KEYS = k1
    instance = services.instance_start(
        process_key="leave_request",
        started_by=org.nurse.user,
        subject=org.nurse,
        data={"leave_type": "sick", "days": 8, "reason": REASON},
    )
    settings.CAREFLOW_FIELD_KEYS = f"{k2},{k1}"
    out = io.StringIO()

    call_command("rotate_field_keys", stdout=out)
    call_command("rotate_field_keys", stdout=out)

    instance.refresh_from_db()
    state = json.dumps(instance.state)
    assert "enc:v1:k2:" in state
    assert "enc:v1:k1:" not in state
    assert "process instances: 0 sealed form fields re-encrypted" in out.getvalue()
    task = selectors.inbox(org.east_hr.user).get(element_id="review_by_clinic_hr")
    response = client_for(org.east_hr.user).get(f"/api/v1/tasks/{task.pk}")
    assert response.json()["form"]["data"]["reason"] == REASON
    # History keeps its envelopes under k1 (the chain covers them): k1 stays to read it.
    assert selectors.history_verify(instance).is_valid is True


@pytest.mark.parametrize("where", ["top", "nested"])
def test_a_submitted_envelope_is_refused(sick_leave, org, where):
    """An envelope copied from another instance may not be smuggled into this one's data
    (where its readers would see it decrypted), even through a task without a form."""
    task = selectors.inbox(org.east_hr.user).get(element_id="review_by_clinic_hr")
    envelope = selectors.task_form(task)["data"]["reason"]
    data = {"note": envelope} if where == "top" else {"notes": [{"text": envelope}]}

    with pytest.raises(InvalidInput) as refused:
        sensitive.seal(None, data)

    field = "note" if where == "top" else "notes/0/text"
    assert refused.value.errors == [{"field": field, "message": "must not be an envelope"}]
