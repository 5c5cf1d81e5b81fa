"""The shipped leave request process, driven through the services along each of its paths."""

import pytest

from tests.conftest import shipped_bundle
from workflows import selectors, services
from workflows.exceptions import InvalidInput
from workflows.models import HumanTask, ProcessInstance

# The shipped leave process's scenarios, with no plaintext of an encrypted field in its data.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_plaintext_in_process_data")]


@pytest.fixture
def leave_request(org):
    """The leave request bundle (with its called process, DMN and forms), deployed."""
    return services.version_deploy(files=shipped_bundle("leave_request.bpmn")).version


def start_leave(org, **data):
    return services.instance_start(
        process_key="leave_request", started_by=org.nurse.user, subject=org.nurse, data=data
    )


def complete(instance, element_id, user, data):
    """Complete the open task `element_id` of `instance` as `user`."""
    task = instance.tasks.get(element_id=element_id, status=HumanTask.Status.OPEN)
    return services.task_complete(human_task_id=task.pk, user=user, data=data)


def offers(instance):
    """(element id, candidate user, candidate role, candidate org unit) of each task, in order."""
    return [
        (
            t.element_id,
            t.candidate_user.get_username() if t.candidate_user else None,
            t.candidate_role,
            t.candidate_org_unit.code if t.candidate_org_unit else None,
        )
        for t in instance.tasks.select_related("candidate_user", "candidate_org_unit")
    ]


def final_data(instance):
    return instance.events.get(kind="instance_completed").data["data"]


def test_the_bundle_holds_both_processes_the_decision_and_the_forms(leave_request):
    assert sorted(leave_request.bpmn_files) == [
        "leave_acknowledgement.bpmn",
        "leave_request.bpmn",
    ]
    assert sorted(leave_request.dmn_files) == ["leave_approval_route.dmn"]
    assert sorted(leave_request.forms) == [
        "acknowledge.json",
        "care_gift_proposal.json",
        "care_gift_proposal.uischema.json",
        "care_message.json",
        "care_message.uischema.json",
        "hr_review.json",
        "hr_review.uischema.json",
        "leave_request_start.json",
        "leave_request_start.uischema.json",
        "supervisor_review.json",
        "supervisor_review.uischema.json",
    ]
    assert leave_request.number == 1


def test_short_leave_approved_by_the_supervisor(org, leave_request):
    instance = start_leave(org, leave_type="annual", days=2, reason="family visit")
    waiting_at_review = list(instance.tasks.values_list("element_id", "status"))

    complete(instance, "review_by_supervisor", org.head_nurse.user, {"decision": "approve"})
    # The decision is taken after the instance was saved and reloaded at the review.
    assert list(instance.incidents.values_list("element_id", "message")) == []
    complete(instance, "acknowledge_outcome", org.nurse.user, {"acknowledged": True})

    instance.refresh_from_db()
    assert waiting_at_review == [("review_by_supervisor", "open")]
    assert offers(instance) == [
        ("review_by_supervisor", "head_nurse", "", None),
        ("acknowledge_outcome", "nurse", "", None),
    ]
    assert list(instance.tasks.values_list("status", "completed_by__username")) == [
        ("completed", "head_nurse"),
        ("completed", "nurse"),
    ]
    assert instance.status == ProcessInstance.Status.COMPLETED
    assert instance.ended_at is not None
    data = final_data(instance)
    assert data["approved"] is True
    assert data["decided_days"] == 2
    assert data["approval_route"] == "supervisor_only"
    assert data["decision"] == "approve"
    assert data["acknowledged"] is True
    assert data["profile"]["employee_id"] == org.nurse.pk
    assert data["profile"]["employee_no"] == org.nurse.employee_no
    assert list(instance.events.values_list("kind", "element_id", "actor_label")) == [
        ("instance_started", "", "nurse"),
        ("task_created", "review_by_supervisor", ""),
        ("task_completed", "review_by_supervisor", "head_nurse"),
        ("task_created", "acknowledge_outcome", ""),
        ("task_completed", "acknowledge_outcome", "nurse"),
        ("instance_completed", "", ""),
    ]
    verification = selectors.history_verify(instance)
    assert verification.is_valid is True
    assert verification.events_checked == 6


def test_short_leave_rejected_by_the_supervisor(org, leave_request):
    instance = start_leave(org, leave_type="sick", days=2)

    complete(
        instance,
        "review_by_supervisor",
        org.head_nurse.user,
        {"decision": "reject", "comment": "ward is short-staffed"},
    )
    complete(instance, "acknowledge_outcome", org.nurse.user, {"acknowledged": True})

    instance.refresh_from_db()
    assert offers(instance) == [
        ("review_by_supervisor", "head_nurse", "", None),
        ("acknowledge_outcome", "nurse", "", None),
    ]
    assert instance.status == ProcessInstance.Status.COMPLETED
    data = final_data(instance)
    assert data["approved"] is False
    assert data["decided_days"] == 2
    assert data["approval_route"] == "supervisor_only"
    assert data["comment"] == "ward is short-staffed"
    assert data["profile"]["employee_id"] == org.nurse.pk
    assert selectors.history_verify(instance).is_valid is True


