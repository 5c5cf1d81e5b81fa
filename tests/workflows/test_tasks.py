"""Who may claim, unclaim, delegate and complete a task, and what a refusal leaves behind."""

import pytest

from tests.conftest import bundle_files
from tests.factories import RoleAssignmentFactory
from workflows import selectors, services
from workflows.exceptions import Conflict, InvalidInput, NotAllowed
from workflows.models import HumanTask, ProcessInstance

pytestmark = pytest.mark.django_db

WORK = {"note": "ward rounds", "hours": 2}


@pytest.fixture
def instance(org):
    """A simple_task instance about the nurse, waiting at do_the_work (offered to the nurse)."""
    services.version_deploy(files=bundle_files("simple_task"))
    return services.instance_start(
        process_key="simple_task", started_by=org.nurse.user, subject=org.nurse
    )


@pytest.fixture
def task(instance):
    return instance.tasks.get()


@pytest.fixture
def role_task(org, task):
    """The same task offered to clinic HR of east instead of the nurse."""
    HumanTask.objects.filter(pk=task.pk).update(
        candidate_user=None, candidate_role="clinic_hr", candidate_org_unit=org.east
    )
    task.refresh_from_db()
    return task


@pytest.fixture
def east_hr_colleague(org):
    return RoleAssignmentFactory(
        user__username="east_hr_2", role="clinic_hr", org_unit=org.east
    ).user


def kinds(instance):
    return list(instance.events.values_list("kind", flat=True))


def state_of(task):
    task.refresh_from_db()
    return (task.status, task.assignee_id, task.completed_by_id)


# --- complete --------------------------------------------------------------------------------


def test_the_candidate_completes_the_task(org, instance, task):
    services.task_complete(human_task_id=task.pk, user=org.nurse.user, data=WORK)

    instance.refresh_from_db()
    task.refresh_from_db()
    assert task.status == HumanTask.Status.COMPLETED
    assert task.completed_by == org.nurse.user
    assert task.completed_at is not None
    assert instance.status == ProcessInstance.Status.COMPLETED
    assert kinds(instance) == [
        "instance_started",
        "task_created",
        "task_completed",
        "instance_completed",
    ]
    assert instance.events.get(kind="task_completed").data == {"submitted": WORK}


@pytest.mark.parametrize("who", ["head_nurse", "west_nurse", "east_hr"])
def test_a_non_candidate_may_not_complete_and_nothing_changes(org, instance, task, who):
    events_before = kinds(instance)

    with pytest.raises(NotAllowed):
        services.task_complete(human_task_id=task.pk, user=getattr(org, who).user, data=WORK)

    instance.refresh_from_db()
    assert state_of(task) == ("open", None, None)
    assert instance.status == ProcessInstance.Status.WAITING
    assert kinds(instance) == events_before


def test_completing_a_task_claimed_by_someone_else_is_a_conflict(
    org, instance, role_task, east_hr_colleague
):
    services.task_claim(human_task_id=role_task.pk, user=org.east_hr.user)
    events_before = kinds(instance)

    with pytest.raises(Conflict, match="claimed by someone else"):
        services.task_complete(human_task_id=role_task.pk, user=east_hr_colleague, data=WORK)

    assert state_of(role_task) == ("open", org.east_hr.user.pk, None)
    assert kinds(instance) == events_before


def test_completing_an_already_completed_task_is_a_conflict(org, instance, task):
    services.task_complete(human_task_id=task.pk, user=org.nurse.user, data=WORK)
    events_before = kinds(instance)

    with pytest.raises(Conflict, match="already completed"):
        services.task_complete(
            human_task_id=task.pk, user=org.nurse.user, data={"note": "again", "hours": 1}
        )

    assert state_of(task) == ("completed", None, org.nurse.user.pk)
    assert kinds(instance) == events_before
    assert instance.events.filter(kind="task_completed").count() == 1


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ({"hours": 2}, ["note"]),
        ({"note": "", "hours": 2}, ["note"]),
        ({"note": "ward rounds", "hours": -1}, ["hours"]),
        ({"note": "ward rounds", "hours": "two"}, ["hours"]),
        ({"note": "ward rounds", "overtime": True}, ["overtime"]),
        ({"hours": -1, "overtime": True}, ["note", "overtime", "hours"]),
    ],
)
def test_invalid_form_data_names_the_failing_fields_and_leaves_the_task_open(
    org, instance, task, data, fields
):
    events_before = kinds(instance)

    with pytest.raises(InvalidInput) as caught:
        services.task_complete(human_task_id=task.pk, user=org.nurse.user, data=data)

    instance.refresh_from_db()
    assert [e["field"] for e in caught.value.errors] == fields
    assert state_of(task) == ("open", None, None)
    assert instance.status == ProcessInstance.Status.WAITING
    assert kinds(instance) == events_before


def test_form_data_that_is_not_an_object_is_invalid(org, instance, task):
    with pytest.raises(InvalidInput) as caught:
        services.task_complete(human_task_id=task.pk, user=org.nurse.user, data=["ward rounds"])

    assert caught.value.errors == [{"field": "data", "message": "must be a JSON object"}]
    assert state_of(task) == ("open", None, None)


