"""Service-task operations of the offboarding process (离职办理).

Each acts on the calling instance's subject, the leaving employee.
"""

from typing import Any

from hr.models import Employee, SystemAccount
from hr.services import offboarding
from workflows.registry import OperationContext, Scope, operation


def _subject(ctx: OperationContext) -> Employee:
    if ctx.subject_employee_id is None:
        raise ValueError("offboarding operations need an instance about an employee")
    return Employee.objects.get(pk=ctx.subject_employee_id)


def _account(account: SystemAccount) -> dict[str, Any]:
    return {
        "system": account.system,
        "username": account.username,
        "revoked_at": account.revoked_at.isoformat() if account.revoked_at else None,
    }


@operation("hr.open_offboarding", scope=Scope.SUBJECT, high_impact=True)
def open_offboarding(ctx: OperationContext, last_working_date: str, reason: str) -> dict[str, Any]:
    """Record the leaving employee's last working day."""
    employee = offboarding.offboarding_open(
        employee=_subject(ctx),
        last_working_date=last_working_date,
        reason=reason,
        instance_id=ctx.instance_id,
    )
    return {
        "employee_no": employee.employee_no,
        "last_working_date": employee.last_working_date.isoformat(),
        "reason": reason,
    }


@operation("hr.list_outstanding_equipment", scope=Scope.SUBJECT)
def list_outstanding_equipment(ctx: OperationContext) -> list[dict[str, Any]]:
    """Equipment lent to the leaving employee and not returned yet."""
    return [
        {"asset_tag": e.asset_tag, "item": e.item, "assigned_date": e.assigned_date.isoformat()}
        for e in offboarding.equipment_outstanding(employee=_subject(ctx))
    ]


@operation("hr.record_equipment_return", scope=Scope.SUBJECT)
def record_equipment_return(ctx: OperationContext, asset_tags: list[str]) -> dict[str, Any]:
    """Mark the listed equipment returned; reports what is still out and unknown tags."""
    result = offboarding.equipment_return_record(employee=_subject(ctx), asset_tags=asset_tags)
    return {
        "returned": result.returned,
        "outstanding": result.outstanding,
        "unknown": result.unknown,
    }


@operation("hr.revoke_system_access", scope=Scope.SUBJECT, high_impact=True)
def revoke_system_access(ctx: OperationContext) -> list[dict[str, Any]]:
    """Revoke every active system account of the leaving employee (the ones revoked now)."""
    return [_account(a) for a in offboarding.system_access_revoke(employee=_subject(ctx))]


@operation("hr.list_active_system_accounts", scope=Scope.SUBJECT)
def list_active_system_accounts(ctx: OperationContext) -> list[dict[str, Any]]:
    """The leaving employee's system accounts that are still active."""
    return [_account(a) for a in offboarding.system_accounts_active(employee=_subject(ctx))]


@operation("hr.close_offboarding", scope=Scope.SUBJECT, high_impact=True)
def close_offboarding(ctx: OperationContext) -> dict[str, Any]:
    """Close the offboarding; fails (the instance gets an incident) while an account is active."""
    employee = offboarding.offboarding_close(employee=_subject(ctx))
    return {"employee_no": employee.employee_no, "is_active": employee.is_active}
