"""Delegation and claims reach only people who could work the task, and the four-eyes rule
holds through them (issue 16, item 1).

The attacks, through the API as the roles that tried them: a head nurse handed the approval
of a nurse's own leave to that nurse, who approved it; a task was handed to the process owner,
who then read the instance's history. A task in any lane but Employee / Initiator decides
about the instance's subject, so the subject never works it, by claim, delegation or
completion; a task is handed only to one of its candidates or a holder of its lane's role in
scope (another supervisor of the subject's unit, another HR of the clinic)."""

import pytest

from tests.api.conftest import client_for
from tests.factories import EmployeeFactory, RoleAssignmentFactory
from workflows.models import HumanTask, ProcessInstance, WorkflowEvent

pytestmark = pytest.mark.django_db

APPROVE = {"data": {"decision": "approve"}}
HR_APPROVE = {"data": {"hr_decision": "approve"}}


def start_leave(user, days: int) -> ProcessInstance:
    """`user` asks for `days` of annual leave about themself (2 days: the supervisor decides;
    5 days: clinic HR reviews too)."""
    response = client_for(user).post(
        "/api/v1/instances/start",
        {"process": "leave_request", "data": {"leave_type": "annual", "days": days}},
        format="json",
    )
    assert response.status_code == 201, response.content
    return ProcessInstance.objects.get(pk=response.json()["id"])


def open_task(instance: ProcessInstance, element_id: str) -> HumanTask:
    return instance.tasks.get(element_id=element_id, status=HumanTask.Status.OPEN)


def delegations(instance: ProcessInstance) -> int:
    return instance.events.filter(kind=WorkflowEvent.Kind.TASK_DELEGATED).count()


@pytest.fixture
def deputy_head_nurse(org):
    """A second supervisor of the nurse's ward, who may stand in for the head nurse."""
    deputy = EmployeeFactory(user__username="deputy_head_nurse", org_unit=org.east_nursing)
    RoleAssignmentFactory(user=deputy.user, role="supervisor", org_unit=org.east_nursing)
    return deputy.user


@pytest.fixture
def east_hr_colleague(org):
    """A second HR of the east clinic."""
    colleague = EmployeeFactory(user__username="east_hr_2", org_unit=org.east)
    RoleAssignmentFactory(user=colleague.user, role="clinic_hr", org_unit=org.east)
    return colleague.user


# --- the attacks ----------------------------------------------------------------------------


def test_a_head_nurse_may_not_hand_a_nurses_leave_approval_to_that_nurse(
    org, personas, leave_request
):
    # Given the nurse's 2-day leave waiting at the head nurse's review
    instance = start_leave(personas.employee, days=2)
    review = open_task(instance, "review_by_supervisor")

    # When the head nurse hands it to the nurse, and the nurse tries to approve it
    delegated = client_for(personas.supervisor).post(
        f"/api/v1/tasks/{review.pk}/delegate", {"to_user": "nurse"}, format="json"
    )
    approved = client_for(personas.employee).post(
        f"/api/v1/tasks/{review.pk}/complete", APPROVE, format="json"
    )

    # Then both are refused under the four-eyes rule and nothing changed
    review.refresh_from_db()
    assert delegated.status_code == 403
    assert "four-eyes" in delegated.json()["detail"]
    assert approved.status_code == 403
    assert (review.status, review.assignee_id, review.completed_by_id) == ("open", None, None)
    assert delegations(instance) == 0


def test_a_task_may_not_be_handed_to_the_process_owner_who_then_cannot_read_the_history(
    org, personas, leave_request
):
    # Given the nurse's leave waiting at the head nurse's review
    instance = start_leave(personas.employee, days=2)
    review = open_task(instance, "review_by_supervisor")
    events_before = instance.events.count()

    # When the head nurse hands it to the process owner, who then reads the instance
    delegated = client_for(personas.supervisor).post(
        f"/api/v1/tasks/{review.pk}/delegate", {"to_user": "owner"}, format="json"
    )
    owner = client_for(personas.process_owner)
    history = owner.get(f"/api/v1/instances/{instance.pk}/history")
    task = owner.get(f"/api/v1/tasks/{review.pk}")
    completed = owner.post(f"/api/v1/tasks/{review.pk}/complete", APPROVE, format="json")

    # Then the delegation is refused, and the owner sees neither the history nor the task
    review.refresh_from_db()
    assert delegated.status_code == 403
    assert delegated.json()["detail"] == (
        f"task {review.pk} cannot be delegated to 'owner': they are not among those who"
        " could work it"
    )
    assert (history.status_code, task.status_code, completed.status_code) == (404, 404, 404)
    assert review.assignee_id is None
    assert instance.events.count() == events_before


