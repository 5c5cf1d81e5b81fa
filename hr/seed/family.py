"""Demo data of family care (家庭关怀).

East Clinic's nurse (E0003) consented to family-care reminders, and her child's birthday is
two days after the day the demo is seeded, so `manage.py family_birthday_reminders` (or the
daily beat task) gives her head nurse a greeting task at once. Her mother is on file too,
for a care gift. West Clinic's nurse (E0005) has a child on file without consent: no
reminder. Existing rows are left as they are.
"""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from hr.models import Employee, FamilyMember

Relation = FamilyMember.Relation

# employee no, relation, name, years old on the next birthday (None: no birth date), consent
DEMO_FAMILY = [
    ("E0003", Relation.CHILD, "张小雨 Zhang Xiaoyu", 7, True),
    ("E0003", Relation.PARENT, "王秀兰 Wang Xiulan", None, True),
    ("E0005", Relation.CHILD, "刘乐乐 Liu Lele", 5, False),
]
BIRTHDAY_IN_DAYS = 2


def _birth_date(age: int | None) -> dt.date | None:
    if age is None:
        return None
    birthday = timezone.localdate() + dt.timedelta(days=BIRTHDAY_IN_DAYS)
    if birthday.month == 2 and birthday.day == 29:
        birthday -= dt.timedelta(days=1)
    return birthday.replace(year=birthday.year - age)


@transaction.atomic
def seed() -> None:
    """Family members of the demo nurses, with birth dates and consent (idempotent)."""
    for employee_no, relation, name, age, consent in DEMO_FAMILY:
        employee = Employee.objects.filter(employee_no=employee_no).first()
        if employee is None:
            continue
        # Matched by relation, not by name (names may be stored encrypted).
        member = FamilyMember.objects.filter(employee=employee, relation=relation).first()
        if member is None:
            member = FamilyMember(employee=employee, relation=relation, name=name)
        if member.birth_date is None:
            member.birth_date = _birth_date(age)
            member.has_consented_to_reminders = consent
            member.save()
