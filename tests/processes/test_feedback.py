"""Feedback closure 心声直达 (bpmn/feedback_closure.bpmn), driven through the REST API.

Feedback is submitted through POST /api/v1/feedback (never /instances/start), classified by
clinic HR (feedback about a clinic) or group HR, routed to a department whose head
acknowledges it within 2 working days (group HR follows up otherwise) and closes it; the
outcome is read by receipt code, and named submitters are notified.
"""

import datetime as dt
import json
import logging

import pytest
from rest_framework.test import APIClient

from hr.models import CalendarDay, FeedbackTicket, RoleAssignment
from tests.factories import EmployeeFactory, RoleAssignmentFactory, UserFactory
from tests.processes.conftest import api, complete, deploy_shipped, open_tasks
from workflows import services
from workflows.models import HumanTask, Notification, ProcessInstance, Timer, WorkflowEvent

pytestmark = pytest.mark.django_db

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
# Friday 6 March 2026, 10:00 in Shanghai: 2 working days later is Tuesday 10 March, 10:00.
FRIDAY = dt.datetime(2026, 3, 6, 10, 0, tzinfo=SHANGHAI)
DEADLINE = dt.datetime(2026, 3, 10, 10, 0, tzinfo=SHANGHAI)
SECOND = dt.timedelta(seconds=1)
Role = RoleAssignment.Role

TRIAGE = "Classify and route (group HR) 分类分派（集团）"
CLINIC_TRIAGE = "Classify and route (clinic HR) 分类分派（门店）"
ACKNOWLEDGE = "Acknowledge feedback 确认受理"
RESOLVE = "Resolve feedback 处理心声"
FOLLOW_UP = "Follow up overdue acknowledgement 督办逾期受理"


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(FRIDAY, tick=False)
    return time_machine


@pytest.fixture
def feedback_closure(org, clock):
    return deploy_shipped("feedback_closure.bpmn")


def submit(user, **body):
    return api(user).post("/api/v1/feedback", body, format="json")


def submitted(user, **body) -> dict:
    response = submit(user, **body)
    assert response.status_code == 201, response.content
    return response.json()


def ticket(receipt: dict) -> FeedbackTicket:
    return FeedbackTicket.objects.get(receipt_code=receipt["receipt_code"])


def instance_of(receipt: dict) -> ProcessInstance:
    ticket_id = ticket(receipt).pk
    (instance,) = [
        i
        for i in ProcessInstance.objects.filter(definition__key="feedback_closure")
        if i.events.get(kind="instance_started").data["data"]["ticket_id"] == ticket_id
    ]
    return instance


def task_of(user, instance: ProcessInstance, name: str) -> dict:
    (task,) = [
        t for t in open_tasks(api(user)) if t["instance"] == instance.pk and t["name"] == name
    ]
    return task


def work(user, instance: ProcessInstance, name: str, data: dict) -> None:
    complete(api(user), task_of(user, instance, name)["id"], data)


def by_receipt(code: str):
    return APIClient().post("/api/v1/feedback/receipt", {"receipt_code": code}, format="json")


def status_by_receipt(code: str) -> dict:
    response = by_receipt(code)
    assert response.status_code == 200, response.content
    return response.json()


def route(org, instance, department="east-nursing", category="workload", who=None):
    work(
        who or org.group_hr.user, instance, TRIAGE, {"category": category, "department": department}
    )


def acknowledge(org, instance):
    work(org.head_nurse.user, instance, ACKNOWLEDGE, {"acknowledged": True})


def resolve(org, instance, **data):
    work(org.head_nurse.user, instance, RESOLVE, data)


# --- anonymity ---------------------------------------------------------------------------------


