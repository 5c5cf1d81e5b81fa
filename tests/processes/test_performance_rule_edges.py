"""Edges of the performance rules (issue 21 [rules]), driven through the REST API.

- A PIP never starts for an employee whose offboarding is running: the appraisal is recorded,
  the PIP trigger is skipped and the reason recorded on the appraisal. A PIP that fails while
  an offboarding is already running opens no second offboarding and leaves the agreed last
  working day alone; the PIP's result names the offboarding that stands.
- The streak rules judge months in calendar order whenever they arrive: a month recorded late
  completes every window it closes (2 failing months -> PIP, 3 excellent months -> reserve
  cadre), and each window is judged once.
"""

import datetime as dt

import pytest

from hr.models import Employee, MonthlyAppraisal, ReserveCadre
from tests.processes import test_performance as performance_scenarios
from tests.processes.conftest import api, complete, deploy_shipped, open_tasks
from tests.processes.test_performance import (
    EXCELLENT,
    FAIL,
    GOALS,
    GOOD,
    PASS_AT_60,
    active,
    final_data,
    only_task,
    record,
    send,
    sign_by_both,
)
from workflows import services
from workflows.models import ProcessInstance

pytestmark = pytest.mark.django_db

# The fixtures of the performance scenarios: clock at 10 Nov 2026, the appraisal system's
# integration account, indicators seeded and the remedial training and PIP deployed.
clock = performance_scenarios.clock
appraisal_system = performance_scenarios.appraisal_system
performance = performance_scenarios.performance

# 10 January 2027: October, November and December 2026 are all over.
JANUARY = dt.datetime(2027, 1, 10, 9, 0, tzinfo=dt.UTC)
NOVEMBER = dt.datetime(2026, 11, 10, 9, 0, tzinfo=dt.UTC)


def pips(employee: Employee) -> list[ProcessInstance]:
    return list(ProcessInstance.objects.filter(definition__key="pip", subject=employee))


def offboardings(employee: Employee) -> list[ProcessInstance]:
    return list(
        ProcessInstance.objects.filter(
            definition__key__in=["offboarding", "offboarding_on_request"], subject=employee
        ).order_by("pk")
    )


def pip_months(instance: ProcessInstance) -> list[str]:
    return instance.events.get(kind="instance_started").data["data"]["failing_periods"]


