"""Compliance signals 合规信号 and the performance deduction, driven through the REST API.

Signals arrive at POST /api/v1/signals/ from the attendance system (an integration account)
or from supervisors and HR. The compliance_signal_clause DMN maps each to a policy clause
(late arrival, attendance anomaly -> attendance; patient complaint -> service conduct; peer
report -> professional conduct). The THIRD violation of one clause within 30 days (calendar
days between the local dates in Asia/Shanghai, not 720 hours; both ends included, counted at
intake) starts compliance_deduction: a 5 % deduction notice
for the supervisor (compliance_deduction_rule) and the clause's mandatory course due in 14
days. A patient commendation is an achievement the promotion requirements count and, for a
nurse, +5 on the month's service attitude score.

Paths of compliance_deduction: confirmed (deduction on the month's bonus record); rejected
with a reason (nothing deducted); reminder to the supervisor after 3 days; the employee
reports the mandatory course (the overdue chase is in test_training_overdue.py).
"""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from hr.models import (
    Achievement,
    BonusRecord,
    ComplianceSignal,
    DeductionNotice,
    RoleAssignment,
    TrainingAssignment,
)
from hr.seed import compliance as compliance_seed
from hr.seed import performance as performance_seed
from hr.services import compliance
from hr.services.promotion import promotion_requirement_gaps
from tests.factories import RoleAssignmentFactory, UserFactory
from tests.processes.conftest import api, complete, deploy_shipped, open_tasks
from workflows import services
from workflows.models import ProcessInstance

pytestmark = pytest.mark.django_db

Role = RoleAssignment.Role
CHINA = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=CHINA)
DAY = dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


@pytest.fixture
def attendance_system(org):
    user = UserFactory(username="appraisal_system")
    RoleAssignmentFactory(user=user, role=Role.INTEGRATION, org_unit=org.group)
    return user


@pytest.fixture
def deduction(org):
    compliance_seed.seed()
    return deploy_shipped("compliance_deduction.bpmn")


def post_signal(user, employee, kind: str, occurred_at: dt.datetime, key: str, **extra):
    body = {
        "employee_no": employee.employee_no,
        "kind": kind,
        "occurred_at": occurred_at.isoformat(),
        "source": extra.pop("source", "attendance-system"),
        "idempotency_key": key,
        **extra,
    }
    return api(user).post("/api/v1/signals/", body, format="json")


def signal(user, employee, kind: str, occurred_at: dt.datetime, key: str, **extra) -> dict:
    response = post_signal(user, employee, kind, occurred_at, key, **extra)
    assert response.status_code == 201, response.content
    return response.json()


def deductions(employee) -> list[ProcessInstance]:
    return list(
        ProcessInstance.objects.filter(definition__key="compliance_deduction", subject=employee)
    )


def only_task(user, element_id: str) -> dict:
    (task,) = [t for t in open_tasks(api(user)) if t["element_id"] == element_id]
    return task


def test_the_rule_is_the_third_violation_within_30_days():
    assert (compliance.VIOLATIONS_TO_ACT, compliance.WINDOW_DAYS) == (3, 30)


def test_two_late_arrivals_start_nothing(org, deduction, attendance_system):
    first = signal(attendance_system, org.nurse, "late_arrival", NOW - 10 * DAY, "a-1")
    second = signal(attendance_system, org.nurse, "late_arrival", NOW - 5 * DAY, "a-2")

    assert (first["clause_code"], first["is_violation"]) == ("attendance", True)
    assert [first["violations_in_window"], second["violations_in_window"]] == [1, 2]
    assert second["deduction_instance"] is None
    assert deductions(org.nurse) == []


def test_the_third_violation_within_30_days_starts_the_deduction(org, deduction, attendance_system):
    signal(attendance_system, org.nurse, "late_arrival", NOW - 20 * DAY, "a-1")
    signal(attendance_system, org.nurse, "attendance_anomaly", NOW - 10 * DAY, "a-2")

    third = signal(attendance_system, org.nurse, "late_arrival", NOW - DAY, "a-3")

    (instance,) = deductions(org.nurse)
    assert (third["violations_in_window"], third["deduction_instance"]) == (3, instance.pk)
    task = only_task(org.head_nurse.user, "confirm_deduction_notice")
    data = api(org.head_nurse.user).get(f"/api/v1/tasks/{task['id']}").json()["form"]["data"]
    assert (data["clause_code"], data["clause_name"]) == (
        "attendance",
        "Attendance discipline 考勤纪律",
    )
    assert (data["notice"]["percent"], data["notice"]["period"]) == (5.0, "2026-11")
    assert len(data["notice"]["signal_ids"]) == 3
    (assignment,) = TrainingAssignment.objects.filter(employee=org.nurse)
    assert (assignment.course.code, assignment.due_date) == (
        "compliance-attendance",
        dt.date(2026, 12, 4),
    )
    titles = [
        n["title"] for n in api(org.nurse.user).get("/api/v1/notifications").json()["results"]
    ]
    course = "Attendance rules 考勤制度强制培训"
    assert f"培训即将到期：{course} / Training due: {course}" in titles


