"""An overdue mandatory course is chased, driven through the REST API with the clock moved.

Each process that assigns a mandatory course gives it a due date (the last day to finish
it, local time Asia/Shanghai) and attaches two non-interrupting date timers to the person's
task (hr/services/training.py):
- overdue: the start of the day after the due date -> the person is reminded;
- 3 days later (OVERDUE_ESCALATION_DAYS) -> the supervisor (deduction and remedial
  training) or clinic HR (onboarding) is told.
The person's task stays open either way; a course reported in time is never chased.

- compliance_deduction: the clause's course is due 14 days after the third violation;
- performance_remedial_training: the remedial course is due 14 days after it is assigned;
  the escalation is the supervisor's follow-up task;
- onboarding: the pre-job checklist is due the day before the planned first day on duty.
"""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from hr.models import RoleAssignment, TrainingAssignment, TrainingCompletion
from hr.seed import compliance as compliance_seed
from hr.seed import onboarding as onboarding_seed
from hr.seed import performance as performance_seed
from hr.services import training
from tests.factories import RoleAssignmentFactory, UserFactory
from tests.processes.conftest import api, complete, deploy_shipped, open_tasks
from workflows import services
from workflows.models import ProcessInstance

pytestmark = pytest.mark.django_db

Role = RoleAssignment.Role
CHINA = ZoneInfo("Asia/Shanghai")
# Timers fire at the first sweep after their moment.
SECOND = dt.timedelta(seconds=1)


def beijing(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=CHINA)


@pytest.fixture
def integration(org):
    user = UserFactory(username="appraisal_system")
    RoleAssignmentFactory(user=user, role=Role.INTEGRATION, org_unit=org.group)
    return user


def fire_at(clock, when: dt.datetime) -> int:
    clock.move_to(when, tick=False)
    return services.timer_fire_due()


def messages(user, title_part: str) -> list[dict]:
    response = api(user).get("/api/v1/notifications")
    assert response.status_code == 200, response.content
    return [
        n for n in response.json()["results"] if n["kind"] == "message" and title_part in n["title"]
    ]


def tasks_at(user, element_id: str) -> list[dict]:
    return [t for t in open_tasks(api(user)) if t["element_id"] == element_id]


def test_the_escalation_comes_3_days_after_the_overdue_reminder():
    assert training.OVERDUE_ESCALATION_DAYS == 3
    assert training.training_overdue_deadlines(due_date=dt.date(2026, 12, 31)) == {
        "due_date": "2026-12-31",
        "overdue_at": "2027-01-01T00:00:00+08:00",
        "escalate_at": "2027-01-04T00:00:00+08:00",
        "escalation_days": 3,
    }


# --- compliance_deduction: third violation on 20 Nov, course due 4 Dec ------------------------

THIRD_VIOLATION_AT = beijing(2026, 11, 20, 10)


@pytest.fixture
def deduction(org, time_machine, integration):
    time_machine.move_to(THIRD_VIOLATION_AT, tick=False)
    compliance_seed.seed()
    deploy_shipped("compliance_deduction.bpmn")
    for i in range(3):
        response = api(integration).post(
            "/api/v1/signals/",
            {
                "employee_no": org.nurse.employee_no,
                "kind": "patient_complaint",
                "occurred_at": (THIRD_VIOLATION_AT - (3 - i) * dt.timedelta(days=1)).isoformat(),
                "source": "patient-service-desk",
                "idempotency_key": f"complaint-{i}",
            },
            format="json",
        )
        assert response.status_code == 201, response.content
    (instance,) = ProcessInstance.objects.filter(
        definition__key="compliance_deduction", subject=org.nurse
    )
    return instance


def test_the_deduction_course_is_due_14_days_later_on_4_dec(org, deduction):
    assignment = TrainingAssignment.objects.get(employee=org.nurse)
    (task,) = tasks_at(org.nurse.user, "complete_mandatory_training")

    assert (assignment.course.code, assignment.due_date) == (
        "compliance-service-conduct",
        dt.date(2026, 12, 4),
    )
    assert task["instance"] == deduction.pk


def test_deduction_course_due_4_dec_is_not_chased_at_4_dec_2359_and_reminded_at_5_dec_0000(
    org, deduction, time_machine
):
    fire_at(time_machine, beijing(2026, 12, 4, 23, 59))
    before = messages(org.nurse.user, "培训已逾期")
    fire_at(time_machine, beijing(2026, 12, 5) + SECOND)
    after = messages(org.nurse.user, "培训已逾期")

    assert before == []
    (reminder,) = after
    assert reminder["title"] == (
        "培训已逾期：Patient service conduct 服务规范强制培训 / Training overdue"
    )
    assert "2026-12-04" in reminder["body"]
    assert messages(org.head_nurse.user, "培训逾期未完成") == []
    assert len(tasks_at(org.nurse.user, "complete_mandatory_training")) == 1


