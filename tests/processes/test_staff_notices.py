"""Staff hear about themselves 个人实时反馈, driven through the REST API.

When a month's appraisal is recorded (POST /api/v1/appraisals) the employee gets a notice of
their own total and rating; the month that puts them on the reserve-cadre list (3 excellent
months) also tells them that; closing a month (POST /api/v1/appraisals/close-month) tells each
person in the top 10 % of their bonus, once; a patient commendation (POST /api/v1/signals/)
tells them of the praise, with the satisfaction score and honour the survey sent and the
points added to the month's appraisal. Each notice goes to that employee only, in the app and
by email, never to a group-chat webhook.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from hr.models import RoleAssignment
from hr.seed import compliance as compliance_seed
from hr.seed import performance as performance_seed
from hr.services.performance import appraisal_record
from tests.factories import EmployeeFactory, RoleAssignmentFactory, UserFactory
from tests.processes.conftest import api, deploy_shipped
from workflows.models import Delivery

pytestmark = pytest.mark.django_db

Role = RoleAssignment.Role
CHINA = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 10, 9, 0, tzinfo=CHINA)

EXCELLENT = {"service_attitude": 95, "nursing_quality": 90, "discipline": 92}  # 92.10
GOOD = {"service_attitude": 80, "nursing_quality": 90, "discipline": 70}  # 81.00
FAIL = {"service_attitude": 50, "nursing_quality": 60, "discipline": 55}  # 55.50

APPRAISAL_TITLE = "2026-10月度绩效结果 / Your appraisal for 2026-10"
RESERVE_TITLE = "入选储备干部 / You are on the reserve-cadre list"
BONUS_TITLE = "2026-10月度绩效前10% / Top 10 % of 2026-10"
PRAISE_TITLE = "患者表扬 / Patient praise"


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


@pytest.fixture(autouse=True)
def group_chat(settings):
    """A group-chat robot that takes every kind of notice: personal notices must skip it."""
    settings.CAREFLOW = {
        **settings.CAREFLOW,
        "NOTIFY_WEBHOOKS": {"hr_chat": {"url": "https://chat.example.invalid/robot"}},
    }


@pytest.fixture
def appraisal_system(org):
    user = UserFactory(username="appraisal_system")
    RoleAssignmentFactory(user=user, role=Role.INTEGRATION, org_unit=org.group)
    return user


@pytest.fixture
def performance(org):
    performance_seed.seed()
    deploy_shipped("performance_remedial_training.bpmn")
    deploy_shipped("pip.bpmn")


def record(user, employee, period: str, scores: dict) -> dict:
    response = api(user).post(
        "/api/v1/appraisals",
        {"employee_no": employee.employee_no, "period": period, "scores": scores},
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def notices(user, title: str | None = None) -> list[dict]:
    response = api(user).get("/api/v1/notifications", {"page_size": 200})
    assert response.status_code == 200, response.content
    rows = response.json()["results"]
    return [n for n in rows if title is None or n["title"] == title]


def bodies(user, title: str) -> list[str]:
    return [n["body"] for n in notices(user, title)]


def webhook_bodies() -> list[str]:
    return list(
        Delivery.objects.filter(channel=Delivery.Channel.WEBHOOK).values_list("body", flat=True)
    )


# --- the month's score -------------------------------------------------------------------------


def test_an_appraisal_of_92_1_tells_the_nurse_her_total_and_rating_only(
    org, performance, appraisal_system
):
    org.nurse.user.email = "nurse@clinic.example"
    org.nurse.user.save(update_fields=["email"])

    record(appraisal_system, org.nurse, "2026-10", EXCELLENT)

    assert bodies(org.nurse.user, APPRAISAL_TITLE) == [
        "您2026-10月度绩效考核总分92.1分，评级：优秀。\n"
        "Your appraisal total for 2026-10 is 92.1, rated excellent."
    ]
    for other in (org.head_nurse, org.east_hr, org.group_hr, org.west_nurse):
        assert [n for n in notices(other.user) if "92.1" in n["body"]] == []
    assert [b for b in webhook_bodies() if "92.1" in b] == []
    assert list(
        Delivery.objects.filter(subject=APPRAISAL_TITLE).values_list("channel", "target")
    ) == [(Delivery.Channel.EMAIL, "nurse@clinic.example")]


def test_an_appraisal_of_55_5_tells_the_nurse_she_failed(org, performance, appraisal_system):
    record(appraisal_system, org.nurse, "2026-10", FAIL)

    assert bodies(org.nurse.user, APPRAISAL_TITLE) == [
        "您2026-10月度绩效考核总分55.5分，评级：不合格。\n"
        "Your appraisal total for 2026-10 is 55.5, rated fail."
    ]
    assert bodies(org.head_nurse.user, APPRAISAL_TITLE) == []


def test_each_month_recorded_is_one_notice_and_a_refused_month_none(
    org, performance, appraisal_system
):
    record(appraisal_system, org.nurse, "2026-09", GOOD)
    record(appraisal_system, org.nurse, "2026-10", GOOD)
    again = api(appraisal_system).post(
        "/api/v1/appraisals",
        {"employee_no": org.nurse.employee_no, "period": "2026-10", "scores": GOOD},
        format="json",
    )

    assert again.status_code == 409
    assert sorted(n["title"] for n in notices(org.nurse.user) if "appraisal" in n["title"]) == [
        "2026-09月度绩效结果 / Your appraisal for 2026-09",
        APPRAISAL_TITLE,
    ]


# --- reserve cadre -------------------------------------------------------------------------------


def test_the_3rd_excellent_month_2026_10_tells_the_nurse_she_is_reserve_cadre_not_the_2nd(
    org, performance, appraisal_system
):
    record(appraisal_system, org.nurse, "2026-08", EXCELLENT)
    record(appraisal_system, org.nurse, "2026-09", EXCELLENT)
    assert notices(org.nurse.user, RESERVE_TITLE) == []

    third = record(appraisal_system, org.nurse, "2026-10", EXCELLENT)
    fourth = record(appraisal_system, org.nurse, "2026-11", EXCELLENT)

    assert (third["reserve_cadre_added"], fourth["reserve_cadre_added"]) == (True, False)
    assert bodies(org.nurse.user, RESERVE_TITLE) == [
        "恭喜！您连续3个月绩效优秀（截至2026-10），已入选储备干部名单。\n"
        "Congratulations! Three consecutive excellent months (up to 2026-10) put you on the "
        "reserve-cadre list."
    ]
    assert notices(org.head_nurse.user, RESERVE_TITLE) == []


# --- top 10 % bonus ------------------------------------------------------------------------------


def nurses_with_totals(org, totals: list[int]) -> list:
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


def close(user, period: str) -> dict:
    response = api(user).post("/api/v1/appraisals/close-month", {"period": period}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def test_closing_2026_10_tells_the_two_at_95_of_their_bonus_and_not_the_one_at_88(org, performance):
    people = nurses_with_totals(org, [88, 95, 70, 95, 60])

    close(org.group_hr.user, "2026-10")

    body = (
        "恭喜！您2026-10月度绩效位列前10%，获得10%绩效奖金。\n"
        "Congratulations! You are in the top 10 % of 2026-10 and get a 10 % bonus."
    )
    assert [bodies(p.user, BONUS_TITLE) for p in people] == [[], [body], [], [body], []]
    assert notices(org.group_hr.user, BONUS_TITLE) == []
    assert [b for b in webhook_bodies() if "10 % bonus" in b] == []


def test_closing_2026_10_twice_tells_the_top_person_once(org, performance):
    (top, _) = nurses_with_totals(org, [95, 80])

    close(org.group_hr.user, "2026-10")
    close(org.group_hr.user, "2026-10")

    assert len(notices(top.user, BONUS_TITLE)) == 1


# --- praise --------------------------------------------------------------------------------------


@pytest.fixture
def signals(org, appraisal_system):
    compliance_seed.seed()
    performance_seed.seed()
    deploy_shipped("compliance_deduction.bpmn")
    return appraisal_system


def post_signal(user, employee, kind: str, key: str, **extra) -> dict:
    response = api(user).post(
        "/api/v1/signals/",
        {
            "employee_no": employee.employee_no,
            "kind": kind,
            "occurred_at": dt.datetime(2026, 11, 3, 15, 0, tzinfo=CHINA).isoformat(),
            "source": "patient-survey",
            "idempotency_key": key,
            **extra,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_a_praise_with_satisfaction_9_8_and_honour_tells_the_nurse_like_the_seed(org, signals):
    post_signal(
        signals,
        org.nurse,
        "patient_commendation",
        "survey-1",
        details={"satisfaction_score": 9.8, "honour": "服务明星", "ward": "3B"},
    )

    assert bodies(org.nurse.user, PRAISE_TITLE) == [
        "您2026-11月患者满意度评分9.8分，获得「服务明星」称号，"
        "2026-11月度考核「Service attitude 服务态度」加5分。\n"
        "Your patient satisfaction score for 2026-11 is 9.8, you earned the title “服务明星”, "
        "+5 on “Service attitude 服务态度” in the 2026-11 appraisal."
    ]
    assert notices(org.head_nurse.user, PRAISE_TITLE) == []
    assert [b for b in webhook_bodies() if "9.8" in b] == []


def test_a_praise_without_score_or_honour_still_tells_the_nurse(org, signals):
    post_signal(signals, org.nurse, "patient_commendation", "survey-2", details={"ward": "3B"})

    assert bodies(org.nurse.user, PRAISE_TITLE) == [
        "您2026-11月收到一条患者表扬，2026-11月度考核「Service attitude 服务态度」加5分。\n"
        "A patient commended you in 2026-11, +5 on “Service attitude 服务态度” in the "
        "2026-11 appraisal."
    ]


def test_a_late_arrival_is_no_praise(org, signals):
    post_signal(signals, org.nurse, "late_arrival", "door-1", source="attendance-system")

    assert notices(org.nurse.user, PRAISE_TITLE) == []
