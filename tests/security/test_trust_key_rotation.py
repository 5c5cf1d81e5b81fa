"""Issue 16, item 16: rotating away from the development field key.

A server that started on the public development key (DEBUG-less compose, a pilot) must be
able to move its data to a real key: production accepts the development key listed *after*
a new key (decrypting only), `manage.py rotate_field_keys` re-encrypts every encrypted
column and every sealed form field of running instances under the new key, and after it
the data reads with the new key alone. The development key is still refused as the current
(encrypting) key, under any id."""

import base64
import datetime as dt
import io
import json

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection

from hr.checks import field_keys_check
from hr.models import FamilyMember
from tests.api.conftest import client_for
from tests.security.test_http_security import production_env, run
from workflows import selectors, sensitive

NEW_KEY = base64.b64encode(b"n" * 32).decode()
NEW = f"new:{NEW_KEY}"
DEV = django_settings.DEV_FIELD_KEYS
DEV_MATERIAL = DEV.split(":", 1)[1]
NURSE_PRIVATE = {
    "national_id_number": "110101199003071234",
    "phone": "13800138000",
    "bank_account": "6222020200112233445",
    "address": "上海市浦东新区康宁路 8 号",
}
CHILD = "王小明"
REASON = "术后复查 post-surgery check-up"


