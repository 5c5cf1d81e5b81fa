"""Performance appraisal's domain services: seed, weights, ratings, streaks, top 10 %."""

import datetime as dt
from decimal import Decimal

import pytest

from hr.models import AppraisalIndicator, Employee, MonthlyAppraisal, ReserveCadre
from hr.seed import performance as performance_seed
from hr.services import performance as perf
from tests.factories import EmployeeFactory
from workflows.exceptions import Conflict, InvalidInput

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def catalogue(org, time_machine):
    time_machine.move_to(dt.datetime(2027, 3, 10, 9, 0, tzinfo=dt.UTC), tick=False)
    performance_seed.seed()


def test_the_seed_holds_the_weights_of_the_issue_and_is_idempotent():
    performance_seed.seed()

    weights = {
        family: dict(
            AppraisalIndicator.objects.filter(role_family=family).values_list(
                "code", "weight_percent"
            )
        )
        for family in ("admin", "nurse")
    }
    assert weights == {
        "admin": {"discipline": 20, "teamwork": 30, "efficiency": 50},
        "nurse": {"service_attitude": 30, "nursing_quality": 40, "discipline": 30},
    }


@pytest.mark.parametrize(
    ("total", "rating"),
    [
        ("100", "excellent"),
        ("90", "excellent"),
        ("89.99", "good"),
        ("75", "good"),
        ("74.99", "pass"),
        ("60", "pass"),
        ("59.99", "fail"),
        ("0", "fail"),
    ],
)
def test_rating_thresholds_are_90_75_60(total, rating):
    assert perf.rating_for(Decimal(total)) == rating


@pytest.mark.parametrize(
    ("appraised", "places"),
    [(0, 0), (1, 1), (5, 1), (10, 1), (11, 2), (20, 2), (21, 3), (25, 3), (100, 10), (101, 11)],
)
def test_the_top_10_percent_rounds_up(appraised, places):
    assert perf.top_share_size(appraised) == places


def nurse() -> Employee:
    return EmployeeFactory(org_unit=Employee.objects.get(user__username="nurse").org_unit)


def test_the_total_is_rounded_half_up_to_cents():
    result = perf.appraisal_record(
        employee=nurse(),
        period_date=dt.date(2027, 1, 1),
        # 80.03 x 30 % + 80.04 x 40 % + 80 x 30 % = 24.009 + 32.016 + 24 = 80.025
        scores={"service_attitude": 80.03, "nursing_quality": "80.04", "discipline": 80},
        recorded_by=None,
    )

    assert result.appraisal.total == Decimal("80.03")


def test_weights_that_do_not_add_up_to_100_are_a_configuration_error():
    AppraisalIndicator.objects.filter(role_family="nurse", code="discipline").update(
        weight_percent=20
    )

    with pytest.raises(Conflict, match="add up to 90 %"):
        perf.appraisal_record(
            employee=nurse(),
            period_date=dt.date(2027, 1, 1),
            scores={"service_attitude": 80, "nursing_quality": 80, "discipline": 80},
            recorded_by=None,
        )


def test_booleans_are_not_scores():
    with pytest.raises(InvalidInput) as refused:
        perf.appraisal_record(
            employee=nurse(),
            period_date=dt.date(2027, 1, 1),
            scores={"service_attitude": True, "nursing_quality": 80, "discipline": 80},
            recorded_by=None,
        )

    assert refused.value.errors == [
        {"field": "scores.service_attitude", "message": "must be a number from 0 to 100"}
    ]


def test_three_excellent_months_across_the_new_year_count_as_consecutive():
    person = nurse()
    for period in (dt.date(2026, 11, 1), dt.date(2026, 12, 1), dt.date(2027, 1, 1)):
        outcome = perf.appraisal_record(
            employee=person,
            period_date=period,
            scores={"service_attitude": 95, "nursing_quality": 95, "discipline": 95},
            recorded_by=None,
        )

    assert outcome.reserve_cadre_added is True
    assert ReserveCadre.objects.get().reason.endswith("2026-11, 2026-12, 2027-01")


def test_a_remedial_course_of_the_family_comes_first_else_the_general_one():
    clerk = EmployeeFactory(org_unit=nurse().org_unit, role_family=Employee.RoleFamily.ADMIN)

    assert perf.remedial_course_for(employee=nurse()).code == "remedial-nursing-quality"
    assert perf.remedial_course_for(employee=clerk).code == "remedial-performance"


def test_offboarding_request_without_a_receiving_process_is_refused_not_lost():
    with pytest.raises(perf.OffboardingNotDeployed, match="offboarding_requested"):
        perf.pip_offboarding_request(
            employee=nurse(), last_working_date=dt.date(2027, 4, 9), reason="pip_goals_not_met"
        )


def test_closing_a_month_without_appraisals_grants_nothing():
    closed = perf.appraisal_month_close(period_date=dt.date(2027, 2, 1))

    assert (closed.appraised, closed.top_size, closed.bonuses) == (0, 0, [])
    assert not MonthlyAppraisal.objects.exists()
