"""Service-task operations of family care (bpmn/care_gift.bpmn, bpmn/leave_request.bpmn)."""

from typing import Any

from hr.operations.scopes import SUBJECT_FAMILY_MEMBER
from hr.services import family
from workflows.registry import OperationContext, Scope, operation


@operation(
    "hr.care_gift_record",
    scope=Scope.SUBJECT,
    ids={"family_member_id": SUBJECT_FAMILY_MEMBER},
    high_impact=True,
)
def care_gift_record(
    ctx: OperationContext, family_member_id: int, gift: str, amount: float, note: str
) -> dict[str, Any]:
    """Record the approved gift on the instance's subject: {care_gift_id, gift, amount}."""
    if ctx.subject_employee_id is None:
        raise ValueError("a care gift needs the employee as the instance's subject")
    record = family.care_gift_record(
        employee_id=ctx.subject_employee_id,
        family_member_id=int(family_member_id),
        gift=gift,
        amount=amount,
        note=note or "",
        process_instance_id=ctx.instance_id,
    )
    return {"care_gift_id": record.pk, "gift": record.gift, "amount": float(record.amount)}


@operation("hr.family_leave_facts", scope=Scope.SUBJECT)
def family_leave_facts(ctx: OperationContext) -> dict[str, Any]:
    """The family facts the leave approval route decides on, about the instance's subject and
    only from data they consented to share: {youngest_child_age_years: int or None}. Ages only;
    names (encrypted) and birth dates never reach process data."""
    if ctx.subject_employee_id is None:
        raise ValueError("family leave facts need the employee as the instance's subject")
    age = family.youngest_consented_child_age(employee_id=ctx.subject_employee_id)
    return {"youngest_child_age_years": age}
