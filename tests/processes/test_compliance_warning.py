"""Compliance warning 合规预警 on the first and second violation, driven through the REST API.

A violation recorded at POST /api/v1/signals/ that is the first or second of its clause within
30 days (calendar days in Asia/Shanghai) that no deduction has counted starts
compliance_warning: the compliance_warning_suggestion DMN gives the correction suggestion by
clause, the supervisor gets the task *Compliance warning 合规预警* with it, and when a colleague
reported the violation the employee is told, anonymised, with the suggestion for them. The
third violation starts compliance_deduction instead, and the next one is the first again.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from hr.models import RoleAssignment
from hr.seed import compliance as compliance_seed
from tests.factories import RoleAssignmentFactory, UserFactory
from tests.processes.conftest import api, complete, deploy_shipped, open_tasks
from workflows.models import Delivery, ProcessInstance

pytestmark = pytest.mark.django_db

Role = RoleAssignment.Role
CHINA = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=CHINA)
DAY = dt.timedelta(days=1)
COLLEAGUE_TITLE = "同事反映提醒 / A colleague raised a concern"


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


@pytest.fixture(autouse=True)
def group_chat(settings):
    settings.CAREFLOW = {
        **settings.CAREFLOW,
        "NOTIFY_WEBHOOKS": {"hr_chat": {"url": "https://chat.example.invalid/robot"}},
    }


@pytest.fixture
def attendance_system(org):
    user = UserFactory(username="attendance_system")
    RoleAssignmentFactory(user=user, role=Role.INTEGRATION, org_unit=org.group)
    return user


@pytest.fixture
def processes(org):
    compliance_seed.seed()
    deploy_shipped("compliance_deduction.bpmn")
    deploy_shipped("compliance_warning.bpmn")


def signal(user, employee, kind: str, occurred_at: dt.datetime, key: str, **extra) -> dict:
    response = api(user).post(
        "/api/v1/signals/",
        {
            "employee_no": employee.employee_no,
            "kind": kind,
            "occurred_at": occurred_at.isoformat(),
            "source": extra.pop("source", "attendance-system"),
            "idempotency_key": key,
            **extra,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def instances(key: str, employee) -> list[ProcessInstance]:
    return list(
        ProcessInstance.objects.filter(definition__key=key, subject=employee).order_by("pk")
    )


def warning_tasks(user) -> list[dict]:
    return [t for t in open_tasks(api(user)) if t["element_id"] == "review_compliance_warning"]


def task_data(user, task_id: int) -> dict:
    response = api(user).get(f"/api/v1/tasks/{task_id}")
    assert response.status_code == 200, response.content
    return response.json()["form"]["data"]


def warning_numbers(org) -> list[int]:
    """The number of each open warning of the head nurse, oldest first."""
    tasks = sorted(warning_tasks(org.head_nurse.user), key=lambda t: t["id"])
    return [task_data(org.head_nurse.user, t["id"])["warning"]["number"] for t in tasks]


def notices(user, title: str) -> list[dict]:
    response = api(user).get("/api/v1/notifications", {"page_size": 200})
    assert response.status_code == 200, response.content
    return [n for n in response.json()["results"] if n["title"] == title]


def test_the_1st_late_arrival_gives_the_supervisor_a_warning_with_the_attendance_suggestion(
    org, processes, attendance_system
):
    signal(attendance_system, org.nurse, "late_arrival", NOW - DAY, "a-1")

    (task,) = warning_tasks(org.head_nurse.user)
    data = task_data(org.head_nurse.user, task["id"])
    assert (data["clause_name"], data["warning"]["number"]) == ("Attendance discipline 考勤纪律", 1)
    assert data["supervisor_suggestion"].startswith("与员工当面沟通考勤要求，核对排班与打卡记录")
    assert warning_tasks(org.nurse.user) == []
    assert notices(org.nurse.user, COLLEAGUE_TITLE) == []

    complete(
        api(org.head_nurse.user),
        task["id"],
        {"warning_acknowledged": True, "correction_note": "Talked to her; roster checked."},
    )

    (instance,) = instances("compliance_warning", org.nurse)
    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.COMPLETED


def test_the_1st_and_2nd_warn_the_3rd_deducts_and_the_4th_warns_as_the_1st_again(
    org, processes, attendance_system
):
    signal(attendance_system, org.nurse, "late_arrival", NOW - 20 * DAY, "a-1")
    signal(attendance_system, org.nurse, "late_arrival", NOW - 10 * DAY, "a-2")
    third = signal(attendance_system, org.nurse, "late_arrival", NOW - 2 * DAY, "a-3")
    signal(attendance_system, org.nurse, "late_arrival", NOW - DAY, "a-4")

    assert third["deduction_instance"] is not None
    assert len(instances("compliance_deduction", org.nurse)) == 1
    assert warning_numbers(org) == [1, 2, 1]


def test_violations_on_1_oct_0800_and_31_oct_1800_make_the_second_a_2nd_warning(
    org, processes, attendance_system
):
    signal(
        attendance_system, org.nurse, "late_arrival", dt.datetime(2026, 10, 1, 8, tzinfo=CHINA), "a"
    )
    signal(
        attendance_system,
        org.nurse,
        "late_arrival",
        dt.datetime(2026, 10, 31, 18, tzinfo=CHINA),
        "b",
    )

    numbers = warning_numbers(org)
    assert numbers == [1, 2]


def test_violations_on_1_oct_0000_and_1_nov_0000_are_each_a_1st_warning(
    org, processes, attendance_system
):
    signal(
        attendance_system, org.nurse, "late_arrival", dt.datetime(2026, 10, 1, 0, tzinfo=CHINA), "a"
    )
    signal(
        attendance_system, org.nurse, "late_arrival", dt.datetime(2026, 11, 1, 0, tzinfo=CHINA), "b"
    )

    numbers = warning_numbers(org)
    assert numbers == [1, 1]


def test_a_colleagues_report_tells_the_nurse_anonymised_with_the_suggestion(
    org, processes, attendance_system
):
    signal(
        org.east_hr.user,
        org.nurse,
        "peer_report",
        dt.datetime(2026, 11, 18, 14, tzinfo=CHINA),
        "peer-1",
        source="peer-report-box",
        details={"reporter": "west_nurse", "text": "Shouted at me in the ward"},
    )

    (note,) = notices(org.nurse.user, COLLEAGUE_TITLE)
    assert note["body"] == (
        "有同事匿名反映了您2026-11-18在“Professional conduct 职业行为规范”方面的情况。\n"
        "A colleague raised a concern, anonymously, about “Professional conduct 职业行为规范” "
        "on 2026-11-18.\n整改建议 / Suggestion:\n"
        "请重温职业行为规范，与同事相互尊重、坦诚协作；如有分歧可找主管或人力资源部沟通。\n"
        "Please review the professional conduct rules and work with colleagues with respect "
        "and openness; take any disagreement to your supervisor or HR."
    )
    (instance,) = instances("compliance_warning", org.nurse)
    for secret in ("west_nurse", "Shouted", "peer-report-box", "east_hr"):
        assert secret not in str(instance.state)
        assert secret not in note["body"]
    assert notices(org.head_nurse.user, COLLEAGUE_TITLE) == []
    assert not Delivery.objects.filter(
        channel=Delivery.Channel.WEBHOOK, subject=COLLEAGUE_TITLE
    ).exists()
    (task,) = warning_tasks(org.head_nurse.user)
    assert task_data(org.head_nurse.user, task["id"])["supervisor_suggestion"].startswith(
        "与员工单独沟通同事反映的情况（不透露反映人）"
    )


def test_a_commendation_starts_no_warning(org, processes, attendance_system):
    signal(attendance_system, org.nurse, "patient_commendation", NOW - DAY, "s-1")

    assert instances("compliance_warning", org.nurse) == []
