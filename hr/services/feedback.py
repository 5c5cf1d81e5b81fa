"""Domain services of feedback closure (心声直达, employee voice).

Anonymity is the rule everything here is built around: an anonymous ticket is created and
its process started without the submitter anywhere — no `submitter` on the ticket, no
`started_by` or `subject` on the process instance, nothing about the person in the instance
data or its history, and nothing logged. The receipt code (random, from `secrets`) is the
only way back to the ticket; whoever holds it can read the status and the outcome.

The feedback process must only ever be started here: its start event sits in a lane that
nobody may start through the generic `POST /instances/start`.
"""

import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from hr.models import Employee, FeedbackTicket, OrgUnit
from hr.selectors import working_days_after
from workflows import assignment
from workflows import services as workflow_services
from workflows.exceptions import Conflict, InvalidInput, NotFound
from workflows.models import MessageSubscription, ProcessInstance, WorkflowEvent

PROCESS_KEY = "feedback_closure"
Status = FeedbackTicket.Status
Category = FeedbackTicket.Category

# Receipt codes: "FB-" and three groups of four from an alphabet without look-alikes
# (no 0/O, 1/I/L): 31**12, about 2**59 codes, so guessing one is hopeless.
RECEIPT_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
RECEIPT_GROUPS = 3
RECEIPT_GROUP_LENGTH = 4

ACKNOWLEDGEMENT_WORKING_DAYS = 2


def receipt_code_new() -> str:
    """A fresh random receipt code, e.g. FB-7KQ2-M9XD-4RTA."""
    groups = [
        "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(RECEIPT_GROUP_LENGTH))
        for _ in range(RECEIPT_GROUPS)
    ]
    return "FB-" + "-".join(groups)


def normalise_receipt_code(code: str) -> str:
    """Upper case, without surrounding blanks: codes are read aloud and retyped."""
    return code.strip().upper()


@dataclass(frozen=True)
class FeedbackSubmission:
    """A submitted ticket and its process; `instance_id` is only told to named submitters."""

    ticket: FeedbackTicket
    instance: ProcessInstance


def _clinic(code: str) -> OrgUnit:
    clinic = OrgUnit.objects.filter(code=code, kind=OrgUnit.Kind.CLINIC).first()
    if clinic is None:
        raise InvalidInput([{"field": "clinic", "message": "no clinic with this code"}])
    return clinic


def _group() -> OrgUnit | None:
    return OrgUnit.objects.filter(kind=OrgUnit.Kind.GROUP).order_by("pk").first()


def _ticket_create(**fields) -> FeedbackTicket:
    # A clash of two random codes is all but impossible; try again rather than fail.
    for _ in range(5):
        try:
            with transaction.atomic():
                return FeedbackTicket.objects.create(receipt_code=receipt_code_new(), **fields)
        except IntegrityError:
            continue
    raise RuntimeError("could not draw an unused receipt code")


def _ticket_tie(ticket: FeedbackTicket, instance: ProcessInstance) -> None:
    # The one instance whose service tasks may act on the ticket (hr/operations/scopes.py).
    ticket.process_instance_id = instance.pk
    ticket.save(update_fields=["process_instance_id"])


