"""The monthly top-10 % bonus: its pool, its rounding and its ties, driven through the REST API.

POST /api/v1/appraisals/close-month grants the month's top 10 % a 10 % bonus record. The
places are 10 % of the pool rounded up (10 appraised: 1 place; 11: 2). Settings choose the
pool, TOP_SHARE_POOL "group" (default: everyone appraised in the group ranked together) or
"clinic" (each clinic apart; staff outside any clinic are one more pool), and the ties at the
line, TOP_SHARE_TIES "include" (default: all tied with the last place get it) or "exclude"
(when they do not all fit, none of them do, so the bonus never goes to more than 10 %).
"""

import datetime as dt

import pytest

from hr.models import BonusRecord
from hr.seed import performance as performance_seed
from hr.services.performance import appraisal_record
from tests.factories import EmployeeFactory
from tests.processes.conftest import api

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 10, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


@pytest.fixture(autouse=True)
def indicators(org):
    performance_seed.seed()


@pytest.fixture
def rules(settings):
    def set_rules(pool: str, ties: str) -> None:
        settings.CAREFLOW = {**settings.CAREFLOW, "TOP_SHARE_POOL": pool, "TOP_SHARE_TIES": ties}

    return set_rules


def staff_with_totals(unit, totals: list[int]) -> list:
    """One employee of `unit` per total (every indicator scored the same)."""
    people = []
    for score in totals:
        person = EmployeeFactory(org_unit=unit)
        appraisal_record(
            employee=person,
            period_date=dt.date(2026, 10, 1),
            scores={"service_attitude": score, "nursing_quality": score, "discipline": score},
            recorded_by=None,
        )
        people.append(person)
    return people


def close(org) -> dict:
    response = api(org.group_hr.user).post(
        "/api/v1/appraisals/close-month", {"period": "2026-10"}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def granted() -> list[str]:
    return sorted(BonusRecord.objects.values_list("employee__employee_no", flat=True))


def numbers(people) -> list[str]:
    return sorted(p.employee_no for p in people)


# --- the pool ------------------------------------------------------------------------------------


@pytest.fixture
def east_and_west(org):
    east = staff_with_totals(org.east_nursing, [95, 90, 80, 70, 60])
    west = staff_with_totals(org.west_nursing, [85, 84, 83, 82, 81])
    return east, west


def test_group_pool_of_10_has_1_place_east_95_beats_west_85(org, rules, east_and_west):
    rules("group", "include")
    east, west = east_and_west

    body = close(org)

    assert (body["appraised"], body["top_size"]) == (10, 1)
    assert granted() == numbers([east[0]])


def test_clinic_pool_gives_east_95_and_west_85_a_place_each(org, rules, east_and_west):
    rules("clinic", "include")
    east, west = east_and_west

    body = close(org)

    assert (body["appraised"], body["top_size"]) == (10, 2)
    assert granted() == numbers([east[0], west[0]])


def test_clinic_pool_ranks_head_office_staff_apart(org, rules, east_and_west):
    rules("clinic", "include")
    east, west = east_and_west
    (office,) = staff_with_totals(org.group, [62])

    body = close(org)

    assert (body["appraised"], body["top_size"]) == (11, 3)
    assert granted() == numbers([east[0], west[0], office])


# --- rounding up ---------------------------------------------------------------------------------


def test_10_appraised_give_1_place(org, rules):
    rules("group", "include")
    people = staff_with_totals(org.east_nursing, [70 + i for i in range(10)])

    assert close(org)["top_size"] == 1
    assert granted() == numbers(people[9:])


def test_11_appraised_give_2_places(org, rules):
    rules("group", "include")
    people = staff_with_totals(org.east_nursing, [70 + i for i in range(11)])

    assert close(org)["top_size"] == 2
    assert granted() == numbers(people[9:])


# --- ties at the line ----------------------------------------------------------------------------

# 20 appraised, 2 places: 95 is first, three tie at 90 for the second place.
TIED_AT_THE_LINE = [95, 90, 90, 90] + [60 + i for i in range(16)]
# 20 appraised, 2 places: two tie at 95 for them and fit.
TIED_AND_FITTING = [95, 95, 90] + [60 + i for i in range(17)]


def test_include_gives_the_1_at_95_and_all_3_tied_at_90(org, rules):
    rules("group", "include")
    people = staff_with_totals(org.east_nursing, TIED_AT_THE_LINE)

    body = close(org)

    assert body["top_size"] == 2
    assert granted() == numbers(people[:4])


def test_exclude_gives_only_the_1_at_95_when_3_tie_at_90_for_1_place(org, rules):
    rules("group", "exclude")
    people = staff_with_totals(org.east_nursing, TIED_AT_THE_LINE)

    body = close(org)

    assert body["top_size"] == 2
    assert granted() == numbers(people[:1])


def test_exclude_keeps_2_tied_at_95_who_fit_the_2_places(org, rules):
    rules("group", "exclude")
    people = staff_with_totals(org.east_nursing, TIED_AND_FITTING)

    close(org)

    assert granted() == numbers(people[:2])


def test_exclude_with_2_tied_at_95_for_1_place_gives_nobody_the_bonus(org, rules):
    rules("group", "exclude")
    staff_with_totals(org.east_nursing, [95, 95, 80, 70, 60])

    body = close(org)

    assert (body["top_size"], body["bonuses"]) == (1, [])
    assert granted() == []