def test_deduction_course_overdue_is_not_escalated_at_7_dec_2359_and_escalated_at_8_dec_0000(
    org, deduction, time_machine
):
    fire_at(time_machine, beijing(2026, 12, 5) + SECOND)
    fire_at(time_machine, beijing(2026, 12, 7, 23, 59))
    before = messages(org.head_nurse.user, "培训逾期未完成")
    fire_at(time_machine, beijing(2026, 12, 8) + SECOND)
    after = messages(org.head_nurse.user, "培训逾期未完成")

    assert before == []
    (escalation,) = after
    assert "2026-12-04" in escalation["body"] and "3" in escalation["body"]
    assert messages(org.east_hr.user, "培训逾期未完成") == []
    # The employee's task stays open and is reported late.
    (task,) = tasks_at(org.nurse.user, "complete_mandatory_training")
    complete(api(org.nurse.user), task["id"], {"training_score": 81})
    completion = TrainingCompletion.objects.get(employee=org.nurse)
    assert (completion.course.code, completion.score) == (
        "compliance-service-conduct",
        Decimal("81.00"),
    )
    assert len(messages(org.nurse.user, "培训已逾期")) == 1


def test_deduction_course_reported_on_4_dec_2359_is_never_chased(org, deduction, time_machine):
    time_machine.move_to(beijing(2026, 12, 4, 23, 59), tick=False)
    (task,) = tasks_at(org.nurse.user, "complete_mandatory_training")
    complete(api(org.nurse.user), task["id"], {"training_score": 90})
    (notice,) = tasks_at(org.head_nurse.user, "confirm_deduction_notice")
    complete(api(org.head_nurse.user), notice["id"], {"deduction_decision": "confirm"})

    fire_at(time_machine, beijing(2026, 12, 9))

    assert messages(org.nurse.user, "培训已逾期") == []
    assert messages(org.head_nurse.user, "培训逾期未完成") == []
    deduction.refresh_from_db()
    assert deduction.status == ProcessInstance.Status.COMPLETED


def test_a_missing_training_score_is_refused_naming_the_field(org, deduction):
    (task,) = tasks_at(org.nurse.user, "complete_mandatory_training")

    response = api(org.nurse.user).post(
        f"/api/v1/tasks/{task['id']}/complete", {"data": {}}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "training_score", "message": "this field is required"}
    ]
    assert not TrainingCompletion.objects.filter(employee=org.nurse).exists()


# --- performance_remedial_training: assigned 10 Nov 17:00 Beijing, due 24 Nov -----------------

APPRAISED_AT = beijing(2026, 11, 10, 17)
FAIL = {"service_attitude": 50, "nursing_quality": 60, "discipline": 55}  # 55.50


@pytest.fixture
def remedial(org, time_machine, integration):
    time_machine.move_to(APPRAISED_AT, tick=False)
    performance_seed.seed()
    deploy_shipped("performance_remedial_training.bpmn")
    response = api(integration).post(
        "/api/v1/appraisals",
        {"employee_no": org.nurse.employee_no, "period": "2026-10", "scores": FAIL},
        format="json",
    )
    assert response.status_code == 201, response.content
    return ProcessInstance.objects.get(pk=response.json()["remedial_training_instance"])


def test_remedial_course_due_24_nov_is_not_chased_at_24_nov_2359_and_reminded_at_25_nov_0000(
    org, remedial, time_machine
):
    fire_at(time_machine, beijing(2026, 11, 24, 23, 59))
    before = messages(org.nurse.user, "培训已逾期")
    fire_at(time_machine, beijing(2026, 11, 25) + SECOND)
    after = messages(org.nurse.user, "培训已逾期")

    assert before == []
    (reminder,) = after
    assert reminder["instance"] == remedial.pk
    assert "2026-11-24" in reminder["body"]
    assert tasks_at(org.head_nurse.user, "follow_up_remedial_training") == []
    assert len(tasks_at(org.nurse.user, "complete_remedial_training")) == 1


def test_remedial_course_overdue_is_not_escalated_at_27_nov_2359_and_followed_up_at_28_nov_0000(
    org, remedial, time_machine
):
    fire_at(time_machine, beijing(2026, 11, 25) + SECOND)
    fire_at(time_machine, beijing(2026, 11, 27, 23, 59))
    before = tasks_at(org.head_nurse.user, "follow_up_remedial_training")
    fire_at(time_machine, beijing(2026, 11, 28) + SECOND)
    (follow_up,) = tasks_at(org.head_nurse.user, "follow_up_remedial_training")

    assert before == []
    complete(api(org.head_nurse.user), follow_up["id"], {"follow_up_action": "Course on Friday."})
    (task,) = tasks_at(org.nurse.user, "complete_remedial_training")
    complete(api(org.nurse.user), task["id"], {"remedial_score": 72})
    remedial.refresh_from_db()
    assert remedial.status == ProcessInstance.Status.COMPLETED
    assert TrainingCompletion.objects.get(employee=org.nurse).score == Decimal("72.00")
    assert len(messages(org.nurse.user, "培训已逾期")) == 1


