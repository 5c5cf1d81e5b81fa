"""Feedback services: receipt codes, the 2-working-day deadline, routing, closing, anonymity."""

import datetime as dt
import re

import pytest

from hr.models import FeedbackTicket
from hr.services import feedback
from tests.processes.conftest import deploy_shipped
from workflows.exceptions import InvalidInput, NotFound

pytestmark = pytest.mark.django_db

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A moment in March 2026 in Shanghai (2 March is a Monday)."""
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("start", "deadline"),
    [
        (at(2, 9), at(4, 9)),  # Monday -> Wednesday
        (at(5, 15, 30), at(9, 15, 30)),  # Thursday -> Monday
        (at(6, 10), at(10, 10)),  # Friday -> Tuesday
        (at(7, 10), at(11, 0)),  # Saturday counts from Monday 00:00 -> Wednesday 00:00
        (at(8, 23, 59), at(11, 0)),  # Sunday too
        (at(6, 23, 59), at(10, 23, 59)),  # Friday night -> Tuesday night
    ],
)
def test_two_working_days_skip_the_weekend(start, deadline):
    assert feedback.working_days_after(start_at=start, working_days=2) == deadline


def test_the_deadline_is_in_local_time_even_from_a_utc_moment():
    # Friday 20:00 in Shanghai is Friday 12:00 UTC.
    start = dt.datetime(2026, 3, 6, 12, 0, tzinfo=dt.UTC)

    assert feedback.working_days_after(start_at=start, working_days=2) == at(10, 20)


def test_receipt_codes_are_random_and_unambiguous():
    codes = {feedback.receipt_code_new() for _ in range(200)}

    assert len(codes) == 200
    assert all(
        re.fullmatch(r"FB-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}", c)
        for c in codes
    )
    assert feedback.normalise_receipt_code("  fb-abcd-efgh-jkmn ") == "FB-ABCD-EFGH-JKMN"


@pytest.fixture
def process(org):
    return deploy_shipped("feedback_closure.bpmn")


def test_an_anonymous_submission_records_nobody(org, process):
    submission = feedback.feedback_submit(
        user=org.nurse.user, text="  太累了  ", is_anonymous=True, clinic_code="east"
    )

    ticket, instance = submission.ticket, submission.instance
    assert (ticket.is_anonymous, ticket.submitter, ticket.clinic, ticket.text) == (
        True,
        None,
        org.east,
        "太累了",
    )
    assert ticket.status == FeedbackTicket.Status.RECEIVED
    assert (instance.started_by, instance.subject, instance.org_unit) == (None, None, org.east)


def test_a_named_submission_records_the_submitter(org, process):
    submission = feedback.feedback_submit(
        user=org.nurse.user, text="想参加进修", is_anonymous=False, category="career_growth"
    )

    assert submission.ticket.submitter == org.nurse
    assert submission.ticket.category == "career_growth"
    assert (submission.instance.started_by, submission.instance.subject) == (
        org.nurse.user,
        org.nurse,
    )


def test_a_ticket_is_found_by_its_receipt_code_only(org, process):
    ticket = feedback.feedback_submit(user=org.nurse.user, text="x", is_anonymous=True).ticket

    assert feedback.feedback_ticket_by_receipt(receipt_code=ticket.receipt_code.lower()) == ticket
    with pytest.raises(NotFound):
        feedback.feedback_ticket_by_receipt(receipt_code="FB-2222-2222-2222")


def test_routing_needs_a_department_with_a_head(org, process):
    ticket = FeedbackTicket.objects.create(receipt_code="FB-T1", is_anonymous=True, text="x")

    unknown = feedback.feedback_route(ticket_id=ticket.pk, category="culture", department_code="x")
    headless = feedback.feedback_route(
        ticket_id=ticket.pk, category="culture", department_code="west"
    )
    routed = feedback.feedback_route(
        ticket_id=ticket.pk, category="culture", department_code="east-nursing"
    )

    assert (unknown.is_routed, headless.is_routed, routed.is_routed) == (False, False, True)
    ticket.refresh_from_db()
    assert (ticket.category, ticket.department) == ("culture", org.east_nursing)
    with pytest.raises(InvalidInput):
        feedback.feedback_route(ticket_id=ticket.pk, category="pay", department_code="east")


def test_closing_as_not_resolved_needs_the_reason_and_the_plan(org, process):
    ticket = FeedbackTicket.objects.create(receipt_code="FB-T2", is_anonymous=True, text="x")

    with pytest.raises(InvalidInput) as refused:
        feedback.feedback_close(ticket_id=ticket.pk, is_resolved=False, resolution=" ")
    closed = feedback.feedback_close(
        ticket_id=ticket.pk, is_resolved=False, resolution="Budget", follow_up_plan="Next year"
    )

    assert refused.value.errors == [
        {"field": "reason", "message": "this field is required"},
        {"field": "follow_up_plan", "message": "this field is required"},
    ]
    assert (closed.status, closed.resolution, closed.follow_up_plan) == (
        "not_resolved",
        "Budget",
        "Next year",
    )
    assert closed.closed_at is not None
    assert feedback.feedback_outcome_summary(closed) == (
        "未解决 Not resolved: Budget\n后续计划 Follow-up plan: Next year"
    )


def test_acknowledging_twice_keeps_the_first_moment(org, process, time_machine):
    ticket = FeedbackTicket.objects.create(receipt_code="FB-T3", is_anonymous=True, text="x")
    time_machine.move_to(at(3, 9), tick=False)
    feedback.feedback_acknowledge(ticket_id=ticket.pk)
    time_machine.move_to(at(4, 9), tick=False)

    again = feedback.feedback_acknowledge(ticket_id=ticket.pk)

    assert (again.status, again.acknowledged_at) == ("in_progress", at(3, 9))
