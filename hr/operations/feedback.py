"""Service-task operations of feedback closure (bpmn/feedback_closure.bpmn).

They act on the ticket named in the process data (`ticket_id`), never on a person: an
anonymous ticket's instance has no subject, and nothing here may look one up.
"""

from typing import Any

from hr.operations.scopes import TICKET_OF_INSTANCE
from hr.services import feedback
from workflows import assignment
from workflows.models import ProcessInstance
from workflows.registry import OperationContext, Scope, operation


@operation(
    "hr.feedback_acknowledgement_deadline",
    scope=Scope.INSTANCE,
    ids={"ticket_id": TICKET_OF_INSTANCE},
)
def feedback_acknowledgement_deadline(
    ctx: OperationContext, ticket_id: int, working_days: int
) -> str:
    """ISO date-time by which the ticket must be acknowledged (weekends skipped)."""
    return feedback.feedback_acknowledgement_deadline(
        ticket_id=int(ticket_id), working_days=int(working_days)
    ).isoformat()


@operation("hr.feedback_route", scope=Scope.INSTANCE, ids={"ticket_id": TICKET_OF_INSTANCE})
def feedback_route(
    ctx: OperationContext, ticket_id: int, category: str, department: str
) -> dict[str, Any]:
    """Record category and responsible department: {is_routed, problem}."""
    instance = ProcessInstance.objects.select_related("subject__org_unit", "org_unit").get(
        pk=ctx.instance_id
    )
    reach = assignment.InstanceContext(
        subject=instance.subject, org_unit=instance.org_unit, started_by=None, data={}
    )
    return feedback.feedback_route(
        ticket_id=int(ticket_id),
        category=category,
        department_code=department,
        reach_problem=lambda unit: assignment.data_unit_out_of_scope(reach, unit),
    ).as_dict()


@operation("hr.feedback_acknowledge", scope=Scope.INSTANCE, ids={"ticket_id": TICKET_OF_INSTANCE})
def feedback_acknowledge(ctx: OperationContext, ticket_id: int) -> dict[str, Any]:
    """Mark the ticket acknowledged and in progress."""
    ticket = feedback.feedback_acknowledge(ticket_id=int(ticket_id))
    return {"status": ticket.status, "acknowledged_at": ticket.acknowledged_at.isoformat()}


@operation(
    "hr.feedback_close_resolved",
    scope=Scope.INSTANCE,
    ids={"ticket_id": TICKET_OF_INSTANCE},
    high_impact=True,
)
def feedback_close_resolved(
    ctx: OperationContext, ticket_id: int, resolution: str
) -> dict[str, Any]:
    """Close the ticket as resolved: {status, summary}."""
    ticket = feedback.feedback_close(
        ticket_id=int(ticket_id), is_resolved=True, resolution=resolution
    )
    return {"status": ticket.status, "summary": feedback.feedback_outcome_summary(ticket)}


@operation(
    "hr.feedback_close_not_resolved",
    scope=Scope.INSTANCE,
    ids={"ticket_id": TICKET_OF_INSTANCE},
    high_impact=True,
)
def feedback_close_not_resolved(
    ctx: OperationContext, ticket_id: int, reason: str, follow_up_plan: str
) -> dict[str, Any]:
    """Close the ticket as not resolved, with the reason and the follow-up plan."""
    ticket = feedback.feedback_close(
        ticket_id=int(ticket_id),
        is_resolved=False,
        resolution=reason,
        follow_up_plan=follow_up_plan,
    )
    return {"status": ticket.status, "summary": feedback.feedback_outcome_summary(ticket)}