@transaction.atomic
def feedback_submit(
    *,
    user: AbstractBaseUser,
    text: str,
    is_anonymous: bool,
    category: str = "",
    clinic_code: str = "",
) -> FeedbackSubmission:
    """Create a ticket and start its feedback process; the receipt code is on the ticket.

    Anonymous: `user` is used for nothing at all; the ticket, the instance, its data and
    its history carry no trace of who submitted. Named: the submitter's employee record is
    the ticket's submitter and the instance's subject, so they see it among their instances
    and are told the outcome.
    """
    text = text.strip()
    if not text:
        raise InvalidInput([{"field": "text", "message": "this field may not be blank"}])
    if category and category not in Category.values:
        raise InvalidInput([{"field": "category", "message": "unknown category"}])
    clinic = _clinic(clinic_code) if clinic_code else None
    submitter: Employee | None = None
    started_by: AbstractBaseUser | None = None
    if not is_anonymous:
        submitter = Employee.objects.filter(user=user).first() if user.is_authenticated else None
        if submitter is None:
            raise InvalidInput(
                [{"field": "is_anonymous", "message": "named feedback needs an employee record"}]
            )
        started_by = user
    ticket = _ticket_create(
        is_anonymous=is_anonymous,
        submitter=submitter,
        clinic=clinic,
        text=text,
        category=category or Category.OTHER,
    )
    instance = workflow_services.instance_start(
        process_key=PROCESS_KEY,
        started_by=started_by,
        subject=submitter,
        org_unit=clinic or _group(),
        data={
            "ticket_id": ticket.pk,
            "feedback_text": text,
            "is_anonymous": is_anonymous,
            "clinic": clinic.code if clinic else "",
            "submitted_category": category,
        },
        on_created=lambda instance: _ticket_tie(ticket, instance),
    )
    return FeedbackSubmission(ticket=ticket, instance=instance)


def feedback_ticket_by_receipt(*, receipt_code: str) -> FeedbackTicket:
    """The ticket a receipt code belongs to, or NotFound (the same answer for a code that is
    malformed and one that merely does not exist: nothing tells them apart)."""
    ticket = FeedbackTicket.objects.filter(
        receipt_code=normalise_receipt_code(receipt_code)
    ).first()
    if ticket is None:
        raise NotFound("no feedback with this receipt code")
    return ticket


# The form fields (feedback_resolution.json) in which a person writes the answers the
# receipt shows: a ticket's text is shown only when it is what a person typed in one of them.
ANSWER_FORM_FIELDS = ("resolution", "reason", "follow_up_plan")


@dataclass(frozen=True)
class ReceiptAnswer:
    """What anyone holding the receipt code may read: the status, the answers a person
    wrote for the sender, and the handler's open question. Nothing else of the ticket, and
    nothing of its process."""

    status: str
    outcome: str | None
    reason: str | None
    follow_up_plan: str | None
    question: str | None = None


# The message the sender's answer is delivered as (bpmn/feedback_closure.bpmn, sender_replied).
REPLY_MESSAGE = "feedback_reply"
REPLY_MAX_LENGTH = 2000


def _waiting_for_reply(ticket: FeedbackTicket) -> bool:
    return ticket.process_instance_id is not None and (
        MessageSubscription.objects.filter(
            instance_id=ticket.process_instance_id, message_name=REPLY_MESSAGE
        ).exists()
    )


def _open_question(ticket: FeedbackTicket) -> str | None:
    """The question the handler asked, while the ticket's own process waits for the answer:
    the `question` a person typed when completing a task of that process with the outcome
    `ask_sender`, the latest one. Never a value from process data."""
    if not _waiting_for_reply(ticket):
        return None
    submissions = (
        WorkflowEvent.objects.filter(
            instance_id=ticket.process_instance_id,
            kind=WorkflowEvent.Kind.TASK_COMPLETED,
            actor__isnull=False,
        )
        .order_by("-pk")
        .values_list("data", flat=True)
    )
    for data in submissions:
        submitted = data.get("submitted") if isinstance(data, dict) else None
        if not isinstance(submitted, dict) or submitted.get("outcome") != "ask_sender":
            continue
        question = submitted.get("question")
        return question.strip() if isinstance(question, str) and question.strip() else None
    return None


