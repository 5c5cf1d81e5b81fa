"""Personal data at rest: AES-256-GCM tokens in the columns, plaintext in Python, keys that
rotate (hr/crypto.py, hr/fields.py, manage.py rotate_field_keys)."""

import base64
import io
import logging

import pytest
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.core.management import call_command
from django.db import connection

from hr import crypto
from hr.models import Employee, FamilyMember
from hr.services.privacy import employee_update_private
from tests.factories import EmployeeFactory

pytestmark = pytest.mark.django_db

K1 = base64.b64encode(b"1" * 32).decode()
K2 = base64.b64encode(b"2" * 32).decode()
SECRETS = {
    "national_id_number": "110101199003071234",
    "phone": "13800138000",
    "bank_account": "6222020200112233445",
    "address": "北京市朝阳区健康路 1 号",
}


def raw_row(table: str, pk: int, columns: list[str]) -> dict[str, str]:
    """The row as stored, read with a plain cursor (no model field in the way)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(columns)} FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return dict(zip(columns, cursor.fetchone(), strict=True))


@pytest.fixture
def keys_k1(settings):
    settings.CAREFLOW_FIELD_KEYS = f"k1:{K1}"


def test_private_fields_are_ciphertext_in_the_database_and_plaintext_in_python(org):
    employee = EmployeeFactory(org_unit=org.east_nursing, **SECRETS)

    stored = raw_row("hr_employee", employee.pk, list(SECRETS))
    reread = Employee.objects.get(pk=employee.pk)

    for name, secret in SECRETS.items():
        assert stored[name].startswith("enc:v1:dev:")
        assert secret not in stored[name]
        assert getattr(reread, name) == secret


def test_family_names_are_encrypted_but_birth_date_and_consent_stay_queryable(org):
    member = FamilyMember.objects.create(
        employee=org.nurse,
        relation=FamilyMember.Relation.CHILD,
        name="王小明",
        birth_date="2018-05-01",
        has_consented_to_reminders=True,
    )

    stored = raw_row("hr_familymember", member.pk, ["name", "birth_date"])
    found = FamilyMember.objects.filter(
        birth_date__month=5, birth_date__day=1, has_consented_to_reminders=True
    ).get()

    assert stored["name"].startswith("enc:v1:")
    assert "王小明" not in stored["name"]
    assert found.name == "王小明"
    assert "王小明" not in str(found)


def test_the_same_value_encrypts_differently_each_time(org):
    first = EmployeeFactory(org_unit=org.east, phone="13800138000")
    second = EmployeeFactory(org_unit=org.east, phone="13800138000")

    stored = [raw_row("hr_employee", e.pk, ["phone"])["phone"] for e in (first, second)]

    assert stored[0] != stored[1]


def test_encrypted_fields_refuse_lookups_other_than_isnull(org):
    EmployeeFactory(org_unit=org.east, phone="13800138000")

    with pytest.raises(FieldError, match="hr.employee.phone is encrypted"):
        list(Employee.objects.filter(phone="13800138000"))
    assert Employee.objects.filter(phone__isnull=False).count() == Employee.objects.count()


def test_a_token_moved_to_another_column_does_not_decrypt(org):
    employee = EmployeeFactory(org_unit=org.east, phone="13800138000")
    token = raw_row("hr_employee", employee.pk, ["phone"])["phone"]

    with pytest.raises(crypto.DecryptionFailed) as failed:
        crypto.decrypt(token, purpose="hr.employee.bank_account")

    assert "13800138000" not in str(failed.value)


def test_a_tampered_token_does_not_decrypt():
    token = crypto.encrypt("13800138000", purpose="test")
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")

    with pytest.raises(crypto.DecryptionFailed, match="does not decrypt"):
        crypto.decrypt(tampered, purpose="test")


def test_text_that_looks_like_a_token_is_stored_as_plaintext(org):
    employee = EmployeeFactory(org_unit=org.east, address="enc:v1:dev:not-really")

    assert Employee.objects.get(pk=employee.pk).address == "enc:v1:dev:not-really"


def test_rotation_re_encrypts_every_value_under_the_current_key(org, settings):
    settings.CAREFLOW_FIELD_KEYS = f"k1:{K1}"
    employee = EmployeeFactory(org_unit=org.east, **SECRETS)
    member = FamilyMember.objects.create(
        employee=employee, relation=FamilyMember.Relation.SPOUSE, name="李华"
    )
    settings.CAREFLOW_FIELD_KEYS = f"k2:{K2},k1:{K1}"
    out = io.StringIO()

    call_command("rotate_field_keys", "--batch-size", "2", stdout=out)

    stored = raw_row("hr_employee", employee.pk, list(SECRETS))
    assert all(v.startswith("enc:v1:k2:") for v in stored.values())
    assert raw_row("hr_familymember", member.pk, ["name"])["name"].startswith("enc:v1:k2:")
    # The old key can go: everything reads under the new one alone.
    settings.CAREFLOW_FIELD_KEYS = f"k2:{K2}"
    reread = Employee.objects.get(pk=employee.pk)
    assert {name: getattr(reread, name) for name in SECRETS} == SECRETS
    assert FamilyMember.objects.get(pk=member.pk).name == "李华"
    assert "hr.employee: 4 values re-encrypted" in out.getvalue()
    assert "hr.familymember: 1 values re-encrypted" in out.getvalue()


def test_rotation_is_idempotent(org, settings):
    settings.CAREFLOW_FIELD_KEYS = f"k2:{K2},k1:{K1}"
    employee = EmployeeFactory(org_unit=org.east, phone="13800138000")
    before = raw_row("hr_employee", employee.pk, ["phone"])["phone"]
    out = io.StringIO()

    call_command("rotate_field_keys", stdout=out)

    assert raw_row("hr_employee", employee.pk, ["phone"])["phone"] == before
    assert "hr.employee: 0 values re-encrypted" in out.getvalue()


def test_rotation_encrypts_values_written_before_the_column_was_encrypted(org):
    member = FamilyMember.objects.create(
        employee=org.nurse, relation=FamilyMember.Relation.CHILD, name="placeholder"
    )
    with connection.cursor() as cursor:
        cursor.execute("UPDATE hr_familymember SET name = %s WHERE id = %s", ["张三", member.pk])

    call_command("rotate_field_keys", stdout=io.StringIO())

    assert raw_row("hr_familymember", member.pk, ["name"])["name"].startswith("enc:v1:")
    assert FamilyMember.objects.get(pk=member.pk).name == "张三"


def test_a_value_under_an_unknown_key_fails_without_showing_it(org, settings):
    settings.CAREFLOW_FIELD_KEYS = f"k1:{K1}"
    employee = EmployeeFactory(org_unit=org.east, phone="13800138000")
    settings.CAREFLOW_FIELD_KEYS = f"k2:{K2}"

    with pytest.raises(crypto.DecryptionFailed, match="no key 'k1'") as failed:
        Employee.objects.get(pk=employee.pk)

    assert "13800138000" not in str(failed.value)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "names no key"),
        ("k1", "each entry is"),
        (f"k1:{K1},k1:{K2}", "appears twice"),
        ("k1:not-base64!", "not valid base64"),
        (f"k1:{base64.b64encode(b'short').decode()}", "must be 32 bytes"),
    ],
)
def test_bad_key_settings_are_refused(spec, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        crypto.parse_key_ring(spec)


def test_private_values_never_reach_the_logs(org, caplog):
    caplog.set_level(logging.DEBUG)
    employee = EmployeeFactory(org_unit=org.east_nursing)

    employee_update_private(employee=employee, actor=org.east_hr.user, changes=dict(SECRETS))

    assert "phone" in caplog.text  # the names of the changed fields are logged
    for secret in SECRETS.values():
        assert secret not in caplog.text
