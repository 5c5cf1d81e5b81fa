"""Performance appraisal and the PIP, driven through the REST API.

Monthly scores arrive at POST /api/v1/appraisals from the appraisal system (integration
account) or the supervisor. The weighted total uses the role family's indicators (nurse:
service attitude 30 %, nursing quality 40 %, discipline 30 %; admin: discipline 20 %,
teamwork 30 %, efficiency 50 %); ratings: excellent >= 90, good >= 75, pass >= 60, fail < 60.
The monthly rules: under 60 -> mandatory remedial training (performance_remedial_training);
3 consecutive excellent months -> reserve cadre; 2 consecutive failing months -> PIP (pip);
closing a month -> the top 10 % (rounded up) get a 10 % bonus record.

Paths driven end to end:
- performance_remedial_training: reported in time (the overdue chase is in
  test_training_overdue.py).
- pip: changes requested -> revised -> signed by both -> mid-point -> final review, goals met
  (closed); signed -> goals not met -> offboarding_requested sent (the offboarding stub of
  tests/fixtures/bundles/offboarding_stub starts); goals not met while no process receives
  the message -> incident, retried once the offboarding process is deployed.
"""

import datetime as dt
from decimal import Decimal

import pytest

from hr.models import (
    BonusRecord,
    Employee,
    MonthlyAppraisal,
    ReserveCadre,
    RoleAssignment,
    TrainingCompletion,
)
from hr.seed import performance as performance_seed
from hr.services.performance import appraisal_record
from tests.conftest import bundle_files
from tests.factories import EmployeeFactory, RoleAssignmentFactory, UserFactory
from tests.processes.conftest import api, complete, deploy_shipped, open_tasks
from workflows import services
from workflows.models import Incident, ProcessInstance

pytestmark = pytest.mark.django_db

Role = RoleAssignment.Role
NOW = dt.datetime(2026, 11, 10, 9, 0, tzinfo=dt.UTC)

# Nurse scores (service attitude 30 %, nursing quality 40 %, discipline 30 %) and their totals.
EXCELLENT = {"service_attitude": 95, "nursing_quality": 90, "discipline": 92}  # 92.10
GOOD = {"service_attitude": 80, "nursing_quality": 90, "discipline": 70}  # 81.00
PASS_AT_60 = {"service_attitude": 60, "nursing_quality": 60, "discipline": 60}  # 60.00
FAIL = {"service_attitude": 50, "nursing_quality": 60, "discipline": 55}  # 55.50


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


@pytest.fixture
def appraisal_system(org):
    """The appraisal system's integration account."""
    user = UserFactory(username="appraisal_system")
    RoleAssignmentFactory(user=user, role=Role.INTEGRATION, org_unit=org.group)
    return user


@pytest.fixture
def performance(org):
    """Indicators and remedial courses seeded; the remedial training and PIP processes
    deployed."""
    performance_seed.seed()
    return {
        "remedial": deploy_shipped("performance_remedial_training.bpmn"),
        "pip": deploy_shipped("pip.bpmn"),
    }


def send(user, employee: Employee, period: str, scores: dict):
    return api(user).post(
        "/api/v1/appraisals",
        {"employee_no": employee.employee_no, "period": period, "scores": scores},
        format="json",
    )


def record(user, employee: Employee, period: str, scores: dict) -> dict:
    response = send(user, employee, period, scores)
    assert response.status_code == 201, response.content
    return response.json()


def only_task(user, element_id: str) -> dict:
    (task,) = [t for t in open_tasks(api(user)) if t["element_id"] == element_id]
    return task


def task_data(user, task_id: int) -> dict:
    response = api(user).get(f"/api/v1/tasks/{task_id}")
    assert response.status_code == 200, response.content
    return response.json()["form"]["data"]


def active(process_key: str, employee: Employee) -> list[ProcessInstance]:
    return list(
        ProcessInstance.objects.filter(
            definition__key=process_key,
            subject=employee,
            status__in=ProcessInstance.ACTIVE_STATUSES,
        )
    )


def final_data(instance_id: int) -> dict:
    instance = ProcessInstance.objects.get(pk=instance_id)
    assert instance.status == ProcessInstance.Status.COMPLETED
    return instance.events.get(kind="instance_completed").data["data"]


