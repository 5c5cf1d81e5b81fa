"""Family care 家庭关怀: children's birthday reminders to managers, and care gifts.

Birthday reminders: a daily scan (`workers.family_birthday_reminders`, or `manage.py
family_birthday_reminders`) looks for the children of employees who consented to reminders
whose birthday falls within the lead time (`CAREFLOW_FAMILY_BIRTHDAY_LEAD_DAYS`, 3 days), and
starts one `family_birthday_greeting` process per child per year: the manager gets a greeting
task. A `FamilyBirthdayReminder` row per child and year (unique) makes the scan idempotent;
a run that was missed is caught up by the next one, since the whole window is scanned.

Care gifts: clinic HR (of the employee's clinic) or group HR starts `care_gift` for a family
member's illness; group HR approves; the gift is recorded on the employee. A family-emergency
leave ends with a task for clinic HR proposing one (bpmn/leave_request.bpmn).

Family leave fast track: `leave_request` asks `family_leave_facts` for the age of the
employee's youngest child on file whose parent consented to share the child's data
(`has_consented_to_reminders`); the DMN leave_approval_route decides the fast track from it.
Only the age in whole years reaches process data, never a name or a birth date.
"""

import calendar
import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from hr.models import CareGift, Employee, FamilyBirthdayReminder, FamilyMember, RoleAssignment
from hr.selectors import holds_role_over
from workflows import sensitive
from workflows import services as workflow_services
from workflows.exceptions import InvalidInput, NotAllowed, NotFound
from workflows.models import ProcessInstance

BIRTHDAY_PROCESS_KEY = "family_birthday_greeting"
CARE_GIFT_PROCESS_KEY = "care_gift"
Role = RoleAssignment.Role
# The most a care gift may be worth (CNY); the start form of care_gift says the same.
CARE_GIFT_MAX_AMOUNT = Decimal("2000")
# The manager is reminded again on the morning of the birthday, if the greeting is not sent.
BIRTHDAY_MORNING = dt.time(8, 0)


def birthday_lead_days() -> int:
    return settings.CAREFLOW_FAMILY_BIRTHDAY_LEAD_DAYS


def birthday_in_year(birth_date: dt.date, year: int) -> dt.date:
    """The day a birthday is celebrated in `year` (29 February: the 28th in other years)."""
    day = birth_date.day
    if birth_date.month == 2 and day == 29 and not calendar.isleap(year):
        day = 28
    return dt.date(year, birth_date.month, day)


def _window_days(today: dt.date, lead_days: int) -> list[dt.date]:
    return [today + dt.timedelta(days=n) for n in range(lead_days + 1)]


def _birthday_filter(days: list[dt.date]) -> Q:
    condition = Q(pk__in=[])
    for day in days:
        condition |= Q(birth_date__month=day.month, birth_date__day=day.day)
        if day.month == 2 and day.day == 28 and not calendar.isleap(day.year):
            condition |= Q(birth_date__month=2, birth_date__day=29)
    return condition


def family_birthdays_due(*, today: dt.date, lead_days: int) -> list[tuple[FamilyMember, dt.date]]:
    """Children of active, consenting employees with a birthday from `today` to `today +
    lead_days`, and that birthday; those already reminded for that year are left out."""
    days = _window_days(today, lead_days)
    children = (
        FamilyMember.objects.filter(
            _birthday_filter(days),
            relation=FamilyMember.Relation.CHILD,
            has_consented_to_reminders=True,
            birth_date__isnull=False,
            employee__is_active=True,
        )
        .select_related("employee")
        .order_by("pk")
    )
    due = []
    for child in children:
        birthday = next(
            b
            for b in (birthday_in_year(child.birth_date, d.year) for d in days)
            if today <= b <= days[-1]
        )
        due.append((child, birthday))
    reminded = set(
        FamilyBirthdayReminder.objects.filter(
            family_member__in=[c for c, _ in due], year__in={b.year for _, b in due}
        ).values_list("family_member_id", "year")
    )
    return [(c, b) for c, b in due if (c.pk, b.year) not in reminded]


