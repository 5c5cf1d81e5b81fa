"""Service-task operations of the promotion process (bpmn/promotion.bpmn)."""

from typing import Any

from hr.models import Employee
from hr.services import promotion as promotion_services
from workflows.registry import OperationContext, Scope, operation


def _subject(ctx: OperationContext) -> Employee:
    return Employee.objects.select_related("ladder_level").get(pk=ctx.subject_employee_id)


@operation("hr.promotion_next_level", scope=Scope.SUBJECT)
def promotion_next_level(ctx: OperationContext) -> dict[str, Any]:
    """The applicant's current rung and the one they apply for ("" where there is none)."""
    found = promotion_services.ladder_next_level(employee=_subject(ctx))
    return {
        "role_family": found.role_family,
        "current_level": found.current.code if found.current else "",
        "current_level_name": found.current.name if found.current else "",
        "has_next_level": found.target is not None,
        "target_level": found.target.code if found.target else "",
        "target_level_name": found.target.name if found.target else "",
    }


@operation("hr.promotion_requirement_gaps", scope=Scope.SUBJECT)
def promotion_requirement_gaps(
    ctx: OperationContext, requirements: dict[str, Any]
) -> list[dict[str, Any]]:
    """The requirements of the target rung the applicant does not meet yet (empty: all met)."""
    return promotion_services.promotion_requirement_gaps(
        employee=_subject(ctx), requirements=requirements
    )


@operation("hr.promotion_grant", scope=Scope.SUBJECT, high_impact=True)
def promotion_grant(ctx: OperationContext, target_level: str) -> dict[str, Any]:
    """Move the applicant up to the granted rung."""
    employee = promotion_services.promotion_grant(
        employee_id=ctx.subject_employee_id, target_level_code=target_level
    )
    return {"employee_no": employee.employee_no, "ladder_level": employee.ladder_level.code}