def test_a_clinic_hr_task_may_not_be_handed_to_group_hr(org, personas, leave_request):
    # Given the nurse's 5-day leave waiting at clinic HR's review
    instance = start_leave(personas.employee, days=5)
    review = open_task(instance, "review_by_clinic_hr")

    # When clinic HR hands it to group HR (a role the lane does not offer it to)
    delegated = client_for(personas.clinic_hr).post(
        f"/api/v1/tasks/{review.pk}/delegate", {"to_user": "group_hr"}, format="json"
    )

    # Then it is refused and the task is still clinic HR's
    review.refresh_from_db()
    assert delegated.status_code == 403
    assert review.assignee_id is None
    assert delegations(instance) == 0


# --- the subject never works a task about themself ------------------------------------------


def test_a_head_nurse_without_a_manager_may_not_claim_or_approve_their_own_leave(
    org, personas, leave_request, deputy_head_nurse
):
    # Given the head nurse's own leave: with no manager, the Supervisor lane offers the review
    # to the supervisors of their ward, themself among them
    instance = start_leave(personas.supervisor, days=2)
    review = open_task(instance, "review_by_supervisor")
    head_nurse = client_for(personas.supervisor)

    # When the head nurse claims it, completes it, and hands it to a colleague
    claimed = head_nurse.post(f"/api/v1/tasks/{review.pk}/claim", format="json")
    approved = head_nurse.post(f"/api/v1/tasks/{review.pk}/complete", APPROVE, format="json")
    handed = head_nurse.post(
        f"/api/v1/tasks/{review.pk}/delegate", {"to_user": "deputy_head_nurse"}, format="json"
    )

    # Then all three are refused under the four-eyes rule, and the deputy approves it
    review.refresh_from_db()
    assert [r.status_code for r in (claimed, approved, handed)] == [403, 403, 403]
    assert all("four-eyes" in r.json()["detail"] for r in (claimed, approved, handed))
    assert (review.status, review.assignee_id) == ("open", None)
    assert instance.events.filter(kind=WorkflowEvent.Kind.TASK_CLAIMED).count() == 0
    deputy = client_for(deputy_head_nurse)
    assert (
        deputy.post(f"/api/v1/tasks/{review.pk}/complete", APPROVE, format="json").status_code
        == 200
    )


def test_clinic_hr_may_not_claim_the_review_of_their_own_leave(
    org, personas, leave_request, east_hr_colleague
):
    # Given clinic HR's own 5-day leave: the clinic HR review is offered to clinic HR of east
    instance = start_leave(personas.clinic_hr, days=5)
    review = open_task(instance, "review_by_clinic_hr")

    # When they claim it
    claimed = client_for(personas.clinic_hr).post(f"/api/v1/tasks/{review.pk}/claim", format="json")

    # Then it is refused, and their colleague claims it
    review.refresh_from_db()
    assert claimed.status_code == 403
    assert "four-eyes" in claimed.json()["detail"]
    assert review.assignee_id is None
    colleague = client_for(east_hr_colleague)
    assert colleague.post(f"/api/v1/tasks/{review.pk}/claim", format="json").status_code == 200


# --- honest delegation still works ----------------------------------------------------------


def test_a_head_nurse_hands_a_review_to_another_supervisor_of_the_ward(
    org, personas, leave_request, deputy_head_nurse
):
    # Given the nurse's leave waiting at the head nurse's review
    instance = start_leave(personas.employee, days=2)
    review = open_task(instance, "review_by_supervisor")

    # When the head nurse hands it to the deputy, who approves it
    delegated = client_for(personas.supervisor).post(
        f"/api/v1/tasks/{review.pk}/delegate", {"to_user": "deputy_head_nurse"}, format="json"
    )
    approved = client_for(deputy_head_nurse).post(
        f"/api/v1/tasks/{review.pk}/complete", APPROVE, format="json"
    )

    # Then the deputy held and completed it
    review.refresh_from_db()
    assert delegated.status_code == 200
    assert delegated.json()["assignee"] == "deputy_head_nurse"
    assert approved.status_code == 200
    assert (review.status, review.completed_by_id) == ("completed", deputy_head_nurse.pk)
    assert instance.events.get(kind=WorkflowEvent.Kind.TASK_DELEGATED).data == {
        "to": "deputy_head_nurse"
    }