def test_remedial_course_reported_on_24_nov_2359_is_never_chased(org, remedial, time_machine):
    time_machine.move_to(beijing(2026, 11, 24, 23, 59), tick=False)
    (task,) = tasks_at(org.nurse.user, "complete_remedial_training")
    complete(api(org.nurse.user), task["id"], {"remedial_score": 75})

    fire_at(time_machine, beijing(2026, 11, 29))

    assert messages(org.nurse.user, "培训已逾期") == []
    assert tasks_at(org.head_nurse.user, "follow_up_remedial_training") == []
    remedial.refresh_from_db()
    assert remedial.status == ProcessInstance.Status.COMPLETED


# --- onboarding: started 2 Mar 09:00 Beijing, on duty from 9 Mar, checklist due 8 Mar --------

ONBOARDING_START = beijing(2026, 3, 2, 9)


@pytest.fixture
def onboarding(org, time_machine):
    time_machine.move_to(ONBOARDING_START, tick=False)
    onboarding_seed.seed()
    deploy_shipped("onboarding.bpmn")
    response = api(org.east_hr.user).post(
        "/api/v1/instances/start",
        {
            "process": "onboarding",
            "subject": org.nurse.employee_no,
            "data": {"planned_duty_date": "2026-03-09"},
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    return ProcessInstance.objects.get(pk=response.json()["id"])


def test_pre_job_checklist_due_8_mar_is_not_chased_at_8_mar_2359_and_reminded_at_9_mar_0000(
    org, onboarding, time_machine
):
    fire_at(time_machine, beijing(2026, 3, 8, 23, 59))
    before = messages(org.nurse.user, "岗前培训已逾期")
    fire_at(time_machine, beijing(2026, 3, 9) + SECOND)
    after = messages(org.nurse.user, "岗前培训已逾期")

    assert before == []
    (reminder,) = after
    assert (reminder["instance"], "2026-03-08" in reminder["body"]) == (onboarding.pk, True)
    assert messages(org.east_hr.user, "岗前培训逾期未完成") == []


def test_pre_job_checklist_overdue_is_not_escalated_at_11_mar_2359_and_told_hr_at_12_mar_0000(
    org, onboarding, time_machine
):
    fire_at(time_machine, beijing(2026, 3, 11, 23, 59))
    before = messages(org.east_hr.user, "岗前培训逾期未完成")
    fire_at(time_machine, beijing(2026, 3, 12) + SECOND)
    after = messages(org.east_hr.user, "岗前培训逾期未完成")

    assert before == []
    (escalation,) = after
    assert "2026-03-08" in escalation["body"]
    assert messages(org.west_hr.user, "岗前培训逾期未完成") == []
    # The checklist stays with the new hire.
    assert len(tasks_at(org.nurse.user, "complete_training_item")) == 6


def test_pre_job_checklist_reported_on_8_mar_is_never_chased_as_overdue(
    org, onboarding, time_machine
):
    time_machine.move_to(beijing(2026, 3, 8, 23, 59), tick=False)
    for task in tasks_at(org.nurse.user, "complete_training_item"):
        complete(api(org.nurse.user), task["id"], {"is_completed": True, "score": 90})

    fire_at(time_machine, beijing(2026, 3, 13))

    assert messages(org.nurse.user, "岗前培训已逾期") == []
    assert messages(org.east_hr.user, "岗前培训逾期未完成") == []
    assert len(tasks_at(org.head_nurse.user, "sign_off_pre_job_training")) == 1


def test_pre_job_round_reopened_on_10_mar_after_the_overdue_9_mar_reminds_at_once_again(
    org, onboarding, time_machine
):
    fire_at(time_machine, beijing(2026, 3, 9) + SECOND)
    assert len(messages(org.nurse.user, "岗前培训已逾期")) == 1
    time_machine.move_to(beijing(2026, 3, 10, 9), tick=False)
    for task in tasks_at(org.nurse.user, "complete_training_item"):
        detail = api(org.nurse.user).get(f"/api/v1/tasks/{task['id']}").json()
        done = detail["form"]["data"]["item"]["code"] != "prejob-nurse-duties"
        data = {"is_completed": True, "score": 90} if done else {"is_completed": False}
        complete(api(org.nurse.user), task["id"], data)

    # The new round holds the missing mandatory item, is still overdue and says so at once.
    assert len(tasks_at(org.nurse.user, "complete_training_item")) == 1
    assert len(messages(org.nurse.user, "岗前培训已逾期")) == 2