# --- claim and unclaim -----------------------------------------------------------------------


def test_a_role_holder_claims_and_completes_a_role_task(
    org, instance, role_task, east_hr_colleague
):
    services.task_claim(human_task_id=role_task.pk, user=org.east_hr.user)
    colleague_inbox = list(selectors.inbox(east_hr_colleague))
    services.task_complete(human_task_id=role_task.pk, user=org.east_hr.user, data=WORK)

    assert colleague_inbox == []
    assert state_of(role_task) == ("completed", org.east_hr.user.pk, org.east_hr.user.pk)
    assert kinds(instance) == [
        "instance_started",
        "task_created",
        "task_claimed",
        "task_completed",
        "instance_completed",
    ]


def test_a_role_holder_of_another_clinic_may_not_claim(org, instance, role_task):
    with pytest.raises(NotAllowed):
        services.task_claim(human_task_id=role_task.pk, user=org.west_hr.user)

    assert state_of(role_task) == ("open", None, None)
    assert kinds(instance) == ["instance_started", "task_created"]


def test_claiming_a_task_claimed_by_someone_else_is_a_conflict(
    org, instance, role_task, east_hr_colleague
):
    services.task_claim(human_task_id=role_task.pk, user=org.east_hr.user)

    with pytest.raises(Conflict):
        services.task_claim(human_task_id=role_task.pk, user=east_hr_colleague)

    assert state_of(role_task) == ("open", org.east_hr.user.pk, None)
    assert kinds(instance) == ["instance_started", "task_created", "task_claimed"]


def test_unclaim_gives_the_task_back_to_the_candidates(org, instance, role_task, east_hr_colleague):
    services.task_claim(human_task_id=role_task.pk, user=org.east_hr.user)

    services.task_unclaim(human_task_id=role_task.pk, user=org.east_hr.user)
    services.task_complete(human_task_id=role_task.pk, user=east_hr_colleague, data=WORK)

    role_task.refresh_from_db()
    assert role_task.claimed_at is None
    assert state_of(role_task) == ("completed", None, east_hr_colleague.pk)
    assert kinds(instance) == [
        "instance_started",
        "task_created",
        "task_claimed",
        "task_unclaimed",
        "task_completed",
        "instance_completed",
    ]


def test_unclaim_by_someone_who_is_not_the_assignee_is_a_conflict(
    org, instance, role_task, east_hr_colleague
):
    services.task_claim(human_task_id=role_task.pk, user=org.east_hr.user)

    with pytest.raises(Conflict, match="not claimed by you"):
        services.task_unclaim(human_task_id=role_task.pk, user=east_hr_colleague)

    assert state_of(role_task) == ("open", org.east_hr.user.pk, None)
    assert kinds(instance) == ["instance_started", "task_created", "task_claimed"]


def test_unclaiming_an_unclaimed_task_is_a_conflict(org, instance, task):
    with pytest.raises(Conflict, match="not claimed by you"):
        services.task_unclaim(human_task_id=task.pk, user=org.nurse.user)

    assert state_of(task) == ("open", None, None)
    assert kinds(instance) == ["instance_started", "task_created"]


# --- delegate --------------------------------------------------------------------------------


def test_a_delegated_task_belongs_to_the_delegate(org, instance, role_task, east_hr_colleague):
    services.task_delegate(
        human_task_id=role_task.pk, user=org.east_hr.user, to_user=east_hr_colleague
    )
    delegated = state_of(role_task)
    east_hr_inbox = list(selectors.inbox(org.east_hr.user))
    colleague_inbox = [t.pk for t in selectors.inbox(east_hr_colleague)]

    with pytest.raises(Conflict, match="claimed by someone else"):
        services.task_complete(human_task_id=role_task.pk, user=org.east_hr.user, data=WORK)
    services.task_complete(human_task_id=role_task.pk, user=east_hr_colleague, data=WORK)

    instance.refresh_from_db()
    assert delegated == ("open", east_hr_colleague.pk, None)
    assert east_hr_inbox == []
    assert colleague_inbox == [role_task.pk]
    assert state_of(role_task) == ("completed", east_hr_colleague.pk, east_hr_colleague.pk)
    assert instance.status == ProcessInstance.Status.COMPLETED
    assert list(instance.events.values_list("kind", "actor_label")) == [
        ("instance_started", "nurse"),
        ("task_created", ""),
        ("task_delegated", "east_hr"),
        ("task_completed", "east_hr_2"),
        ("instance_completed", ""),
    ]
    assert instance.events.get(kind="task_delegated").data == {"to": "east_hr_2"}


def test_the_employee_lane_task_is_not_handed_to_anyone_else(org, instance, task):
    with pytest.raises(NotAllowed, match="not among those who could work it"):
        services.task_delegate(
            human_task_id=task.pk, user=org.nurse.user, to_user=org.head_nurse.user
        )

    assert state_of(task) == ("open", None, None)
    assert kinds(instance) == ["instance_started", "task_created"]


