"""Feedback (issue 21), through the REST API: routing to a functional department of the
group, and the handler's question to the sender.

A department of the group's own (outside every clinic: HR, operations) often has no head
nurse or department head. Routing accepts it when someone holds group HR (else clinic HR)
at that unit: they acknowledge and resolve the feedback. A clinic's unit without a head is
still refused, and the scope rule stays: the subject's clinic or the group's own units.

The handler's resolution task may ask the sender a question (outcome ask_sender); the receipt
answer shows it while the process waits, and the sender answers with POST
/api/v1/feedback/reply (message feedback_reply); without an answer in 7 days the task comes
back.
"""

import pytest
from rest_framework.test import APIClient

from hr.models import FeedbackTicket, OrgUnit, RoleAssignment
from tests.factories import EmployeeFactory, OrgUnitFactory, RoleAssignmentFactory
from tests.processes.conftest import api, deploy_shipped, open_tasks
from tests.processes.test_feedback import (
    ACKNOWLEDGE,
    CLINIC_TRIAGE,
    FRIDAY,
    RESOLVE,
    TRIAGE,
    acknowledge,
    instance_of,
    resolve,
    route,
    status_by_receipt,
    submitted,
    task_of,
    work,
)

pytestmark = pytest.mark.django_db
Role = RoleAssignment.Role


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(FRIDAY, tick=False)
    return time_machine


@pytest.fixture
def feedback_closure(org, clock):
    return deploy_shipped("feedback_closure.bpmn")


def group_department(org, code: str, *holders: str):
    unit = OrgUnitFactory(code=code, kind=OrgUnit.Kind.DEPARTMENT, parent=org.group)
    people = []
    for role in holders:
        person = EmployeeFactory(org_unit=unit)
        RoleAssignmentFactory(user=person.user, role=role, org_unit=unit)
        people.append(person)
    return unit, people


def routing_problem(user, instance) -> dict:
    task = task_of(user, instance, TRIAGE)
    return api(user).get(f"/api/v1/tasks/{task['id']}").json()["form"]["data"]["routing"]


def test_feedback_routed_to_group_hr_department_without_a_head_goes_to_its_group_hr(
    org, feedback_closure
):
    unit, (hr_officer,) = group_department(org, "hq-hr", Role.GROUP_HR)
    receipt = submitted(org.nurse.user, text="年假规则不清楚", is_anonymous=True)
    instance = instance_of(receipt)

    route(org, instance, department="hq-hr", category="benefits")

    ack = task_of(hr_officer.user, instance, ACKNOWLEDGE)
    assert (ack["candidate_role"], ack["candidate_org_unit"]) == (Role.GROUP_HR, "hq-hr")
    work(hr_officer.user, instance, ACKNOWLEDGE, {"acknowledged": True})
    work(hr_officer.user, instance, RESOLVE, {"outcome": "resolved", "resolution": "已发布说明"})
    assert FeedbackTicket.objects.get().department == unit
    assert status_by_receipt(receipt["receipt_code"])["outcome"] == "已发布说明"
    # group HR of the group unit itself is not offered a task of hq-hr
    assert [t for t in open_tasks(api(org.group_hr.user)) if t["instance"] == instance.pk] == []


def test_feedback_routed_to_an_operations_department_with_only_clinic_hr_goes_to_them(
    org, feedback_closure
):
    _, (coordinator,) = group_department(org, "hq-ops", Role.CLINIC_HR)
    instance = instance_of(submitted(org.nurse.user, text="排班系统太慢", is_anonymous=True))

    route(org, instance, department="hq-ops", category="workload")

    ack = task_of(coordinator.user, instance, ACKNOWLEDGE)
    assert (ack["candidate_role"], ack["candidate_org_unit"]) == (Role.CLINIC_HR, "hq-ops")


def test_the_group_unit_itself_without_a_head_goes_to_its_group_hr(org, feedback_closure):
    instance = instance_of(submitted(org.nurse.user, text="集团制度建议", is_anonymous=True))

    route(org, instance, department="hq", category="other")

    ack = task_of(org.group_hr.user, instance, ACKNOWLEDGE)
    assert (ack["candidate_role"], ack["candidate_org_unit"]) == (Role.GROUP_HR, "hq")