# --- intake: weights, ratings, validation, who may send ---------------------------------------


def test_a_nurse_total_weighs_attitude_30_quality_40_discipline_30(
    org, performance, appraisal_system
):
    result = record(appraisal_system, org.nurse, "2026-10", GOOD)

    # 80 x 30 % + 90 x 40 % + 70 x 30 % = 24 + 36 + 21
    assert result == {
        "employee_no": org.nurse.employee_no,
        "period": "2026-10",
        "scores": {"service_attitude": 80.0, "nursing_quality": 90.0, "discipline": 70.0},
        "total": 81.0,
        "rating": "good",
        "remedial_training_instance": None,
        "reserve_cadre_added": False,
        "pip_instance": None,
        "rule_notes": [],
    }
    stored = MonthlyAppraisal.objects.get(employee=org.nurse)
    assert (stored.period_date, stored.total, stored.rating) == (
        dt.date(2026, 10, 1),
        Decimal("81.00"),
        "good",
    )


def test_an_admin_total_weighs_discipline_20_teamwork_30_efficiency_50(
    org, performance, appraisal_system
):
    clerk = EmployeeFactory(org_unit=org.east, role_family=Employee.RoleFamily.ADMIN)

    result = record(
        appraisal_system, clerk, "2026-10", {"discipline": 60, "teamwork": 70, "efficiency": 100}
    )

    # 60 x 20 % + 70 x 30 % + 100 x 50 % = 12 + 21 + 50 (equal weights would give 76.67)
    assert (result["total"], result["rating"]) == (83.0, "good")


@pytest.mark.parametrize(
    ("scores", "total", "rating"),
    [
        ({"service_attitude": 90, "nursing_quality": 90, "discipline": 90}, 90.0, "excellent"),
        ({"service_attitude": 90, "nursing_quality": 89.97, "discipline": 90}, 89.99, "good"),
        ({"service_attitude": 75, "nursing_quality": 75, "discipline": 75}, 75.0, "good"),
        ({"service_attitude": 75, "nursing_quality": 74.97, "discipline": 75}, 74.99, "pass"),
        (PASS_AT_60, 60.0, "pass"),
        ({"service_attitude": 60, "nursing_quality": 59.97, "discipline": 60}, 59.99, "fail"),
    ],
)
def test_ratings_start_at_90_75_and_60(org, performance, appraisal_system, scores, total, rating):
    result = record(appraisal_system, org.nurse, "2026-10", scores)

    assert (result["total"], result["rating"]) == (total, rating)


def test_scores_are_checked_against_the_role_familys_indicators(org, performance, appraisal_system):
    response = send(
        appraisal_system,
        org.nurse,
        "2026-10",
        {"service_attitude": 101, "nursing_quality": "high", "teamwork": 80},
    )

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "scores.teamwork", "message": "not an indicator of 'nurse'"},
        {"field": "scores.discipline", "message": "this field is required"},
        {"field": "scores.nursing_quality", "message": "must be a number from 0 to 100"},
        {"field": "scores.service_attitude", "message": "must be a number from 0 to 100"},
    ]
    assert not MonthlyAppraisal.objects.exists()


def test_a_role_family_without_indicators_cannot_be_appraised(org, performance, appraisal_system):
    doctor = EmployeeFactory(org_unit=org.east, role_family=Employee.RoleFamily.DOCTOR)

    response = send(appraisal_system, doctor, "2026-10", {"discipline": 80})

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "employee_no", "message": "role family 'doctor' has no appraisal indicators"}
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"employee_no": "E-NONE", "period": "2026-10", "scores": {}}, "employee_no"),
        ({"period": "2026-10", "scores": {}}, "employee_no"),
        ({"employee_no": "?", "period": "2026-13", "scores": {}}, "period"),
        ({"employee_no": "?", "period": "2026-10", "scores": [1]}, "scores"),
        ({"employee_no": "?", "period": "2026-10", "scores": {}, "extra": 1}, "extra"),
    ],
)
def test_malformed_requests_name_the_field(org, performance, appraisal_system, body, field):
    if body.get("employee_no") == "?":
        body = {**body, "employee_no": org.nurse.employee_no}

    response = api(appraisal_system).post("/api/v1/appraisals", body, format="json")

    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_a_month_that_has_not_started_is_refused(org, performance, appraisal_system):
    response = send(appraisal_system, org.nurse, "2026-12", GOOD)

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "period", "message": "the month has not started yet"}
    ]


