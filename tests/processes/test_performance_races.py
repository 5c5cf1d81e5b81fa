"""Late months arriving together, against real PostgreSQL row locks: the streak windows they
complete between them are judged once (one PIP, one reserve-cadre entry)."""

import contextlib
import datetime as dt
import threading

import pytest

from hr.models import ReserveCadre, RoleAssignment
from hr.seed import performance as performance_seed
from hr.services import performance as performance_services
from tests.factories import RoleAssignmentFactory, UserFactory
from tests.processes.conftest import deploy_shipped
from tests.processes.test_performance import EXCELLENT, FAIL, record, send
from tests.workflows.test_concurrency import race
from workflows.models import ProcessInstance

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

JANUARY = dt.datetime(2027, 1, 10, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def appraisal_system(org, time_machine):
    time_machine.move_to(JANUARY, tick=False)
    performance_seed.seed()
    deploy_shipped("performance_remedial_training.bpmn")
    deploy_shipped("pip.bpmn")
    user = UserFactory(username="appraisal_system")
    RoleAssignmentFactory(user=user, role=RoleAssignment.Role.INTEGRATION, org_unit=org.group)
    return user


@pytest.fixture
def streak_gate(monkeypatch):
    """Hold each racer after it has stored its month and before it judges the windows, until
    the other is there too (or 2 s have passed): without the employee row lock both would
    judge without seeing the other's month."""
    real = performance_services._completed_windows
    barrier = threading.Barrier(2)

    def gated(*args, **kwargs):
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=2)
        return real(*args, **kwargs)

    def arm() -> None:
        monkeypatch.setattr(performance_services, "_completed_windows", gated)

    return arm


def posted(user, employee, period, scores, statuses):
    def call():
        statuses[period] = send(user, employee, period, scores).status_code

    return call


def test_failing_2026_10_and_2026_11_arriving_together_start_one_pip(
    org, appraisal_system, streak_gate
):
    streak_gate()
    statuses: dict[str, int] = {}

    outcomes = race(
        [
            posted(appraisal_system, org.nurse, "2026-10", FAIL, statuses),
            posted(appraisal_system, org.nurse, "2026-11", FAIL, statuses),
        ]
    )

    assert outcomes == ["ok", "ok"]
    assert statuses == {"2026-10": 201, "2026-11": 201}
    assert ProcessInstance.objects.filter(definition__key="pip", subject=org.nurse).count() == 1


def test_excellent_2026_10_and_2026_11_arriving_together_after_2026_12_add_the_cadre_once(
    org, appraisal_system, streak_gate
):
    record(appraisal_system, org.nurse, "2026-12", EXCELLENT)
    streak_gate()
    statuses: dict[str, int] = {}

    outcomes = race(
        [
            posted(appraisal_system, org.nurse, "2026-10", EXCELLENT, statuses),
            posted(appraisal_system, org.nurse, "2026-11", EXCELLENT, statuses),
        ]
    )

    assert outcomes == ["ok", "ok"]
    assert statuses == {"2026-10": 201, "2026-11": 201}
    assert ReserveCadre.objects.filter(employee=org.nurse).count() == 1
