"""Demo data of the story wall (员工故事墙): one published story about East Clinic's nurse,
so the wall is not empty on a fresh laptop. New stories go through `story_review`
(POST /api/v1/stories/). Left as it is when it exists."""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from hr.models import Employee, OrgUnit, Story

DEMO_STORY = (
    "E0003",
    "east_hr",
    "夜班里的微笑 A smile on the night shift",
    "凌晨三点，张护士发现一位独居老人因担心手术而失眠，她陪老人聊了半小时，"
    "第二天老人家属专程送来感谢信。\n"
    "At 3 a.m. Nurse Zhang found an elderly patient awake and worried about his operation; "
    "she sat with him for half an hour. The next day his family brought a thank-you letter.",
)


@transaction.atomic
def seed() -> None:
    employee_no, submitter, title, text = DEMO_STORY
    employee = Employee.objects.select_related("org_unit").filter(employee_no=employee_no).first()
    if employee is None or Story.objects.filter(employee=employee).exists():
        return
    clinic = employee.org_unit.ancestor_of_kind(OrgUnit.Kind.CLINIC)
    Story.objects.create(
        clinic=clinic,
        employee=employee,
        title=title,
        text=text,
        submitted_by=get_user_model().objects.filter(username=submitter).first(),
        status=Story.Status.PUBLISHED,
        published_at=timezone.now(),
    )
