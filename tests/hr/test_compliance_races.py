"""Races at the intakes against real PostgreSQL row locks: two violations arriving together
start one deduction; two scans at once start one renewal."""

import datetime as dt

import pytest
from django.utils import timezone

from hr.models import ComplianceSignal, Credential
from hr.seed import compliance as compliance_seed
from hr.services import licences
from tests.conftest import shipped_bundle
from tests.hr.test_compliance_services import record
from tests.workflows.test_concurrency import race
from workflows import services
from workflows.models import ProcessInstance

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def late(employee, key: str, occurred_at: dt.datetime):
    return lambda: record(employee, "late_arrival", occurred_at, key)


def test_two_violations_arriving_together_start_exactly_one_deduction(org):
    compliance_seed.seed()
    services.version_deploy(files=shipped_bundle("compliance_deduction.bpmn"))
    now = timezone.now()
    late(org.nurse, "a-1", now - dt.timedelta(days=3))()

    outcomes = race(
        [
            late(org.nurse, "a-2", now - dt.timedelta(days=2)),
            late(org.nurse, "a-3", now - dt.timedelta(days=1)),
        ]
    )

    assert outcomes == ["ok", "ok"]
    assert ComplianceSignal.objects.count() == 3
    assert ProcessInstance.objects.filter(definition__key="compliance_deduction").count() == 1


def test_two_scans_at_once_start_one_renewal(org):
    services.version_deploy(files=shipped_bundle("licence_renewal.bpmn"))
    Credential.objects.create(
        employee=org.nurse,
        kind=Credential.Kind.NURSE_LICENCE,
        number="NL-1",
        valid_until_date=timezone.localdate() + dt.timedelta(days=60),
    )

    outcomes = race([licences.licence_renewal_scan, licences.licence_renewal_scan])

    assert outcomes == ["ok", "ok"]
    assert ProcessInstance.objects.filter(definition__key="licence_renewal").count() == 1
