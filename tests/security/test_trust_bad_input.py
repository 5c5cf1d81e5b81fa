"""Issue 16, item 14: input the server could not represent, answered 500 or half-applied.

- `GET /api/v1/instances?started_after=2026-01-01T00:00:00-23:00` (and `started_before`,
  `signals/?occurred_*`, `+20:00`) answered 500 on PostgreSQL, which cannot store a UTC
  offset that large. Every date-time the API reads (query filters and bodies alike) now goes
  through one check (api/filters.py `datetime_problem`): an offset beyond ±14:00, or a moment
  that falls outside the years 1..9999 once converted to UTC, is a 400 naming the field.
- A JSON body with a key twice (`{"is_anonymous":true,"is_anonymous":false}`) was read as
  its last value: now refused with 400 naming the key (api/parsers.py).
- PATCH /api/v1/employees/{id}/ saved the change and then answered 500 when a stored value
  of the record could not be decrypted (its field key missing from CAREFLOW_FIELD_KEYS): now
  the record is checked before any write and the write and its answer share one transaction:
  400 naming the field, nothing changed.

Runs on SQLite and, with DATABASE_URL set, on PostgreSQL (where the 500s were).
"""

import base64
import datetime as dt
import inspect

import django_filters
import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework import serializers

from api import filters as api_filters
from api import serializers as api_serializers
from hr.models import ComplianceSignal, Employee, FamilyMember, FeedbackTicket, SensitiveAccess
from hr.seed import compliance as compliance_seed
from tests.api.conftest import client_for
from tests.conftest import shipped_bundle
from workflows import services
from workflows.models import ProcessInstance

pytestmark = pytest.mark.django_db

K1 = base64.b64encode(b"1" * 32).decode()
K2 = base64.b64encode(b"2" * 32).decode()

# (path, query parameter, persona allowed to call it)
DATETIME_QUERIES = [
    ("/api/v1/instances", "started_after", "group_hr"),
    ("/api/v1/instances", "started_before", "group_hr"),
    ("/api/v1/signals/", "occurred_after", "group_hr"),
    ("/api/v1/signals/", "occurred_before", "group_hr"),
    ("/api/v1/tasks", "due_before", "group_hr"),
    ("/api/v1/audit/access-log/", "from", "auditor"),
    ("/api/v1/audit/access-log/", "to", "auditor"),
]
QUERY_IDS = [f"{path.strip('/').split('/')[-1]}-{param}" for path, param, _ in DATETIME_QUERIES]

OUT_OF_RANGE = [
    "2026-01-01T00:00:00-23:00",
    "2026-01-01T00:00:00+20:00",
    "2026-01-01T00:00:00+14:01",
    "2026-01-01T00:00:00-14:30",
    # Offsets with seconds: Python reads them, PostgreSQL's input does not.
    "2026-01-01T00:00:00+05:30:30",
    # In range as written, but not a Python datetime once converted to UTC.
    "9999-12-31T23:00:00-05:00",
    "0001-01-01T00:00:00+05:00",
    # No offset: read in the server's zone (Asia/Shanghai, +08:00), so before year 1 in UTC.
    "0001-01-01T00:00:00",
]
IN_RANGE = [
    "2026-01-01T00:00:00+14:00",  # Kiribati, the easternmost zone in use
    "2026-01-01T00:00:00-12:00",  # Baker Island, the westernmost
    "2026-01-01T00:00:00+05:45",  # Nepal
    "2026-01-01T00:00:00Z",
    "2026-01-01T08:00:00",
]


@pytest.fixture
def signal_intake(org):
    """Signals are recorded only with the clause table and compliance_deduction deployed."""
    compliance_seed.seed()
    services.version_deploy(files=shipped_bundle("compliance_deduction.bpmn"))


def caller(personas, name: str):
    return client_for(getattr(personas, name))


@pytest.mark.parametrize("value", OUT_OF_RANGE)
@pytest.mark.parametrize(("path", "param", "persona"), DATETIME_QUERIES, ids=QUERY_IDS)
def test_a_date_time_filter_the_database_cannot_hold_is_400_naming_it(
    personas, path, param, persona, value
):
    # Given someone allowed to list these rows, when they filter with an impossible moment
    response = caller(personas, persona).get(path, {param: value})

    # then the answer is 400 naming the parameter, never a 500
    assert response.status_code == 400, response.content
    assert [e["field"] for e in response.json()["errors"]] == [param]