def stored(sql: str, params: list) -> list[str]:
    """Column values as stored, read past the model fields' decryption."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [value if isinstance(value, str) else json.dumps(value) for (value,) in cursor]


# --- the settings: the development key as an old key, not as the current one ---------------


def test_production_accepts_the_development_key_after_a_new_key(tmp_path):
    # Given production settings whose current key is new and whose old key is the dev key
    env = production_env(tmp_path, CAREFLOW_FIELD_KEYS=f"{NEW},{DEV}")

    # When the deploy checks run
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)

    # Then the server may start: nothing is reported
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (1 silenced)." in result.stdout


@pytest.mark.parametrize(
    "keys",
    [
        f"{DEV},{NEW}",  # the development key first: it would encrypt
        DEV,  # the development key alone
        f"renamed:{DEV_MATERIAL},{NEW}",  # the development key under another id, first
    ],
    ids=["dev-first", "dev-alone", "dev-renamed-first"],
)
def test_production_refuses_the_development_key_as_the_current_key(tmp_path, keys):
    # Given production settings that would encrypt new data under the public key
    env = production_env(tmp_path, CAREFLOW_FIELD_KEYS=keys)

    # When any process of the server starts
    result = run(["manage.py", "check"], env)

    # Then it refuses, saying how to rotate away
    assert result.returncode != 0
    assert "the development field key may not be used in production to encrypt" in result.stderr
    assert "rotate_field_keys" in result.stderr


def test_the_check_warns_only_when_the_development_key_encrypts(settings):
    # Given a server with DEBUG off outside production mode
    settings.DEBUG = False

    # When the development key is current (under any id), or only decrypts
    settings.CAREFLOW_FIELD_KEYS = f"renamed:{DEV_MATERIAL},{NEW}"
    as_current = [message.id for message in field_keys_check(None)]
    settings.CAREFLOW_FIELD_KEYS = f"{NEW},{DEV}"
    as_old = [message.id for message in field_keys_check(None)]

    # Then only the first is a warning
    assert as_current == ["careflow.W001"]
    assert as_old == []


# --- the data: written under the development key, rotated, read under the new key alone -----


@pytest.fixture
def dev_data(org, personas, leave_request, settings):
    """Under the development key: the nurse's private fields, her child's name, and a leave
    request whose reason is sealed in the running instance (started through the API)."""
    settings.CAREFLOW_FIELD_KEYS = DEV
    for name, value in NURSE_PRIVATE.items():
        setattr(org.nurse, name, value)
    org.nurse.save()
    child = FamilyMember.objects.create(
        employee=org.nurse,
        relation=FamilyMember.Relation.CHILD,
        name=CHILD,
        birth_date=dt.date(2018, 5, 1),
        has_consented_to_reminders=True,
    )
    response = client_for(personas.employee).post(
        "/api/v1/instances/start",
        {"process": "leave_request", "data": {"leave_type": "sick", "days": 8, "reason": REASON}},
        format="json",
    )
    assert response.status_code == 201, response.content
    return {"child": child.pk, "instance": response.json()["id"]}


def encrypted_values(org, dev_data) -> list[str]:
    employee = stored(
        "SELECT national_id_number FROM hr_employee WHERE id = %s "
        "UNION ALL SELECT phone FROM hr_employee WHERE id = %s "
        "UNION ALL SELECT bank_account FROM hr_employee WHERE id = %s "
        "UNION ALL SELECT address FROM hr_employee WHERE id = %s",
        [org.nurse.pk] * 4,
    )
    child = stored("SELECT name FROM hr_familymember WHERE id = %s", [dev_data["child"]])
    return employee + child


def instance_state(dev_data) -> str:
    return stored(
        "SELECT state FROM workflows_processinstance WHERE id = %s", [dev_data["instance"]]
    )[0]


def test_data_under_the_development_key_rotates_to_the_new_key(dev_data, org, personas, settings):
    # Given the data sealed under the development key
    assert all(v.startswith("enc:v1:dev:") for v in encrypted_values(org, dev_data))
    assert "enc:v1:dev:" in instance_state(dev_data)
    # and the keys changed to the new key first, the development key after it
    settings.CAREFLOW_FIELD_KEYS = f"{NEW},{DEV}"
    before = client_for(personas.clinic_hr).get(f"/api/v1/employees/{org.nurse.pk}/")
    assert {k: before.json()[k] for k in NURSE_PRIVATE} == NURSE_PRIVATE  # the old key reads

    # When the operator re-encrypts
    out = io.StringIO()
    call_command("rotate_field_keys", stdout=out)

    # Then every encrypted column and the sealed reason in the instance are under the new key
    assert all(v.startswith("enc:v1:new:") for v in encrypted_values(org, dev_data))
    assert "enc:v1:new:" in instance_state(dev_data)
    assert "enc:v1:dev:" not in instance_state(dev_data)
    # and the command says what still needs the old key: only the hash-chained history
    report = out.getvalue()
    assert "still under key 'dev':" in report
    assert "values in history events" in report
    assert "values in hr." not in report
    assert "values in process instances" not in report

    # When the development key is dropped
    settings.CAREFLOW_FIELD_KEYS = NEW

    # Then clinic HR reads the private fields and the child's name through the API
    after = client_for(personas.clinic_hr).get(f"/api/v1/employees/{org.nurse.pk}/")
    assert after.status_code == 200
    body = after.json()
    assert {k: body[k] for k in NURSE_PRIVATE} == NURSE_PRIVATE
    assert [member["name"] for member in body["family"]] == [CHILD]
    # and clinic HR's review of the running leave request opens with the sealed reason
    task = selectors.inbox(personas.clinic_hr).get(element_id="review_by_clinic_hr")
    form = client_for(personas.clinic_hr).get(f"/api/v1/tasks/{task.pk}")
    assert form.status_code == 200
    assert form.json()["form"]["data"]["reason"] == REASON


def test_rotation_says_when_every_other_key_can_be_removed(org, settings):
    # Given private fields (no process history) under the development key
    settings.CAREFLOW_FIELD_KEYS = DEV
    org.nurse.national_id_number = NURSE_PRIVATE["national_id_number"]
    org.nurse.save()
    settings.CAREFLOW_FIELD_KEYS = f"{NEW},{DEV}"

    # When the operator re-encrypts
    out = io.StringIO()
    call_command("rotate_field_keys", stdout=out)

    # Then nothing is left under the old key, and the command says so
    assert (
        "nothing is sealed under a key other than 'new': "
        "the other keys can be removed from CAREFLOW_FIELD_KEYS"
    ) in out.getvalue()
    settings.CAREFLOW_FIELD_KEYS = NEW
    org.nurse.refresh_from_db()
    assert org.nurse.national_id_number == NURSE_PRIVATE["national_id_number"]


def test_history_sealed_under_a_dropped_key_reads_masked(dev_data, personas, settings):
    # Given the data rotated to the new key and the development key dropped, although the
    # history events still seal the reason under it (the command said so)
    settings.CAREFLOW_FIELD_KEYS = f"{NEW},{DEV}"
    call_command("rotate_field_keys", stdout=io.StringIO())
    settings.CAREFLOW_FIELD_KEYS = NEW

    # When clinic HR, who may read the reason, reads the instance's history
    response = client_for(personas.clinic_hr).get(
        f"/api/v1/instances/{dev_data['instance']}/history"
    )

    # Then the history answers, with the unreadable reason masked, and its chain still holds
    assert response.status_code == 200
    started = response.json()[0]
    assert started["kind"] == "instance_started"
    assert started["data"]["data"]["reason"] == sensitive.MASK
    assert REASON not in response.content.decode()
    verify = client_for(personas.auditor).get(
        f"/api/v1/instances/{dev_data['instance']}/history/verify"
    )
    assert verify.json()["is_valid"] is True