def values_in(value):
    """Every scalar inside a JSON-like value, with the keys of dicts."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from values_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from values_in(item)
    else:
        yield value


def test_anonymous_feedback_leaves_no_trace_of_the_submitter(org, feedback_closure, caplog):
    # Distinctive identifiers, so that finding one anywhere can only mean a leak.
    nurse = EmployeeFactory(
        user__username="zhang_li_3811",
        employee_no="EN-3811",
        name="张丽 Zhang Li",
        org_unit=org.east_nursing,
        manager=org.head_nurse,
    )
    caplog.set_level(logging.DEBUG)

    receipt = submitted(
        nurse.user, text="夜班太多，人手不足 Too many night shifts", is_anonymous=True
    )
    instance = instance_of(receipt)
    route(org, instance)
    acknowledge(org, instance)
    resolve(org, instance, outcome="resolved", resolution="Two more nurses on the night rota")

    assert receipt["instance_id"] is None
    assert ticket(receipt).submitter is None
    assert ticket(receipt).clinic is None
    instance.refresh_from_db()
    assert (instance.started_by, instance.subject, instance.org_unit) == (None, None, org.group)
    assert instance.status == "completed"
    # What the process started with: the ticket, the text, nothing about the person.
    started = instance.events.get(kind="instance_started")
    assert started.actor is None
    assert started.actor_label == ""
    assert started.data["data"] == {
        "ticket_id": ticket(receipt).pk,
        "feedback_text": "夜班太多，人手不足 Too many night shifts",
        "is_anonymous": True,
        "clinic": "",
        "submitted_category": "",
    }
    identifying = {nurse.user.get_username(), nurse.employee_no, nurse.name}
    events = WorkflowEvent.objects.filter(instance=instance)
    assert not events.filter(actor=nurse.user).exists()
    assert not events.filter(actor_label=nurse.user.get_username()).exists()
    for event in events:
        texts = [str(v) for v in values_in(event.data) if isinstance(v, str)]
        assert not [t for t in texts for who in identifying if who in t], event.kind
        people_keys = {
            k: v
            for k, v in event.data.get("data", {}).items()
            if "employee" in k or "user" in k or "submitter" in k
        }
        assert set(people_keys.values()) <= {None}, people_keys
    final = instance.events.get(kind="instance_completed").data["data"]
    assert final["subject_employee_id"] is None
    tasks = HumanTask.objects.filter(instance=instance)
    assert not tasks.filter(candidate_user=nurse.user).exists()
    assert not tasks.filter(completed_by=nurse.user).exists()
    assert not Notification.objects.filter(recipient=nurse.user).exists()
    # Nothing logged names the submitter.
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert not [who for who in identifying if who in logged]
    # The anonymous submitter cannot find the instance: it is not theirs.
    mine = api(nurse.user).get("/api/v1/instances?mine=true").json()
    assert mine["results"] == []
    assert api(nurse.user).get(f"/api/v1/instances/{instance.pk}").status_code == 404


def test_anonymous_feedback_is_followed_by_receipt_code(org, feedback_closure):
    receipt = submitted(org.nurse.user, text="希望增加专科护理培训的名额", is_anonymous=True)
    instance = instance_of(receipt)

    assert receipt["receipt_code"].startswith("FB-")
    assert status_by_receipt(receipt["receipt_code"]) == {
        "status": "received",
        "outcome": None,
        "reason": None,
        "follow_up_plan": None,
        "question": None,
    }
    assert task_of(org.group_hr.user, instance, TRIAGE)["candidate_role"] == "group_hr"
    route(org, instance, category="career_growth")
    assert status_by_receipt(receipt["receipt_code"])["status"] == "received"
    acknowledge(org, instance)
    assert status_by_receipt(receipt["receipt_code"])["status"] == "in_progress"
    resolve(org, instance, outcome="resolved", resolution="Two more places in the autumn course")

    assert status_by_receipt(receipt["receipt_code"].lower()) == {
        "status": "resolved",
        "outcome": "Two more places in the autumn course",
        "reason": None,
        "follow_up_plan": None,
        "question": None,
    }
    closed = ticket(receipt)
    assert (closed.category, closed.department.code) == ("career_growth", "east-nursing")
    assert closed.acknowledged_at == FRIDAY
    assert closed.closed_at == FRIDAY
    instance.refresh_from_db()
    assert instance.status == "completed"
    assert [e.element_id for e in instance.events.filter(kind="task_created").order_by("seq")] == [
        "triage_by_group_hr",
        "acknowledge_feedback",
        "resolve_feedback",
    ]


def test_an_unknown_receipt_code_is_not_found(org, feedback_closure):
    assert by_receipt("FB-2222-3333-4444").status_code == 404


# --- named feedback ----------------------------------------------------------------------------


def test_named_feedback_about_a_clinic_is_closed_as_not_resolved_and_the_submitter_told(
    org, feedback_closure
):
    receipt = submitted(
        org.nurse.user,
        text="护士长排班不公平，周末总是同几个人",
        is_anonymous=False,
        clinic="east",
    )
    instance = instance_of(receipt)

    assert receipt["instance_id"] == instance.pk
    assert (instance.started_by, instance.subject, instance.org_unit) == (
        org.nurse.user,
        org.nurse,
        org.east,
    )
    assert ticket(receipt).submitter == org.nurse
    triage = task_of(org.east_hr.user, instance, CLINIC_TRIAGE)
    assert triage["candidate_role"] == "clinic_hr"
    assert triage["candidate_org_unit"] == "east"
    form = api(org.east_hr.user).get(f"/api/v1/tasks/{triage['id']}").json()["form"]
    assert form["data"]["proposed_category"] == "workload"
    # The handler corrects the proposal: it is about how the head nurse manages the rota.
    complete(
        api(org.east_hr.user),
        triage["id"],
        {"category": "management", "department": "east-nursing", "triage_note": "请复核排班"},
    )
    acknowledge(org, instance)
    resolve(
        org,
        instance,
        outcome="not_resolved",
        reason="The weekend rota depends on next year's hiring 周末排班取决于明年招聘",
        follow_up_plan="Rotate weekends monthly from April 四月起按月轮换周末",
    )

    assert status_by_receipt(receipt["receipt_code"]) == {
        "status": "not_resolved",
        "outcome": None,
        "reason": "The weekend rota depends on next year's hiring 周末排班取决于明年招聘",
        "follow_up_plan": "Rotate weekends monthly from April 四月起按月轮换周末",
        "question": None,
    }
    assert ticket(receipt).category == "management"
    (note,) = Notification.objects.filter(recipient=org.nurse.user, kind="message")
    assert note.title == "心声已回复 / Your feedback was answered"
    assert (
        "未解决 Not resolved: The weekend rota depends on next year's hiring "
        "周末排班取决于明年招聘\n"
        "后续计划 Follow-up plan: Rotate weekends monthly from April 四月起按月轮换周末"
    ) in note.body
    mine = api(org.nurse.user).get("/api/v1/instances?mine=true").json()["results"]
    assert [(i["id"], i["status"]) for i in mine] == [(instance.pk, "completed")]
    # Other clinics' HR do not see it.
    assert api(org.west_hr.user).get(f"/api/v1/instances/{instance.pk}").status_code == 404


def test_not_resolved_needs_the_reason_and_the_follow_up_plan(org, feedback_closure):
    receipt = submitted(org.nurse.user, text="食堂饭菜太贵", is_anonymous=True)
    instance = instance_of(receipt)
    route(org, instance, category="benefits")
    acknowledge(org, instance)
    task_id = task_of(org.head_nurse.user, instance, RESOLVE)["id"]

    response = api(org.head_nurse.user).post(
        f"/api/v1/tasks/{task_id}/complete", {"data": {"outcome": "not_resolved"}}, format="json"
    )
    resolved_without_text = api(org.head_nurse.user).post(
        f"/api/v1/tasks/{task_id}/complete", {"data": {"outcome": "resolved"}}, format="json"
    )

    assert response.status_code == 400
    assert {(e["field"], e["message"]) for e in response.json()["errors"]} == {
        ("follow_up_plan", "this field is required"),
        ("reason", "this field is required"),
    }
    assert resolved_without_text.status_code == 400
    assert resolved_without_text.json()["errors"] == [
        {"field": "resolution", "message": "this field is required"}
    ]
    assert ticket(receipt).status == "in_progress"


# --- classification and routing ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "category", "proposed"),
    [
        ("什么时候能晋升主管护师？", "", "career_growth"),
        ("Is there a promotion path for technicians?", "", "career_growth"),
        ("体检套餐能不能加胃镜", "", "benefits"),
        ("Our bonus came late again", "", "benefits"),
        ("上个月加班太多了", "", "workload"),
        ("Too much OVERTIME this month", "", "workload"),
        ("科室主任从不听取意见", "", "management"),
        ("希望团队多一些互相尊重", "", "culture"),
        ("停车场不够用", "", "other"),
        ("停车场不够用", "benefits", "benefits"),
        # The first matching rule wins: career growth comes before benefits.
        ("晋升后工资没有调整", "", "career_growth"),
    ],
)
def test_the_keyword_rule_proposes_a_category(org, feedback_closure, text, category, proposed):
    body = {"text": text, "is_anonymous": True}
    if category:
        body["category"] = category
    instance = instance_of(submitted(org.nurse.user, **body))

    task = task_of(org.group_hr.user, instance, TRIAGE)
    form = api(org.group_hr.user).get(f"/api/v1/tasks/{task['id']}").json()["form"]
    assert form["data"]["proposed_category"] == proposed


def test_a_department_that_cannot_take_feedback_goes_back_to_the_handler(org, feedback_closure):
    instance = instance_of(submitted(org.nurse.user, text="走廊灯坏了", is_anonymous=True))

    route(org, instance, department="nowhere", category="other")
    first = task_of(org.group_hr.user, instance, TRIAGE)
    first_problem = api(org.group_hr.user).get(f"/api/v1/tasks/{first['id']}").json()["form"]
    route(org, instance, department="east", category="other")
    second = task_of(org.group_hr.user, instance, TRIAGE)
    second_problem = api(org.group_hr.user).get(f"/api/v1/tasks/{second['id']}").json()["form"]
    route(org, instance, department="east-nursing", category="other")

    assert first_problem["data"]["routing"] == {
        "is_routed": False,
        "problem": "There is no department with the code 'nowhere'. 没有代码为“nowhere”的科室。",
    }
    assert second_problem["data"]["routing"]["problem"].startswith("Nobody is head of")
    assert task_of(org.head_nurse.user, instance, ACKNOWLEDGE)["candidate_org_unit"] == (
        "east-nursing"
    )
    assert FeedbackTicket.objects.get().department == org.east_nursing


# --- the 2-working-day acknowledgement ---------------------------------------------------------


def test_no_acknowledgement_in_two_working_days_escalates_to_group_hr(org, feedback_closure, clock):
    instance = instance_of(submitted(org.nurse.user, text="更衣室太挤", is_anonymous=True))
    route(org, instance, category="culture")
    (deadline,) = Timer.objects.filter(instance=instance, element_id="acknowledgement_overdue")
    assert deadline.due_at == DEADLINE

    # Over the weekend and on Monday nothing happens; nor at the deadline itself.
    for moment in (
        dt.datetime(2026, 3, 9, 23, 59, tzinfo=SHANGHAI),
        DEADLINE,
    ):
        clock.move_to(moment, tick=False)
        services.timer_fire_due()
        assert open_tasks(api(org.group_hr.user)) == []
    clock.move_to(DEADLINE + SECOND, tick=False)
    services.timer_fire_due()

    follow_up = task_of(org.group_hr.user, instance, FOLLOW_UP)
    assert follow_up["candidate_role"] == "group_hr"
    # The department's task stays open, and its head is reminded.
    assert task_of(org.head_nurse.user, instance, ACKNOWLEDGE)["status"] == "open"
    assert Notification.objects.filter(
        recipient=org.head_nurse.user, kind=Notification.Kind.TASK_REMINDER
    ).exists()
    complete(
        api(org.group_hr.user),
        follow_up["id"],
        {"follow_up_note": "Called the head nurse 已电话督办"},
    )
    acknowledge(org, instance)
    resolve(org, instance, outcome="resolved", resolution="Second changing room opened")

    instance.refresh_from_db()
    assert instance.status == "completed"
    assert (
        instance.events.filter(kind="timer_fired", element_id="acknowledgement_overdue").count()
        == 1
    )


def test_a_public_holiday_moves_the_acknowledgement_deadline(org, feedback_closure, clock):
    # Monday 9 March is a holiday in this calendar: Friday 10:00 + 2 working days is
    # Wednesday 11 March 10:00, not Tuesday.
    CalendarDay.objects.create(
        calendar_date=dt.date(2026, 3, 9), kind=CalendarDay.Kind.HOLIDAY, name="a holiday"
    )
    instance = instance_of(submitted(org.nurse.user, text="更衣室太挤", is_anonymous=True))
    route(org, instance, category="culture")
    (deadline,) = Timer.objects.filter(instance=instance, element_id="acknowledgement_overdue")
    wednesday = dt.datetime(2026, 3, 11, 10, 0, tzinfo=SHANGHAI)
    assert deadline.due_at == wednesday

    clock.move_to(DEADLINE + SECOND, tick=False)
    services.timer_fire_due()
    assert open_tasks(api(org.group_hr.user)) == []
    clock.move_to(wednesday + SECOND, tick=False)
    services.timer_fire_due()
    assert task_of(org.group_hr.user, instance, FOLLOW_UP)["candidate_role"] == "group_hr"


def test_acknowledging_in_time_cancels_the_escalation(org, feedback_closure, clock):
    instance = instance_of(submitted(org.nurse.user, text="更衣室太挤", is_anonymous=True))
    route(org, instance, category="culture")
    clock.move_to(dt.datetime(2026, 3, 10, 9, 59, tzinfo=SHANGHAI), tick=False)
    acknowledge(org, instance)

    clock.move_to(DEADLINE + dt.timedelta(days=7), tick=False)
    services.timer_fire_due()

    assert open_tasks(api(org.group_hr.user)) == []
    assert Timer.objects.get(element_id="acknowledgement_overdue").status == "cancelled"
    assert FeedbackTicket.objects.get().acknowledged_at == dt.datetime(
        2026, 3, 10, 9, 59, tzinfo=SHANGHAI
    )


def test_a_late_triage_escalates_as_soon_as_the_department_has_it(org, feedback_closure, clock):
    instance = instance_of(submitted(org.nurse.user, text="更衣室太挤", is_anonymous=True))
    clock.move_to(DEADLINE + dt.timedelta(hours=1), tick=False)
    route(org, instance, category="culture")

    services.timer_fire_due()

    assert task_of(org.group_hr.user, instance, FOLLOW_UP)["name"] == FOLLOW_UP


# --- who may submit and start --------------------------------------------------------------------


def test_nobody_can_start_feedback_through_the_generic_start(org, feedback_closure):
    owner = UserFactory(username="owner")
    RoleAssignmentFactory(user=owner, role=Role.PROCESS_OWNER, org_unit=org.group)
    auditor = UserFactory(username="auditor")
    RoleAssignmentFactory(user=auditor, role=Role.AUDITOR, org_unit=org.group)
    data = {
        "ticket_id": 1,
        "feedback_text": "x",
        "is_anonymous": True,
        "clinic": "",
        "submitted_category": "",
    }
    people = [
        org.nurse.user,
        org.head_nurse.user,
        org.east_hr.user,
        org.west_hr.user,
        org.group_hr.user,
        owner,
        auditor,
    ]

    statuses = [
        api(user)
        .post(
            "/api/v1/instances/start",
            {"process": "feedback_closure", "data": data},
            format="json",
        )
        .status_code
        for user in people
    ]
    about_the_nurse = api(org.group_hr.user).post(
        "/api/v1/instances/start",
        {"process": "feedback_closure", "subject": org.nurse.employee_no, "data": data},
        format="json",
    )

    assert statuses == [403, 403, 403, 403, 403, 403, 403]
    assert about_the_nurse.status_code == 403
    assert ProcessInstance.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"text": "   ", "is_anonymous": True}, 400, "text"),
        ({"text": "x", "is_anonymous": True, "clinic": "nowhere"}, 400, "clinic"),
        ({"text": "x", "is_anonymous": True, "clinic": "east-nursing"}, 400, "clinic"),
        ({"text": "x", "is_anonymous": True, "category": "salary"}, 400, "category"),
        ({"text": "x"}, 400, "is_anonymous"),
        ({"text": "x", "is_anonymous": True, "submitter": "nurse"}, 400, "submitter"),
    ],
)
def test_a_submission_that_breaks_the_rules_is_refused(org, feedback_closure, body, status, field):
    response = submit(org.nurse.user, **body)

    assert response.status_code == status
    assert field in {e["field"] for e in response.json()["errors"]}
    assert FeedbackTicket.objects.count() == 0


def test_named_feedback_needs_an_employee_record(org, feedback_closure, operator_user):
    response = submit(operator_user, text="x", is_anonymous=False)

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "is_anonymous", "message": "named feedback needs an employee record"}
    ]


def test_submitting_needs_a_signed_in_user(org, feedback_closure):
    response = APIClient().post(
        "/api/v1/feedback", {"text": "x", "is_anonymous": True}, format="json"
    )

    assert response.status_code == 401
    assert json.loads(response.content)["detail"]
