"""A lane never resolves to the subject for a task that judges the subject: it goes one level
up (issue 16 [trust], issue 21 [rules]).

The defect, through the API: a head nurse with no manager on record, the only supervisor of
her ward, asked for leave; the Supervisor lane offered the approval to the supervisors of her
ward, that is to her alone. She saw her own approval in her inbox and was notified of it, the
services refused her (four-eyes rule), and nobody else could take it: the request waited for
ever. Her own PIP was drafted and reviewed by the same lane, so by herself.

The rule (workflows/assignment.py, `resolve`): a lane other than Employee / Initiator whose
candidates would be the subject alone goes to the first level above with someone else: the
subject's manager, the supervisors of the units above up to the clinic, clinic HR of her
clinic, group HR. A role she shares with others stays theirs, but the task is neither listed
in her inbox nor announced to her."""

import datetime as dt

import pytest

from hr.models import Employee, RoleAssignment
from hr.seed import performance as performance_seed
from tests.api.conftest import client_for
from tests.conftest import shipped_bundle
from tests.factories import EmployeeFactory, RoleAssignmentFactory, UserFactory
from workflows import assignment, services
from workflows.models import HumanTask, Notification, ProcessInstance, WorkflowEvent

pytestmark = pytest.mark.django_db

Role = RoleAssignment.Role
APPROVE = {"data": {"decision": "approve"}}
NOW = dt.datetime(2026, 11, 10, 9, 0, tzinfo=dt.UTC)
FAIL = {"service_attitude": 50, "nursing_quality": 60, "discipline": 55}  # 55.50
GOALS = {
    "goals": [{"goal": "No medication errors", "measure": "Zero errors reported per month"}],
    "support": "Weekly coaching",
    "plan_days": 60,
}


def start_leave(user, days: int = 2) -> ProcessInstance:
    response = client_for(user).post(
        "/api/v1/instances/start",
        {"process": "leave_request", "data": {"leave_type": "annual", "days": days}},
        format="json",
    )
    assert response.status_code == 201, response.content
    return ProcessInstance.objects.get(pk=response.json()["id"])


def open_task(instance: ProcessInstance, element_id: str) -> HumanTask:
    return instance.tasks.get(element_id=element_id, status=HumanTask.Status.OPEN)


def inbox_ids(user) -> list[int]:
    response = client_for(user).get("/api/v1/tasks")
    assert response.status_code == 200, response.content
    return [t["id"] for t in response.json()["results"]]


def notified(task: HumanTask) -> list[str]:
    return sorted(
        Notification.objects.filter(human_task=task).values_list("recipient__username", flat=True)
    )


def candidates(task: HumanTask) -> tuple:
    task.refresh_from_db()
    return (
        task.candidate_user.username if task.candidate_user else None,
        task.candidate_role,
        task.candidate_org_unit.code if task.candidate_org_unit else None,
    )


def complete(user, task: HumanTask, data: dict) -> int:
    return (
        client_for(user)
        .post(f"/api/v1/tasks/{task.pk}/complete", {"data": data}, format="json")
        .status_code
    )


@pytest.fixture
def clinic_director(org):
    """A supervisor of the east clinic itself, the level above its wards."""
    director = EmployeeFactory(user__username="east_director", org_unit=org.east)
    RoleAssignmentFactory(user=director.user, role=Role.SUPERVISOR, org_unit=org.east)
    return director.user


@pytest.fixture
def deputy_head_nurse(org):
    deputy = EmployeeFactory(user__username="deputy_head_nurse", org_unit=org.east_nursing)
    RoleAssignmentFactory(user=deputy.user, role=Role.SUPERVISOR, org_unit=org.east_nursing)
    return deputy.user


# --- (a) her own leave goes one level up ---------------------------------------------------


def test_a_head_nurse_without_a_manager_has_her_leave_approved_by_clinic_hr(
    org, personas, leave_request
):
    # Given a head nurse with no manager on record, the only supervisor of her ward
    assert org.head_nurse.manager is None

    # When she asks for 2 days of leave through the API
    instance = start_leave(personas.supervisor)
    review = open_task(instance, "review_by_supervisor")

    # Then the approval goes one level up, to HR of her clinic (no supervisor above the
    # ward); she neither sees it in her inbox nor is told of it; clinic HR approves it
    assert candidates(review) == (None, "clinic_hr", "east")
    assert review.pk not in inbox_ids(personas.supervisor)
    assert review.pk in inbox_ids(personas.clinic_hr)
    assert notified(review) == ["east_hr"]
    created = instance.events.get(kind=WorkflowEvent.Kind.TASK_CREATED, task_id=review.task_id)
    assert created.data["escalated"] == (
        "Supervisor (护士长/科室主任) would be the subject alone (supervisor of east-nursing);"
        " one level up"
    )
    assert complete(personas.clinic_hr, review, APPROVE["data"]) == 200
    review.refresh_from_db()
    assert (review.status, review.completed_by) == ("completed", personas.clinic_hr)


