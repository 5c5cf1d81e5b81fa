"""Running instances stay on their version; an operator may migrate one to another version."""

import pytest

from tests.conftest import bundle_files, shipped_bundle
from tests.factories import RoleAssignmentFactory, UserFactory
from workflows import selectors, services
from workflows.exceptions import Conflict
from workflows.models import HumanTask, ProcessInstance

pytestmark = pytest.mark.django_db

WORK = {"note": "ward rounds", "hours": 2}


def deploy(name):
    return services.version_deploy(files=bundle_files(name)).version


def start_simple(org):
    return services.instance_start(
        process_key="simple_task", started_by=org.nurse.user, subject=org.nurse
    )


def open_task(instance, element_id):
    return instance.tasks.get(element_id=element_id, status=HumanTask.Status.OPEN)


def task_states(instance):
    return list(instance.tasks.values_list("element_id", "status"))


@pytest.fixture
def operator_user(org):
    """An operator who may migrate the nurse's instances: group HR."""
    user = UserFactory(username="operator")
    RoleAssignmentFactory(user=user, role="group_hr", org_unit=org.group)
    return user


@pytest.fixture
def v1(org):
    return deploy("simple_task")


def test_deploying_new_content_makes_the_next_version_and_same_content_is_a_no_op(v1):
    v2 = services.version_deploy(files=bundle_files("simple_task_v2"))
    again = services.version_deploy(files=bundle_files("simple_task"))

    assert (v1.number, v2.version.number) == (1, 2)
    assert v2.created is True
    assert v2.version.definition_id == v1.definition_id
    assert again.created is False
    assert again.version.pk == v1.pk


def test_an_instance_started_on_v1_finishes_on_v1_after_v2_is_deployed(org, v1):
    instance = start_simple(org)
    deploy("simple_task_v2")

    services.task_complete(
        human_task_id=open_task(instance, "do_the_work").pk, user=org.nurse.user, data=WORK
    )

    instance.refresh_from_db()
    assert instance.version.number == 1
    assert instance.status == ProcessInstance.Status.COMPLETED
    assert task_states(instance) == [("do_the_work", "completed")]
    assert instance.events.filter(kind="version_migrated").count() == 0


def test_a_start_after_the_v2_deploy_runs_v2(org, v1):
    deploy("simple_task_v2")
    instance = start_simple(org)

    services.task_complete(
        human_task_id=open_task(instance, "do_the_work").pk, user=org.nurse.user, data=WORK
    )
    check = open_task(instance, "check_the_work")
    services.task_complete(human_task_id=check.pk, user=org.head_nurse.user, data={"ok": True})

    instance.refresh_from_db()
    assert instance.version.number == 2
    assert check.candidate_user == org.head_nurse.user
    assert task_states(instance) == [
        ("do_the_work", "completed"),
        ("check_the_work", "completed"),
    ]
    assert instance.status == ProcessInstance.Status.COMPLETED
    # What do_the_work submitted survives the save and reload before check_the_work.
    completed = instance.events.get(kind="instance_completed").data["data"]
    assert completed["note"] == "ward rounds"
    assert completed["hours"] == 2
    assert completed["ok"] is True