def test_three_violations_spread_over_31_days_start_nothing(org, deduction, attendance_system):
    signal(attendance_system, org.nurse, "late_arrival", NOW - 31 * DAY, "a-1")
    signal(attendance_system, org.nurse, "late_arrival", NOW - 15 * DAY, "a-2")

    third = signal(attendance_system, org.nurse, "late_arrival", NOW, "a-3")

    assert third["violations_in_window"] == 2
    assert deductions(org.nurse) == []


def test_three_violations_exactly_30_days_apart_count(org, deduction, attendance_system):
    signal(attendance_system, org.nurse, "late_arrival", NOW - 30 * DAY, "a-1")
    signal(attendance_system, org.nurse, "late_arrival", NOW - 15 * DAY, "a-2")

    third = signal(attendance_system, org.nurse, "late_arrival", NOW, "a-3")

    assert third["violations_in_window"] == 3
    assert len(deductions(org.nurse)) == 1


# --- the window is 30 calendar days in the group's time zone, not 720 hours -----------------

FEB_2027 = dt.datetime(2027, 2, 10, 10, 0, tzinfo=CHINA)
UTC = dt.UTC


def china(month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2027, month, day, hour, minute, tzinfo=CHINA)


def three_late_arrivals(attendance_system, employee, moments: list[dt.datetime]) -> list[dict]:
    return [
        signal(attendance_system, employee, "late_arrival", moment, f"w-{i}")
        for i, moment in enumerate(moments)
    ]


def test_violations_on_1_jan_0800_15_jan_and_31_jan_1800_count_together(
    org, deduction, attendance_system, clock
):
    # 30 calendar days apart, though 730 hours.
    clock.move_to(FEB_2027, tick=False)

    *_, third = three_late_arrivals(
        attendance_system, org.nurse, [china(1, 1, 8), china(1, 15, 12), china(1, 31, 18)]
    )

    (instance,) = deductions(org.nurse)
    assert (third["violations_in_window"], third["deduction_instance"]) == (3, instance.pk)
    assert keys_counted_by(instance) == ["w-0", "w-1", "w-2"]


def test_violations_on_1_jan_0000_15_jan_and_1_feb_0000_do_not_count_together(
    org, deduction, attendance_system, clock
):
    # 31 calendar days apart.
    clock.move_to(FEB_2027, tick=False)

    *_, third = three_late_arrivals(
        attendance_system, org.nurse, [china(1, 1, 0), china(1, 15, 12), china(2, 1, 0)]
    )

    assert (third["violations_in_window"], third["deduction_instance"]) == (2, None)
    assert deductions(org.nurse) == []


def test_violations_on_1_jan_0800_and_31_jan_1800_count_together_when_the_first_arrives_last(
    org, deduction, attendance_system, clock
):
    clock.move_to(FEB_2027, tick=False)

    *_, last = three_late_arrivals(
        attendance_system, org.nurse, [china(1, 31, 18), china(1, 15, 12), china(1, 1, 8)]
    )

    (instance,) = deductions(org.nurse)
    assert (last["violations_in_window"], last["deduction_instance"]) == (1, instance.pk)
    assert keys_counted_by(instance) == ["w-0", "w-1", "w-2"]


def test_violations_on_1_jan_0000_and_1_feb_0000_do_not_count_together_when_the_first_arrives_last(
    org, deduction, attendance_system, clock
):
    clock.move_to(FEB_2027, tick=False)

    three_late_arrivals(
        attendance_system, org.nurse, [china(2, 1, 0), china(1, 15, 12), china(1, 1, 0)]
    )

    assert deductions(org.nurse) == []


