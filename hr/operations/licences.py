"""Service-task operations of licence and credential renewal (bpmn/licence_renewal.bpmn)."""

import datetime as dt
from typing import Any

from hr.models import Credential
from hr.operations.scopes import (
    CREDENTIAL_RENEWED_HERE,
    CREDENTIAL_TO_RENEW,
    DOCUMENT_OF_INSTANCE,
    SUBJECT_CREDENTIAL,
)
from hr.services import licences as licence_services
from workflows.registry import OperationContext, Scope, operation


@operation(
    "hr.licence_renewal_open", scope=Scope.SUBJECT, ids={"credential_id": CREDENTIAL_TO_RENEW}
)
def licence_renewal_open(ctx: OperationContext, credential_id: int) -> dict[str, Any]:
    """Tie the credential to this renewal and describe it (kind, number, expiry, days left)."""
    credential = licence_services.licence_renewal_open(
        credential_id=credential_id, instance_id=ctx.instance_id
    )
    return licence_services.credential_facts(credential)


@operation(
    "hr.licence_renewal_schedule",
    scope=Scope.SUBJECT,
    ids={"credential_id": SUBJECT_CREDENTIAL},
)
def licence_renewal_schedule(
    ctx: OperationContext, credential_id: int, escalation_days: int
) -> dict[str, str]:
    """The escalation and expiry moments the renewal's timers wait for."""
    return licence_services.licence_renewal_schedule(
        credential_id=credential_id, escalation_days=int(escalation_days)
    )


@operation(
    "hr.licence_renewal_check", scope=Scope.SUBJECT, ids={"credential_id": SUBJECT_CREDENTIAL}
)
def licence_renewal_check(
    ctx: OperationContext, credential_id: int, valid_from_date: str, valid_until_date: str
) -> dict[str, str]:
    """What is wrong with the uploaded validity dates ("" when nothing)."""
    return {
        "problem": licence_services.renewal_dates_problem(
            credential=Credential.objects.get(pk=credential_id),
            valid_from_date=dt.date.fromisoformat(valid_from_date),
            valid_until_date=dt.date.fromisoformat(valid_until_date),
        )
    }


@operation(
    "hr.licence_expiry_restrict",
    scope=Scope.SUBJECT,
    ids={"credential_id": CREDENTIAL_RENEWED_HERE},
    high_impact=True,
)
def licence_expiry_restrict(ctx: OperationContext, credential_id: int) -> dict[str, Any]:
    """The credential expired unrenewed: the holder is not eligible for duty in its role."""
    restriction = licence_services.licence_expiry_restrict(credential_id=credential_id)
    return {
        "is_restricted": restriction is not None,
        "since": restriction.started_at.isoformat() if restriction else None,
    }


@operation(
    "hr.licence_renewal_record",
    scope=Scope.SUBJECT,
    ids={"credential_id": CREDENTIAL_RENEWED_HERE, "document_id": DOCUMENT_OF_INSTANCE},
    high_impact=True,
)
def licence_renewal_record(
    ctx: OperationContext,
    credential_id: int,
    document_id: str,
    number: str,
    issuer: str,
    valid_from_date: str,
    valid_until_date: str,
) -> dict[str, Any]:
    """Clinic HR accepted the new document: record the new credential replacing the old."""
    renewed = licence_services.licence_renewal_record(
        credential_id=credential_id,
        document_id=document_id,
        number=number,
        issuer=issuer,
        valid_from_date=dt.date.fromisoformat(valid_from_date),
        valid_until_date=dt.date.fromisoformat(valid_until_date),
    )
    return {"credential_id": renewed.pk, "replaces": credential_id}
