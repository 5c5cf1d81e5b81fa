"""Reads about people and roles that the interfaces need."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, QuerySet

from hr.models import DutyRestriction, Employee, OrgUnit, RoleAssignment
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


def open_duty_restrictions(employee: Employee) -> QuerySet[DutyRestriction]:
    """Roles the employee may not work in now: credentials that expired unrenewed."""
    return employee.duty_restrictions.filter(cleared_at__isnull=True).select_related("credential")


# Roles whose holders see the HR records (credentials, signals) of their unit's subtree.
HR_SCOPING_ROLES = (Role.SUPERVISOR, Role.CLINIC_HR, Role.GROUP_HR, Role.AUDITOR)


def employees_visible_to(user: AbstractBaseUser) -> QuerySet[Employee]:
    """Employees whose HR records `user` may read: themselves, and everyone in the subtree of
    a unit where they are supervisor, clinic HR, group HR or auditor."""
    if user.is_superuser:
        return Employee.objects.all()
    visible = Q(user=user)
    for path in scope_paths(user, HR_SCOPING_ROLES):
        visible |= Q(org_unit__path__startswith=path)
    return Employee.objects.filter(visible)


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