def test_violations_on_1_jan_0030_and_31_jan_2330_china_time_count_together_sent_in_utc(
    org, deduction, attendance_system, clock
):
    # In UTC these are 31 Dec 16:30 and 31 Jan 15:30, 31 dates apart; in China 30.
    clock.move_to(FEB_2027, tick=False)
    moments = [china(1, 1, 0, 30), china(1, 15, 12), china(1, 31, 23, 30)]

    *_, third = three_late_arrivals(
        attendance_system, org.nurse, [moment.astimezone(UTC) for moment in moments]
    )

    assert third["violations_in_window"] == 3
    assert len(deductions(org.nurse)) == 1


def test_violations_on_31_dec_2330_and_31_jan_0030_china_time_do_not_count_together_sent_in_utc(
    org, deduction, attendance_system, clock
):
    # In UTC these are 31 Dec 15:30 and 30 Jan 16:30, 30 dates apart; in China 31.
    clock.move_to(FEB_2027, tick=False)
    moments = [
        dt.datetime(2026, 12, 31, 23, 30, tzinfo=CHINA),
        china(1, 15, 12),
        china(1, 31, 0, 30),
    ]

    *_, third = three_late_arrivals(
        attendance_system, org.nurse, [moment.astimezone(UTC) for moment in moments]
    )

    assert third["violations_in_window"] == 2
    assert deductions(org.nurse) == []


def test_violations_of_different_clauses_do_not_combine(org, deduction, attendance_system):
    kinds = ["late_arrival", "patient_complaint", "peer_report", "attendance_anomaly"]
    answers = [
        signal(attendance_system, org.nurse, kind, NOW - (5 - i) * DAY, f"k-{i}")
        for i, kind in enumerate(kinds)
    ]

    assert [(a["clause_code"], a["violations_in_window"]) for a in answers] == [
        ("attendance", 1),
        ("service_conduct", 1),
        ("professional_conduct", 1),
        ("attendance", 2),
    ]
    assert deductions(org.nurse) == []


def test_the_fourth_within_the_window_starts_no_second_deduction(org, deduction, attendance_system):
    for i in range(3):
        signal(attendance_system, org.nurse, "late_arrival", NOW - (9 - i) * DAY, f"a-{i}")

    fourth = signal(attendance_system, org.nurse, "late_arrival", NOW - DAY, "a-4")

    assert (fourth["violations_in_window"], fourth["deduction_instance"]) == (4, None)
    assert len(deductions(org.nurse)) == 1


def keys_counted_by(instance: ProcessInstance) -> list[str]:
    return sorted(
        ComplianceSignal.objects.filter(deduction_instance_id=instance.pk).values_list(
            "idempotency_key", flat=True
        )
    )


def test_the_third_by_date_reported_before_the_second_starts_the_deduction(
    org, deduction, attendance_system
):
    signal(attendance_system, org.nurse, "late_arrival", NOW - 3 * DAY, "a-1")
    third = signal(attendance_system, org.nurse, "late_arrival", NOW - DAY, "a-3")
    assert (third["violations_in_window"], deductions(org.nurse)) == (2, [])

    second = signal(attendance_system, org.nurse, "late_arrival", NOW - 2 * DAY, "a-2")

    # Two in its own window (a-3 occurred after it), yet it completes the three.
    (instance,) = deductions(org.nurse)
    assert (second["violations_in_window"], second["deduction_instance"]) == (2, instance.pk)
    assert keys_counted_by(instance) == ["a-1", "a-2", "a-3"]
    a3 = ComplianceSignal.objects.get(idempotency_key="a-3")
    assert instance.business_key == f"compliance-attendance-{a3.pk}"
    notice = DeductionNotice.objects.get(process_instance_id=instance.pk)
    assert sorted(notice.signals.values_list("idempotency_key", flat=True)) == [
        "a-1",
        "a-2",
        "a-3",
    ]


@pytest.mark.parametrize("order", ["oldest first", "newest first"])
def test_five_in_a_month_start_one_deduction_whatever_the_order_they_arrive_in(
    org, deduction, attendance_system, order
):
    days_ago = [50, 45, 30, 20, 15]
    for d in days_ago if order == "oldest first" else reversed(days_ago):
        signal(attendance_system, org.nurse, "late_arrival", NOW - d * DAY, f"d-{d}")

    (instance,) = deductions(org.nurse)
    counted = keys_counted_by(instance)
    # Oldest first, the first three complete it; newest first, the newest three do.
    assert counted == (
        ["d-30", "d-45", "d-50"] if order == "oldest first" else ["d-15", "d-20", "d-30"]
    )


