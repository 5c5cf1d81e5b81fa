"""Employee records through the API: every persona against every field, edits, and the
append-only log of who read private fields."""

import datetime as dt

import pytest
from django.contrib.admin.sites import site
from django.db import connection
from django.test import RequestFactory
from django.utils import timezone

from hr.models import Employee, FamilyMember, RoleAssignment, SensitiveAccess
from tests.api.conftest import client_for
from tests.factories import EmployeeFactory, RoleAssignmentFactory

pytestmark = pytest.mark.django_db

WORK = {
    "id",
    "employee_no",
    "name",
    "org_unit",
    "manager",
    "position",
    "role_family",
    "ladder_level",
    "hire_date",
    "last_working_date",
    "is_active",
}
PRIVATE = {"national_id_number", "phone", "bank_account", "address", "family"}
NURSE_PRIVATE = {
    "national_id_number": "110101199003071234",
    "phone": "13800138000",
    "bank_account": "6222020200112233445",
    "address": "上海市浦东新区康宁路 8 号",
}

# persona -> (status of GET /employees/<nurse>/, does the answer carry the private fields)
DETAIL = {
    "employee": (200, True),
    "supervisor": (200, False),
    "clinic_hr": (200, True),
    "other_clinic_hr": (404, None),
    "group_hr": (200, True),
    "process_owner": (404, None),
    "auditor": (404, None),
    "colleague": (404, None),
}


@pytest.fixture
def nurse(org):
    for name, value in NURSE_PRIVATE.items():
        setattr(org.nurse, name, value)
    org.nurse.save()
    FamilyMember.objects.create(
        employee=org.nurse,
        relation=FamilyMember.Relation.CHILD,
        name="王小明",
        birth_date=dt.date(2018, 5, 1),
        has_consented_to_reminders=True,
    )
    return org.nurse


@pytest.fixture
def people(org, personas):
    colleague = EmployeeFactory(user__username="colleague", org_unit=org.east_nursing)
    return {
        "employee": personas.employee,
        "supervisor": personas.supervisor,
        "clinic_hr": personas.clinic_hr,
        "other_clinic_hr": personas.other_clinic_hr,
        "group_hr": personas.group_hr,
        "process_owner": personas.process_owner,
        "auditor": personas.auditor,
        "colleague": colleague.user,
    }


@pytest.mark.parametrize("persona", list(DETAIL))
def test_each_persona_sees_the_fields_their_role_allows(nurse, people, persona):
    status, sees_private = DETAIL[persona]

    response = client_for(people[persona]).get(f"/api/v1/employees/{nurse.pk}/")

    assert response.status_code == status
    if status != 200:
        assert response.json() == {"detail": f"employee {nurse.pk} does not exist"}
        return
    body = response.json()
    assert set(body) == (WORK | PRIVATE if sees_private else WORK)
    assert body["employee_no"] == nurse.employee_no
    assert body["manager"] == nurse.manager.employee_no
    if sees_private:
        assert {k: body[k] for k in NURSE_PRIVATE} == NURSE_PRIVATE
        assert body["family"] == [
            {
                "id": nurse.family.get().pk,
                "relation": "child",
                "name": "王小明",
                "birth_date": "2018-05-01",
                "has_consented_to_reminders": True,
            }
        ]
    else:
        for secret in [*NURSE_PRIVATE.values(), "王小明"]:
            assert secret not in response.content.decode()


LISTED = {
    "employee": {"nurse"},
    "supervisor": {"head_nurse", "nurse", "colleague"},
    "clinic_hr": {"east_hr", "head_nurse", "nurse", "colleague"},
    "other_clinic_hr": {"west_hr", "west_nurse"},
    "group_hr": {
        "group_hr",
        "east_hr",
        "west_hr",
        "head_nurse",
        "nurse",
        "colleague",
        "west_nurse",
    },
    "process_owner": set(),
    "auditor": set(),
    "colleague": {"colleague"},
}


@pytest.mark.parametrize("persona", list(LISTED))
def test_the_list_is_scoped_and_carries_work_data_only(nurse, people, persona):
    response = client_for(people[persona]).get("/api/v1/employees/")

    assert response.status_code == 200
    rows = response.json()["results"]
    users = {e.user.username: e.employee_no for e in Employee.objects.select_related("user")}
    assert {r["employee_no"] for r in rows} == {users[u] for u in LISTED[persona]}
    assert all(set(r) == WORK for r in rows)
    assert not SensitiveAccess.objects.exists()


def test_reading_private_fields_is_logged_and_reading_work_data_is_not(nurse, people):
    client_for(people["supervisor"]).get(f"/api/v1/employees/{nurse.pk}/")
    client_for(people["clinic_hr"]).get(f"/api/v1/employees/{nurse.pk}/")

    (entry,) = SensitiveAccess.objects.all()
    assert entry.username == "east_hr"
    assert entry.employee == nurse
    assert entry.employee_no == nurse.employee_no
    assert entry.fields == sorted(PRIVATE)
    assert entry.endpoint == f"GET /api/v1/employees/{nurse.pk}/"


# --- changing private fields ---------------------------------------------------------------


def patch_as(user, employee, body):
    return client_for(user).patch(f"/api/v1/employees/{employee.pk}/", body, format="json")


def test_an_employee_changes_their_own_contact_fields(nurse, people):
    response = patch_as(
        people["employee"], nurse, {"phone": "13900139000", "address": "杭州市西湖区 1 号"}
    )

    assert response.status_code == 200
    assert response.json()["phone"] == "13900139000"
    nurse.refresh_from_db()
    assert (nurse.phone, nurse.address) == ("13900139000", "杭州市西湖区 1 号")
    assert SensitiveAccess.objects.get().endpoint == f"PATCH /api/v1/employees/{nurse.pk}/"


