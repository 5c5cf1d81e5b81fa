"""The promotion ladder's domain services: next rung, requirement gaps, grant; the seed."""

import datetime as dt

import pytest
from django.utils import timezone

from hr.models import (
    Achievement,
    Employee,
    LadderLevel,
    MonthlyAppraisal,
    OrgUnit,
    TrainingCourse,
)
from hr.seed import promotion as promotion_seed
from hr.services.promotion import ladder_next_level, promotion_grant, promotion_requirement_gaps
from tests.factories import EmployeeFactory
from workflows.exceptions import Conflict, InvalidInput

pytestmark = pytest.mark.django_db

Kind = Achievement.Kind
NONE = {
    "specialty_course": "",
    "excellent_appraisals": 0,
    "patient_commendations": 0,
    "papers": 0,
    "academic_talks": 0,
    "complex_cases": 0,
}


@pytest.fixture(autouse=True)
def catalogue(org):
    promotion_seed.seed()


def at(code: str | None, family: str = Employee.RoleFamily.NURSE) -> Employee:
    level = LadderLevel.objects.get(code=code) if code else None
    unit = OrgUnit.objects.get(code="east-nursing")
    return EmployeeFactory(role_family=family, ladder_level=level, org_unit=unit)


def excellent(employee: Employee, months: int) -> None:
    for month in range(1, months + 1):
        MonthlyAppraisal.objects.create(
            employee=employee,
            period_date=dt.date(2026, month, 1),
            scores={},
            total=95,
            rating=MonthlyAppraisal.Rating.EXCELLENT,
        )


def test_the_seed_creates_both_ladders_in_order_and_is_idempotent():
    promotion_seed.seed()

    ladders = {
        family: list(
            LadderLevel.objects.filter(role_family=family)
            .order_by("rank")
            .values_list("code", "rank")
        )
        for family in ("nurse", "doctor")
    }
    assert ladders == {
        "nurse": [("junior-nurse", 1), ("nurse", 2), ("senior-nurse", 3), ("charge-nurse", 4)],
        "doctor": [("resident", 1), ("attending", 2), ("associate-chief", 3), ("chief", 4)],
    }
    assert TrainingCourse.objects.get(code="specialty-nursing").category == "specialty"


@pytest.mark.parametrize(
    ("current", "family", "expected"),
    [
        (None, "nurse", "junior-nurse"),
        ("junior-nurse", "nurse", "nurse"),
        ("senior-nurse", "nurse", "charge-nurse"),
        ("charge-nurse", "nurse", None),
        ("resident", "doctor", "attending"),
        ("associate-chief", "doctor", "chief"),
        (None, "admin", None),
    ],
)
def test_the_next_rung_is_one_rank_up_or_the_entry_rung(current, family, expected):
    found = ladder_next_level(employee=at(current, family))

    assert (found.target.code if found.target else None) == expected


def test_a_level_of_another_family_does_not_count_on_the_ladder():
    doctor = at("charge-nurse", Employee.RoleFamily.DOCTOR)

    found = ladder_next_level(employee=doctor)

    assert found.current is None
    assert found.target.code == "resident"


def test_no_requirements_means_no_gaps():
    assert promotion_requirement_gaps(employee=at("junior-nurse"), requirements=NONE) == []


def test_charge_nurse_gaps_count_what_is_on_record():
    nurse = at("senior-nurse")
    excellent(nurse, 2)
    nurse.achievements.create(kind=Kind.PATIENT_COMPLAINT, achieved_date=dt.date(2026, 1, 1))

    gaps = promotion_requirement_gaps(
        employee=nurse,
        requirements={
            **NONE,
            "specialty_course": "specialty-nursing",
            "excellent_appraisals": 3,
            "patient_commendations": 1,
        },
    )

    assert [(g["requirement"], g["required"], g["have"], g["missing"]) for g in gaps] == [
        ("specialty_course", 1, 0, 1),
        ("excellent_appraisals", 3, 2, 1),
        ("patient_commendations", 1, 0, 1),
    ]


def test_exactly_enough_is_met():
    doctor = at("resident", Employee.RoleFamily.DOCTOR)
    for kind, count in ((Kind.PAPER, 5), (Kind.ACADEMIC_TALK, 2), (Kind.COMPLEX_CASE, 1)):
        for _ in range(count):
            doctor.achievements.create(kind=kind, achieved_date=dt.date(2026, 1, 1))

    gaps = promotion_requirement_gaps(
        employee=doctor,
        requirements={**NONE, "papers": 5, "academic_talks": 2, "complex_cases": 1},
    )

    assert gaps == []


def test_recommended_courses_skip_finished_ones_and_other_families():
    nurse = at("nurse")
    nurse.training_completions.create(
        course=TrainingCourse.objects.get(code="quality-nursing-service"),
        completed_at=timezone.now(),
    )

    (gap,) = promotion_requirement_gaps(
        employee=nurse, requirements={**NONE, "excellent_appraisals": 1}
    )
    (doctor_gap,) = promotion_requirement_gaps(
        employee=at("resident", Employee.RoleFamily.DOCTOR),
        requirements={**NONE, "excellent_appraisals": 1},
    )

    assert gap["recommended_courses"] == [
        {"code": "clinical-communication", "name": "Clinical communication 医患沟通技巧"}
    ]
    assert [c["code"] for c in doctor_gap["recommended_courses"]] == ["clinical-communication"]


def test_unknown_requirements_and_courses_are_refused():
    nurse = at("nurse")

    with pytest.raises(InvalidInput) as unknown:
        promotion_requirement_gaps(employee=nurse, requirements={**NONE, "years": 3})
    with pytest.raises(InvalidInput) as no_course:
        promotion_requirement_gaps(
            employee=nurse, requirements={**NONE, "specialty_course": "no-such-course"}
        )

    assert unknown.value.errors == [
        {"field": "requirements.years", "message": "unknown requirement"}
    ]
    assert no_course.value.errors[0]["field"] == "requirements.specialty_course"


def test_grant_moves_the_employee_one_rung_up_and_is_idempotent():
    nurse = at("senior-nurse")

    promotion_grant(employee_id=nurse.pk, target_level_code="charge-nurse")
    promotion_grant(employee_id=nurse.pk, target_level_code="charge-nurse")

    nurse.refresh_from_db()
    assert nurse.ladder_level.code == "charge-nurse"


def test_grant_refuses_a_rung_that_is_not_the_next_one():
    nurse = at("junior-nurse")

    with pytest.raises(Conflict):
        promotion_grant(employee_id=nurse.pk, target_level_code="charge-nurse")

    nurse.refresh_from_db()
    assert nurse.ladder_level.code == "junior-nurse"