def test_three_new_violations_after_a_deduction_start_the_next(org, deduction, attendance_system):
    for i, d in enumerate([40, 35, 30, 25, 15, 12]):
        signal(attendance_system, org.nurse, "late_arrival", NOW - d * DAY, f"n-{i}")

    first, second = sorted(deductions(org.nurse), key=lambda instance: instance.pk)
    assert keys_counted_by(first) == ["n-0", "n-1", "n-2"]
    assert keys_counted_by(second) == ["n-3", "n-4", "n-5"]


def third_violation(org, attendance_system) -> ProcessInstance:
    for i in range(3):
        signal(attendance_system, org.nurse, "patient_complaint", NOW - (3 - i) * DAY, f"c-{i}")
    (instance,) = deductions(org.nurse)
    return instance


def test_a_confirmed_notice_deducts_from_the_months_bonus_record(org, deduction, attendance_system):
    instance = third_violation(org, attendance_system)
    task = only_task(org.head_nurse.user, "confirm_deduction_notice")

    complete(api(org.head_nurse.user), task["id"], {"deduction_decision": "confirm"})

    notice = DeductionNotice.objects.get(process_instance_id=instance.pk)
    assert (notice.status, notice.clause_code, notice.decided_by) == (
        "confirmed",
        "service_conduct",
        org.head_nurse.user,
    )
    record = BonusRecord.objects.get(employee=org.nurse)
    assert (record.period_date, record.percent, notice.deduction) == (
        dt.date(2026, 11, 1),
        Decimal("-5.00"),
        record,
    )
    # The process then waits for the employee to report the mandatory course.
    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.WAITING
    training = only_task(org.nurse.user, "complete_mandatory_training")
    complete(api(org.nurse.user), training["id"], {"training_score": 88})
    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.COMPLETED


def test_a_rejected_notice_keeps_the_reason_and_deducts_nothing(org, deduction, attendance_system):
    instance = third_violation(org, attendance_system)
    task = only_task(org.head_nurse.user, "confirm_deduction_notice")

    missing_reason = api(org.head_nurse.user).post(
        f"/api/v1/tasks/{task['id']}/complete",
        {"data": {"deduction_decision": "reject"}},
        format="json",
    )
    complete(
        api(org.head_nurse.user),
        task["id"],
        {"deduction_decision": "reject", "rejection_reason": "Complaints were unfounded 投诉不实"},
    )

    assert missing_reason.status_code == 400
    assert missing_reason.json()["errors"] == [
        {"field": "rejection_reason", "message": "this field is required"}
    ]
    notice = DeductionNotice.objects.get(process_instance_id=instance.pk)
    assert (notice.status, notice.rejection_reason) == (
        "rejected",
        "Complaints were unfounded 投诉不实",
    )
    assert not BonusRecord.objects.filter(employee=org.nurse).exists()
    # The training goes ahead either way.
    assert TrainingAssignment.objects.get(employee=org.nurse).course.code == (
        "compliance-service-conduct"
    )


def test_the_supervisor_is_reminded_after_3_days(org, deduction, attendance_system, clock):
    third_violation(org, attendance_system)

    clock.move_to(NOW + 3 * DAY - dt.timedelta(minutes=1), tick=False)
    services.timer_fire_due()
    before = api(org.head_nurse.user).get("/api/v1/notifications").json()["results"]
    clock.move_to(NOW + 3 * DAY + dt.timedelta(seconds=1), tick=False)
    services.timer_fire_due()
    after = api(org.head_nurse.user).get("/api/v1/notifications").json()["results"]

    assert [n["kind"] for n in before].count("task_reminder") == 0
    assert [n["kind"] for n in after].count("task_reminder") == 1
    assert only_task(org.head_nurse.user, "confirm_deduction_notice")


def test_a_commendation_reaches_the_promotion_requirements_and_the_appraisal(
    org, deduction, attendance_system
):
    performance_seed.seed()
    needs_one = {"patient_commendations": 1}
    assert promotion_requirement_gaps(employee=org.nurse, requirements=needs_one)[0]["have"] == 0

    praise = signal(
        attendance_system,
        org.nurse,
        "patient_commendation",
        dt.datetime(2026, 10, 12, 15, 0, tzinfo=CHINA),
        "survey-77",
        source="patient-survey",
        details={"ward": "3B", "text": "Very patient and kind 非常耐心"},
    )
    appraisal = api(attendance_system).post(
        "/api/v1/appraisals",
        {
            "employee_no": org.nurse.employee_no,
            "period": "2026-10",
            "scores": {"service_attitude": 80, "nursing_quality": 90, "discipline": 70},
        },
        format="json",
    )

    assert (praise["is_violation"], praise["clause_code"]) == (False, "")
    achievement = Achievement.objects.get(pk=praise["achievement"])
    assert (achievement.kind, achievement.achieved_date) == (
        "patient_commendation",
        dt.date(2026, 10, 12),
    )
    assert promotion_requirement_gaps(employee=org.nurse, requirements=needs_one) == []
    assert appraisal.status_code == 201, appraisal.content
    # service attitude 80 + 5 = 85: 85 x 30 % + 90 x 40 % + 70 x 30 % = 82.5
    assert appraisal.json()["scores"]["service_attitude"] == 85.0
    assert appraisal.json()["total"] == 82.5
    assert deductions(org.nurse) == []


