"""1,000 timers due at the same instant fire exactly once each, with two worker processes
sweeping at the same time (SKIP LOCKED splits the rows between them)."""

import datetime as dt
import re
import time

import pytest
from django.db.models import Count

from tests.conftest import bundle_files
from tests.workers.conftest import wait_until
from workers import tasks
from workflows import services
from workflows.models import ProcessInstance, Timer, WorkflowEvent

pytestmark = [
    pytest.mark.broker,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
DUE = START + dt.timedelta(days=90)
TIMERS = 1000


def swept(log: str) -> list[int]:
    """What each sweep task of a worker reported: instances moved on."""
    return [
        int(n)
        for n in re.findall(
            r"Task workers\.fire_due_timers\[[^\]]+\] succeeded in [^:]+: (\d+)", log
        )
    ]


def test_a_thousand_timers_due_at_once_fire_exactly_once_with_two_sweepers(
    org, time_machine, worker_processes, settings
):
    settings.CAREFLOW = {**settings.CAREFLOW, "TIMER_ETA_HORIZON_SECONDS": 0}
    time_machine.move_to(START, tick=False)
    services.version_deploy(files=bundle_files("due_date_timer"))
    for n in range(TIMERS):
        services.instance_start(
            process_key="due_date_timer",
            started_by=org.group_hr.user,
            data={"due_at": DUE.isoformat()},
            business_key=f"licence-{n:04d}",
        )
    workers = [
        worker_processes(name, DUE + dt.timedelta(seconds=1), CAREFLOW_TIMER_BATCH_SIZE="50")
        for name in ("sweeper_a", "sweeper_b")
    ]
    # Both are up (each logs "ready") before the sweeps are sent, so both take one.
    wait_until(lambda: all("ready." in w.log() for w in workers), timeout=60, what="workers")

    began = time.monotonic()
    for _ in workers:
        tasks.fire_due_timers.delay()
    wait_until(
        lambda: not ProcessInstance.objects.exclude(status="completed").exists(),
        timeout=120,
        what="every instance to complete",
    )
    took = time.monotonic() - began
    wait_until(lambda: all(len(swept(w.log())) == 1 for w in workers), timeout=30)

    per_worker = [sum(swept(w.log())) for w in workers]
    fired_per_instance = (
        WorkflowEvent.objects.filter(kind=WorkflowEvent.Kind.TIMER_FIRED)
        .values("instance")
        .annotate(n=Count("id"))
        .values_list("n", flat=True)
    )
    print(f"\n{TIMERS} timers fired by two sweepers in {took:.1f} s: {per_worker} per sweeper")
    assert sum(per_worker) == TIMERS
    assert min(per_worker) > 0
    assert sorted(set(fired_per_instance)) == [1]
    assert len(fired_per_instance) == TIMERS
    assert Timer.objects.filter(status=Timer.Status.FIRED, attempts=1).count() == TIMERS
    assert ProcessInstance.objects.filter(status="completed").count() == TIMERS
