"""Reads about people and roles that the interfaces need."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, QuerySet

from hr.models import DutyRestriction, Employee, OrgUnit, RoleAssignment, SensitiveAccess
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
