"""The rules the ids a diagram passes to hr operations must meet (workflows/registry.py).

Each rule ties a record to the calling instance: it belongs to the instance's subject, or
this instance created it / is tied to it. The registry applies them before an operation
runs, so a diagram cannot point an operation at somebody else's credential, ticket or notice.
"""

from typing import Any

from hr.models import (
    ComplianceSignal,
    Credential,
    CredentialRenewal,
    DeductionNotice,
    FamilyMember,
    FeedbackTicket,
    OrgUnit,
    Story,
    StoryAward,
)
from workflows.models import Document
from workflows.registry import IdRule, OperationContext


def _pk(value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError("an id is not a yes/no value")
    return int(value)


def _is_subject(ctx: OperationContext, value: Any) -> bool:
    # No id means the subject (e.g. hr.employee_profile without employee_id).
    return value is None or _pk(value) == ctx.subject_employee_id


def _subject_credential(ctx: OperationContext, value: Any) -> bool:
    return Credential.objects.filter(pk=_pk(value), employee_id=ctx.subject_employee_id).exists()


def _credential_free_or_renewed_here(ctx: OperationContext, value: Any) -> bool:
    """The subject's credential, not being renewed by another instance."""
    if not _subject_credential(ctx, value):
        return False
    renewal = CredentialRenewal.objects.filter(credential_id=_pk(value)).first()
    return renewal is None or renewal.process_instance_id == ctx.instance_id


def _credential_renewed_here(ctx: OperationContext, value: Any) -> bool:
    return CredentialRenewal.objects.filter(
        credential_id=_pk(value),
        credential__employee_id=ctx.subject_employee_id,
        process_instance_id=ctx.instance_id,
    ).exists()


def _document_of_instance(ctx: OperationContext, value: Any) -> bool:
    return Document.objects.filter(pk=str(value), instances__pk=ctx.instance_id).exists()


def _subject_family_member(ctx: OperationContext, value: Any) -> bool:
    return FamilyMember.objects.filter(pk=_pk(value), employee_id=ctx.subject_employee_id).exists()


def _subject_signal(ctx: OperationContext, value: Any) -> bool:
    return ComplianceSignal.objects.filter(
        pk=_pk(value), employee_id=ctx.subject_employee_id
    ).exists()


def _notice_of_instance(ctx: OperationContext, value: Any) -> bool:
    return DeductionNotice.objects.filter(
        pk=_pk(value), process_instance_id=ctx.instance_id, employee_id=ctx.subject_employee_id
    ).exists()


def _ticket_of_instance(ctx: OperationContext, value: Any) -> bool:
    return FeedbackTicket.objects.filter(
        pk=_pk(value), process_instance_id=ctx.instance_id
    ).exists()


def _story_of_instance(ctx: OperationContext, value: Any) -> bool:
    return Story.objects.filter(pk=_pk(value), process_instance_id=ctx.instance_id).exists()


def _story_in_instance_unit(ctx: OperationContext, value: Any) -> bool:
    # Whether it is one of the round's candidates is the person's choice to correct: the
    # service leaves everything unchanged and says so (hr.services.stories).
    unit = OrgUnit.objects.filter(pk=ctx.org_unit_id).first()
    return (
        unit is not None
        and Story.objects.filter(pk=_pk(value), clinic__path__startswith=unit.path).exists()
    )


SUBJECT_ITSELF = IdRule("the instance's subject", _is_subject)
SUBJECT_CREDENTIAL = IdRule("a credential of the instance's subject", _subject_credential)
CREDENTIAL_TO_RENEW = IdRule(
    "a credential of the instance's subject that no other instance renews",
    _credential_free_or_renewed_here,
)
CREDENTIAL_RENEWED_HERE = IdRule(
    "a credential of the instance's subject that this instance renews", _credential_renewed_here
)
DOCUMENT_OF_INSTANCE = IdRule("a document submitted in this instance", _document_of_instance)
SUBJECT_FAMILY_MEMBER = IdRule("a family member of the instance's subject", _subject_family_member)
SUBJECT_SIGNAL = IdRule("a compliance signal about the instance's subject", _subject_signal)
NOTICE_OF_INSTANCE = IdRule("the deduction notice this instance opened", _notice_of_instance)
TICKET_OF_INSTANCE = IdRule("the feedback ticket this instance closes", _ticket_of_instance)
STORY_OF_INSTANCE = IdRule("the story this instance reviews", _story_of_instance)
STORY_IN_INSTANCE_UNIT = IdRule(
    "a story of a clinic inside the instance's org unit", _story_in_instance_unit
)


def _period_of_instance_award(ctx: OperationContext, value: Any) -> bool:
    return StoryAward.objects.filter(
        period_date=f"{value}-01", process_instance_id=ctx.instance_id
    ).exists()


PERIOD_OF_INSTANCE_AWARD = IdRule(
    "the month of this instance's award round (YYYY-MM)", _period_of_instance_award
)