def test_a_head_nurse_without_a_manager_has_her_leave_approved_by_the_clinic_director(
    org, personas, leave_request, clinic_director
):
    # Given a head nurse with no manager on record, and a supervisor of the clinic above her
    # ward
    # When she asks for leave
    instance = start_leave(personas.supervisor)
    review = open_task(instance, "review_by_supervisor")

    # Then the supervisor of the unit above approves it, not she
    assert candidates(review) == (None, "supervisor", "east")
    assert review.pk not in inbox_ids(personas.supervisor)
    assert notified(review) == ["east_director"]
    assert complete(personas.supervisor, review, APPROVE["data"]) == 403
    assert complete(clinic_director, review, APPROVE["data"]) == 200


def test_a_head_nurse_recorded_as_her_own_manager_has_her_leave_approved_by_her_manager(
    org, personas, leave_request
):
    # Given a head nurse recorded as her own manager (the manager chain is head nurse ->
    # head nurse), and a clinic director not yet recorded as her manager
    director = EmployeeFactory(user__username="east_director", org_unit=org.east)
    Employee.objects.filter(pk=org.head_nurse.pk).update(manager=org.head_nurse)
    org.head_nurse.refresh_from_db()

    # When she asks for leave, the lane would name herself
    instance = start_leave(personas.supervisor)
    review = open_task(instance, "review_by_supervisor")

    # Then, with no one else on the manager chain, it goes past the ward to clinic HR; once
    # the director is recorded as her manager, her next request goes to the director
    assert candidates(review) == (None, "clinic_hr", "east")
    assert notified(review) == ["east_hr"]
    org.head_nurse.manager = director
    org.head_nurse.save(update_fields=["manager"])
    second = open_task(start_leave(personas.supervisor), "review_by_supervisor")
    assert candidates(second) == ("east_director", "", None)


def test_a_shared_ward_keeps_the_task_but_hides_it_from_her(
    org, personas, leave_request, deputy_head_nurse
):
    # Given a ward with two supervisors, the head nurse and her deputy, and no manager on
    # record for the head nurse
    # When the head nurse asks for leave
    instance = start_leave(personas.supervisor)
    review = open_task(instance, "review_by_supervisor")

    # Then the ward's supervisors are offered it, but only the deputy sees and is told of it
    assert candidates(review) == (None, "supervisor", "east-nursing")
    assert review.pk not in inbox_ids(personas.supervisor)
    assert review.pk in inbox_ids(deputy_head_nurse)
    assert notified(review) == ["deputy_head_nurse"]
    assert complete(deputy_head_nurse, review, APPROVE["data"]) == 200


# --- (b) her own PIP is drafted and reviewed by someone else -------------------------------


