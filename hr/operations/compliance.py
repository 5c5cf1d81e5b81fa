"""Service-task operations of the performance deduction after compliance signals
(bpmn/compliance_deduction.bpmn) and of the compliance warning (bpmn/compliance_warning.bpmn)."""

from typing import Any

from hr.operations.scopes import NOTICE_OF_INSTANCE, SUBJECT_SIGNAL
from hr.services import compliance as compliance_services
from workflows.registry import OperationContext, Scope, operation


@operation("hr.compliance_signal_load", scope=Scope.SUBJECT, ids={"signal_id": SUBJECT_SIGNAL})
def compliance_signal_load(ctx: OperationContext, signal_id: int) -> dict[str, Any]:
    """The third violation: kind, severity, role family, and the violations counted."""
    return compliance_services.signal_load(
        signal_id=signal_id, employee_id=ctx.subject_employee_id, instance_id=ctx.instance_id
    )


@operation("hr.compliance_deduction_open", scope=Scope.SUBJECT, ids={"signal_id": SUBJECT_SIGNAL})
def compliance_deduction_open(
    ctx: OperationContext, signal_id: int, clause_code: str, percent: float
) -> dict[str, Any]:
    """Record the pending deduction notice for the supervisor."""
    notice = compliance_services.deduction_notice_open(
        signal_id=signal_id, clause_code=clause_code, percent=percent, instance_id=ctx.instance_id
    )
    return {
        "id": notice.pk,
        "clause_code": notice.clause_code,
        "period": f"{notice.period_date:%Y-%m}",
        "percent": float(notice.percent),
        "signal_ids": sorted(notice.signals.values_list("pk", flat=True)),
    }


@operation(
    "hr.compliance_deduction_decide",
    scope=Scope.SUBJECT,
    ids={"notice_id": NOTICE_OF_INSTANCE},
    high_impact=True,
)
def compliance_deduction_decide(
    ctx: OperationContext, notice_id: int, decision: str, reason: str = ""
) -> dict[str, Any]:
    """Confirmed: the deduction goes on the month's bonus record; rejected: the reason is kept."""
    notice = compliance_services.deduction_notice_decide(
        notice_id=notice_id, decision=decision, reason=reason, instance_id=ctx.instance_id
    )
    return {
        "status": notice.status,
        "bonus_record_id": notice.deduction_id,
        "rejection_reason": notice.rejection_reason,
    }


@operation(
    "hr.compliance_training_assign",
    scope=Scope.SUBJECT,
    ids={"notice_id": NOTICE_OF_INSTANCE},
)
def compliance_training_assign(
    ctx: OperationContext, course_code: str, due_days: int, notice_id: int
) -> dict[str, Any]:
    """Enrol the employee in the clause's mandatory course."""
    assignment = compliance_services.training_assign(
        employee_id=ctx.subject_employee_id,
        course_code=course_code,
        due_days=int(due_days),
        notice_id=notice_id,
        instance_id=ctx.instance_id,
    )
    return {
        "course_code": assignment.course.code,
        "course_name": assignment.course.name,
        "due_date": assignment.due_date.isoformat(),
    }


@operation("hr.compliance_warning_load", scope=Scope.SUBJECT, ids={"signal_id": SUBJECT_SIGNAL})
def compliance_warning_load(ctx: OperationContext, signal_id: int) -> dict[str, Any]:
    """The first or second violation: clause, kind, date, which one it is, and whether a
    colleague reported it (never who)."""
    return compliance_services.warning_load(
        signal_id=signal_id, employee_id=ctx.subject_employee_id
    )