def test_family_leave_of_ten_days_takes_the_short_route(org, leave_request):
    instance = start_leave(org, leave_type="family", days=10)

    complete(instance, "review_by_supervisor", org.head_nurse.user, {"decision": "approve"})
    complete(instance, "acknowledge_outcome", org.nurse.user, {"acknowledged": True})

    instance.refresh_from_db()
    assert offers(instance) == [
        ("review_by_supervisor", "head_nurse", "", None),
        ("acknowledge_outcome", "nurse", "", None),
    ]
    assert instance.status == ProcessInstance.Status.COMPLETED
    data = final_data(instance)
    assert data["approved"] is True
    assert data["decided_days"] == 10
    assert data["approval_route"] == "supervisor_only"
    assert data["profile"]["employee_id"] == org.nurse.pk
    assert selectors.history_verify(instance).is_valid is True


def test_long_leave_approved_by_supervisor_and_clinic_hr(org, leave_request):
    instance = start_leave(org, leave_type="annual", days=5)
    waiting_at_reviews = list(instance.tasks.values_list("element_id", "status"))

    complete(instance, "review_by_supervisor_long", org.head_nurse.user, {"decision": "approve"})
    after_supervisor = list(
        instance.tasks.filter(status=HumanTask.Status.OPEN).values_list("element_id", flat=True)
    )
    complete(instance, "review_by_clinic_hr", org.east_hr.user, {"hr_decision": "approve"})
    complete(instance, "acknowledge_outcome", org.nurse.user, {"acknowledged": True})

    instance.refresh_from_db()
    assert waiting_at_reviews == [
        ("review_by_supervisor_long", "open"),
        ("review_by_clinic_hr", "open"),
    ]
    assert after_supervisor == ["review_by_clinic_hr"]
    assert offers(instance) == [
        ("review_by_supervisor_long", "head_nurse", "", None),
        ("review_by_clinic_hr", None, "clinic_hr", "east"),
        ("acknowledge_outcome", "nurse", "", None),
    ]
    assert list(instance.tasks.values_list("status", "completed_by__username")) == [
        ("completed", "head_nurse"),
        ("completed", "east_hr"),
        ("completed", "nurse"),
    ]
    assert instance.status == ProcessInstance.Status.COMPLETED
    data = final_data(instance)
    assert data["approved"] is True
    assert data["decided_days"] == 5
    assert data["approval_route"] == "supervisor_and_hr"
    assert data["decision"] == "approve"
    assert data["hr_decision"] == "approve"
    assert data["profile"]["employee_id"] == org.nurse.pk
    assert list(instance.events.values_list("kind", "element_id")) == [
        ("instance_started", ""),
        ("task_created", "review_by_supervisor_long"),
        ("task_created", "review_by_clinic_hr"),
        ("task_completed", "review_by_supervisor_long"),
        ("task_completed", "review_by_clinic_hr"),
        ("task_created", "acknowledge_outcome"),
        ("task_completed", "acknowledge_outcome"),
        ("instance_completed", ""),
    ]
    assert selectors.history_verify(instance).is_valid is True


def test_long_leave_rejected_by_clinic_hr(org, leave_request):
    instance = start_leave(org, leave_type="sick", days=8, reason="surgery")

    complete(instance, "review_by_supervisor_long", org.head_nurse.user, {"decision": "approve"})
    complete(
        instance,
        "review_by_clinic_hr",
        org.east_hr.user,
        {"hr_decision": "reject", "hr_comment": "no leave balance left"},
    )
    complete(instance, "acknowledge_outcome", org.nurse.user, {"acknowledged": True})

    instance.refresh_from_db()
    assert offers(instance) == [
        ("review_by_supervisor_long", "head_nurse", "", None),
        ("review_by_clinic_hr", None, "clinic_hr", "east"),
        ("acknowledge_outcome", "nurse", "", None),
    ]
    assert instance.status == ProcessInstance.Status.COMPLETED
    data = final_data(instance)
    assert data["approved"] is False
    assert data["decided_days"] == 8
    assert data["approval_route"] == "supervisor_and_hr"
    assert data["decision"] == "approve"
    assert data["hr_decision"] == "reject"
    assert data["profile"]["employee_id"] == org.nurse.pk
    assert selectors.history_verify(instance).is_valid is True


def test_clinic_hr_of_another_clinic_is_not_offered_the_long_review(org, leave_request):
    instance = start_leave(org, leave_type="annual", days=5)

    east = [t.element_id for t in selectors.inbox(org.east_hr.user)]
    west = [t.element_id for t in selectors.inbox(org.west_hr.user)]

    assert instance.status == ProcessInstance.Status.WAITING
    assert east == ["review_by_clinic_hr"]
    assert west == []


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ({"leave_type": "annual", "days": 0}, ["days"]),
        ({"leave_type": "annual", "days": 31}, ["days"]),
        ({"leave_type": "holiday", "days": 2}, ["leave_type"]),
        ({"leave_type": "holiday", "days": 0}, ["days", "leave_type"]),
        ({"days": 2}, ["leave_type"]),
        ({"leave_type": "annual", "days": 2, "paid": True}, ["paid"]),
    ],
)
def test_the_start_form_is_validated(org, leave_request, data, fields):
    with pytest.raises(InvalidInput) as caught:
        start_leave(org, **data)

    assert [e["field"] for e in caught.value.errors] == fields
    assert ProcessInstance.objects.count() == 0
    assert HumanTask.objects.count() == 0