def _texts_typed_by_people(ticket: FeedbackTicket) -> dict[str, set[str]]:
    """The answer fields (`resolution`, `reason`, `follow_up_plan`) as people submitted them
    in user tasks of the feedback instance that this ticket's submission started (the first
    feedback_closure instance whose start data names the ticket), by field name."""
    started = (
        WorkflowEvent.objects.filter(
            kind=WorkflowEvent.Kind.INSTANCE_STARTED,
            instance__definition__key=PROCESS_KEY,
            data__data__ticket_id=ticket.pk,
        )
        .order_by("instance_id")
        .values_list("instance_id", flat=True)
        .first()
    )
    typed: dict[str, set[str]] = {}
    if started is None:
        return typed
    submissions = WorkflowEvent.objects.filter(
        instance_id=started, kind=WorkflowEvent.Kind.TASK_COMPLETED, actor__isnull=False
    ).values_list("data", flat=True)
    for data in submissions:
        submitted = data.get("submitted") if isinstance(data, dict) else None
        for name, value in (submitted or {}).items():
            if name in ANSWER_FORM_FIELDS and isinstance(value, str) and value.strip():
                typed.setdefault(name, set()).add(value.strip())
    return typed


def feedback_receipt_answer(*, receipt_code: str) -> ReceiptAnswer:
    """The receipt answer for a code (NotFound when no ticket has it).

    A diagram writes the ticket's texts (through hr.feedback_close_*), so a text is shown only
    when it is the one a person typed into the resolution form of this ticket's own process:
    a value a script put in its place (process data, another employee's record) is withheld,
    and the status alone is answered."""
    ticket = feedback_ticket_by_receipt(receipt_code=receipt_code)
    closed = ticket.status in (Status.RESOLVED, Status.NOT_RESOLVED)
    typed = _texts_typed_by_people(ticket) if closed else {}

    def public(text: str, field: str) -> str | None:
        return text if text and text in typed.get(field, set()) else None

    is_resolved = ticket.status == Status.RESOLVED
    is_not_resolved = ticket.status == Status.NOT_RESOLVED
    return ReceiptAnswer(
        status=ticket.status,
        outcome=public(ticket.resolution, "resolution") if is_resolved else None,
        reason=public(ticket.resolution, "reason") if is_not_resolved else None,
        follow_up_plan=public(ticket.follow_up_plan, "follow_up_plan") if is_not_resolved else None,
        question=None if closed else _open_question(ticket),
    )


def feedback_reply(*, receipt_code: str, text: str) -> ReceiptAnswer:
    """The sender answers the handler's question, with the receipt code alone (anonymous
    senders too: nothing records who answered). The answer goes to the ticket's own process
    as the message feedback_reply; NotFound for an unknown code, Conflict when no question
    is waiting for an answer."""
    text = text.strip()
    if not text:
        raise InvalidInput([{"field": "text", "message": "this field may not be blank"}])
    if len(text) > REPLY_MAX_LENGTH:
        message = f"at most {REPLY_MAX_LENGTH} characters"
        raise InvalidInput([{"field": "text", "message": message}])
    ticket = feedback_ticket_by_receipt(receipt_code=receipt_code)
    if not _waiting_for_reply(ticket):
        raise Conflict("no question is waiting for an answer on this feedback")
    workflow_services.message_send(
        name=REPLY_MESSAGE,
        correlation={"instance_id": ticket.process_instance_id},
        payload={"text": text},
        actor=None,
    )
    return feedback_receipt_answer(receipt_code=receipt_code)


def _ticket_locked(ticket_id: int) -> FeedbackTicket:
    ticket = FeedbackTicket.objects.select_for_update().filter(pk=ticket_id).first()
    if ticket is None:
        raise NotFound(f"feedback ticket {ticket_id} does not exist")
    return ticket


def feedback_acknowledgement_deadline(
    *, ticket_id: int, working_days: int = ACKNOWLEDGEMENT_WORKING_DAYS
) -> dt.datetime:
    """When the ticket must be acknowledged: `working_days` after it was received."""
    ticket = FeedbackTicket.objects.filter(pk=ticket_id).first()
    if ticket is None:
        raise NotFound(f"feedback ticket {ticket_id} does not exist")
    return working_days_after(start_at=ticket.created_at, working_days=working_days)


