"""Service-task operations of the benefit claim process (bpmn/benefit_claim.bpmn).

They act on the instance's subject (the claimant) and return JSON-ready dicts the diagram
keeps in its data: `claimant`, `claim_check`, `grant`.
"""

import datetime as dt
from typing import Any

from django.utils import timezone

from hr.services import benefits
from workflows.registry import OperationContext, Scope, operation


def _claimant_id(ctx: OperationContext) -> int:
    if ctx.subject_employee_id is None:
        raise ValueError("a benefit claim needs the claimant as the instance's subject")
    return ctx.subject_employee_id


def _date(value: Any) -> dt.date:
    return dt.date.fromisoformat(str(value)[:10])


@operation("hr.benefit_claimant_profile", scope=Scope.SUBJECT)
def benefit_claimant_profile(ctx: OperationContext) -> dict[str, Any]:
    """Role family, children on file and years of service of the claimant."""
    profile = benefits.benefit_claimant_profile(
        employee_id=_claimant_id(ctx), on_date=timezone.localdate()
    )
    return profile.as_dict()


@operation("hr.benefit_claim_check", scope=Scope.SUBJECT)
def benefit_claim_check(
    ctx: OperationContext,
    benefit_type: str,
    quantity: float,
    start_date: str,
    end_date: str,
    is_limited_by_balance: bool,
) -> dict[str, Any]:
    """Dates in order and, for a type with a balance, enough balance left: {is_ok, reason, ...}."""
    return benefits.benefit_claim_check(
        employee_id=_claimant_id(ctx),
        benefit_type_code=benefit_type,
        quantity=quantity,
        start_date=_date(start_date),
        end_date=_date(end_date),
        is_limited_by_balance=bool(is_limited_by_balance),
    ).as_dict()


@operation("hr.benefit_grant_record", scope=Scope.SUBJECT, high_impact=True)
def benefit_grant_record(
    ctx: OperationContext,
    benefit_type: str,
    quantity: float,
    start_date: str,
    end_date: str,
    is_limited_by_balance: bool,
) -> dict[str, Any]:
    """Record the approved claim as a grant (debiting a balance): {is_granted, detail, ...}."""
    return benefits.benefit_grant_record(
        employee_id=_claimant_id(ctx),
        benefit_type_code=benefit_type,
        quantity=quantity,
        start_date=_date(start_date),
        end_date=_date(end_date),
        is_limited_by_balance=bool(is_limited_by_balance),
        process_instance_id=ctx.instance_id,
    ).as_dict()