@pytest.mark.parametrize("value", IN_RANGE)
@pytest.mark.parametrize(("path", "param", "persona"), DATETIME_QUERIES, ids=QUERY_IDS)
def test_a_date_time_filter_within_the_offsets_in_use_is_answered(
    personas, path, param, persona, value
):
    response = caller(personas, persona).get(path, {param: value})

    assert response.status_code == 200, response.content


def test_instances_started_after_an_offset_moment_are_filtered_at_that_moment(
    personas, leave_request
):
    # Given an instance started now
    started = client_for(personas.employee).post(
        "/api/v1/instances/start",
        {"process": "leave_request", "data": {"leave_type": "annual", "days": 2}},
        format="json",
    )
    assert started.status_code == 201
    now = ProcessInstance.objects.get().started_at
    hour_ago_in_kiribati = (now - dt.timedelta(hours=1)).astimezone(
        dt.timezone(dt.timedelta(hours=14))
    )
    hour_ahead_in_baker = (now + dt.timedelta(hours=1)).astimezone(
        dt.timezone(dt.timedelta(hours=-12))
    )

    # when group HR filters with moments written in the extreme offsets
    after = client_for(personas.group_hr).get(
        "/api/v1/instances", {"started_after": hour_ago_in_kiribati.isoformat()}
    )
    not_after = client_for(personas.group_hr).get(
        "/api/v1/instances", {"started_after": hour_ahead_in_baker.isoformat()}
    )

    # then the moment is the same one whatever offset wrote it
    assert [i["id"] for i in after.json()["results"]] == [started.json()["id"]]
    assert not_after.json()["results"] == []


@pytest.mark.parametrize("value", OUT_OF_RANGE)
def test_a_signal_occurring_at_an_impossible_moment_is_400_and_not_recorded(
    org, personas, signal_intake, value
):
    # Given the attendance system's account, when it reports a signal at an impossible moment
    response = client_for(personas.integration).post(
        "/api/v1/signals/",
        {
            "employee_no": org.nurse.employee_no,
            "kind": "late_arrival",
            "occurred_at": value,
            "source": "attendance-system",
            "idempotency_key": "k-1",
        },
        format="json",
    )

    # then it is refused naming the field, and nothing is recorded
    assert response.status_code == 400, response.content
    assert [e["field"] for e in response.json()["errors"]] == ["occurred_at"]
    assert ComplianceSignal.objects.count() == 0


def _views():
    """Every API view class reachable from the URLconf."""
    stack = [get_resolver().url_patterns]
    while stack:
        for entry in stack.pop():
            if isinstance(entry, URLResolver):
                stack.append(entry.url_patterns)
            elif isinstance(entry, URLPattern) and hasattr(entry.callback, "view_class"):
                yield entry.callback.view_class


def _date_time_readers(view) -> list[tuple[str, object]]:
    """(name, field or filter) of every date-time a view reads from a query or a body."""
    filterset = getattr(view, "filterset_class", None)
    readers = [
        (f"{view.__name__}.{name}", declared)
        for name, declared in getattr(filterset, "base_filters", {}).items()
        if isinstance(declared, django_filters.IsoDateTimeFilter | django_filters.DateTimeFilter)
    ]
    for _, member in inspect.getmembers(view, inspect.isclass):
        if issubclass(member, serializers.Serializer) and member.__name__.endswith(
            ("InputSerializer", "FilterSerializer")
        ):
            readers += [
                (f"{view.__name__}.{member.__name__}.{name}", field)
                for name, field in member().fields.items()
                if isinstance(field, serializers.DateTimeField)
            ]
    return readers


def test_every_date_time_the_api_reads_goes_through_the_one_check():
    # Given every date-time filter and input field of every view of the API
    readers = [reader for view in _views() for reader in _date_time_readers(view)]

    # then there are some (the list views and the signal intake), and each is the checked kind
    unchecked = [
        name
        for name, reader in readers
        if not isinstance(reader, api_filters.IsoDateTimeFilter | api_serializers.DateTimeField)
    ]
    assert len(readers) >= 7
    assert unchecked == []


# --- duplicate keys ---------------------------------------------------------------------------


