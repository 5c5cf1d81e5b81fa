"""Offboarding services: last working day, equipment returns, revocation of system access,
and the rule that nothing closes while an account is still active."""

import datetime as dt

import pytest

from hr.models import EquipmentAssignment, SystemAccount
from hr.seed import offboarding as offboarding_seed
from hr.services.offboarding import (
    AccountsStillActive,
    OffboardingRefused,
    equipment_outstanding,
    equipment_return_record,
    offboarding_close,
    offboarding_open,
    system_access_revoke,
    system_accounts_active,
)
from tests.factories import EmployeeFactory

pytestmark = pytest.mark.django_db

REVOKED_AT = dt.datetime(2026, 3, 13, 10, 0, tzinfo=dt.UTC)


def lend(employee, *tags):
    for tag in tags:
        EquipmentAssignment.objects.create(
            employee=employee, item=f"item {tag}", asset_tag=tag, assigned_date=dt.date(2024, 3, 1)
        )


def account(employee, system, *, is_active=True):
    return SystemAccount.objects.create(
        employee=employee, system=system, username=employee.employee_no, is_active=is_active
    )


def test_opening_records_the_last_working_date(org):
    offboarding_open(employee=org.nurse, last_working_date="2026-03-13", reason="resignation")

    org.nurse.refresh_from_db()
    assert org.nurse.last_working_date == dt.date(2026, 3, 13)


def test_opening_needs_a_reason_and_an_employee_who_has_not_left(org):
    with pytest.raises(OffboardingRefused, match="needs a reason"):
        offboarding_open(employee=org.nurse, last_working_date="2026-03-13", reason=" ")
    org.nurse.is_active = False
    org.nurse.save()

    with pytest.raises(OffboardingRefused, match="has already left"):
        offboarding_open(employee=org.nurse, last_working_date="2026-03-13", reason="resignation")


def test_a_return_marks_handed_in_items_and_reports_the_rest(org):
    lend(org.nurse, "T-1", "T-2", "T-3")
    lend(org.west_nurse, "W-1")

    result = equipment_return_record(
        employee=org.nurse, asset_tags=["T-1", "T-3", "W-1", "NOPE"], returned_at=REVOKED_AT
    )

    assert (result.returned, result.outstanding, result.unknown) == (
        ["T-1", "T-3"],
        ["T-2"],
        ["NOPE", "W-1"],
    )
    assert [e.asset_tag for e in equipment_outstanding(employee=org.nurse)] == ["T-2"]
    assert EquipmentAssignment.objects.get(asset_tag="T-1").returned_at == REVOKED_AT
    assert EquipmentAssignment.objects.get(asset_tag="W-1").returned_at is None


def test_revocation_revokes_every_active_account_of_the_employee_only(org):
    his, oa = account(org.nurse, "HIS"), account(org.nurse, "OA")
    account(org.nurse, "EMR", is_active=False)
    other = account(org.west_nurse, "HIS")

    revoked = system_access_revoke(employee=org.nurse, revoked_at=REVOKED_AT)

    assert [a.system for a in revoked] == ["HIS", "OA"]
    assert system_accounts_active(employee=org.nurse) == []
    for row in (his, oa):
        row.refresh_from_db()
        assert (row.is_active, row.revoked_at) == (False, REVOKED_AT)
    other.refresh_from_db()
    assert (other.is_active, other.revoked_at) == (True, None)
    assert system_access_revoke(employee=org.nurse) == []


def test_nothing_closes_while_an_account_is_still_active(org):
    account(org.nurse, "HIS")
    system_access_revoke(employee=org.nurse, revoked_at=REVOKED_AT)
    SystemAccount.objects.filter(employee=org.nurse).update(is_active=True, revoked_at=None)
    account(org.nurse, "EMR")

    with pytest.raises(AccountsStillActive) as refused:
        offboarding_close(employee=org.nurse)

    assert refused.value.accounts == [
        f"EMR:{org.nurse.employee_no}",
        f"HIS:{org.nurse.employee_no}",
    ]
    org.nurse.refresh_from_db()
    org.nurse.user.refresh_from_db()
    assert (org.nurse.is_active, org.nurse.user.is_active) == (True, True)


def test_closing_marks_the_employee_and_their_sign_in_inactive(org):
    account(org.nurse, "HIS")
    system_access_revoke(employee=org.nurse)

    offboarding_close(employee=org.nurse)

    org.nurse.refresh_from_db()
    org.nurse.user.refresh_from_db()
    assert (org.nurse.is_active, org.nurse.user.is_active) == (False, False)


def test_the_demo_seed_lends_equipment_and_opens_accounts_for_demo_employees(org):
    nurse = EmployeeFactory(employee_no="E0003", org_unit=org.east_nursing)
    doctor = EmployeeFactory(employee_no="E0004", org_unit=org.east_nursing)

    offboarding_seed.seed()
    offboarding_seed.seed()

    assert sorted(nurse.equipment.values_list("asset_tag", flat=True)) == [
        "EAST-CARD-0003",
        "EAST-UNI-0003",
    ]
    assert sorted(nurse.system_accounts.values_list("system", flat=True)) == ["HIS", "NIS", "OA"]
    assert sorted(doctor.system_accounts.values_list("system", flat=True)) == [
        "EMR",
        "HIS",
        "OA",
        "PACS",
    ]
    # W0003 does not exist here: nothing is created for it.
    assert EquipmentAssignment.objects.count() == 4
    assert SystemAccount.objects.count() == 7
