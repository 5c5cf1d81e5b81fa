"""Messages reach exactly the instances they correlate with, and start the processes
whose start event waits for them."""

import pytest

from tests.conftest import bundle_files
from workflows import services
from workflows.exceptions import Conflict, InvalidInput, NotFound
from workflows.models import HumanTask, MessageSubscription, ProcessInstance, WorkflowEvent

pytestmark = pytest.mark.django_db

SCORES = {"scores": [3, 4, 5]}


@pytest.fixture
def appraisals(org):
    """Two appraisals of the same nurse, October and November, both waiting for scores."""
    services.version_deploy(files=bundle_files("await_appraisal"))
    october = services.instance_start(
        process_key="await_appraisal",
        started_by=org.head_nurse.user,
        subject=org.nurse,
        business_key="E1-2026-10",
    )
    november = services.instance_start(
        process_key="await_appraisal",
        started_by=org.head_nurse.user,
        subject=org.nurse,
        business_key="E1-2026-11",
    )
    return october, november


@pytest.fixture
def exit_request_deployed(org):
    services.version_deploy(files=bundle_files("exit_request"))


def subscriptions():
    return list(
        MessageSubscription.objects.order_by("pk").values_list(
            "instance_id", "message_name", "element_id", "correlation"
        )
    )


# --- intermediate message catch --------------------------------------------------------------


def test_each_waiting_instance_subscribes_with_its_keys(org, appraisals):
    october, november = appraisals

    rows = subscriptions()

    assert [october.status, november.status] == ["waiting", "waiting"]
    assert rows == [
        (
            october.pk,
            "appraisal_scores",
            "appraisal_received",
            {
                "business_key": "E1-2026-10",
                "instance_id": october.pk,
                "employee_no": org.nurse.employee_no,
            },
        ),
        (
            november.pk,
            "appraisal_scores",
            "appraisal_received",
            {
                "business_key": "E1-2026-11",
                "instance_id": november.pk,
                "employee_no": org.nurse.employee_no,
            },
        ),
    ]


def test_a_message_completes_only_the_instance_it_correlates_with(org, appraisals):
    october, november = appraisals

    result = services.message_send(
        name="appraisal_scores",
        correlation={"business_key": "E1-2026-10"},
        payload=SCORES,
        actor=org.group_hr.user,
    )

    october.refresh_from_db()
    november.refresh_from_db()
    completed = october.events.get(kind=WorkflowEvent.Kind.INSTANCE_COMPLETED)
    assert [i.pk for i in result.correlated] == [october.pk]
    assert result.started == []
    assert october.status == ProcessInstance.Status.COMPLETED
    assert october.ended_at is not None
    assert completed.data["data"]["appraisal"] == SCORES
    assert completed.data["data"]["score_total"] == 12
    assert november.status == ProcessInstance.Status.WAITING
    assert november.ended_at is None


def test_delivery_removes_the_subscription_of_that_instance_only(org, appraisals):
    october, november = appraisals

    services.message_send(
        name="appraisal_scores", correlation={"business_key": "E1-2026-10"}, payload=SCORES
    )

    assert [row[0] for row in subscriptions()] == [november.pk]


def test_delivery_is_recorded_with_the_payload(org, appraisals):
    october, _ = appraisals

    services.message_send(
        name="appraisal_scores",
        correlation={"business_key": "E1-2026-10"},
        payload=SCORES,
        actor=org.group_hr.user,
    )

    kinds = list(october.events.values_list("kind", flat=True))
    correlated = october.events.get(kind=WorkflowEvent.Kind.MESSAGE_CORRELATED)
    assert kinds == ["instance_started", "message_correlated", "instance_completed"]
    assert correlated.element_id == "appraisal_received"
    assert correlated.actor == org.group_hr.user
    assert correlated.actor_label == "group_hr"
    assert correlated.data == {
        "message": "appraisal_scores",
        "correlation": {"business_key": "E1-2026-10"},
        "payload": SCORES,
    }