def start_offboarding_by_hand(org, last_working_date: str) -> int:
    response = api(org.east_hr.user).post(
        "/api/v1/instances/start",
        {
            "process": "offboarding",
            "subject": org.nurse.employee_no,
            "data": {"last_working_date": last_working_date, "reason": "resignation"},
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


@pytest.fixture
def offboarding_deployed(org):
    deploy_shipped("offboarding.bpmn")
    deploy_shipped("offboarding_on_request.bpmn")


# --- a PIP and a running offboarding ----------------------------------------------------------


def test_failing_2026_09_and_2026_10_while_offboarding_records_both_and_starts_no_pip(
    org, performance, appraisal_system, offboarding_deployed
):
    offboarding_id = start_offboarding_by_hand(org, "2026-11-27")
    record(appraisal_system, org.nurse, "2026-09", FAIL)

    result = record(appraisal_system, org.nurse, "2026-10", FAIL)

    assert (result["rating"], result["pip_instance"]) == ("fail", None)
    assert pips(org.nurse) == []
    october = MonthlyAppraisal.objects.get(employee=org.nurse, period_date=dt.date(2026, 10, 1))
    assert october.rule_notes == [
        {
            "rule": "pip",
            "months": ["2026-09", "2026-10"],
            "outcome": "skipped",
            "reason": f"offboarding in progress (instance {offboarding_id}, "
            "last working day 2026-11-27)",
        }
    ]
    assert result["rule_notes"] == october.rule_notes
    org.nurse.refresh_from_db()
    assert org.nurse.last_working_date == dt.date(2026, 11, 27)


def test_failing_2026_09_and_2026_10_without_an_offboarding_starts_the_pip(
    org, performance, appraisal_system, offboarding_deployed
):
    record(appraisal_system, org.nurse, "2026-09", FAIL)

    result = record(appraisal_system, org.nurse, "2026-10", FAIL)

    (pip,) = pips(org.nurse)
    assert result["pip_instance"] == pip.pk
    assert result["rule_notes"] == [
        {
            "rule": "pip",
            "months": ["2026-09", "2026-10"],
            "outcome": "started",
            "instance": pip.pk,
        }
    ]


def start_pip_by_hand(org) -> int:
    response = api(org.head_nurse.user).post(
        "/api/v1/instances/start",
        {
            "process": "pip",
            "subject": org.nurse.employee_no,
            "data": {"reason": "supervisor_referral", "referral_note": "Repeated errors."},
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def test_a_pip_referred_by_hand_on_2026_11_10_while_offboarding_ends_without_goals(
    org, performance, offboarding_deployed
):
    offboarding_id = start_offboarding_by_hand(org, "2026-11-27")

    pip_id = start_pip_by_hand(org)

    assert final_data(pip_id)["offboarding_check"] == {
        "in_progress": True,
        "instance": offboarding_id,
        "last_working_date": "2026-11-27",
    }
    assert (
        ProcessInstance.objects.get(pk=pip_id)
        .events.filter(kind="task_completed", element_id="draft_improvement_goals")
        .count()
        == 0
    )
    assert [t for t in open_tasks(api(org.head_nurse.user)) if t["process"] == "pip"] == []


def test_a_pip_referred_by_hand_on_2026_11_10_without_an_offboarding_asks_for_goals(
    org, performance, offboarding_deployed
):
    start_pip_by_hand(org)

    assert only_task(org.head_nurse.user, "draft_improvement_goals")


def run_pip_to_not_met(org, clock, pip_id: int) -> dict:
    draft = only_task(org.head_nurse.user, "draft_improvement_goals")
    complete(api(org.head_nurse.user), draft["id"], GOALS)
    sign_by_both(org)
    for days, minutes in ((30, 1), (60, 5)):
        clock.move_to(NOVEMBER + dt.timedelta(days=days, minutes=minutes))
        services.timer_fire_due()
        if days == 30:
            midpoint = only_task(org.head_nurse.user, "check_midpoint")
            complete(
                api(org.head_nurse.user),
                midpoint["id"],
                {"midpoint_progress": "at_risk", "midpoint_feedback": "No change."},
            )
    review = only_task(org.head_nurse.user, "review_pip_result")
    complete(
        api(org.head_nurse.user),
        review["id"],
        {"final_result": "not_met", "final_summary": "Two more medication errors."},
    )
    return final_data(pip_id)


def test_pip_not_met_on_2027_01_09_keeps_the_running_offboarding_and_its_last_day_2027_01_29(
    org, performance, appraisal_system, offboarding_deployed, clock
):
    record(appraisal_system, org.nurse, "2026-09", FAIL)
    pip_id = record(appraisal_system, org.nurse, "2026-10", FAIL)["pip_instance"]
    # While the PIP runs, she resigns: clinic HR agrees her last working day, 29 January.
    offboarding_id = start_offboarding_by_hand(org, "2027-01-29")

    data = run_pip_to_not_met(org, clock, pip_id)

    assert [o.pk for o in offboardings(org.nurse)] == [offboarding_id]
    org.nurse.refresh_from_db()
    assert org.nurse.last_working_date == dt.date(2027, 1, 29)
    assert data["last_working_date"] == "2027-02-08"  # what the PIP would have asked for
    assert data["offboarding_request"] == {
        "started_instances": [],
        "correlated_instances": [],
        "kept_offboarding": {"instance": offboarding_id, "last_working_date": "2027-01-29"},
    }


def test_pip_not_met_on_2027_01_09_without_an_offboarding_opens_one_for_2027_02_08(
    org, performance, appraisal_system, offboarding_deployed, clock
):
    record(appraisal_system, org.nurse, "2026-09", FAIL)
    pip_id = record(appraisal_system, org.nurse, "2026-10", FAIL)["pip_instance"]

    data = run_pip_to_not_met(org, clock, pip_id)

    (offboarding,) = offboardings(org.nurse)
    assert offboarding.definition.key == "offboarding_on_request"
    assert data["offboarding_request"] == {
        "started_instances": [offboarding.pk],
        "correlated_instances": [],
    }
    org.nurse.refresh_from_db()
    assert org.nurse.last_working_date == dt.date(2027, 2, 8)


def test_a_second_offboarding_by_hand_does_not_move_the_agreed_2027_01_29(
    org, performance, offboarding_deployed
):
    first = start_offboarding_by_hand(org, "2027-01-29")

    second = start_offboarding_by_hand(org, "2027-02-26")

    org.nurse.refresh_from_db()
    assert org.nurse.last_working_date == dt.date(2027, 1, 29)
    assert ProcessInstance.objects.get(pk=first).status == ProcessInstance.Status.WAITING
    stopped = ProcessInstance.objects.get(pk=second)
    assert stopped.status == ProcessInstance.Status.ERROR
    (incident,) = stopped.incidents.all()
    assert incident.element_id == "open_offboarding"
    assert (
        f"offboarding in progress (instance {first}, last working day 2027-01-29)"
        in incident.message
    )


# --- late months: calendar order whenever they arrive -----------------------------------------


@pytest.fixture
def in_january(clock):
    clock.move_to(JANUARY, tick=False)


def test_failing_2026_10_recorded_after_2026_11_fail_and_2026_12_pass_starts_the_pip(
    org, performance, appraisal_system, in_january
):
    record(appraisal_system, org.nurse, "2026-11", FAIL)
    record(appraisal_system, org.nurse, "2026-12", PASS_AT_60)
    assert pips(org.nurse) == []

    october = record(appraisal_system, org.nurse, "2026-10", FAIL)

    (pip,) = pips(org.nurse)
    assert october["pip_instance"] == pip.pk
    assert pip_months(pip) == ["2026-10", "2026-11"]
    assert pip.business_key == f"pip-{org.nurse.employee_no}-2026-11"


def test_failing_2026_10_2026_11_in_calendar_order_starts_the_same_pip(
    org, performance, appraisal_system, in_january
):
    record(appraisal_system, org.nurse, "2026-10", FAIL)
    november = record(appraisal_system, org.nurse, "2026-11", FAIL)
    record(appraisal_system, org.nurse, "2026-12", PASS_AT_60)

    (pip,) = pips(org.nurse)
    assert november["pip_instance"] == pip.pk
    assert pip_months(pip) == ["2026-10", "2026-11"]


def test_failing_2026_10_recorded_late_next_to_a_gap_in_2026_11_starts_no_pip(
    org, performance, appraisal_system, in_january
):
    record(appraisal_system, org.nurse, "2026-12", FAIL)

    october = record(appraisal_system, org.nurse, "2026-10", FAIL)

    assert october["pip_instance"] is None
    assert pips(org.nurse) == []


def test_failing_2026_11_recorded_last_between_2026_10_and_2026_12_starts_one_pip(
    org, performance, appraisal_system, in_january
):
    record(appraisal_system, org.nurse, "2026-10", FAIL)
    record(appraisal_system, org.nurse, "2026-12", FAIL)
    assert pips(org.nurse) == []

    november = record(appraisal_system, org.nurse, "2026-11", FAIL)

    (pip,) = pips(org.nurse)
    assert november["pip_instance"] == pip.pk
    assert pip_months(pip) == ["2026-10", "2026-11"]
    # 2026-11 and 2026-12 are the same streak: judged, not started a second time.
    assert [n["outcome"] for n in november["rule_notes"]] == ["started", "skipped"]
    assert november["rule_notes"][1]["months"] == ["2026-11", "2026-12"]


def test_failing_2026_10_2026_11_2026_12_start_one_pip_even_after_it_closes(
    org, performance, appraisal_system, in_january
):
    record(appraisal_system, org.nurse, "2026-10", FAIL)
    record(appraisal_system, org.nurse, "2026-11", FAIL)
    (pip,) = pips(org.nurse)
    services.instance_terminate(instance_id=pip.pk, actor=None, reason="closed early")

    december = record(appraisal_system, org.nurse, "2026-12", FAIL)

    assert december["pip_instance"] is None
    assert pips(org.nurse) == [pip]


def test_a_month_recorded_again_2026_11_is_refused_and_starts_nothing(
    org, performance, appraisal_system, in_january
):
    record(appraisal_system, org.nurse, "2026-10", FAIL)
    record(appraisal_system, org.nurse, "2026-11", FAIL)

    again = send(appraisal_system, org.nurse, "2026-11", FAIL)

    assert again.status_code == 409
    assert len(pips(org.nurse)) == 1


def test_excellent_2026_10_recorded_after_2026_11_and_2026_12_adds_the_reserve_cadre(
    org, performance, appraisal_system, in_january
):
    record(appraisal_system, org.nurse, "2026-11", EXCELLENT)
    record(appraisal_system, org.nurse, "2026-12", EXCELLENT)
    assert not ReserveCadre.objects.exists()

    october = record(appraisal_system, org.nurse, "2026-10", EXCELLENT)

    assert october["reserve_cadre_added"] is True
    assert ReserveCadre.objects.get(employee=org.nurse).reason == (
        "3 consecutive excellent months 连续3个月优秀: 2026-10, 2026-11, 2026-12"
    )


def test_excellent_2026_11_recorded_last_between_2026_10_and_2026_12_adds_the_reserve_cadre(
    org, performance, appraisal_system, in_january
):
    record(appraisal_system, org.nurse, "2026-10", EXCELLENT)
    record(appraisal_system, org.nurse, "2026-12", EXCELLENT)

    november = record(appraisal_system, org.nurse, "2026-11", EXCELLENT)

    assert november["reserve_cadre_added"] is True
    assert ReserveCadre.objects.count() == 1


def test_excellent_2026_10_recorded_late_with_2026_12_only_good_adds_no_reserve_cadre(
    org, performance, appraisal_system, in_january
):
    record(appraisal_system, org.nurse, "2026-11", EXCELLENT)
    record(appraisal_system, org.nurse, "2026-12", GOOD)

    october = record(appraisal_system, org.nurse, "2026-10", EXCELLENT)

    assert october["reserve_cadre_added"] is False
    assert not ReserveCadre.objects.exists()


def test_excellent_2026_09_to_2026_12_in_any_order_add_the_reserve_cadre_once(
    org, performance, appraisal_system, in_january
):
    results = [
        record(appraisal_system, org.nurse, period, EXCELLENT)
        for period in ("2026-12", "2026-10", "2026-09", "2026-11")
    ]

    assert [r["reserve_cadre_added"] for r in results] == [False, False, False, True]
    assert ReserveCadre.objects.count() == 1
    assert active("pip", org.nurse) == []
    assert open_tasks(api(org.head_nurse.user)) == []