def test_a_month_is_recorded_once(org, performance, appraisal_system):
    record(appraisal_system, org.nurse, "2026-10", GOOD)

    response = send(appraisal_system, org.nurse, "2026-10", EXCELLENT)

    assert response.status_code == 409
    assert MonthlyAppraisal.objects.get().rating == "good"


def test_the_supervisor_and_the_appraisal_system_may_send_scores_nobody_else(
    org, performance, appraisal_system
):
    west_head = EmployeeFactory(user__username="west_head", org_unit=org.west_nursing)
    RoleAssignmentFactory(user=west_head.user, role=Role.SUPERVISOR, org_unit=org.west_nursing)

    statuses = {
        "employee herself": send(org.nurse.user, org.nurse, "2026-08", GOOD).status_code,
        "other clinic's head nurse": send(west_head.user, org.nurse, "2026-08", GOOD).status_code,
        "group HR": send(org.group_hr.user, org.nurse, "2026-08", GOOD).status_code,
        "head nurse about herself": send(
            org.head_nurse.user, org.head_nurse, "2026-08", GOOD
        ).status_code,
        "her head nurse": send(org.head_nurse.user, org.nurse, "2026-08", GOOD).status_code,
        "appraisal system": send(appraisal_system, org.nurse, "2026-09", GOOD).status_code,
        "anonymous": api(None).post("/api/v1/appraisals", {}, format="json").status_code,
    }

    assert statuses == {
        "employee herself": 403,
        "other clinic's head nurse": 403,
        "group HR": 403,
        "head nurse about herself": 403,
        "her head nurse": 201,
        "appraisal system": 201,
        "anonymous": 401,
    }


def test_the_rules_need_their_processes_deployed(org, appraisal_system):
    performance_seed.seed()

    response = send(appraisal_system, org.nurse, "2026-10", FAIL)

    assert response.status_code == 409
    assert "performance_remedial_training" in response.json()["detail"]
    assert not MonthlyAppraisal.objects.exists()


# --- rule: under 60 -> mandatory remedial training --------------------------------------------


def test_under_60_enrols_in_remedial_training_reported_in_time(org, performance, appraisal_system):
    result = record(appraisal_system, org.nurse, "2026-10", FAIL)

    assert (result["total"], result["rating"]) == (55.5, "fail")
    task = only_task(org.nurse.user, "complete_remedial_training")
    # Weakest indicator: service attitude 50 (performance_remedial_course.dmn).
    assert task_data(org.nurse.user, task["id"])["remedial_course"] == {
        "code": "remedial-service-attitude",
        "name": "Service attitude remedial training 服务态度强制培训",
    }
    complete(api(org.nurse.user), task["id"], {"remedial_score": 86.5})

    data = final_data(result["remedial_training_instance"])
    assert (data["period"], data["total"]) == ("2026-10", 55.5)
    completion = TrainingCompletion.objects.get(employee=org.nurse)
    assert (completion.course.code, completion.score) == (
        "remedial-service-attitude",
        Decimal("86.50"),
    )
    assert open_tasks(api(org.head_nurse.user)) == []


def test_exactly_60_is_a_pass_without_remedial_training(org, performance, appraisal_system):
    result = record(appraisal_system, org.nurse, "2026-10", PASS_AT_60)

    assert (result["rating"], result["remedial_training_instance"]) == ("pass", None)
    assert active("performance_remedial_training", org.nurse) == []


# --- rule: 3 consecutive excellent months -> reserve cadre ------------------------------------


