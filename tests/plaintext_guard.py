"""No plaintext of an encrypted field in process data (issue 16 item 13).

`no_plaintext_in_process_data` is a fixture for scenario tests: while the test runs, every
employee saved without a value in an encrypted field gets a distinctive one (so a copy of it
anywhere can only be a leak); when the test ends, it fails if the plaintext of any encrypted
field (Employee.national_id_number, phone, bank_account, address; FamilyMember.name) appears
in any ProcessInstance.state or WorkflowEvent.data. tests/processes (every shipped process's
scenarios) and tests/workflows/test_leave_request.py run under it.
"""

import itertools
import json

import pytest
from django.db.models.signals import pre_save

from hr.models import Employee, FamilyMember
from workflows.models import ProcessInstance, WorkflowEvent

_serial = itertools.count(1)


def _distinctive(sender, instance: Employee, **kwargs) -> None:
    n = next(_serial)
    defaults = {
        "national_id_number": f"PLAIN-ID-{n:05d}",
        "phone": f"PLAIN-PHONE-{n:05d}",
        "bank_account": f"PLAIN-BANK-{n:05d}",
        "address": f"PLAIN-ADDRESS-{n:05d} 明文地址",
    }
    for field, value in defaults.items():
        if not getattr(instance, field):
            setattr(instance, field, value)


def encrypted_plaintexts() -> dict[str, str]:
    """Every non-empty plaintext of an encrypted field in the database, and where it is."""
    found: dict[str, str] = {}
    for employee in Employee.objects.all():
        for field in Employee.PRIVATE_FIELDS:
            value = getattr(employee, field)
            if value:
                found[value] = f"Employee {employee.employee_no}.{field}"
    for member in FamilyMember.objects.all():
        if member.name:
            found[member.name] = f"FamilyMember {member.pk}.name"
    return found


def plaintext_leaks() -> list[str]:
    """Where process data holds the plaintext of an encrypted field."""
    secrets = encrypted_plaintexts()
    places = [
        (f"ProcessInstance {pk}.state", state)
        for pk, state in ProcessInstance.objects.values_list("pk", "state")
    ] + [
        (f"WorkflowEvent {instance_id}#{seq} ({kind}).data", data)
        for instance_id, seq, kind, data in WorkflowEvent.objects.values_list(
            "instance_id", "seq", "kind", "data"
        )
    ]
    leaks = []
    for where, value in places:
        text = json.dumps(value, ensure_ascii=False)
        leaks += [f"{what} in {where}" for plain, what in secrets.items() if plain in text]
    return leaks


@pytest.fixture
def no_plaintext_in_process_data(request):
    if request.node.get_closest_marker("django_db") is None:
        yield
        return
    request.getfixturevalue("db")
    pre_save.connect(_distinctive, sender=Employee, dispatch_uid="plaintext-guard")
    try:
        yield
    finally:
        pre_save.disconnect(sender=Employee, dispatch_uid="plaintext-guard")
    assert plaintext_leaks() == []
