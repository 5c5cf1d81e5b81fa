"""Onboarding services: the pre-job checklist, training completions, and the rule that
nobody is cleared for duty while a mandatory pre-job item is missing."""

import ast
import datetime as dt
from decimal import Decimal

import pytest
from django.conf import settings
from lxml import etree

from hr.models import TrainingCompletion, TrainingCourse
from hr.seed import onboarding as onboarding_seed
from hr.services.onboarding import (
    PRE_JOB_CATEGORIES,
    NotClearedForDuty,
    UnknownCourse,
    employee_clear_for_duty,
    pre_job_checklist,
    pre_job_training_missing,
    training_completion_record,
)

pytestmark = pytest.mark.django_db

NURSE_CHECKLIST = [
    "prejob-medical-law",
    "prejob-nurse-regulations",
    "prejob-hospital-rules",
    "prejob-infection-control",
    "prejob-nurse-duties",
    "prejob-group-culture",
]
CLEARED_AT = dt.datetime(2026, 3, 9, 1, 0, tzinfo=dt.UTC)


@pytest.fixture
def catalogue(db):
    onboarding_seed.seed()


def complete_all(employee, codes):
    for code in codes:
        training_completion_record(employee=employee, course_code=code)


def dmn_checklists() -> dict[str, list[str]]:
    """{role family or "-": course codes} as the shipped DMN table lists them."""
    path = settings.CAREFLOW["BPMN_DIR"] / "onboarding_pre_job_checklist.dmn"
    ns = {"dmn": "https://www.omg.org/spec/DMN/20191111/MODEL/"}
    rules = etree.parse(str(path)).getroot().findall(".//dmn:rule", ns)
    return {
        rule.find("dmn:inputEntry/dmn:text", ns).text.strip('"'): ast.literal_eval(
            rule.find("dmn:outputEntry/dmn:text", ns).text
        )
        for rule in rules
    }


def test_every_checklist_of_the_dmn_exists_and_covers_the_three_pre_job_subjects(catalogue):
    checklists = dmn_checklists()

    assert sorted(checklists) == ["-", "admin", "doctor", "nurse", "technician"]
    for family, codes in checklists.items():
        items = pre_job_checklist(course_codes=codes)
        covered = {item.category for item in items if item.is_mandatory}
        assert covered >= set(PRE_JOB_CATEGORIES), family


def test_the_checklist_keeps_the_order_and_names_each_item(catalogue):
    items = pre_job_checklist(course_codes=["prejob-nurse-duties", "prejob-group-culture"])

    assert [item.as_dict() for item in items] == [
        {
            "code": "prejob-nurse-duties",
            "name": "Duties of the nurse position 护士岗位职责",
            "category": "position_duties",
            "is_mandatory": True,
        },
        {
            "code": "prejob-group-culture",
            "name": "Group culture and history 集团文化与发展历程",
            "category": "hospital_rules",
            "is_mandatory": False,
        },
    ]


def test_an_unknown_course_code_is_refused(catalogue):
    with pytest.raises(UnknownCourse) as refused:
        pre_job_checklist(course_codes=["prejob-medical-law", "prejob-typo"])

    assert refused.value.codes == ["prejob-typo"]


def test_a_completion_is_recorded_on_the_employee_with_its_score(org, catalogue):
    completion = training_completion_record(
        employee=org.nurse, course_code="prejob-medical-law", completed_at=CLEARED_AT, score=87.5
    )

    assert (completion.employee, completion.course.code) == (org.nurse, "prejob-medical-law")
    assert (completion.completed_at, completion.score) == (CLEARED_AT, Decimal("87.50"))


def test_only_mandatory_items_count_as_missing(org, catalogue):
    complete_all(org.nurse, ["prejob-medical-law", "prejob-hospital-rules"])

    assert pre_job_training_missing(employee=org.nurse, course_codes=NURSE_CHECKLIST) == [
        "prejob-nurse-regulations",
        "prejob-infection-control",
        "prejob-nurse-duties",
    ]


def test_an_employee_cannot_be_cleared_for_duty_with_a_mandatory_item_missing(org, catalogue):
    complete_all(org.nurse, [c for c in NURSE_CHECKLIST if c != "prejob-infection-control"])

    with pytest.raises(NotClearedForDuty) as refused:
        employee_clear_for_duty(employee=org.nurse, course_codes=NURSE_CHECKLIST)

    assert refused.value.missing_courses == ["prejob-infection-control"]
    org.nurse.refresh_from_db()
    assert org.nurse.cleared_for_duty_at is None


def test_a_checklist_without_one_of_the_three_subjects_clears_nobody(org, catalogue):
    codes = ["prejob-medical-law", "prejob-hospital-rules"]
    complete_all(org.nurse, codes)

    with pytest.raises(NotClearedForDuty) as refused:
        employee_clear_for_duty(employee=org.nurse, course_codes=codes)

    assert refused.value.missing_courses == []
    assert refused.value.uncovered_categories == ["position_duties"]
    org.nurse.refresh_from_db()
    assert org.nurse.cleared_for_duty_at is None


def test_clearing_for_duty_records_the_time_when_every_mandatory_item_is_done(org, catalogue):
    # The optional group-culture course is not needed.
    complete_all(org.nurse, NURSE_CHECKLIST[:-1])

    employee_clear_for_duty(employee=org.nurse, course_codes=NURSE_CHECKLIST, cleared_at=CLEARED_AT)

    org.nurse.refresh_from_db()
    assert org.nurse.cleared_for_duty_at == CLEARED_AT
    assert TrainingCompletion.objects.filter(employee=org.nurse).count() == 5


def test_the_course_seed_is_idempotent_and_keeps_edits(db):
    onboarding_seed.seed()
    TrainingCourse.objects.filter(code="prejob-group-culture").update(is_mandatory=True)

    onboarding_seed.seed()

    assert TrainingCourse.objects.count() == len(onboarding_seed.COURSES) == 14
    assert TrainingCourse.objects.get(code="prejob-group-culture").is_mandatory is True
