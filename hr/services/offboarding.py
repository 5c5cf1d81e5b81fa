"""Domain services of the offboarding process (离职): last working day, return of equipment
(归还办公用品), revocation of system access (注销系统权限) and closing.

The rules that must hold whatever a diagram does are enforced here: an offboarding is not
closed while the employee still has an active system account, and one employee has one
offboarding at a time: a second one (by hand, or by the message `offboarding_requested`)
never moves the last working day the running one agreed.
"""

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from hr.models import Employee, EquipmentAssignment, SystemAccount
from workflows.models import ProcessInstance

# The hand-started offboarding; every process that starts on this message is one too.
OFFBOARDING_PROCESS = "offboarding"
OFFBOARDING_MESSAGE = "offboarding_requested"


class OffboardingRefused(Exception):
    """The offboarding cannot start or go on in the employee's current state."""


class AccountsStillActive(OffboardingRefused):
    """Closing is refused: the employee still has active system accounts."""

    def __init__(self, employee_no: str, accounts: list[str]):
        self.employee_no = employee_no
        self.accounts = accounts
        super().__init__(
            f"offboarding of {employee_no} cannot close while system accounts are active: "
            + ", ".join(accounts)
        )


def offboarding_running(
    *, employee: Employee, exclude_instance_id: int | None = None
) -> ProcessInstance | None:
    """The employee's offboarding in progress (an active instance of `offboarding` or of a
    process that starts on `offboarding_requested`), oldest first; None when there is none."""
    instances = (
        ProcessInstance.objects.filter(subject=employee, status__in=ProcessInstance.ACTIVE_STATUSES)
        .exclude(pk=exclude_instance_id)
        .select_related("definition", "version")
        .order_by("started_at", "pk")
    )
    for instance in instances:
        starts_on = instance.version.summary.get("start_messages", []) or []
        if instance.definition.key == OFFBOARDING_PROCESS or OFFBOARDING_MESSAGE in starts_on:
            return instance
    return None


def offboarding_open(
    *,
    employee: Employee,
    last_working_date: dt.date | str,
    reason: str,
    instance_id: int | None = None,
) -> Employee:
    """Record the last working day of `employee`, who is leaving for `reason`.

    Refused while another offboarding of theirs (not `instance_id`, the calling one) is in
    progress: the last working day it agreed stands.
    """
    if isinstance(last_working_date, str):
        last_working_date = dt.date.fromisoformat(last_working_date[:10])
    if not str(reason).strip():
        raise OffboardingRefused("an offboarding needs a reason")
    with transaction.atomic():
        employee = Employee.objects.select_for_update().get(pk=employee.pk)
        if not employee.is_active:
            raise OffboardingRefused(f"{employee.employee_no} has already left")
        running = offboarding_running(employee=employee, exclude_instance_id=instance_id)
        if running is not None:
            raise OffboardingRefused(
                f"{employee.employee_no} already has an offboarding in progress "
                f"({offboarding_label(running, employee)})"
            )
        employee.last_working_date = last_working_date
        employee.save(update_fields=["last_working_date"])
    return employee


def offboarding_label(instance: ProcessInstance, employee: Employee) -> str:
    """'instance 12, last working day 2027-01-29' for messages and notes."""
    day = employee.last_working_date.isoformat() if employee.last_working_date else "not set"
    return f"instance {instance.pk}, last working day {day}"


def equipment_outstanding(*, employee: Employee) -> list[EquipmentAssignment]:
    """Equipment lent to `employee` and not returned yet, by asset tag."""
    return list(
        EquipmentAssignment.objects.filter(employee=employee, returned_at__isnull=True).order_by(
            "asset_tag"
        )
    )


@dataclass(frozen=True)
class EquipmentReturn:
    """What a return recorded: tags taken back, tags still out, tags that are not this
    employee's outstanding equipment."""

    returned: list[str] = field(default_factory=list)
    outstanding: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


def equipment_return_record(
    *, employee: Employee, asset_tags: list[str], returned_at: dt.datetime | None = None
) -> EquipmentReturn:
    """Mark the equipment with `asset_tags` as returned by `employee`."""
    returned_at = returned_at or timezone.now()
    wanted = list(dict.fromkeys(str(t).strip() for t in asset_tags if str(t).strip()))
    with transaction.atomic():
        out = {
            e.asset_tag: e
            for e in EquipmentAssignment.objects.select_for_update().filter(
                employee=employee, returned_at__isnull=True
            )
        }
        returned = [t for t in wanted if t in out]
        EquipmentAssignment.objects.filter(pk__in=[out[t].pk for t in returned]).update(
            returned_at=returned_at
        )
    return EquipmentReturn(
        returned=sorted(returned),
        outstanding=sorted(t for t in out if t not in returned),
        unknown=sorted(t for t in wanted if t not in out),
    )


def system_accounts_active(*, employee: Employee) -> list[SystemAccount]:
    """The employee's system accounts that are still active."""
    return list(
        SystemAccount.objects.filter(employee=employee, is_active=True).order_by(
            "system", "username"
        )
    )


def system_access_revoke(
    *, employee: Employee, revoked_at: dt.datetime | None = None
) -> list[SystemAccount]:
    """Revoke every active system account of `employee`; returns the ones revoked now."""
    revoked_at = revoked_at or timezone.now()
    with transaction.atomic():
        accounts = list(
            SystemAccount.objects.select_for_update()
            .filter(employee=employee, is_active=True)
            .order_by("system", "username")
        )
        SystemAccount.objects.filter(pk__in=[a.pk for a in accounts]).update(
            is_active=False, revoked_at=revoked_at
        )
    for account in accounts:
        account.is_active = False
        account.revoked_at = revoked_at
    return accounts


def offboarding_close(*, employee: Employee) -> Employee:
    """Close the offboarding: the employee (and their CareFlow sign-in) becomes inactive.

    Refused with AccountsStillActive while any system account of theirs is active.
    """
    with transaction.atomic():
        employee = (
            Employee.objects.select_for_update(of=("self",))
            .select_related("user")
            .get(pk=employee.pk)
        )
        active = SystemAccount.objects.select_for_update().filter(employee=employee, is_active=True)
        names = sorted(f"{a.system}:{a.username}" for a in active)
        if names:
            raise AccountsStillActive(employee.employee_no, names)
        employee.is_active = False
        employee.save(update_fields=["is_active"])
        if employee.user is not None and employee.user.is_active:
            employee.user.is_active = False
            employee.user.save(update_fields=["is_active"])
    return employee
