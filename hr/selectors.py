"""Reads about people, roles and the working calendar that the interfaces need."""

import datetime as dt

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, QuerySet
from django.utils import timezone

from hr.models import (
    CalendarDay,
    DutyRestriction,
    Employee,
    OrgUnit,
    RoleAssignment,
    SensitiveAccess,
)
from workflows.exceptions import InvalidInput

Role = RoleAssignment.Role


def employee_of(user: AbstractBaseUser) -> Employee | None:
    """The employee record a user signs in as, if any."""
    if not user.is_authenticated:
        return None
    employee = Employee.objects.select_related("org_unit", "manager").filter(user=user).first()
    if employee is not None:
        employee.user = user  # the caller has the user already; spare a query for it
    return employee


def roles_of(user: AbstractBaseUser) -> set[str]:
    if not user.is_authenticated:
        return set()
    return set(RoleAssignment.objects.filter(user=user).values_list("role", flat=True))


def has_role(user: AbstractBaseUser, *roles: str) -> bool:
    return (
        user.is_authenticated and RoleAssignment.objects.filter(user=user, role__in=roles).exists()
    )


def scope_paths(user: AbstractBaseUser, roles: tuple[str, ...]) -> list[str]:
    """Org-unit paths under which `user` holds one of `roles` (their subtree is in scope)."""
    return list(
        OrgUnit.objects.filter(role_assignments__user=user, role_assignments__role__in=roles)
        .values_list("path", flat=True)
        .distinct()
    )


def holds_role_over(user: AbstractBaseUser, role: str, unit: OrgUnit | None) -> bool:
    """Does `user` hold `role` at `unit` or at one of its ancestors?"""
    if unit is None:
        return False
    return RoleAssignment.objects.filter(
        user=user, role=role, org_unit_id__in=unit.ancestor_ids
    ).exists()


# --- employee records: who sees which fields -----------------------------------------------

HR_ROLES = (Role.GROUP_HR, Role.CLINIC_HR)


def _own_employee_id(user: AbstractBaseUser) -> int | None:
    return Employee.objects.filter(user=user).values_list("pk", flat=True).first()


def _self_and_subtrees(user: AbstractBaseUser, roles) -> Q:
    """The user's own employee record and everyone under the units where they hold `roles`."""
    visible = Q(user=user)
    for path in scope_paths(user, roles):
        visible |= Q(org_unit__path__startswith=path)
    return visible


def employees_visible_to(user: AbstractBaseUser) -> QuerySet[Employee]:
    """Employee records `user` may see (work data): HR their unit's subtree, a supervisor
    their reports (direct, or in the subtree where they supervise), everyone themselves."""
    employees = Employee.objects.select_related("org_unit", "manager", "ladder_level")
    if not user.is_authenticated:
        return employees.none()
    if user.is_superuser:
        return employees
    visible = _self_and_subtrees(user, (*HR_ROLES, Role.SUPERVISOR))
    own_id = _own_employee_id(user)
    if own_id is not None:
        visible |= Q(manager_id=own_id)
    return employees.filter(visible)


def _is_self(user: AbstractBaseUser, employee: Employee) -> bool:
    return user.is_authenticated and employee.user_id is not None and employee.user_id == user.pk


def _is_hr_over(user: AbstractBaseUser, employee: Employee) -> bool:
    return user.is_authenticated and any(
        holds_role_over(user, role, employee.org_unit) for role in HR_ROLES
    )


def may_see_private(user: AbstractBaseUser, employee: Employee) -> bool:
    """Private fields (ID number, phone, bank account, address, family; leave reasons) are
    for the employee and HR over the employee's unit; supervisors, auditors and admins do
    not see them."""
    return _is_self(user, employee) or _is_hr_over(user, employee)


