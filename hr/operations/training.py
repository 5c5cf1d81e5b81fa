"""Service-task operations shared by the processes that assign a mandatory course
(compliance_deduction, performance_remedial_training, onboarding)."""

import datetime as dt

from hr.services import training as training_services
from workflows.registry import OperationContext, Scope, operation


@operation("hr.training_overdue_deadlines", scope=Scope.SUBJECT)
def training_overdue_deadlines(ctx: OperationContext, due_date: str) -> dict[str, str | int]:
    """When the subject's course due on `due_date` (YYYY-MM-DD, the last day) is overdue and
    when it is escalated (ISO date-times for the diagram's timers)."""
    return training_services.training_overdue_deadlines(
        due_date=dt.date.fromisoformat(str(due_date)[:10])
    )


@operation("hr.training_assignment_complete", scope=Scope.SUBJECT)
def training_assignment_complete(ctx: OperationContext, score: float | None = None) -> dict:
    """Record the subject's completion of the course this instance assigned them."""
    completion = training_services.training_assignment_complete(
        employee_id=ctx.subject_employee_id, instance_id=ctx.instance_id, score=score
    )
    return {
        "course_code": completion.course.code,
        "completed_at": completion.completed_at.isoformat(),
        "score": None if completion.score is None else float(completion.score),
    }
