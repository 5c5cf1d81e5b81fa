"""History is append-only and hash-chained: an edited or removed event is detected."""

import pytest

from tests.conftest import bundle_files
from workflows import selectors, services
from workflows.models import WorkflowEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def finished_instance(org):
    services.version_deploy(files=bundle_files("simple_task"))
    instance = services.instance_start(
        process_key="simple_task", started_by=org.nurse.user, subject=org.nurse
    )
    task = instance.tasks.get()
    services.task_complete(
        human_task_id=task.pk, user=org.nurse.user, data={"note": "ward rounds", "hours": 2}
    )
    instance.refresh_from_db()
    return instance


def test_history_of_a_finished_instance_verifies(finished_instance):
    kinds = list(finished_instance.events.values_list("kind", flat=True))

    result = selectors.history_verify(finished_instance)

    assert kinds == [
        "instance_started",
        "task_created",
        "task_completed",
        "instance_completed",
    ]
    assert result.is_valid is True
    assert result.events_checked == 4


def test_an_edited_event_is_detected(finished_instance):
    WorkflowEvent.objects.filter(instance=finished_instance, seq=3).update(
        data={"submitted": {"note": "never happened", "hours": 2}}
    )

    result = selectors.history_verify(finished_instance)

    assert result.is_valid is False
    assert result.first_bad_seq == 3
    assert result.reason == "event content was changed"


def test_an_edited_actor_is_detected(finished_instance, org):
    WorkflowEvent.objects.filter(instance=finished_instance, seq=3).update(
        actor=org.head_nurse.user, actor_label="head_nurse"
    )

    result = selectors.history_verify(finished_instance)

    assert result.is_valid is False
    assert result.first_bad_seq == 3


def test_a_removed_event_is_detected(finished_instance):
    WorkflowEvent.objects.filter(instance=finished_instance, seq=2).delete()

    result = selectors.history_verify(finished_instance)

    assert result.is_valid is False
    assert result.first_bad_seq == 3
    assert result.reason == "event 2 is missing"


def test_events_refuse_update_and_delete_through_the_model(finished_instance):
    event = finished_instance.events.get(seq=1)

    with pytest.raises(ValueError, match="append-only"):
        event.save()
    with pytest.raises(ValueError, match="append-only"):
        event.delete()


def test_sensitive_fields_are_masked_in_history(org):
    services.version_deploy(files=bundle_files("simple_task"))

    instance = services.instance_start(
        process_key="simple_task",
        started_by=org.nurse.user,
        subject=org.nurse,
        data={"phone": "13800000000", "contact": {"home_address": "1 Road"}, "topic": "x"},
    )

    started = instance.events.get(kind="instance_started")
    assert started.data["data"] == {
        "phone": "***",
        "contact": {"home_address": "***"},
        "topic": "x",
    }