def test_a_message_is_delivered_once(org, appraisals):
    services.message_send(
        name="appraisal_scores", correlation={"business_key": "E1-2026-10"}, payload=SCORES
    )

    with pytest.raises(NotFound, match="no process is waiting for message 'appraisal_scores'"):
        services.message_send(
            name="appraisal_scores", correlation={"business_key": "E1-2026-10"}, payload=SCORES
        )


def test_a_message_nobody_waits_for_is_not_found_and_changes_nothing(org, appraisals):
    october, november = appraisals
    subscriptions_before = subscriptions()
    events_before = WorkflowEvent.objects.count()

    with pytest.raises(NotFound, match="no process is waiting for message 'appraisal_scores'"):
        services.message_send(
            name="appraisal_scores", correlation={"business_key": "E9-2026-10"}, payload=SCORES
        )

    october.refresh_from_db()
    november.refresh_from_db()
    assert [october.status, november.status] == ["waiting", "waiting"]
    assert subscriptions() == subscriptions_before
    assert WorkflowEvent.objects.count() == events_before


def test_a_message_needs_a_name(org, appraisals):
    events_before = WorkflowEvent.objects.count()

    with pytest.raises(InvalidInput) as raised:
        services.message_send(name="", correlation={"business_key": "E1-2026-10"}, payload=SCORES)

    assert raised.value.errors == [{"field": "name", "message": "this field is required"}]
    assert len(subscriptions()) == 2
    assert WorkflowEvent.objects.count() == events_before


def test_a_key_the_instance_lacks_does_not_match(org):
    # An instance without a business key must not read as business key "None".
    services.version_deploy(files=bundle_files("await_appraisal"))
    instance = services.instance_start(
        process_key="await_appraisal", started_by=org.head_nurse.user
    )

    with pytest.raises(NotFound, match="no process is waiting for message 'appraisal_scores'"):
        services.message_send(
            name="appraisal_scores", correlation={"business_key": "None"}, payload=SCORES
        )

    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.WAITING


# --- message start event ---------------------------------------------------------------------


def test_a_process_started_by_message_cannot_be_started_by_hand(org, exit_request_deployed):
    with pytest.raises(Conflict, match="process 'exit_request' starts by message, not by hand"):
        services.instance_start(
            process_key="exit_request", started_by=org.nurse.user, subject=org.nurse
        )

    assert ProcessInstance.objects.count() == 0


def test_a_start_message_starts_an_instance_about_the_employee(org, exit_request_deployed):
    result = services.message_send(
        name="exit_requested",
        correlation={"employee_no": org.nurse.employee_no},
        payload={"last_day": "2026-12-31", "reason": "relocating"},
        actor=org.nurse.user,
    )

    [instance] = result.started
    task = instance.tasks.get()
    assert result.correlated == []
    assert instance.definition.key == "exit_request"
    assert instance.subject == org.nurse
    assert instance.org_unit == org.east_nursing
    assert instance.started_by == org.nurse.user
    assert instance.status == ProcessInstance.Status.WAITING
    assert task.element_id == "confirm_exit"
    assert task.status == HumanTask.Status.OPEN
    assert task.candidate_user == org.head_nurse.user
    assert task.candidate_role == ""
    assert task.candidate_org_unit is None


def test_the_start_message_payload_lands_in_the_process_data(org, exit_request_deployed):
    payload = {"last_day": "2026-12-31", "reason": "relocating"}
    [instance] = services.message_send(
        name="exit_requested",
        correlation={"employee_no": org.nurse.employee_no},
        payload=payload,
        actor=org.nurse.user,
    ).started
    task = instance.tasks.get()

    services.task_complete(
        human_task_id=task.pk, user=org.head_nurse.user, data={"confirmed": True}
    )

    instance.refresh_from_db()
    completed = instance.events.get(kind=WorkflowEvent.Kind.INSTANCE_COMPLETED)
    assert instance.status == ProcessInstance.Status.COMPLETED
    assert completed.data["data"]["exit"] == payload
    assert completed.data["data"]["confirmed"] is True