def test_the_third_consecutive_excellent_month_adds_the_reserve_cadre(
    org, performance, appraisal_system
):
    first = record(appraisal_system, org.nurse, "2026-08", EXCELLENT)
    second = record(appraisal_system, org.nurse, "2026-09", EXCELLENT)
    assert not ReserveCadre.objects.exists()

    third = record(appraisal_system, org.nurse, "2026-10", EXCELLENT)

    assert [first["rating"], second["rating"], third["rating"]] == ["excellent"] * 3
    assert [r["reserve_cadre_added"] for r in (first, second, third)] == [False, False, True]
    cadre = ReserveCadre.objects.get()
    assert cadre.employee == org.nurse
    assert cadre.reason == (
        "3 consecutive excellent months 连续3个月优秀: 2026-08, 2026-09, 2026-10"
    )
    fourth = record(appraisal_system, org.nurse, "2026-11", EXCELLENT)
    assert fourth["reserve_cadre_added"] is False
    assert ReserveCadre.objects.count() == 1


def test_a_month_that_is_not_excellent_or_missing_breaks_the_streak(
    org, performance, appraisal_system
):
    for period, scores in [
        ("2026-05", EXCELLENT),
        ("2026-06", EXCELLENT),
        ("2026-07", GOOD),
        ("2026-08", EXCELLENT),
        ("2026-09", EXCELLENT),
        # 2026-10 missing
        ("2026-11", EXCELLENT),
    ]:
        record(appraisal_system, org.nurse, period, scores)

    assert not ReserveCadre.objects.exists()


# --- rule: 2 consecutive failing months -> PIP ------------------------------------------------


def test_the_second_consecutive_failing_month_starts_one_pip(org, performance, appraisal_system):
    first = record(appraisal_system, org.nurse, "2026-08", FAIL)
    assert first["pip_instance"] is None

    second = record(appraisal_system, org.nurse, "2026-09", FAIL)
    third = record(appraisal_system, org.nurse, "2026-10", FAIL)

    (pip,) = active("pip", org.nurse)
    assert second["pip_instance"] == pip.pk
    assert third["pip_instance"] is None
    assert pip.started_by == appraisal_system
    assert pip.business_key == f"pip-{org.nurse.employee_no}-2026-09"
    draft = only_task(org.head_nurse.user, "draft_improvement_goals")
    data = task_data(org.head_nurse.user, draft["id"])
    assert (data["reason"], data["failing_periods"]) == (
        "consecutive_failing_months",
        ["2026-08", "2026-09"],
    )
    # The first failing month enrolled her in remedial training; while it runs, no second one.
    assert first["remedial_training_instance"] is not None
    assert second["remedial_training_instance"] is None


def test_failing_months_that_are_not_consecutive_start_no_pip(org, performance, appraisal_system):
    record(appraisal_system, org.nurse, "2026-08", FAIL)
    record(appraisal_system, org.nurse, "2026-09", PASS_AT_60)
    result = record(appraisal_system, org.nurse, "2026-10", FAIL)

    assert result["pip_instance"] is None
    assert active("pip", org.nurse) == []


# --- closing a month: top 10 % get a 10 % bonus -----------------------------------------------


def nurses_with_totals(org, totals: list[int]) -> list[Employee]:
    """One nurse per total (all indicators scored the same, so the total is that score)."""
    people = []
    for score in totals:
        nurse = EmployeeFactory(org_unit=org.east_nursing)
        appraisal_record(
            employee=nurse,
            period_date=dt.date(2026, 10, 1),
            scores={"service_attitude": score, "nursing_quality": score, "discipline": score},
            recorded_by=None,
        )
        people.append(nurse)
    return people


def close(user, period: str):
    return api(user).post("/api/v1/appraisals/close-month", {"period": period}, format="json")


def test_closing_a_month_grants_the_top_10_percent_a_10_percent_bonus(org, performance):
    # 25 appraised: 10 % is 2.5, rounded up to 3 places.
    people = nurses_with_totals(org, [70 + i for i in range(25)])

    response = close(org.group_hr.user, "2026-10")

    assert response.status_code == 200
    body = response.json()
    assert (body["period"], body["appraised"], body["top_size"]) == ("2026-10", 25, 3)
    assert body["bonuses"] == [
        {
            "employee_no": p.employee_no,
            "percent": 10.0,
            "reason": "Top 10 % of the month 月度绩效前10%",
        }
        for p in (people[24], people[23], people[22])
    ]
    assert sorted(
        BonusRecord.objects.values_list("employee__employee_no", "period_date", "percent")
    ) == sorted((p.employee_no, dt.date(2026, 10, 1), Decimal("10.00")) for p in people[22:])