def _birthday_greeting_start(child: FamilyMember, birthday: dt.date) -> FamilyBirthdayReminder:
    reminder = FamilyBirthdayReminder.objects.create(
        family_member=child, year=birthday.year, birthday_date=birthday
    )
    morning = timezone.make_aware(dt.datetime.combine(birthday, BIRTHDAY_MORNING))
    day_after = timezone.make_aware(
        dt.datetime.combine(birthday + dt.timedelta(days=1), dt.time.min)
    )
    instance = workflow_services.instance_start(
        process_key=BIRTHDAY_PROCESS_KEY,
        started_by=None,
        subject=child.employee,
        business_key=f"birthday:{child.pk}:{birthday.year}",
        data={
            "family_member_id": child.pk,
            "birthday_date": birthday.isoformat(),
            "age": birthday.year - child.birth_date.year,
            "employee_name": child.employee.name,
            "birthday_morning_at": morning.isoformat(),
            "greeting_expires_at": day_after.isoformat(),
        },
        # FamilyMember.name is encrypted: sealed in process data too, shown on the greeting
        # task to the manager who works it (api/sensitive.py), never in clear.
        sealed_data={"child_name": sensitive.seal_value(child.name, for_task_workers=True)},
    )
    reminder.process_instance_id = instance.pk
    reminder.save(update_fields=["process_instance_id"])
    return reminder


def family_birthday_reminders_send(*, today: dt.date | None = None) -> list[FamilyBirthdayReminder]:
    """The daily scan: one greeting process per child per year, each in its own transaction
    (a child whose reminder another run wrote meanwhile is skipped)."""
    today = today or timezone.localdate()
    sent = []
    for child, birthday in family_birthdays_due(today=today, lead_days=birthday_lead_days()):
        try:
            with transaction.atomic():
                sent.append(_birthday_greeting_start(child, birthday))
        except IntegrityError:
            continue
    return sent


# --- family leave fast track --------------------------------------------------------------


def age_in_years(birth_date: dt.date, on: dt.date) -> int:
    """Completed years on `on`: the birthday counts from its day (29 February from 1 March in
    other years)."""
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


def youngest_consented_child_age(*, employee_id: int, on: dt.date | None = None) -> int | None:
    """Age in completed years of the employee's youngest child with a birth date on file and
    consent to share it, on `on` (today in the group's time zone); None if there is none."""
    on = on or timezone.localdate()
    birth_dates = FamilyMember.objects.filter(
        employee_id=employee_id,
        relation=FamilyMember.Relation.CHILD,
        has_consented_to_reminders=True,
        birth_date__isnull=False,
        birth_date__lte=on,
    ).values_list("birth_date", flat=True)
    ages = [age_in_years(born, on) for born in birth_dates]
    return min(ages) if ages else None


# --- care gifts --------------------------------------------------------------------------


def _may_start_care_gift(user: AbstractBaseUser, employee: Employee) -> bool:
    return user.is_superuser or any(
        holds_role_over(user, role, employee.org_unit) for role in (Role.CLINIC_HR, Role.GROUP_HR)
    )


def care_gift_start(
    *,
    user: AbstractBaseUser,
    employee_no: str,
    family_member_id: int,
    gift: str,
    amount: Decimal,
    note: str = "",
) -> ProcessInstance:
    """HR of the employee's clinic, or group HR, asks for a care gift for a family member's
    illness; the `care_gift` process takes it to group HR for approval."""
    if not Decimal("0") < amount <= CARE_GIFT_MAX_AMOUNT:
        message = f"must be more than 0 and at most {CARE_GIFT_MAX_AMOUNT} CNY"
        raise InvalidInput([{"field": "amount", "message": message}])
    employee = Employee.objects.select_related("org_unit").filter(employee_no=employee_no).first()
    if employee is None:
        raise InvalidInput([{"field": "employee_no", "message": "no employee with this number"}])
    if not _may_start_care_gift(user, employee):
        raise NotAllowed("only HR of the employee's clinic or group HR may ask for a care gift")
    member = FamilyMember.objects.filter(pk=family_member_id, employee=employee).first()
    if member is None:
        raise InvalidInput(
            [{"field": "family_member_id", "message": "not a family member of this employee"}]
        )
    return workflow_services.instance_start(
        process_key=CARE_GIFT_PROCESS_KEY,
        started_by=user,
        subject=employee,
        data={
            "family_member_id": member.pk,
            "relation": member.relation,
            "gift": gift,
            "amount": float(amount),
            "note": note,
        },
    )


@transaction.atomic
def care_gift_record(
    *,
    employee_id: int,
    family_member_id: int,
    gift: str,
    amount: Decimal | float,
    note: str,
    process_instance_id: int | None,
) -> CareGift:
    """Record an approved care gift on the employee (once per process instance)."""
    member = FamilyMember.objects.filter(pk=family_member_id, employee_id=employee_id).first()
    if member is None:
        raise NotFound(f"family member {family_member_id} of employee {employee_id} not found")
    existing = CareGift.objects.filter(process_instance_id=process_instance_id).first()
    if process_instance_id is not None and existing is not None:
        return existing
    return CareGift.objects.create(
        employee_id=employee_id,
        family_member=member,
        gift=gift,
        amount=Decimal(str(amount)).quantize(Decimal("0.01")),
        note=note,
        process_instance_id=process_instance_id,
    )