@dataclass(frozen=True)
class Routing:
    """Whether the ticket could be routed, and if not, what the handler must fix."""

    is_routed: bool
    problem: str

    def as_dict(self) -> dict:
        return {"is_routed": self.is_routed, "problem": self.problem}


@transaction.atomic
def feedback_route(
    *,
    ticket_id: int,
    category: str,
    department_code: str,
    reach_problem: Callable[[OrgUnit], str] | None = None,
) -> Routing:
    """Record the handler's category and responsible department on the ticket.

    The department must be an org unit someone can take the feedback in (they work the
    Department lane, workflows.assignment.department_takers: its head; for a functional
    department of the group without a head, its group HR or clinic HR role holders), within
    the instance's reach (`reach_problem` says why not, see
    workflows.assignment.data_unit_out_of_scope); otherwise nothing changes and the problem
    goes back to the handler.
    """
    if category not in Category.values:
        raise InvalidInput([{"field": "category", "message": "unknown category"}])
    ticket = _ticket_locked(ticket_id)
    department = OrgUnit.objects.filter(code=department_code).first()
    if department is None:
        return Routing(
            False,
            f"There is no department with the code {department_code!r}. "
            f"没有代码为“{department_code}”的科室。",
        )
    if reach_problem is not None and reach_problem(department):
        return Routing(
            False,
            f"{department.name} ({department_code}) cannot take this feedback: it "
            f"{reach_problem(department)}. {department.name}不在本反馈所属门店范围内。",
        )
    if assignment.department_takers(department) is None:
        return Routing(
            False,
            f"Nobody is head of {department.name} ({department_code}) to take the feedback, "
            "nor, for a department of the group, holds group HR or clinic HR there. "
            f"{department.name}没有负责人（护士长/科室主任），"
            "也没有可接收反馈的集团或门店人力资源人员。",
        )
    ticket.category = category
    ticket.department = department
    ticket.save(update_fields=["category", "department"])
    return Routing(True, "")


@transaction.atomic
def feedback_acknowledge(*, ticket_id: int) -> FeedbackTicket:
    """The responsible department took the ticket on: it is in progress (处理中)."""
    ticket = _ticket_locked(ticket_id)
    if ticket.acknowledged_at is None:
        ticket.acknowledged_at = timezone.now()
        ticket.status = Status.IN_PROGRESS
        ticket.save(update_fields=["acknowledged_at", "status"])
    return ticket


@transaction.atomic
def feedback_close(
    *, ticket_id: int, is_resolved: bool, resolution: str, follow_up_plan: str = ""
) -> FeedbackTicket:
    """Close the ticket as resolved (with what was done), or as not resolved with the reason
    (kept in `resolution`) and the follow-up plan, both required."""
    resolution = resolution.strip()
    follow_up_plan = follow_up_plan.strip()
    errors = []
    if not resolution:
        field = "resolution" if is_resolved else "reason"
        errors.append({"field": field, "message": "this field is required"})
    if not is_resolved and not follow_up_plan:
        errors.append({"field": "follow_up_plan", "message": "this field is required"})
    if errors:
        raise InvalidInput(errors)
    ticket = _ticket_locked(ticket_id)
    ticket.status = Status.RESOLVED if is_resolved else Status.NOT_RESOLVED
    ticket.resolution = resolution
    ticket.follow_up_plan = "" if is_resolved else follow_up_plan
    ticket.closed_at = timezone.now()
    ticket.save(update_fields=["status", "resolution", "follow_up_plan", "closed_at"])
    return ticket


def feedback_outcome_summary(ticket: FeedbackTicket) -> str:
    """The outcome in one bilingual text, for the named submitter's notification."""
    if ticket.status == Status.RESOLVED:
        return f"已解决 Resolved: {ticket.resolution}"
    if ticket.status == Status.NOT_RESOLVED:
        return (
            f"未解决 Not resolved: {ticket.resolution}\n"
            f"后续计划 Follow-up plan: {ticket.follow_up_plan}"
        )
    return ticket.get_status_display()