def test_a_group_department_with_a_head_still_goes_to_the_head(org, feedback_closure):
    _, (head, hr_officer) = group_department(org, "hq-it", Role.SUPERVISOR, Role.GROUP_HR)
    instance = instance_of(submitted(org.nurse.user, text="电脑太旧", is_anonymous=True))

    route(org, instance, department="hq-it", category="other")

    ack = task_of(head.user, instance, ACKNOWLEDGE)
    assert (ack["candidate_role"], ack["candidate_org_unit"]) == (Role.SUPERVISOR, "hq-it")
    assert [t for t in open_tasks(api(hr_officer.user)) if t["instance"] == instance.pk] == []


def test_a_group_department_with_nobody_in_hr_or_at_its_head_is_refused(org, feedback_closure):
    group_department(org, "hq-legal")
    instance = instance_of(submitted(org.nurse.user, text="合同条款疑问", is_anonymous=True))

    route(org, instance, department="hq-legal", category="other")

    problem = routing_problem(org.group_hr.user, instance)
    assert problem["is_routed"] is False
    assert problem["problem"].startswith("Nobody is head of Hq-Legal (hq-legal)")
    assert FeedbackTicket.objects.get().department is None


def test_a_clinic_department_without_a_head_is_refused_even_with_clinic_hr_there(
    org, feedback_closure
):
    pharmacy = OrgUnitFactory(code="east-pharmacy", parent=org.east)
    clerk = EmployeeFactory(org_unit=pharmacy)
    RoleAssignmentFactory(user=clerk.user, role=Role.CLINIC_HR, org_unit=pharmacy)
    instance = instance_of(submitted(org.nurse.user, text="药房排队太久", is_anonymous=True))

    route(org, instance, department="east-pharmacy", category="workload")

    assert routing_problem(org.group_hr.user, instance)["is_routed"] is False
    assert [t for t in open_tasks(api(clerk.user)) if t["instance"] == instance.pk] == []


def test_feedback_about_a_clinic_may_go_to_a_group_department_not_to_another_clinic(
    org, feedback_closure
):
    _, (hr_officer,) = group_department(org, "hq-hr", Role.GROUP_HR)
    west_pharmacy = OrgUnitFactory(code="west-pharmacy", parent=org.west)
    RoleAssignmentFactory(role=Role.CLINIC_HR, org_unit=west_pharmacy)
    instance = instance_of(
        submitted(org.nurse.user, text="东城排班问题", is_anonymous=True, clinic="east")
    )

    east_hr = org.east_hr.user
    work(east_hr, instance, CLINIC_TRIAGE, {"category": "workload", "department": "west-pharmacy"})
    task = task_of(east_hr, instance, CLINIC_TRIAGE)
    problem = api(east_hr).get(f"/api/v1/tasks/{task['id']}").json()["form"]
    work(east_hr, instance, CLINIC_TRIAGE, {"category": "workload", "department": "hq-hr"})

    assert problem["data"]["routing"]["is_routed"] is False
    assert "outside" in problem["data"]["routing"]["problem"]
    assert task_of(hr_officer.user, instance, ACKNOWLEDGE)["candidate_org_unit"] == "hq-hr"


# --- the handler asks the sender a question --------------------------------------------------

QUESTION = "是哪一个班次的加班？"
WAIT = "Wait for the sender's answer 等待提交人答复"


def reply(code: str, text: str):
    return APIClient().post(
        "/api/v1/feedback/reply", {"receipt_code": code, "text": text}, format="json"
    )


def ask(org, instance, question=QUESTION):
    acknowledge(org, instance)
    resolve(org, instance, outcome="ask_sender", question=question)


def resolve_form(org, instance) -> dict:
    task = task_of(org.head_nurse.user, instance, RESOLVE)
    return api(org.head_nurse.user).get(f"/api/v1/tasks/{task['id']}").json()["form"]["data"]