def test_a_head_nurses_own_pip_is_drafted_and_reviewed_by_clinic_hr(org, personas, time_machine):
    # Given the appraisal system, the indicators and the PIP process
    time_machine.move_to(NOW, tick=False)
    performance_seed.seed()
    services.version_deploy(files=shipped_bundle("performance_remedial_training.bpmn"))
    services.version_deploy(files=shipped_bundle("pip.bpmn"))
    appraisal_system = personas.integration

    # When the head nurse fails two months in a row
    for period in ("2026-09", "2026-10"):
        response = client_for(appraisal_system).post(
            "/api/v1/appraisals",
            {"employee_no": org.head_nurse.employee_no, "period": period, "scores": FAIL},
            format="json",
        )
        assert response.status_code == 201, response.content
    pip = ProcessInstance.objects.get(pk=response.json()["pip_instance"])
    draft = open_task(pip, "draft_improvement_goals")

    # Then clinic HR drafts her goals, she signs her part, clinic HR countersigns, and the
    # final review is clinic HR's too; none of the judging tasks reaches her
    head_nurse = personas.supervisor
    assert pip.subject == org.head_nurse
    assert candidates(draft) == (None, "clinic_hr", "east")
    assert draft.pk not in inbox_ids(head_nurse)
    assert notified(draft) == ["east_hr"]
    assert complete(head_nurse, draft, GOALS) == 403
    assert complete(personas.clinic_hr, draft, GOALS) == 200

    sign = open_task(pip, "sign_goals_by_employee")
    assert candidates(sign) == ("head_nurse", "", None)
    assert complete(head_nurse, sign, {"employee_decision": "sign"}) == 200

    countersign = open_task(pip, "countersign_goals")
    assert candidates(countersign) == (None, "clinic_hr", "east")
    assert complete(personas.clinic_hr, countersign, {"supervisor_signed": True}) == 200

    time_machine.move_to(NOW + dt.timedelta(days=30, minutes=1))
    services.timer_fire_due()
    midpoint = open_task(pip, "check_midpoint")
    assert candidates(midpoint) == (None, "clinic_hr", "east")
    assert midpoint.pk not in inbox_ids(head_nurse)
    assert (
        complete(
            personas.clinic_hr,
            midpoint,
            {"midpoint_progress": "on_track", "midpoint_feedback": "Fine."},
        )
        == 200
    )

    time_machine.move_to(NOW + dt.timedelta(days=60, minutes=5))
    services.timer_fire_due()
    review = open_task(pip, "review_pip_result")
    assert candidates(review) == (None, "clinic_hr", "east")
    assert notified(review) == ["east_hr"]
    assert (
        complete(personas.clinic_hr, review, {"final_result": "met", "final_summary": "No errors."})
        == 200
    )
    pip.refresh_from_db()
    assert pip.status == ProcessInstance.Status.COMPLETED


# --- nobody above: an incident, not a task she alone is offered ----------------------------


def test_a_group_hr_lane_about_the_only_group_hr_is_an_incident(org):
    # Given the group's only HR person as the subject of a Group HR task
    ctx = assignment.InstanceContext(
        subject=org.group_hr, org_unit=None, started_by=org.group_hr.user, data={}
    )

    # When the lane is resolved
    # Then nobody is above them: the lane is unresolvable (an incident names it)
    with pytest.raises(assignment.LaneUnresolvable) as raised:
        assignment.resolve("Group HR", ctx)
    assert str(raised.value) == (
        f"the Group HR lane would offer a task about employee {org.group_hr.employee_no} to"
        " that employee alone, and nobody above them can take it"
    )
    second = UserFactory(username="group_hr_2")
    RoleAssignmentFactory(user=second, role=Role.GROUP_HR, org_unit=org.group)
    assert assignment.resolve("Group HR", ctx) == assignment.Candidates(
        role=Role.GROUP_HR, org_unit=org.group
    )


# --- (c) honest use ------------------------------------------------------------------------


def test_a_nurses_leave_still_goes_to_her_head_nurse(org, personas, leave_request):
    # Given a nurse whose manager is the head nurse
    # When she asks for leave
    instance = start_leave(personas.employee)
    review = open_task(instance, "review_by_supervisor")

    # Then her head nurse sees it, is told of it and approves it; the nurse does not see it
    assert candidates(review) == ("head_nurse", "", None)
    assert review.pk in inbox_ids(personas.supervisor)
    assert review.pk not in inbox_ids(personas.employee)
    assert notified(review) == ["head_nurse"]
    assert "escalated" not in (
        instance.events.get(kind=WorkflowEvent.Kind.TASK_CREATED, task_id=review.task_id).data
    )
    assert complete(personas.supervisor, review, APPROVE["data"]) == 200


@pytest.mark.parametrize(
    "lane",
    [
        "",
        "Employee",
        "Employee (员工)",
        "employee/员工",
        "员工",
        "Initiator",
        " Requester （申请人）",
        "Supervisor (护士长/科室主任)",
        "Clinic HR (门店人力资源部)",
        "Group HR",
        "Department",
        "Employees",
        "Employee HR",
    ],
)
def test_the_inbox_query_agrees_with_the_lane_rule(org, personas, leave_request, lane):
    # Given a task row of a leave request in `lane`
    review = open_task(start_leave(personas.employee), "review_by_supervisor")
    HumanTask.objects.filter(pk=review.pk).update(lane=lane)

    # When the inbox's query picks the subject's own lanes
    matched = HumanTask.objects.filter(assignment.own_lane_q(), pk=review.pk).exists()

    # Then it matches exactly the lanes `judges_subject` calls the subject's own
    assert matched is (not assignment.judges_subject(lane))