def test_a_waiting_v1_instance_migrated_to_v2_gets_the_new_task(org, operator_user, v1):
    instance = start_simple(org)
    waiting = open_task(instance, "do_the_work")
    v2 = deploy("simple_task_v2")

    migrated = services.instance_migrate(
        instance_id=instance.pk, to_version_id=v2.pk, actor=operator_user
    )
    after_migration = list(instance.tasks.values_list("pk", "element_id", "status"))
    services.task_complete(human_task_id=waiting.pk, user=org.nurse.user, data=WORK)

    instance.refresh_from_db()
    assert migrated.version.number == 2
    assert instance.version.number == 2
    # The ready task survives the migration: same row, still open, still workable.
    assert after_migration == [(waiting.pk, "do_the_work", "open")]
    assert instance.status == ProcessInstance.Status.WAITING
    assert task_states(instance) == [
        ("do_the_work", "completed"),
        ("check_the_work", "open"),
    ]
    assert open_task(instance, "check_the_work").candidate_user == org.head_nurse.user
    assert list(instance.events.values_list("kind", "element_id", "actor_label")) == [
        ("instance_started", "", "nurse"),
        ("task_created", "do_the_work", ""),
        ("version_migrated", "", "operator"),
        ("task_completed", "do_the_work", "nurse"),
        ("task_created", "check_the_work", ""),
    ]
    event = instance.events.get(kind="version_migrated")
    assert event.actor == operator_user
    assert event.data == {
        "from": 1,
        "to": 2,
        "reset": ["work_done"],
    }
    assert selectors.history_verify(instance).is_valid is True


def test_a_migrated_instance_runs_to_the_end_on_v2(org, operator_user, v1):
    instance = start_simple(org)
    v2 = deploy("simple_task_v2")
    services.instance_migrate(instance_id=instance.pk, to_version_id=v2.pk, actor=operator_user)

    services.task_complete(
        human_task_id=open_task(instance, "do_the_work").pk, user=org.nurse.user, data=WORK
    )
    services.task_complete(
        human_task_id=open_task(instance, "check_the_work").pk,
        user=org.head_nurse.user,
        data={"ok": False},
    )

    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.COMPLETED
    completed = instance.events.get(kind="instance_completed").data["data"]
    assert completed["note"] == "ward rounds"
    assert completed["ok"] is False


def test_migrating_to_its_own_version_is_a_conflict(org, operator_user, v1):
    instance = start_simple(org)
    deploy("simple_task_v2")
    events_before = instance.events.count()

    with pytest.raises(Conflict, match="already runs on that version"):
        services.instance_migrate(instance_id=instance.pk, to_version_id=v1.pk, actor=operator_user)

    instance.refresh_from_db()
    assert instance.version_id == v1.pk
    assert instance.events.count() == events_before
    assert task_states(instance) == [("do_the_work", "open")]


def test_migrating_to_another_process_is_a_conflict(org, operator_user, v1):
    instance = start_simple(org)
    other = services.version_deploy(files=shipped_bundle("leave_request.bpmn")).version
    events_before = instance.events.count()

    with pytest.raises(Conflict, match="belongs to another process"):
        services.instance_migrate(
            instance_id=instance.pk, to_version_id=other.pk, actor=operator_user
        )

    instance.refresh_from_db()
    assert instance.version_id == v1.pk
    assert instance.events.count() == events_before
    assert task_states(instance) == [("do_the_work", "open")]


def test_a_finished_instance_cannot_be_migrated(org, operator_user, v1):
    instance = start_simple(org)
    services.task_complete(
        human_task_id=open_task(instance, "do_the_work").pk, user=org.nurse.user, data=WORK
    )
    v2 = deploy("simple_task_v2")

    with pytest.raises(Conflict, match="is completed"):
        services.instance_migrate(instance_id=instance.pk, to_version_id=v2.pk, actor=operator_user)

    instance.refresh_from_db()
    assert instance.version_id == v1.pk


def test_migrating_away_from_a_task_the_instance_has_reached_is_a_conflict(org, operator_user, v1):
    deploy("simple_task_v2")
    instance = start_simple(org)
    services.task_complete(
        human_task_id=open_task(instance, "do_the_work").pk, user=org.nurse.user, data=WORK
    )
    events_before = instance.events.count()

    with pytest.raises(
        Conflict, match="removes elements this instance has reached: check_the_work"
    ):
        services.instance_migrate(instance_id=instance.pk, to_version_id=v1.pk, actor=operator_user)

    instance.refresh_from_db()
    assert instance.version.number == 2
    assert instance.events.count() == events_before
    assert task_states(instance) == [
        ("do_the_work", "completed"),
        ("check_the_work", "open"),
    ]