def test_clinic_hr_hands_a_review_to_a_colleague_of_the_clinic(
    org, personas, leave_request, east_hr_colleague
):
    # Given the nurse's 5-day leave waiting at clinic HR's review
    instance = start_leave(personas.employee, days=5)
    review = open_task(instance, "review_by_clinic_hr")

    # When clinic HR hands it to their colleague, who approves it
    delegated = client_for(personas.clinic_hr).post(
        f"/api/v1/tasks/{review.pk}/delegate", {"to_user": "east_hr_2"}, format="json"
    )
    approved = client_for(east_hr_colleague).post(
        f"/api/v1/tasks/{review.pk}/complete", HR_APPROVE, format="json"
    )

    # Then the colleague held and completed it
    review.refresh_from_db()
    assert delegated.status_code == 200
    assert approved.status_code == 200
    assert (review.status, review.completed_by_id) == ("completed", east_hr_colleague.pk)


# --- who the delegate control offers --------------------------------------------------------


def test_the_delegates_of_a_review_are_the_other_supervisors_of_the_ward(
    org, personas, leave_request, deputy_head_nurse
):
    # Given the nurse's leave waiting at the head nurse's review
    instance = start_leave(personas.employee, days=2)
    review = open_task(instance, "review_by_supervisor")

    # When the head nurse, the nurse and group HR ask whom it may be handed to
    url = f"/api/v1/tasks/{review.pk}/delegates"
    for_head_nurse = client_for(personas.supervisor).get(url)
    for_nurse = client_for(personas.employee).get(url)
    for_group_hr = client_for(personas.group_hr).get(url)

    # Then the head nurse is offered the deputy only (not the nurse, nor the owner); the
    # others, who may not hand it on, are offered nobody
    assert for_head_nurse.status_code == 200
    assert [p["username"] for p in for_head_nurse.json()] == ["deputy_head_nurse"]
    assert (for_nurse.status_code, for_nurse.json()) == (200, [])
    assert (for_group_hr.status_code, for_group_hr.json()) == (200, [])


def test_the_delegates_of_a_clinic_hr_review_are_the_clinics_other_hr(
    org, personas, leave_request, east_hr_colleague
):
    instance = start_leave(personas.employee, days=5)
    review = open_task(instance, "review_by_clinic_hr")

    response = client_for(personas.clinic_hr).get(f"/api/v1/tasks/{review.pk}/delegates")

    assert response.status_code == 200
    assert response.json() == [{"username": "east_hr_2", "name": east_hr_colleague.employee.name}]


def test_the_process_owner_cannot_list_the_delegates_of_a_task_they_cannot_see(
    org, personas, leave_request
):
    instance = start_leave(personas.employee, days=2)
    review = open_task(instance, "review_by_supervisor")

    response = client_for(personas.process_owner).get(f"/api/v1/tasks/{review.pk}/delegates")

    assert response.status_code == 404


def test_a_task_held_by_someone_who_could_not_work_it_is_not_completed_by_them(
    org, personas, leave_request
):
    # Given a review handed to the process owner before delegation was checked
    instance = start_leave(personas.employee, days=2)
    review = open_task(instance, "review_by_supervisor")
    HumanTask.objects.filter(pk=review.pk).update(assignee=personas.process_owner)

    # When the owner completes it
    completed = client_for(personas.process_owner).post(
        f"/api/v1/tasks/{review.pk}/complete", APPROVE, format="json"
    )

    # Then holding it is not enough: refused, still open
    review.refresh_from_db()
    assert completed.status_code == 403
    assert completed.json()["detail"] == f"task {review.pk} is not yours to work"
    assert (review.status, review.completed_by_id) == ("open", None)
