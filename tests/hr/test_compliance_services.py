"""Compliance signal services: the signal-to-clause table as deployed, the rolling window,
and the appraisal points of commendations."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from hr.models import AppraisalInput, ComplianceSignal, Employee
from hr.seed import compliance as compliance_seed
from hr.seed import performance as performance_seed
from hr.services import compliance
from hr.services.performance import appraisal_record
from tests.conftest import shipped_bundle
from tests.factories import EmployeeFactory
from workflows import services
from workflows.exceptions import Conflict

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def deployed(time_machine, db):
    time_machine.move_to(NOW, tick=False)
    compliance_seed.seed()
    services.version_deploy(files=shipped_bundle("compliance_deduction.bpmn"))


@pytest.mark.parametrize(
    ("kind", "family", "expected"),
    [
        ("late_arrival", "nurse", ("violation", "attendance", "", Decimal(0))),
        ("attendance_anomaly", "doctor", ("violation", "attendance", "", Decimal(0))),
        ("patient_complaint", "nurse", ("violation", "service_conduct", "", Decimal(0))),
        ("peer_report", "admin", ("violation", "professional_conduct", "", Decimal(0))),
        ("patient_commendation", "nurse", ("commendation", "", "service_attitude", Decimal(5))),
        ("patient_commendation", "admin", ("commendation", "", "teamwork", Decimal(5))),
        ("patient_commendation", "doctor", ("commendation", "", "", Decimal(0))),
    ],
)
def test_the_deployed_table_maps_each_signal_kind(org, kind, family, expected):
    employee = EmployeeFactory(role_family=family, org_unit=org.east_nursing)

    decided = compliance.signal_classify(employee=employee, kind=kind, severity="minor")

    assert tuple(decided.values()) == expected


def test_a_diagram_without_the_business_rule_task_is_a_conflict():
    with pytest.raises(Conflict):
        services.decision_evaluate(
            process_key="compliance_deduction", element_id="no_such_task", data={}
        )


def record(employee: Employee, kind: str, occurred_at: dt.datetime, key: str):
    return compliance.signal_record(
        employee=employee,
        kind=kind,
        severity="minor",
        occurred_at=occurred_at,
        source="attendance-system",
        idempotency_key=key,
        details={},
        recorded_by=None,
    )


def test_a_late_arriving_signal_counts_the_window_up_to_when_it_occurred(org):
    day = dt.timedelta(days=1)
    record(org.nurse, "late_arrival", NOW - 2 * day, "a")
    record(org.nurse, "late_arrival", NOW - 50 * day, "b")

    older = record(org.nurse, "late_arrival", NOW - 45 * day, "c")

    # Its window (75 to 45 days ago) holds b and c, not a.
    assert (older.violations_in_window, older.deduction) == (2, None)


def test_commendation_points_apply_once_and_only_to_an_appraisal_not_yet_recorded(org):
    performance_seed.seed()
    october = timezone.make_aware(dt.datetime(2026, 10, 5, 10))
    scores = {"service_attitude": 98, "nursing_quality": 90, "discipline": 90}
    record(org.nurse, "patient_commendation", october, "p-1")

    first = appraisal_record(
        employee=org.nurse, period_date=dt.date(2026, 10, 1), scores=scores, recorded_by=None
    )
    late = record(org.nurse, "patient_commendation", october, "p-2")

    # 98 + 5 is capped at 100.
    assert first.appraisal.scores["service_attitude"] == 100.0
    applied = AppraisalInput.objects.get(signal__idempotency_key="p-1")
    assert applied.applied_to == first.appraisal
    assert AppraisalInput.objects.get(signal=late.signal).applied_to is None
    assert ComplianceSignal.objects.filter(achievement__isnull=False).count() == 2
