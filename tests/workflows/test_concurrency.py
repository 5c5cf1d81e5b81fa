"""Races on one task against real PostgreSQL row locks: exactly one worker wins.

Each racer runs in its own thread (so its own database connection) and waits at a barrier,
so all of them call the service at the same moment.
"""

import threading

import pytest
from django.db import connection

from tests.conftest import bundle_files
from tests.factories import RoleAssignmentFactory
from workflows import selectors, services
from workflows.models import HumanTask, ProcessInstance

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WORK = {"note": "ward rounds", "hours": 2}


def race(calls):
    """Run every call in its own thread, released together; each outcome is "ok" or the name
    of the exception the call raised, in the order of `calls`."""
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait(timeout=30)
            call()
            outcomes[i] = "ok"
        except Exception as exc:
            outcomes[i] = type(exc).__name__
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


@pytest.fixture
def lock_gate(monkeypatch):
    """Hold every racer just before it locks the instance row until all of them are there, so
    each has passed the service's unlocked checks and only the row lock can decide."""
    real_lock = services._lock
    gate = {}

    def gated_lock(instance_id):
        gate["barrier"].wait(timeout=30)
        return real_lock(instance_id)

    def arm(parties):
        gate["barrier"] = threading.Barrier(parties)

    monkeypatch.setattr(services, "_lock", gated_lock)
    return arm


def complete_as(user, task):
    return lambda: services.task_complete(human_task_id=task.pk, user=user, data=WORK)


def claim_as(user, task):
    return lambda: services.task_claim(human_task_id=task.pk, user=user)


def suspend_as(user, instance):
    return lambda: services.instance_suspend(instance_id=instance.pk, actor=user)


@pytest.fixture
def start(org):
    services.version_deploy(files=bundle_files("simple_task"))

    def start():
        return services.instance_start(
            process_key="simple_task", started_by=org.nurse.user, subject=org.nurse
        )

    return start


def test_two_completions_of_one_task_at_once_exactly_one_wins(org, start):
    instances = [start() for _ in range(10)]

    outcomes = [sorted(race([complete_as(org.nurse.user, i.tasks.get())] * 2)) for i in instances]

    assert outcomes == [["Conflict", "ok"]] * 10
    assert [i.events.filter(kind="task_completed").count() for i in instances] == [1] * 10
    assert [i.events.filter(kind="instance_completed").count() for i in instances] == [1] * 10
    assert (
        list(
            ProcessInstance.objects.filter(pk__in=[i.pk for i in instances]).values_list(
                "status", flat=True
            )
        )
        == ["completed"] * 10
    )
    assert (
        list(HumanTask.objects.filter(instance__in=instances).values_list("status", flat=True))
        == ["completed"] * 10
    )
    assert [selectors.history_verify(i).is_valid for i in instances] == [True] * 10
    assert [list(i.events.values_list("seq", flat=True)) for i in instances] == [[1, 2, 3, 4]] * 10


def test_two_completions_that_both_passed_the_unlocked_checks_exactly_one_wins(
    org, start, lock_gate
):
    instances = [start() for _ in range(10)]

    outcomes = []
    for instance in instances:
        lock_gate(2)
        outcomes.append(sorted(race([complete_as(org.nurse.user, instance.tasks.get())] * 2)))

    assert outcomes == [["Conflict", "ok"]] * 10
    assert [i.events.filter(kind="task_completed").count() for i in instances] == [1] * 10
    assert [i.events.filter(kind="instance_completed").count() for i in instances] == [1] * 10
    assert (
        list(
            ProcessInstance.objects.filter(pk__in=[i.pk for i in instances]).values_list(
                "status", flat=True
            )
        )
        == ["completed"] * 10
    )
    assert [selectors.history_verify(i).is_valid for i in instances] == [True] * 10


def test_eight_completions_of_one_task_at_once_exactly_one_wins(org, start, lock_gate):
    instance = start()
    task = instance.tasks.get()
    lock_gate(8)

    outcomes = race([complete_as(org.nurse.user, task)] * 8)

    instance.refresh_from_db()
    task.refresh_from_db()
    assert sorted(outcomes) == ["Conflict"] * 7 + ["ok"]
    assert instance.status == ProcessInstance.Status.COMPLETED
    assert task.status == HumanTask.Status.COMPLETED
    assert list(instance.events.values_list("kind", flat=True)) == [
        "instance_started",
        "task_created",
        "task_completed",
        "instance_completed",
    ]
    assert selectors.history_verify(instance).is_valid is True


def test_two_candidates_claiming_one_role_task_at_once_exactly_one_wins(org, start, lock_gate):
    colleague = RoleAssignmentFactory(
        user__username="east_hr_2", role="clinic_hr", org_unit=org.east
    ).user
    claimants = [org.east_hr.user, colleague]
    instances = [start() for _ in range(10)]
    HumanTask.objects.filter(instance__in=instances).update(
        candidate_user=None, candidate_role="clinic_hr", candidate_org_unit=org.east
    )

    outcomes = []
    for instance in instances:
        lock_gate(2)
        outcomes.append(race([claim_as(u, instance.tasks.get()) for u in claimants]))

    tasks = [i.tasks.get() for i in instances]
    winners = [claimants[o.index("ok")].pk for o in outcomes]
    assert [sorted(o) for o in outcomes] == [["Conflict", "ok"]] * 10
    assert [t.assignee_id for t in tasks] == winners
    assert [t.status for t in tasks] == ["open"] * 10
    assert [i.events.filter(kind="task_claimed").count() for i in instances] == [1] * 10
    assert [i.events.get(kind="task_claimed").actor_id for i in instances] == winners
    assert [selectors.history_verify(i).is_valid for i in instances] == [True] * 10


def test_completion_racing_a_suspend_leaves_a_consistent_instance(
    org, operator_user, start, lock_gate
):
    instances = [start() for _ in range(10)]

    outcomes = []
    for instance in instances:
        lock_gate(2)
        task = instance.tasks.get()
        outcomes.append(
            race([complete_as(org.nurse.user, task), suspend_as(operator_user, instance)])
        )

    # Whichever takes the row lock first wins; the other sees the state the winner left.
    results = {
        (tuple(o), i.status, i.tasks.get().status)
        for o, i in zip(
            outcomes,
            ProcessInstance.objects.filter(pk__in=[i.pk for i in instances]).order_by("pk"),
            strict=True,
        )
    }
    assert results <= {
        (("ok", "Conflict"), "completed", "completed"),
        (("Conflict", "ok"), "suspended", "open"),
    }
    assert [selectors.history_verify(i).is_valid for i in instances] == [True] * 10