def test_a_repeated_idempotency_key_answers_the_recorded_signal(org, deduction, attendance_system):
    first = signal(attendance_system, org.nurse, "late_arrival", NOW - DAY, "a-1")

    again = post_signal(attendance_system, org.nurse, "late_arrival", NOW - DAY, "a-1")
    changed = post_signal(attendance_system, org.nurse, "late_arrival", NOW - 2 * DAY, "a-1")
    other_source = post_signal(
        attendance_system, org.nurse, "late_arrival", NOW - DAY, "a-1", source="door-system"
    )

    assert again.status_code == 200
    assert again.json()["id"] == first["id"]
    assert changed.status_code == 409
    assert other_source.status_code == 201
    assert ComplianceSignal.objects.count() == 2


def test_who_may_report_about_whom(org, deduction, attendance_system):
    when = NOW - DAY

    by_supervisor = post_signal(org.head_nurse.user, org.nurse, "late_arrival", when, "s-1")
    by_clinic_hr = post_signal(org.east_hr.user, org.nurse, "late_arrival", when, "s-2")
    by_other_clinic = post_signal(org.west_hr.user, org.nurse, "late_arrival", when, "s-3")
    by_colleague = post_signal(org.west_nurse.user, org.nurse, "peer_report", when, "s-4")
    about_myself = post_signal(org.east_hr.user, org.east_hr, "patient_commendation", when, "s-5")

    assert [r.status_code for r in (by_supervisor, by_clinic_hr)] == [201, 201]
    assert [r.status_code for r in (by_other_clinic, by_colleague, about_myself)] == [
        403,
        403,
        403,
    ]


def test_the_list_is_scoped_like_other_hr_data(org, deduction, attendance_system):
    signal(attendance_system, org.nurse, "peer_report", NOW - DAY, "p-1", details={"by": "X"})
    signal(attendance_system, org.west_nurse, "late_arrival", NOW - DAY, "p-2")

    def listed(user) -> list[tuple[str, object]]:
        response = api(user).get("/api/v1/signals/")
        assert response.status_code == 200, response.content
        return [(s["employee_no"], s["details"]) for s in response.json()["results"]]

    assert listed(org.head_nurse.user) == [(org.nurse.employee_no, {"by": "X"})]
    assert listed(org.west_hr.user) == [(org.west_nurse.employee_no, {})]
    assert listed(org.nurse.user) == [(org.nurse.employee_no, None)]
    assert len(listed(attendance_system)) == 2
    assert len(listed(org.group_hr.user)) == 2


def test_bad_signals_are_refused_naming_the_field(org, deduction, attendance_system):
    future = post_signal(attendance_system, org.nurse, "late_arrival", NOW + DAY, "b-1")
    unknown_kind = post_signal(attendance_system, org.nurse, "private_chat", NOW, "b-2")
    nobody = api(attendance_system).post(
        "/api/v1/signals/",
        {
            "employee_no": "NOBODY",
            "kind": "late_arrival",
            "occurred_at": NOW.isoformat(),
            "source": "attendance-system",
            "idempotency_key": "b-3",
        },
        format="json",
    )

    assert [r.status_code for r in (future, unknown_kind, nobody)] == [400, 400, 400]
    assert future.json()["errors"] == [{"field": "occurred_at", "message": "is in the future"}]
    assert unknown_kind.json()["errors"][0]["field"] == "kind"
    assert nobody.json()["errors"] == [{"field": "employee_no", "message": "no such employee"}]
    assert not ComplianceSignal.objects.exists()


def test_without_the_deduction_process_nothing_is_recorded(org, attendance_system):
    response = post_signal(attendance_system, org.nurse, "late_arrival", NOW, "n-1")

    assert response.status_code == 409
    assert not ComplianceSignal.objects.exists()