def test_an_employee_may_not_change_their_bank_account(nurse, people):
    response = patch_as(
        people["employee"], nurse, {"phone": "13900139000", "bank_account": "6222000000000000"}
    )

    assert response.status_code == 403
    assert response.json() == {"detail": "you may not change bank_account"}
    nurse.refresh_from_db()
    assert (nurse.phone, nurse.bank_account) == ("13800138000", NURSE_PRIVATE["bank_account"])


NEW_VALUES = {
    "national_id_number": "440301199512120021",
    "phone": "13911112222",
    "bank_account": "6222 0000 1111 2222",
    "address": "广州市天河区 2 号",
}
# persona -> status of PATCH /employees/<nurse>/ per private field
EDITS = {
    "employee": {"national_id_number": 403, "phone": 200, "bank_account": 403, "address": 200},
    "supervisor": dict.fromkeys(NEW_VALUES, 403),
    "clinic_hr": dict.fromkeys(NEW_VALUES, 200),
    "other_clinic_hr": dict.fromkeys(NEW_VALUES, 404),
    "group_hr": dict.fromkeys(NEW_VALUES, 200),
    "process_owner": dict.fromkeys(NEW_VALUES, 404),
    "auditor": dict.fromkeys(NEW_VALUES, 404),
    "colleague": dict.fromkeys(NEW_VALUES, 404),
}
EDIT_CASES = [(persona, field) for persona in EDITS for field in NEW_VALUES]


@pytest.mark.parametrize(("persona", "field"), EDIT_CASES, ids=[f"{p}-{f}" for p, f in EDIT_CASES])
def test_each_persona_may_change_the_private_fields_their_role_allows(
    nurse, people, persona, field
):
    response = patch_as(people[persona], nurse, {field: NEW_VALUES[field]})

    status = EDITS[persona][field]
    assert response.status_code == status
    nurse.refresh_from_db()
    expected = NEW_VALUES[field] if status == 200 else NURSE_PRIVATE[field]
    assert getattr(nurse, field) == expected


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phone": "call me maybe"}, "phone"),
        ({"national_id_number": "11010119900307123<"}, "national_id_number"),
        ({"address": "长" * 301}, "address"),
        ({"name": "Someone else"}, "name"),
    ],
)
def test_bad_input_names_the_field_and_does_not_echo_the_value(nurse, people, body, field):
    response = patch_as(people["clinic_hr"], nurse, body)

    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert str(next(iter(body.values()))) not in response.content.decode()
    nurse.refresh_from_db()
    assert nurse.phone == NURSE_PRIVATE["phone"]


# --- the access log ------------------------------------------------------------------------


@pytest.fixture
def reads(nurse, people, org):
    """Clinic HR read the nurse yesterday, group HR the head nurse today."""
    yesterday = timezone.now() - dt.timedelta(days=1)
    client_for(people["clinic_hr"]).get(f"/api/v1/employees/{nurse.pk}/")
    first = SensitiveAccess.objects.get(username="east_hr")
    # Rows are append-only through the ORM: back-date this one in SQL.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE hr_sensitiveaccess SET accessed_at = %s WHERE id = %s", [yesterday, first.pk]
        )
    client_for(people["group_hr"]).get(f"/api/v1/employees/{org.head_nurse.pk}/")
    return yesterday


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["group_hr", "east_hr"]),
        ("?user=east_hr", ["east_hr"]),
        ("?employee={head}", ["group_hr"]),
        ("?from={today}", ["group_hr"]),
        ("?to={today}", ["east_hr"]),
    ],
)
def test_auditors_query_the_access_log(reads, people, org, query, expected):
    today = (timezone.now() - dt.timedelta(hours=1)).isoformat().replace("+", "%2B")
    query = query.format(head=org.head_nurse.employee_no, today=today)

    response = client_for(people["auditor"]).get(f"/api/v1/audit/access-log/{query}")

    assert response.status_code == 200
    assert [r["user"] for r in response.json()["results"]] == expected


def test_a_bad_filter_answers_400_naming_it(people):
    response = client_for(people["auditor"]).get("/api/v1/audit/access-log/?from=yesterday")

    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["from"]


def test_the_access_log_is_append_only(reads):
    entry = SensitiveAccess.objects.first()

    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        SensitiveAccess.objects.all().update(username="nobody")
    with pytest.raises(PermissionError):
        SensitiveAccess.objects.all().delete()
    assert SensitiveAccess.objects.count() == 2


def test_the_admin_cannot_add_change_or_delete_access_log_rows(reads, admin_user):
    request = RequestFactory().get("/admin/hr/sensitiveaccess/")
    request.user = admin_user
    model_admin = site._registry[SensitiveAccess]

    assert model_admin.has_view_permission(request)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, SensitiveAccess.objects.first())
    assert not model_admin.has_delete_permission(request, SensitiveAccess.objects.first())


def test_the_admin_never_shows_private_fields(nurse, admin_client):
    response = admin_client.get(f"/admin/hr/employee/{nurse.pk}/change/")

    assert response.status_code == 200
    for secret in NURSE_PRIVATE.values():
        assert secret not in response.content.decode()


def test_an_auditor_of_one_clinic_reads_only_that_clinics_entries(reads, org):
    west_auditor = RoleAssignmentFactory(
        user__username="west_auditor", role=RoleAssignment.Role.AUDITOR, org_unit=org.west
    ).user
    client_for(org.group_hr.user).get(f"/api/v1/employees/{org.west_nurse.pk}/")

    response = client_for(west_auditor).get("/api/v1/audit/access-log/")

    assert [r["employee"] for r in response.json()["results"]] == [org.west_nurse.employee_no]
