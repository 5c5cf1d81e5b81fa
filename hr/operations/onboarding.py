"""Service-task operations of the onboarding process (入职与岗前培训).

Each acts on the calling instance's subject, the new hire.
"""

from typing import Any

from hr.models import Employee
from hr.services import onboarding
from workflows.registry import OperationContext, Scope, operation


def _subject(ctx: OperationContext) -> Employee:
    if ctx.subject_employee_id is None:
        raise ValueError("onboarding operations need an instance about an employee")
    return Employee.objects.get(pk=ctx.subject_employee_id)


@operation("hr.list_pre_job_checklist", scope=Scope.SUBJECT)
def list_pre_job_checklist(ctx: OperationContext, course_codes: list[str]) -> list[dict[str, Any]]:
    """The checklist items (code, name, category, is_mandatory) of `course_codes`."""
    return [item.as_dict() for item in onboarding.pre_job_checklist(course_codes=course_codes)]


@operation("hr.record_pre_job_training_item", scope=Scope.SUBJECT)
def record_pre_job_training_item(
    ctx: OperationContext,
    course_code: str,
    is_completed: bool,
    score: float | None = None,
) -> dict[str, Any]:
    """Record the new hire's answer on one checklist item; a completion is stored only when
    the item was completed."""
    completed_at = None
    if is_completed:
        completion = onboarding.training_completion_record(
            employee=_subject(ctx), course_code=course_code, score=score
        )
        completed_at = completion.completed_at.isoformat()
    return {"code": course_code, "is_completed": bool(is_completed), "completed_at": completed_at}


@operation("hr.find_missing_pre_job_training", scope=Scope.SUBJECT)
def find_missing_pre_job_training(ctx: OperationContext, course_codes: list[str]) -> list[str]:
    """The mandatory courses of the checklist the new hire has not completed."""
    return onboarding.pre_job_training_missing(employee=_subject(ctx), course_codes=course_codes)


@operation("hr.clear_for_duty", scope=Scope.SUBJECT, high_impact=True)
def clear_for_duty(ctx: OperationContext, course_codes: list[str]) -> dict[str, Any]:
    """Clear the new hire for duty; fails (the instance gets an incident) while a mandatory
    item of `course_codes` is missing."""
    employee = onboarding.employee_clear_for_duty(employee=_subject(ctx), course_codes=course_codes)
    return {
        "employee_no": employee.employee_no,
        "cleared_for_duty_at": employee.cleared_for_duty_at.isoformat(),
    }
