"""Demo data of licence renewal 执业证书/资质续期: credentials of the demo employees, dated
from the day the demo is loaded so that the daily scan has something to do (one nurse
licence inside the 90-day window, one inside the 30-day escalation window)."""

import datetime as dt

from django.utils import timezone

from hr.models import Credential, Employee

Kind = Credential.Kind

CREDENTIALS = [
    # employee no, kind, number, issuer, days until expiry
    (
        "E0003",
        Kind.NURSE_LICENCE,
        "NL-2021-0003",
        "Municipal Health Commission 市卫生健康委员会",
        60,
    ),
    (
        "E0003",
        Kind.CPR_CERTIFICATE,
        "CPR-2025-0003",
        "Red Cross training centre 红十字会培训中心",
        400,
    ),
    (
        "E0004",
        Kind.PRACTISING_LICENCE,
        "PL-2020-0004",
        "Municipal Health Commission 市卫生健康委员会",
        200,
    ),
    (
        "E0004",
        Kind.RADIATION_PERMIT,
        "RP-2024-0004",
        "Municipal Health Commission 市卫生健康委员会",
        120,
    ),
    (
        "W0003",
        Kind.NURSE_LICENCE,
        "NL-2021-0103",
        "Municipal Health Commission 市卫生健康委员会",
        20,
    ),
]
VALIDITY_YEARS = 5  # about: the demo does not care about leap days


def seed() -> None:
    """Give the demo employees that exist their credentials (idempotent: a credential with
    the same number is left as it is, renewed or not)."""
    today = timezone.localdate()
    employees = {
        e.employee_no: e
        for e in Employee.objects.filter(employee_no__in={row[0] for row in CREDENTIALS})
    }
    for number, kind, credential_no, issuer, days_left in CREDENTIALS:
        if number not in employees:
            continue
        until = today + dt.timedelta(days=days_left)
        Credential.objects.get_or_create(
            employee=employees[number],
            kind=kind,
            number=credential_no,
            defaults={
                "issuer": issuer,
                "valid_from_date": until - dt.timedelta(days=365 * VALIDITY_YEARS),
                "valid_until_date": until,
            },
        )