def test_a_body_with_a_key_twice_is_refused_naming_the_key(personas):
    # Given a nurse sending feedback whose body says anonymous and named at once
    body = b'{"text": "Too many night shifts", "is_anonymous": true, "is_anonymous": false}'

    response = client_for(personas.employee).generic(
        "POST", "/api/v1/feedback", body, content_type="application/json"
    )

    # then it is refused naming the key, and no ticket exists
    assert response.status_code == 400, response.content
    assert response.json()["errors"] == [
        {"field": "is_anonymous", "message": "appears more than once in the JSON object"}
    ]
    assert FeedbackTicket.objects.count() == 0


def test_a_key_twice_inside_nested_data_is_refused_naming_the_key(personas, leave_request):
    body = b'{"process": "leave_request", "data": {"leave_type": "annual", "days": 3, "days": 2}}'

    response = client_for(personas.employee).generic(
        "POST", "/api/v1/instances/start", body, content_type="application/json"
    )

    assert response.status_code == 400, response.content
    assert [e["field"] for e in response.json()["errors"]] == ["days"]
    assert ProcessInstance.objects.count() == 0


def test_the_same_key_in_two_different_objects_is_accepted(org, personas, signal_intake):
    # "kind" and "source" both at the top and inside details: different objects, no duplicate
    body = (
        b'{"employee_no": "%s", "kind": "late_arrival", "source": "attendance-system",'
        b' "occurred_at": "2026-01-05T08:10:00+08:00", "idempotency_key": "k-2",'
        b' "details": {"kind": "badge", "source": "gate 3"}}' % org.nurse.employee_no.encode()
    )

    response = client_for(personas.integration).generic(
        "POST", "/api/v1/signals/", body, content_type="application/json"
    )

    assert response.status_code == 201, response.content
    assert ComplianceSignal.objects.get().details == {"kind": "badge", "source": "gate 3"}


# --- PATCH: validated before any write, one transaction -----------------------------------------


@pytest.fixture
def family_under_a_retired_key(org, settings):
    """The nurse's child's name was encrypted under key k1, which the server no longer holds."""
    settings.CAREFLOW_FIELD_KEYS = f"k1:{K1}"
    FamilyMember.objects.create(
        employee=org.nurse, relation=FamilyMember.Relation.CHILD, name="王小明"
    )
    settings.CAREFLOW_FIELD_KEYS = f"k2:{K2}"


def test_a_patch_whose_record_cannot_be_read_is_400_and_changes_nothing(
    org, personas, family_under_a_retired_key
):
    # Given clinic HR changing the nurse's phone, while the record holds a value under a key
    # the server does not hold
    before = Employee.objects.get(pk=org.nurse.pk).phone

    response = client_for(personas.clinic_hr).patch(
        f"/api/v1/employees/{org.nurse.pk}/", {"phone": "+86 138 0000 0000"}, format="json"
    )

    # then the answer is 400 naming the unreadable field, the phone is unchanged and no read
    # of the private fields was logged
    assert response.status_code == 400, response.content
    assert [e["field"] for e in response.json()["errors"]] == ["family.name"]
    assert Employee.objects.get(pk=org.nurse.pk).phone == before
    assert SensitiveAccess.objects.count() == 0


def test_an_honest_patch_still_changes_the_field_and_answers_the_record(org, personas):
    response = client_for(personas.clinic_hr).patch(
        f"/api/v1/employees/{org.nurse.pk}/", {"phone": "+86 138 0000 0000"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["phone"] == "+86 138 0000 0000"
    assert Employee.objects.get(pk=org.nurse.pk).phone == "+86 138 0000 0000"
    assert SensitiveAccess.objects.count() == 1


def test_a_patch_with_a_key_twice_is_refused_and_changes_nothing(org, personas):
    before = Employee.objects.get(pk=org.nurse.pk).phone
    body = b'{"phone": "+86 138 0000 0000", "phone": "+86 139 0000 0000"}'

    response = client_for(personas.clinic_hr).generic(
        "PATCH", f"/api/v1/employees/{org.nurse.pk}/", body, content_type="application/json"
    )

    assert response.status_code == 400, response.content
    assert [e["field"] for e in response.json()["errors"]] == ["phone"]
    assert Employee.objects.get(pk=org.nurse.pk).phone == before