def test_an_anonymous_sender_reads_the_question_and_answers_it(org, feedback_closure):
    receipt = submitted(org.nurse.user, text="上个月加班太多了", is_anonymous=True)
    instance = instance_of(receipt)
    route(org, instance)
    ask(org, instance)

    before = status_by_receipt(receipt["receipt_code"])
    response = reply(receipt["receipt_code"], "  夜班，连续三周  ")

    assert (before["status"], before["question"]) == ("in_progress", QUESTION)
    assert response.status_code == 200, response.content
    assert response.json()["question"] is None
    assert resolve_form(org, instance)["sender_reply"] == {"text": "夜班，连续三周"}
    assert [t["name"] for t in open_tasks(api(org.head_nurse.user))] == [RESOLVE]
    replied = instance.events.get(kind="message_correlated")
    assert replied.actor_id is None
    resolve(org, instance, outcome="resolved", resolution="已调整夜班排班")
    assert status_by_receipt(receipt["receipt_code"])["outcome"] == "已调整夜班排班"


def test_the_handler_may_go_on_without_an_answer_and_a_late_answer_gets_409(org, feedback_closure):
    receipt = submitted(org.nurse.user, text="上个月加班太多了", is_anonymous=True)
    instance = instance_of(receipt)
    route(org, instance)
    ask(org, instance)

    work(org.head_nurse.user, instance, WAIT, {"go_on_without_answer": True})

    assert task_of(org.head_nurse.user, instance, RESOLVE)
    assert status_by_receipt(receipt["receipt_code"])["question"] is None
    assert reply(receipt["receipt_code"], "太晚了").status_code == 409


def test_no_question_no_reply_409_and_a_wrong_code_404(org, feedback_closure):
    receipt = submitted(org.nurse.user, text="上个月加班太多了", is_anonymous=True)
    instance_of(receipt)

    assert status_by_receipt(receipt["receipt_code"])["question"] is None
    assert reply(receipt["receipt_code"], "你好").status_code == 409
    assert reply("FB-2222-2222-2222", "你好").status_code == 404


def test_a_blank_reply_is_refused_naming_the_text(org, feedback_closure):
    receipt = submitted(org.nurse.user, text="上个月加班太多了", is_anonymous=True)
    instance = instance_of(receipt)
    route(org, instance)
    ask(org, instance)

    response = reply(receipt["receipt_code"], "   ")

    assert response.status_code == 400
    assert "text" in response.content.decode()
    assert status_by_receipt(receipt["receipt_code"])["question"] == QUESTION


def test_asking_without_a_question_is_refused_naming_the_question(org, feedback_closure):
    instance = instance_of(submitted(org.nurse.user, text="加班多", is_anonymous=True))
    route(org, instance)
    acknowledge(org, instance)
    task = task_of(org.head_nurse.user, instance, RESOLVE)

    response = api(org.head_nurse.user).post(
        f"/api/v1/tasks/{task['id']}/complete", {"data": {"outcome": "ask_sender"}}, format="json"
    )

    assert response.status_code == 400
    assert "question" in response.content.decode()


def test_post_on_the_receipt_code_in_the_path_is_still_gone(org, feedback_closure):
    receipt = submitted(org.nurse.user, text="加班多", is_anonymous=True)

    response = APIClient().post(f"/api/v1/feedback/{receipt['receipt_code']}", {}, format="json")

    assert response.status_code == 410


@pytest.fixture
def three_per_minute(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "feedback_receipt": "3/min",
        },
    }


def test_replies_count_with_lookups_3_per_minute_then_429(org, feedback_closure, three_per_minute):
    receipt = submitted(org.nurse.user, text="上个月加班太多了", is_anonymous=True)
    instance = instance_of(receipt)
    route(org, instance)
    ask(org, instance)
    client = APIClient(REMOTE_ADDR="203.0.113.9")
    code = receipt["receipt_code"]

    guesses = [
        client.post(
            "/api/v1/feedback/reply",
            {"receipt_code": f"FB-2222-3333-444{n}", "text": "x"},
            format="json",
        )
        for n in range(2)
    ]
    lookup = client.post("/api/v1/feedback/receipt", {"receipt_code": code}, format="json")
    fourth = client.post(
        "/api/v1/feedback/reply", {"receipt_code": code, "text": "夜班"}, format="json"
    )

    assert [g.status_code for g in guesses] + [lookup.status_code] == [404, 404, 200]
    assert fourth.status_code == 429
    assert task_of(org.head_nurse.user, instance, WAIT)