def test_a_non_candidate_may_not_delegate(org, instance, task):
    with pytest.raises(NotAllowed):
        services.task_delegate(
            human_task_id=task.pk, user=org.west_nurse.user, to_user=org.west_nurse.user
        )

    assert state_of(task) == ("open", None, None)
    assert kinds(instance) == ["instance_started", "task_created"]


def test_delegating_to_an_inactive_user_is_invalid(org, instance, task):
    org.head_nurse.user.is_active = False
    org.head_nurse.user.save(update_fields=["is_active"])

    with pytest.raises(InvalidInput) as caught:
        services.task_delegate(
            human_task_id=task.pk, user=org.nurse.user, to_user=org.head_nurse.user
        )

    assert [e["field"] for e in caught.value.errors] == ["to_user"]
    assert state_of(task) == ("open", None, None)


# --- suspend, resume, terminate --------------------------------------------------------------


def test_a_suspended_instance_refuses_completion_until_resumed(org, operator_user, instance, task):
    services.instance_suspend(instance_id=instance.pk, actor=operator_user, reason="audit")

    with pytest.raises(Conflict, match="suspended"):
        services.task_complete(human_task_id=task.pk, user=org.nurse.user, data=WORK)
    suspended = state_of(task)
    services.instance_resume(instance_id=instance.pk, actor=operator_user)
    services.task_complete(human_task_id=task.pk, user=org.nurse.user, data=WORK)

    instance.refresh_from_db()
    assert suspended == ("open", None, None)
    assert state_of(task) == ("completed", None, org.nurse.user.pk)
    assert instance.status == ProcessInstance.Status.COMPLETED
    assert list(instance.events.values_list("kind", "actor_label")) == [
        ("instance_started", "nurse"),
        ("task_created", ""),
        ("instance_suspended", "operator"),
        ("instance_resumed", "operator"),
        ("task_completed", "nurse"),
        ("instance_completed", ""),
    ]
    assert instance.events.get(kind="instance_suspended").data == {"reason": "audit"}


def test_a_suspended_instance_refuses_claim(org, operator_user, instance, task):
    services.instance_suspend(instance_id=instance.pk, actor=operator_user)

    with pytest.raises(Conflict, match="suspended"):
        services.task_claim(human_task_id=task.pk, user=org.nurse.user)

    assert state_of(task) == ("open", None, None)


def test_resume_puts_the_instance_back_to_waiting(operator_user, instance):
    services.instance_suspend(instance_id=instance.pk, actor=operator_user)

    services.instance_resume(instance_id=instance.pk, actor=operator_user)

    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.WAITING
    assert instance.status_before_suspend == ""


def test_resuming_an_instance_that_is_not_suspended_is_a_conflict(operator_user, instance):
    with pytest.raises(Conflict, match="not suspended"):
        services.instance_resume(instance_id=instance.pk, actor=operator_user)

    assert kinds(instance) == ["instance_started", "task_created"]


def test_terminate_cancels_the_open_task_and_ends_the_instance(org, operator_user, instance, task):
    services.instance_terminate(instance_id=instance.pk, actor=operator_user, reason="duplicate")

    instance.refresh_from_db()
    task.refresh_from_db()
    assert instance.status == ProcessInstance.Status.TERMINATED
    assert instance.ended_at is not None
    assert task.status == HumanTask.Status.CANCELLED
    assert task.completed_by is None
    assert list(selectors.inbox(org.nurse.user)) == []
    assert list(instance.events.values_list("kind", "element_id", "actor_label")) == [
        ("instance_started", "", "nurse"),
        ("task_created", "do_the_work", ""),
        ("task_cancelled", "do_the_work", ""),
        ("instance_terminated", "", "operator"),
    ]
    assert instance.events.get(kind="instance_terminated").data == {"reason": "duplicate"}
    assert selectors.history_verify(instance).is_valid is True


def test_a_cancelled_task_cannot_be_completed(org, operator_user, instance, task):
    services.instance_terminate(instance_id=instance.pk, actor=operator_user)
    events_before = kinds(instance)

    with pytest.raises(Conflict, match="already cancelled"):
        services.task_complete(human_task_id=task.pk, user=org.nurse.user, data=WORK)

    assert state_of(task) == ("cancelled", None, None)
    assert kinds(instance) == events_before


def test_a_suspended_instance_can_be_terminated(org, operator_user, instance, task):
    services.instance_suspend(instance_id=instance.pk, actor=operator_user)

    services.instance_terminate(instance_id=instance.pk, actor=operator_user)

    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.TERMINATED
    assert state_of(task) == ("cancelled", None, None)


def test_a_terminated_instance_cannot_be_terminated_again(operator_user, instance):
    services.instance_terminate(instance_id=instance.pk, actor=operator_user)
    events_before = kinds(instance)

    with pytest.raises(Conflict, match="is terminated"):
        services.instance_terminate(instance_id=instance.pk, actor=operator_user)

    assert kinds(instance) == events_before
