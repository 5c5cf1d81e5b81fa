"""Service-task operations of the performance processes: the mandatory remedial training
(bpmn/performance_remedial_training.bpmn) and the PIP (bpmn/pip.bpmn)."""

import datetime as dt
from typing import Any

from hr.models import Employee
from hr.services import offboarding as offboarding_services
from hr.services import performance as performance_services
from workflows.registry import OperationContext, Scope, operation


def _subject(ctx: OperationContext) -> Employee:
    return Employee.objects.get(pk=ctx.subject_employee_id)


@operation("hr.remedial_appraisal_facts", scope=Scope.SUBJECT)
def remedial_appraisal_facts(ctx: OperationContext, period: str = "") -> dict[str, str]:
    """The employee's role family and the weakest indicator of their appraisal of `period`
    (YYYY-MM; "" when there is none), for the decision table performance_remedial_course."""
    employee = _subject(ctx)
    weakest = ""
    if period:
        weakest = performance_services.remedial_weakest_indicator(
            employee=employee, period_date=dt.date.fromisoformat(f"{str(period)[:7]}-01")
        )
    return {"role_family": employee.role_family, "weakest_indicator": weakest}


@operation("hr.remedial_course_assign", scope=Scope.SUBJECT)
def remedial_course_assign(ctx: OperationContext, course_code: str = "") -> dict[str, str]:
    """The remedial course the employee has to take (the one the decision table chose)."""
    course = performance_services.remedial_course_for(
        employee=_subject(ctx), course_code=course_code
    )
    return {"code": course.code, "name": course.name}


@operation("hr.remedial_training_record", scope=Scope.SUBJECT)
def remedial_training_record(
    ctx: OperationContext, course_code: str, score: float
) -> dict[str, Any]:
    """Record the finished remedial course on the employee."""
    completion = performance_services.remedial_training_record(
        employee=_subject(ctx), course_code=course_code, score=score
    )
    return {
        "course_code": course_code,
        "completed_at": completion.completed_at.isoformat(),
        "score": float(completion.score),
    }


@operation("hr.pip_offboarding_check", scope=Scope.SUBJECT)
def pip_offboarding_check(ctx: OperationContext) -> dict[str, Any]:
    """Whether an offboarding of the employee is in progress (then no PIP starts), and which
    one with its agreed last working day."""
    employee = _subject(ctx)
    running = offboarding_services.offboarding_running(employee=employee)
    if running is None:
        return {"in_progress": False}
    day = employee.last_working_date
    return {
        "in_progress": True,
        "instance": running.pk,
        "last_working_date": day.isoformat() if day else None,
    }


@operation("hr.pip_offboarding_request", scope=Scope.SUBJECT, high_impact=True)
def pip_offboarding_request(
    ctx: OperationContext, last_working_date: str, reason: str
) -> dict[str, Any]:
    """Send `offboarding_requested` for the employee; fails (an incident) when no process
    receives it. When an offboarding of theirs is already in progress nothing is sent and
    the result names the one kept (`kept_offboarding`) with its agreed last working day."""
    result = performance_services.pip_offboarding_request(
        employee=_subject(ctx),
        last_working_date=dt.date.fromisoformat(str(last_working_date)[:10]),
        reason=reason,
    )
    outcome: dict[str, Any] = {
        "started_instances": [i.pk for i in result.started],
        "correlated_instances": [i.pk for i in result.correlated],
    }
    if result.kept is not None:
        day = result.kept_last_working_date
        outcome["kept_offboarding"] = {
            "instance": result.kept.pk,
            "last_working_date": day.isoformat() if day else None,
        }
    return outcome
