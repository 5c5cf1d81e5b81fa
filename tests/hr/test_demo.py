"""The demo group's year of history: what the dashboards show right after `make run`."""

import datetime as dt

import pytest
from django.utils import timezone

from hr import metrics
from hr.demo import FEEDBACK_HISTORY, demo_seed
from hr.models import FeedbackTicket

pytestmark = pytest.mark.django_db


def past_year() -> metrics.Period:
    today = timezone.localdate()
    return metrics.Period(today - dt.timedelta(days=365), today)


def test_the_demo_feedback_history_fills_the_feedback_chart():
    demo_seed()
    report = metrics.feedback(period=past_year(), scope=None)
    rows = {row["key"]: row for row in report["rows"]}
    # East Clinic: 12 staff in the year (5 demo users, 4 without a sign-in, 3 who left), 4 of
    # them sent named feedback; 5 tickets, one closed unresolved, closed after 52, 96, 30,
    # 140 and 20 hours.
    east = rows["east"]
    assert (east["employees"], east["submitters"], east["participation_rate"]) == (12, 4, 0.3333)
    assert (east["submitted"], east["closed"], east["closed_unresolved"]) == (5, 5, 1)
    assert east["unresolved_share"] == 0.2
    assert east["average_closure_hours"] == 67.6
    # West Clinic: 7 staff, 2 named senders, 3 tickets (48, 160 and 26 hours), one unresolved.
    west = rows["west"]
    assert (west["employees"], west["submitters"], west["participation_rate"]) == (7, 2, 0.2857)
    assert (west["closed"], west["unresolved_share"], west["average_closure_hours"]) == (
        3,
        0.3333,
        78.0,
    )
    # The group as a whole (no clinic): 4 staff at HQ, one ticket closed in 72 hours.
    group = rows["kangning"]
    assert (group["employees"], group["submitters"], group["closed"]) == (4, 1, 1)
    assert group["average_closure_hours"] == 72.0
    total = report["total"]
    assert (total["employees"], total["submitters"], total["participation_rate"]) == (
        23,
        7,
        0.3043,
    )
    assert (total["closed"], total["unresolved_share"]) == (9, 0.2222)
    assert total["average_closure_hours"] == round(644 / 9, 2)


def test_loading_the_demo_twice_adds_no_feedback():
    demo_seed()
    demo_seed()
    assert FeedbackTicket.objects.count() == len(FEEDBACK_HISTORY)
    anonymous = FeedbackTicket.objects.filter(is_anonymous=True)
    assert anonymous.count() == 2
    assert not anonymous.exclude(submitter=None).exists()