def editable_fields(user: AbstractBaseUser, employee: Employee) -> frozenset[str]:
    """Fields `user` may change on `employee`: HR over them every private field, the employee
    their own contact fields, nobody else anything."""
    if _is_hr_over(user, employee):
        return frozenset(Employee.PRIVATE_FIELDS)
    if _is_self(user, employee):
        return frozenset(Employee.CONTACT_FIELDS)
    return frozenset()


def access_log_visible_to(user: AbstractBaseUser) -> QuerySet[SensitiveAccess]:
    """Access-log rows an auditor may read: about employees in their unit's subtree."""
    rows = SensitiveAccess.objects.all()
    if user.is_superuser:
        return rows
    visible = Q(pk__in=[])
    for path in scope_paths(user, (Role.AUDITOR,)):
        visible |= Q(employee__org_unit__path__startswith=path)
    return rows.filter(visible)


def open_duty_restrictions(employee: Employee) -> QuerySet[DutyRestriction]:
    """Roles the employee may not work in now: credentials that expired unrenewed."""
    return employee.duty_restrictions.filter(cleared_at__isnull=True).select_related("credential")


# Roles whose holders see the HR records (credentials, signals) of their unit's subtree.
HR_SCOPING_ROLES = (Role.SUPERVISOR, Role.CLINIC_HR, Role.GROUP_HR, Role.AUDITOR)


def hr_records_visible_to(user: AbstractBaseUser) -> QuerySet[Employee]:
    """Employees whose HR records (credentials, signals) `user` may read: themselves, and
    everyone in the subtree of a unit where they are supervisor, clinic HR, group HR or
    auditor. (Their employee records and private fields: `employees_visible_to`.)"""
    if user.is_superuser:
        return Employee.objects.all()
    return Employee.objects.filter(_self_and_subtrees(user, HR_SCOPING_ROLES))


def active_employee(employee_no: str) -> Employee:
    """The active employee with this number, with the unit and manager the checks read;
    InvalidInput naming `employee_no` when there is none."""
    employee = (
        Employee.objects.select_related("org_unit", "manager")
        .filter(employee_no=employee_no, is_active=True)
        .first()
    )
    if employee is None:
        raise InvalidInput([{"field": "employee_no", "message": "no such employee"}])
    return employee


SATURDAY = 5


class _WorkingCalendar:
    """Which days are worked: Monday to Friday unless the calendar says otherwise. Reads the
    calendar rows two months at a time from the first day asked about, so counting a few
    working days is one query however long the holiday."""

    READ_AHEAD = dt.timedelta(days=62)

    def __init__(self, first_date: dt.date) -> None:
        self._kinds: dict[dt.date, str] = {}
        self._read_until = first_date

    def is_working(self, day: dt.date) -> bool:
        while day >= self._read_until:
            until = self._read_until + self.READ_AHEAD
            self._kinds.update(
                CalendarDay.objects.filter(
                    calendar_date__gte=self._read_until, calendar_date__lt=until
                ).values_list("calendar_date", "kind")
            )
            self._read_until = until
        kind = self._kinds.get(day)
        if kind is None:
            return day.weekday() < SATURDAY
        return kind == CalendarDay.Kind.WORKING_DAY


def working_days_after(*, start_at: dt.datetime, working_days: int) -> dt.datetime:
    """The moment `working_days` working days after `start_at`, by the group's calendar.

    Counted in the local time zone, keeping the time of day: Friday 10:00 + 2 is Tuesday
    10:00. Days off (weekends, public holidays) do not count, and a weekend day worked in
    exchange for a holiday (调休上班) does; time on a day off counts from the next working
    day's 00:00, so a Saturday submission + 2 is Wednesday 00:00.
    """
    moment = timezone.localtime(start_at)
    calendar = _WorkingCalendar(moment.date())
    while not calendar.is_working(moment.date()):
        moment = (moment + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    added = 0
    while added < working_days:
        moment += dt.timedelta(days=1)
        if calendar.is_working(moment.date()):
            added += 1
    return moment
