"""Domain services of the promotion ladder 晋升阶梯.

Ladders are data: `LadderLevel` rows per role family, ranked from the entry rung up
(seeded by `hr.seed.promotion`). What a rung requires is decided by the
`promotion_requirements` DMN table of the promotion process; this module answers the
questions the process asks about one employee:

- which rung is next (`ladder_next_level`): the rung one rank above the current one, or the
  entry rung of the role family for an employee who is not on the ladder yet;
- what is still missing for it (`promotion_requirement_gaps`), counted over the employee's
  whole record (requirements are cumulative totals, e.g. 5 papers in all), each gap with the
  catalogue courses recommended to close it;
- and, once the HR committee grants it, moving the employee up (`promotion_grant`).
"""

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from hr.models import Achievement, Employee, LadderLevel, MonthlyAppraisal, TrainingCourse
from workflows.exceptions import Conflict, InvalidInput

Kind = Achievement.Kind

# The requirement keys of the `promotion_requirements` decision, in the order gaps are listed.
# Each counted requirement names what it counts and the bilingual title shown on the task.
COUNTED_REQUIREMENTS: dict[str, tuple[str, str]] = {
    "excellent_appraisals": ("appraisal", "Monthly appraisals rated excellent 优秀月度考核"),
    "patient_commendations": (Kind.PATIENT_COMMENDATION, "Patient commendations 患者表扬"),
    "papers": (Kind.PAPER, "Academic papers 学术论文"),
    "academic_talks": (Kind.ACADEMIC_TALK, "Internal academic talks 学术分享"),
    "complex_cases": (Kind.COMPLEX_CASE, "Complex cases 疑难病例"),
}
SPECIALTY_COURSE = "specialty_course"
REQUIREMENT_KEYS = (SPECIALTY_COURSE, *COUNTED_REQUIREMENTS)

# Catalogue courses recommended for a gap, by requirement; only courses of the employee's
# role family (or of every family) that they have not finished yet are offered. A missing
# specialty course recommends that very course.
RECOMMENDED_COURSES: dict[str, tuple[str, ...]] = {
    "excellent_appraisals": ("quality-nursing-service", "clinical-communication"),
    "patient_commendations": ("quality-nursing-service", "clinical-communication"),
    "papers": ("academic-writing",),
    "academic_talks": ("academic-presentation",),
    "complex_cases": ("complex-case-management",),
}


@dataclass(frozen=True)
class NextLevel:
    """Where an employee stands on their ladder and the rung they may apply for."""

    role_family: str
    current: LadderLevel | None
    target: LadderLevel | None


def ladder_next_level(*, employee: Employee) -> NextLevel:
    """The rung above the employee's current one (None at the top or without a ladder)."""
    rungs = LadderLevel.objects.filter(role_family=employee.role_family).order_by("rank")
    current = employee.ladder_level
    if current is not None and current.role_family != employee.role_family:
        # A level of another family (after a change of role) does not count on this ladder.
        current = None
    target = rungs.filter(rank__gt=current.rank).first() if current else rungs.first()
    return NextLevel(employee.role_family, current, target)


def _count(employee: Employee, what: str) -> int:
    if what == "appraisal":
        return employee.appraisals.filter(rating=MonthlyAppraisal.Rating.EXCELLENT).count()
    return employee.achievements.filter(kind=what).count()


def _recommended(employee: Employee, codes: tuple[str, ...]) -> list[dict[str, str]]:
    finished = set(employee.training_completions.values_list("course__code", flat=True))
    courses = TrainingCourse.objects.filter(code__in=codes).exclude(code__in=finished)
    courses = [c for c in courses if c.role_family in ("", employee.role_family)]
    order = {code: index for index, code in enumerate(codes)}
    return [{"code": c.code, "name": c.name} for c in sorted(courses, key=lambda c: order[c.code])]


def promotion_requirement_gaps(
    *, employee: Employee, requirements: dict[str, Any]
) -> list[dict[str, Any]]:
    """What the employee still lacks of `requirements` (the DMN's output), one entry a gap.

    `requirements` holds `specialty_course` (a course code, "" for none) and the minimum
    counts `excellent_appraisals`, `patient_commendations`, `papers`, `academic_talks` and
    `complex_cases`. Each gap says what is required, what the record shows, how many are
    missing and which courses are recommended. An empty list means every requirement is met.
    """
    unknown = sorted(set(requirements) - set(REQUIREMENT_KEYS))
    if unknown:
        raise InvalidInput(
            [{"field": f"requirements.{k}", "message": "unknown requirement"} for k in unknown]
        )
    gaps: list[dict[str, Any]] = []
    course_code = str(requirements.get(SPECIALTY_COURSE) or "")
    if course_code:
        course = TrainingCourse.objects.filter(code=course_code).first()
        if course is None:
            raise InvalidInput(
                [
                    {
                        "field": f"requirements.{SPECIALTY_COURSE}",
                        "message": f"no course {course_code!r} in the catalogue",
                    }
                ]
            )
        if not employee.training_completions.filter(course=course).exists():
            gaps.append(
                {
                    "requirement": SPECIALTY_COURSE,
                    "title": f"Specialty training 专科培训: {course.name}",
                    "required": 1,
                    "have": 0,
                    "missing": 1,
                    "recommended_courses": [{"code": course.code, "name": course.name}],
                }
            )
    for key, (what, title) in COUNTED_REQUIREMENTS.items():
        required = int(requirements.get(key) or 0)
        if required <= 0:
            continue
        have = _count(employee, what)
        if have >= required:
            continue
        gaps.append(
            {
                "requirement": key,
                "title": title,
                "required": required,
                "have": have,
                "missing": required - have,
                "recommended_courses": _recommended(employee, RECOMMENDED_COURSES[key]),
            }
        )
    return gaps


def promotion_grant(*, employee_id: int, target_level_code: str) -> Employee:
    """Move the employee up to `target_level_code`, the rung the committee granted.

    Refused (Conflict) when the employee is no longer one rung below it, e.g. a second
    application was granted meanwhile; granting the rung they already hold changes nothing.
    """
    with transaction.atomic():
        employee = (
            Employee.objects.select_for_update(of=("self",))
            .select_related("ladder_level")
            .get(pk=employee_id)
        )
        target = LadderLevel.objects.filter(code=target_level_code).first()
        if target is None:
            raise InvalidInput(
                [{"field": "target_level", "message": f"no ladder level {target_level_code!r}"}]
            )
        if employee.ladder_level_id == target.pk:
            return employee
        expected = ladder_next_level(employee=employee).target
        if expected is None or expected.pk != target.pk:
            current = employee.ladder_level.code if employee.ladder_level else "none"
            raise Conflict(
                f"{employee.employee_no} is at {current}; {target.code} is not the next rung"
            )
        employee.ladder_level = target
        employee.save(update_fields=["ladder_level"])
    return employee
