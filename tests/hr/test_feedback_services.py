"""Feedback services: receipt codes, the 2-working-day deadline (by the working calendar),
routing, closing, anonymity."""

import datetime as dt
import re

import pytest

from hr.models import CalendarDay, FeedbackTicket
from hr.selectors import working_days_after
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
    assert working_days_after(start_at=start, working_days=2) == deadline


def test_the_deadline_is_in_local_time_even_from_a_utc_moment():
    # Friday 20:00 in Shanghai is Friday 12:00 UTC.
    start = dt.datetime(2026, 3, 6, 12, 0, tzinfo=dt.UTC)

    assert working_days_after(start_at=start, working_days=2) == at(10, 20)


def day_off(date: dt.date, name: str = "国庆节 National Day") -> None:
    CalendarDay.objects.create(calendar_date=date, kind=CalendarDay.Kind.HOLIDAY, name=name)


def day_worked(date: dt.date) -> None:
    CalendarDay.objects.create(
        calendar_date=date, kind=CalendarDay.Kind.WORKING_DAY, name="国庆节调休 exchanged"
    )


def test_a_public_holiday_on_a_weekday_does_not_count():
    day_off(dt.date(2026, 3, 9), name="a holiday on Monday")

    # Friday 10:00 + 2 working days: Tuesday and Wednesday, Monday being a holiday.
    assert working_days_after(start_at=at(6, 10), working_days=2) == at(11, 10)


def test_a_submission_on_a_holiday_counts_from_the_next_working_day():
    day_off(dt.date(2026, 3, 4), name="a holiday on Wednesday")

    # Wednesday 15:00 is a day off: counting starts Thursday 00:00, + 2 is Monday 00:00.
    assert working_days_after(start_at=at(4, 15), working_days=2) == at(9, 0)


def test_national_day_week_with_its_exchanged_weekend_days():
    # A National Day week: 1-7 October off (Thursday to Wednesday), Saturday 10 worked instead.
    for day in range(1, 8):
        day_off(dt.date(2026, 10, day))
    day_worked(dt.date(2026, 10, 10))
    september_30 = dt.datetime(2026, 9, 30, 16, 0, tzinfo=SHANGHAI)

    # Wednesday 30 September 16:00 + 2: Thursday 8 and Friday 9 October.
    assert working_days_after(start_at=september_30, working_days=2) == dt.datetime(
        2026, 10, 9, 16, 0, tzinfo=SHANGHAI
    )
    # Friday 9 October 16:00 + 1: Saturday 10, worked in exchange.
    assert working_days_after(
        start_at=dt.datetime(2026, 10, 9, 16, 0, tzinfo=SHANGHAI), working_days=1
    ) == dt.datetime(2026, 10, 10, 16, 0, tzinfo=SHANGHAI)
    # Submitted on Saturday 10 October, a working day: it counts from then, + 1 is Monday.
    assert working_days_after(
        start_at=dt.datetime(2026, 10, 10, 11, 0, tzinfo=SHANGHAI), working_days=1
    ) == dt.datetime(2026, 10, 12, 11, 0, tzinfo=SHANGHAI)


def test_a_holiday_longer_than_the_read_ahead_is_still_counted_through():
    # Seventy days off in a row is no real calendar; it checks the rows are read on as the
    # count goes beyond the first two months.
    first = dt.date(2026, 3, 9)
    for offset in range(70):
        day_off(first + dt.timedelta(days=offset), name="a long closure")

    # Friday 6 March 10:00 + 2: the first two working days after 17 May (a Sunday).
    assert working_days_after(start_at=at(6, 10), working_days=2) == dt.datetime(
        2026, 5, 19, 10, 0, tzinfo=SHANGHAI
    )


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
