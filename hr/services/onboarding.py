"""Domain services of the onboarding process (入职): the pre-job training checklist
(岗前培训清单) and clearing a new hire for duty.

Which courses make up a new hire's checklist is decided by the process model's DMN table
(per role family); the catalogue (`TrainingCourse`) says what each course is and whether it
is mandatory. The one rule that must hold whatever a diagram does is enforced here:
nobody is cleared for duty (`Employee.cleared_for_duty_at`) while a mandatory item of their
checklist has no recorded completion, or while the checklist lacks a mandatory item of one
of the three pre-job subjects (medical regulations, hospital rules, duties of the position).
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from hr.models import Employee, TrainingCompletion, TrainingCourse

Category = TrainingCourse.Category

# The three subjects every pre-job checklist covers with at least one mandatory item.
PRE_JOB_CATEGORIES = (
    Category.MEDICAL_REGULATIONS,
    Category.HOSPITAL_RULES,
    Category.POSITION_DUTIES,
)


class UnknownCourse(ValueError):
    """A checklist names a course code the catalogue does not have."""

    def __init__(self, codes: list[str]):
        self.codes = codes
        super().__init__("no training course with code: " + ", ".join(codes))


class NotClearedForDuty(Exception):
    """The employee may not be put on duty: mandatory pre-job training is missing."""

    def __init__(
        self,
        employee_no: str,
        *,
        missing_courses: list[str],
        uncovered_categories: list[str],
    ):
        self.employee_no = employee_no
        self.missing_courses = missing_courses
        self.uncovered_categories = uncovered_categories
        reasons = []
        if missing_courses:
            reasons.append(
                "mandatory pre-job training not completed: " + ", ".join(missing_courses)
            )
        if uncovered_categories:
            reasons.append(
                "the checklist has no mandatory item for: " + ", ".join(uncovered_categories)
            )
        super().__init__(f"{employee_no} cannot be cleared for duty: " + "; ".join(reasons))


@dataclass(frozen=True)
class ChecklistItem:
    """One line of a pre-job training checklist, as the process shows it to the new hire."""

    code: str
    name: str
    category: str
    is_mandatory: bool

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "name": self.name,
            "category": self.category,
            "is_mandatory": self.is_mandatory,
        }


def _courses(course_codes: list[str]) -> list[TrainingCourse]:
    """The catalogue rows of `course_codes`, in that order; unknown codes are an error."""
    codes = list(dict.fromkeys(str(c) for c in course_codes))
    by_code = {c.code: c for c in TrainingCourse.objects.filter(code__in=codes)}
    unknown = [c for c in codes if c not in by_code]
    if unknown:
        raise UnknownCourse(unknown)
    return [by_code[c] for c in codes]


def pre_job_checklist(*, course_codes: list[str]) -> list[ChecklistItem]:
    """The checklist items for `course_codes` (deduplicated, in the given order)."""
    return [
        ChecklistItem(c.code, c.name, c.category, c.is_mandatory) for c in _courses(course_codes)
    ]


def training_completion_record(
    *,
    employee: Employee,
    course_code: str,
    completed_at: dt.datetime | None = None,
    score: Decimal | float | int | None = None,
) -> TrainingCompletion:
    """Record that `employee` finished the course `course_code`."""
    (course,) = _courses([course_code])
    return TrainingCompletion.objects.create(
        employee=employee,
        course=course,
        completed_at=completed_at or timezone.now(),
        score=None if score is None else Decimal(str(score)),
    )


def pre_job_training_missing(*, employee: Employee, course_codes: list[str]) -> list[str]:
    """The mandatory courses among `course_codes` that `employee` has no completion of."""
    mandatory = [c for c in _courses(course_codes) if c.is_mandatory]
    done = set(
        TrainingCompletion.objects.filter(employee=employee, course__in=mandatory).values_list(
            "course__code", flat=True
        )
    )
    return [c.code for c in mandatory if c.code not in done]


def employee_clear_for_duty(
    *,
    employee: Employee,
    course_codes: list[str],
    cleared_at: dt.datetime | None = None,
) -> Employee:
    """Clear `employee` for duty after their pre-job training checklist `course_codes`.

    Refused with NotClearedForDuty while a mandatory item has no completion, or when the
    checklist has no mandatory item for one of the three pre-job subjects.
    """
    with transaction.atomic():
        employee = Employee.objects.select_for_update().get(pk=employee.pk)
        courses = _courses(course_codes)
        covered = {c.category for c in courses if c.is_mandatory}
        uncovered = [str(cat) for cat in PRE_JOB_CATEGORIES if cat not in covered]
        missing = pre_job_training_missing(employee=employee, course_codes=course_codes)
        if missing or uncovered:
            raise NotClearedForDuty(
                employee.employee_no, missing_courses=missing, uncovered_categories=uncovered
            )
        employee.cleared_for_duty_at = cleared_at or timezone.now()
        employee.save(update_fields=["cleared_for_duty_at"])
    return employee
