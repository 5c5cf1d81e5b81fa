"""Feedback routing to a functional department of the group (issue 21), through the REST API.

A department of the group's own (outside every clinic: HR, operations) often has no head
nurse or department head. Routing accepts it when someone holds group HR (else clinic HR)
at that unit: they acknowledge and resolve the feedback. A clinic's unit without a head is
still refused, and the scope rule stays: the subject's clinic or the group's own units.
"""

import pytest

from hr.models import FeedbackTicket, OrgUnit, RoleAssignment
from tests.factories import EmployeeFactory, OrgUnitFactory, RoleAssignmentFactory
from tests.processes.conftest import api, deploy_shipped, open_tasks
from tests.processes.test_feedback import (
    ACKNOWLEDGE,
    CLINIC_TRIAGE,
    FRIDAY,
    RESOLVE,
    TRIAGE,
    instance_of,
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
