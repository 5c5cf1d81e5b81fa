"""Benefit services: statutory leave days, balances, checks, grants, and the seed."""

import datetime as dt
from decimal import Decimal

import pytest

from hr.models import BenefitEntitlement, BenefitGrant, BenefitType
from hr.seed import benefits as benefit_seed
from hr.services.benefits import (
    annual_leave_days,
    benefit_claim_check,
    benefit_entitlement_set,
    benefit_grant_record,
    years_of_service,
)
from tests.factories import EmployeeFactory
from workflows.exceptions import InvalidInput, NotFound

pytestmark = pytest.mark.django_db

MARCH_10 = dt.date(2026, 3, 10)


@pytest.fixture
def catalogue(org, time_machine):
    time_machine.move_to(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), tick=False)
    benefit_seed.seed()


@pytest.mark.parametrize(
    ("years", "days"),
    [(0, 0), (1, 5), (9, 5), (10, 10), (19, 10), (20, 15), (35, 15)],
)
def test_statutory_annual_leave_grows_at_1_10_and_20_years(years, days):
    assert annual_leave_days(years_of_service=years) == days


@pytest.mark.parametrize(
    ("hired", "years"),
    [
        (dt.date(2016, 3, 10), 10),
        (dt.date(2016, 3, 11), 9),
        (dt.date(2026, 1, 5), 0),
        (None, None),
    ],
)
def test_years_of_service_count_full_years(org, hired, years):
    employee = EmployeeFactory(org_unit=org.east_nursing, hire_date=hired)

    assert years_of_service(employee=employee, on_date=MARCH_10) == years


def test_the_seed_creates_the_catalogue_and_this_years_entitlements(org, catalogue):
    assert list(BenefitType.objects.values_list("category", "code", "unit")) == [
        ("company", "academic_exchange_fund", "amount"),
        ("company", "child_education_subsidy", "amount"),
        ("company", "health_check", "booking"),
        ("special_care", "flexible_working", "arrangement"),
        ("special_care", "hardship_subsidy", "amount"),
        ("statutory", "annual_leave", "days"),
    ]
    assert dict(
        BenefitEntitlement.objects.filter(employee=org.nurse, year=2026).values_list(
            "benefit_type__code", "balance"
        )
    ) == {
        "annual_leave": Decimal("5.00"),
        "health_check": Decimal("1.00"),
        "child_education_subsidy": Decimal("6000.00"),
        "academic_exchange_fund": Decimal("10000.00"),
    }


def test_the_seed_gives_leave_by_hire_date_and_the_fund_to_clinical_staff_only(org, time_machine):
    time_machine.move_to(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), tick=False)
    veteran = EmployeeFactory(org_unit=org.east_nursing, hire_date=dt.date(2005, 1, 1))
    clerk = EmployeeFactory(org_unit=org.east, role_family="admin", hire_date=dt.date(2024, 6, 1))

    benefit_seed.seed()

    def codes(employee):
        return dict(
            BenefitEntitlement.objects.filter(employee=employee).values_list(
                "benefit_type__code", "balance"
            )
        )

    assert codes(veteran)["annual_leave"] == Decimal("15.00")
    assert codes(clerk)["annual_leave"] == Decimal("5.00")
    assert "academic_exchange_fund" not in codes(clerk)


def test_seeding_again_keeps_spent_balances(org, catalogue):
    benefit_entitlement_set(
        employee=org.nurse, benefit_type_code="annual_leave", year=2026, balance=1
    )

    benefit_seed.seed()

    assert BenefitType.objects.count() == 6
    assert BenefitEntitlement.objects.get(
        employee=org.nurse, benefit_type__code="annual_leave", year=2026
    ).balance == Decimal("1.00")


def test_a_balance_cannot_be_set_below_zero(org, catalogue):
    with pytest.raises(InvalidInput):
        benefit_entitlement_set(
            employee=org.nurse, benefit_type_code="annual_leave", year=2026, balance=-1
        )


def test_an_unknown_benefit_type_is_not_found(org, catalogue):
    with pytest.raises(NotFound):
        benefit_claim_check(
            employee_id=org.nurse.pk,
            benefit_type_code="social_insurance",
            quantity=1,
            start_date=MARCH_10,
            end_date=MARCH_10,
            is_limited_by_balance=False,
        )


def check(org, quantity, *, limited=True, code="annual_leave", end=MARCH_10):
    return benefit_claim_check(
        employee_id=org.nurse.pk,
        benefit_type_code=code,
        quantity=quantity,
        start_date=MARCH_10,
        end_date=end,
        is_limited_by_balance=limited,
    )


def test_the_check_compares_the_claim_with_the_balance_of_the_start_year(org, catalogue):
    assert check(org, 5).as_dict() == {"is_ok": True, "reason": "", "year": 2026, "balance": 5.0}
    assert check(org, 5.5).as_dict() == {
        "is_ok": False,
        "reason": "Not enough balance of Annual leave 年假: 5.5 days claimed, 5 days left for "
        "2026. 余额不足：申请5.5天，2026年剩余5天。",
        "year": 2026,
        "balance": 5.0,
    }
    assert check(org, 20000, code="hardship_subsidy", limited=False).is_ok is True
    assert check(org, 1, end=dt.date(2026, 3, 9)).is_ok is False


def grant(org, quantity, *, instance_id=None, code="annual_leave", limited=True):
    return benefit_grant_record(
        employee_id=org.nurse.pk,
        benefit_type_code=code,
        quantity=quantity,
        start_date=MARCH_10,
        end_date=dt.date(2026, 3, 12),
        is_limited_by_balance=limited,
        process_instance_id=instance_id,
    )


def test_a_grant_debits_the_balance_and_never_below_zero(org, catalogue):
    first = grant(org, 3, instance_id=101)
    second = grant(org, 3, instance_id=102)

    assert (first.is_granted, first.balance_after) == (True, Decimal("2.00"))
    assert first.detail == "Annual leave 年假: 3 days 天, 2026-03-10 – 2026-03-12"
    assert (second.is_granted, second.grant_id) == (False, None)
    assert second.reason.startswith("Not enough balance of Annual leave 年假: 3 days claimed, 2")
    assert list(BenefitGrant.objects.values_list("process_instance_id", "quantity")) == [
        (101, Decimal("3.00"))
    ]


def test_recording_the_same_instances_grant_twice_debits_once(org, catalogue):
    first = grant(org, 2, instance_id=7)
    again = grant(org, 2, instance_id=7)

    assert again.grant_id == first.grant_id
    assert BenefitGrant.objects.count() == 1
    assert BenefitEntitlement.objects.get(
        employee=org.nurse, benefit_type__code="annual_leave", year=2026
    ).balance == Decimal("3.00")


def test_a_type_without_a_balance_is_granted_as_claimed(org, catalogue):
    result = grant(org, 8000, code="hardship_subsidy", limited=False)

    assert result.is_granted is True
    assert result.balance_after is None
    assert result.detail == (
        "Hardship subsidy 困难员工补助: payout 发放 8000.00 CNY 元 (2026-03-10 – 2026-03-12)"
    )