def test_a_small_group_still_has_a_top_place_and_ties_share_it(org, performance):
    # 5 appraised: 10 % is 0.5, rounded up to 1 place; two tie for it.
    people = nurses_with_totals(org, [88, 95, 70, 95, 60])

    body = close(org.group_hr.user, "2026-10").json()

    assert body["top_size"] == 1
    assert sorted(b["employee_no"] for b in body["bonuses"]) == sorted(
        [people[1].employee_no, people[3].employee_no]
    )


def test_closing_a_month_twice_grants_nobody_twice(org, performance):
    nurses_with_totals(org, [80, 90])

    first = close(org.group_hr.user, "2026-10").json()
    second = close(org.group_hr.user, "2026-10").json()

    assert first["bonuses"] == second["bonuses"]
    assert BonusRecord.objects.count() == 1


def test_only_a_finished_month_is_closed_by_group_hr_or_the_appraisal_system(
    org, performance, appraisal_system
):
    assert close(org.group_hr.user, "2026-11").json()["errors"] == [
        {"field": "period", "message": "the month is not over yet"}
    ]
    assert close(org.head_nurse.user, "2026-10").status_code == 403
    assert close(org.east_hr.user, "2026-10").status_code == 403
    assert close(appraisal_system, "2026-10").status_code == 200


# --- the PIP ----------------------------------------------------------------------------------

GOALS = {
    "goals": [
        {"goal": "No medication errors", "measure": "Zero incidents in the ward log"},
        {"goal": "Friendlier service", "measure": "Service attitude score of 75 or more"},
    ],
    "support": "Weekly coaching with the head nurse",
    "plan_days": 60,
}


def start_pip_by_failing_twice(org, appraisal_system) -> int:
    record(appraisal_system, org.nurse, "2026-09", FAIL)
    return record(appraisal_system, org.nurse, "2026-10", FAIL)["pip_instance"]


def sign_by_both(org) -> None:
    sign = only_task(org.nurse.user, "sign_goals_by_employee")
    complete(api(org.nurse.user), sign["id"], {"employee_decision": "sign"})
    countersign = only_task(org.head_nurse.user, "countersign_goals")
    complete(api(org.head_nurse.user), countersign["id"], {"supervisor_signed": True})


def run_plan_to_final_review(org, clock) -> None:
    """From the signatures: 30 days to the mid-point check, 30 more to the final review."""
    clock.move_to(NOW + dt.timedelta(days=30) - dt.timedelta(minutes=1))
    services.timer_fire_due()
    assert [t for t in open_tasks(api(org.head_nurse.user)) if t["process"] == "pip"] == []

    clock.move_to(NOW + dt.timedelta(days=30, minutes=1))
    services.timer_fire_due()
    midpoint = only_task(org.head_nurse.user, "check_midpoint")
    complete(
        api(org.head_nurse.user),
        midpoint["id"],
        {"midpoint_progress": "at_risk", "midpoint_feedback": "One error this month."},
    )

    clock.move_to(NOW + dt.timedelta(days=60, minutes=5))
    services.timer_fire_due()
    assert only_task(org.head_nurse.user, "review_pip_result")


