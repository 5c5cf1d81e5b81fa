"""Family care services: which birthdays are due, and the demo data."""

import datetime as dt

import pytest

from hr.models import FamilyMember, Story
from hr.seed import family as family_seed
from hr.seed import stories as stories_seed
from hr.services import family
from tests.conftest import shipped_bundle
from tests.factories import EmployeeFactory
from workflows import services

pytestmark = pytest.mark.django_db
Relation = FamilyMember.Relation


def child(employee, birth_date, consent=True):
    return FamilyMember.objects.create(
        employee=employee,
        relation=Relation.CHILD,
        name="child",
        birth_date=birth_date,
        has_consented_to_reminders=consent,
    )


@pytest.mark.parametrize(
    ("birth_date", "year", "celebrated"),
    [
        (dt.date(2016, 2, 29), 2026, dt.date(2026, 2, 28)),
        (dt.date(2016, 2, 29), 2028, dt.date(2028, 2, 29)),
        (dt.date(2016, 7, 14), 2026, dt.date(2026, 7, 14)),
    ],
)
def test_the_day_a_birthday_is_celebrated(birth_date, year, celebrated):
    assert family.birthday_in_year(birth_date, year) == celebrated


def test_the_window_runs_over_new_year(org):
    new_year = child(org.nurse, dt.date(2019, 1, 1))
    child(org.nurse, dt.date(2019, 1, 3))  # 4 days ahead of 30 December

    due = family.family_birthdays_due(today=dt.date(2026, 12, 30), lead_days=3)

    assert [(c.pk, b) for c, b in due] == [(new_year.pk, dt.date(2027, 1, 1))]


def test_children_of_employees_who_left_are_not_reminded(org):
    org.nurse.is_active = False
    org.nurse.save()
    child(org.nurse, dt.date(2019, 3, 3))

    assert family.family_birthdays_due(today=dt.date(2026, 3, 2), lead_days=3) == []


def test_the_demo_family_gives_one_reminder_two_days_ahead(org, time_machine):
    time_machine.move_to(dt.datetime(2026, 5, 10, 1, 0, tzinfo=dt.UTC), tick=False)
    east_nurse = EmployeeFactory(
        employee_no="E0003", org_unit=org.east_nursing, manager=org.head_nurse
    )
    west_nurse = EmployeeFactory(employee_no="E0005", org_unit=org.west_nursing)
    services.version_deploy(files=shipped_bundle("family_birthday_greeting.bpmn"))

    family_seed.seed()
    family_seed.seed()
    sent = family.family_birthday_reminders_send()

    assert FamilyMember.objects.filter(employee__in=[east_nurse, west_nurse]).count() == 3
    (reminder,) = sent
    assert reminder.family_member.employee == east_nurse
    assert reminder.birthday_date == dt.date(2026, 5, 12)
    assert reminder.family_member.birth_date == dt.date(2019, 5, 12)


def test_the_demo_wall_has_one_published_story(org):
    EmployeeFactory(employee_no="E0003", org_unit=org.east_nursing)

    stories_seed.seed()
    stories_seed.seed()

    (story,) = Story.objects.all()
    assert (story.status, story.clinic) == (Story.Status.PUBLISHED, org.east)