def test_pip_changes_requested_then_signed_by_both_and_goals_met(
    org, performance, appraisal_system, clock
):
    pip_id = start_pip_by_failing_twice(org, appraisal_system)
    draft = only_task(org.head_nurse.user, "draft_improvement_goals")
    complete(api(org.head_nurse.user), draft["id"], {**GOALS, "plan_days": 30})

    # The employee asks for changes: a comment is required, and the draft comes back.
    sign = only_task(org.nurse.user, "sign_goals_by_employee")
    refused = api(org.nurse.user).post(
        f"/api/v1/tasks/{sign['id']}/complete",
        {"data": {"employee_decision": "request_changes"}},
        format="json",
    )
    assert refused.status_code == 400
    assert refused.json()["errors"] == [
        {"field": "employee_comment", "message": "this field is required"}
    ]
    complete(
        api(org.nurse.user),
        sign["id"],
        {"employee_decision": "request_changes", "employee_comment": "60 days, please."},
    )
    revise = only_task(org.head_nurse.user, "draft_improvement_goals")
    assert task_data(org.head_nurse.user, revise["id"])["employee_comment"] == "60 days, please."
    complete(api(org.head_nurse.user), revise["id"], GOALS)
    sign_by_both(org)

    run_plan_to_final_review(org, clock)
    review = only_task(org.head_nurse.user, "review_pip_result")
    complete(
        api(org.head_nurse.user),
        review["id"],
        {"final_result": "met", "final_summary": "No errors since the mid-point."},
    )

    data = final_data(pip_id)
    assert (data["plan_days"], data["midpoint_days"], data["final_review_days"]) == (60, 30, 30)
    assert (data["signed_date"], data["midpoint_date"], data["final_review_date"]) == (
        "2026-11-10",
        "2026-12-10",
        "2027-01-09",
    )
    assert "offboarding_request" not in data
    assert not ProcessInstance.objects.filter(definition__key="offboarding_stub").exists()


def test_pip_goals_not_met_requests_offboarding(org, performance, appraisal_system, clock):
    services.version_deploy(files=bundle_files("offboarding_stub"))
    started = api(org.head_nurse.user).post(
        "/api/v1/instances/start",
        {
            "process": "pip",
            "subject": org.nurse.employee_no,
            "data": {"reason": "supervisor_referral", "referral_note": "Repeated errors."},
        },
        format="json",
    )
    assert started.status_code == 201, started.content
    draft = only_task(org.head_nurse.user, "draft_improvement_goals")
    complete(api(org.head_nurse.user), draft["id"], GOALS)
    sign_by_both(org)
    run_plan_to_final_review(org, clock)

    review = only_task(org.head_nurse.user, "review_pip_result")
    complete(
        api(org.head_nurse.user),
        review["id"],
        {"final_result": "not_met", "final_summary": "Two more medication errors."},
    )

    data = final_data(started.json()["id"])
    assert data["last_working_date"] == "2027-02-08"  # final review day 2027-01-09 + 30 days
    (offboarding,) = ProcessInstance.objects.filter(definition__key="offboarding_stub")
    assert data["offboarding_request"] == {
        "started_instances": [offboarding.pk],
        "correlated_instances": [],
    }
    assert offboarding.subject == org.nurse
    message = offboarding.events.get(kind="instance_started").data["message"]
    assert message == {
        "name": "offboarding_requested",
        "correlation": {"employee_no": org.nurse.employee_no},
        "payload": {"last_working_date": "2027-02-08", "reason": "pip_goals_not_met"},
    }


def test_pip_offboarding_waits_in_an_incident_until_the_offboarding_process_exists(
    org, performance, appraisal_system, clock
):
    pip_id = start_pip_by_failing_twice(org, appraisal_system)
    draft = only_task(org.head_nurse.user, "draft_improvement_goals")
    complete(api(org.head_nurse.user), draft["id"], GOALS)
    sign_by_both(org)
    run_plan_to_final_review(org, clock)
    review = only_task(org.head_nurse.user, "review_pip_result")

    complete(
        api(org.head_nurse.user),
        review["id"],
        {"final_result": "not_met", "final_summary": "No improvement."},
    )

    pip = ProcessInstance.objects.get(pk=pip_id)
    assert pip.status == ProcessInstance.Status.ERROR
    incident = pip.incidents.get(status=Incident.Status.OPEN)
    assert incident.element_id == "request_offboarding"
    assert "no process receives 'offboarding_requested'" in incident.message

    services.version_deploy(files=bundle_files("offboarding_stub"))
    retried = api(org.group_hr.user).post(
        f"/api/v1/incidents/{incident.pk}/retry", {}, format="json"
    )

    assert retried.status_code == 200, retried.content
    assert final_data(pip_id)["last_working_date"] == "2027-02-08"
    (offboarding,) = ProcessInstance.objects.filter(definition__key="offboarding_stub")
    assert offboarding.subject == org.nurse
