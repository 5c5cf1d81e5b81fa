"""Licence renewal services: which credentials the daily scan picks, the expiry restriction,
recording a renewal, and who sees which credentials."""

import datetime as dt

import pytest
from django.utils import timezone

from hr.models import Credential, CredentialRenewal, DutyRestriction
from hr.services import licences
from tests.api.conftest import client_for
from tests.conftest import shipped_bundle
from tests.factories import UserFactory
from workers import tasks
from workflows import registry, services
from workflows.exceptions import Conflict, InvalidInput
from workflows.models import Document
from workflows.registry import OperationContext

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 6, 1)


def credential(employee, days_left: int | None, **extra) -> Credential:
    until = TODAY + dt.timedelta(days=days_left) if days_left is not None else None
    return Credential.objects.create(
        employee=employee,
        kind=extra.pop("kind", Credential.Kind.CPR_CERTIFICATE),
        number=extra.pop("number", f"N-{days_left}"),
        valid_until_date=until,
        **extra,
    )


def test_the_scan_on_1_jun_picks_active_credentials_ending_by_1_sep_not_2_sep(org):
    at_3_months = credential(org.nurse, 92)  # valid until 1 Sep 2026: reminded on 1 Jun
    expired_unrenewed = credential(org.nurse, -3)
    credential(org.nurse, 93)  # valid until 2 Sep 2026: reminded on 2 Jun
    credential(org.nurse, None)
    credential(org.nurse, 30, status=Credential.Status.SUPERSEDED)
    renewing = credential(org.nurse, 10)
    CredentialRenewal.objects.create(credential=renewing, process_instance_id=1)

    due = list(licences.credentials_due_for_renewal(today=TODAY))

    assert due == [expired_unrenewed, at_3_months]


@pytest.mark.parametrize(
    ("valid_until", "reminded_on"),
    [
        (dt.date(2027, 5, 31), dt.date(2027, 2, 28)),
        (dt.date(2027, 5, 28), dt.date(2027, 2, 28)),
        (dt.date(2027, 5, 27), dt.date(2027, 2, 27)),
        (dt.date(2027, 6, 1), dt.date(2027, 3, 1)),
        (dt.date(2028, 5, 31), dt.date(2028, 2, 29)),
        (dt.date(2027, 6, 30), dt.date(2027, 3, 30)),
        (dt.date(2027, 3, 31), dt.date(2026, 12, 31)),
        (dt.date(2027, 1, 15), dt.date(2026, 10, 15)),
    ],
)
def test_the_reminder_date_is_3_calendar_months_before_clamped_to_the_months_end(
    valid_until, reminded_on
):
    assert licences.reminder_date(valid_until) == reminded_on


def test_the_scan_bound_agrees_with_the_reminder_date_on_every_day_of_2027_and_2028():
    # A credential is due on `today` exactly when its reminder date is today or earlier.
    day = dt.date(2027, 1, 1)
    disagreements = []
    while day < dt.date(2029, 1, 1):
        bound = licences.last_valid_day_due(day)
        for ahead in range(80, 100):
            until = day + dt.timedelta(days=ahead)
            if (licences.reminder_date(until) <= day) != (until <= bound):
                disagreements.append((day, until))
        day += dt.timedelta(days=1)
    assert disagreements == []


def test_the_schedule_escalates_at_local_midnight_and_expires_after_the_last_day(org):
    licence = credential(org.nurse, 40)

    schedule = licences.licence_renewal_schedule(credential_id=licence.pk, escalation_days=30)

    assert schedule == {
        "escalation_date": "2026-06-11",
        "escalate_at": "2026-06-11T00:00:00+08:00",
        "expires_at": "2026-07-12T00:00:00+08:00",
    }


def test_expiry_restricts_once_and_leaves_a_renewed_credential_alone(org):
    licence = credential(org.nurse, -1)

    first = licences.licence_expiry_restrict(credential_id=licence.pk)
    second = licences.licence_expiry_restrict(credential_id=licence.pk)
    renewed = credential(org.nurse, 100, status=Credential.Status.SUPERSEDED, number="old")

    assert first is not None and second is None
    assert DutyRestriction.objects.filter(credential=licence, cleared_at=None).count() == 1
    profile = registry.call("hr.employee_profile", OperationContext(None, org.nurse.pk, None), {})
    assert profile["duty_restrictions"] == ["cpr_certificate"]
    assert licences.licence_expiry_restrict(credential_id=renewed.pk) is None


def test_a_renewal_must_end_after_the_old_credential(org, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    licence = credential(org.nurse, 10)
    document = Document.objects.create(
        name="x.pdf", content_type="application/pdf", size=1, sha256="0", uploaded_by=org.nurse.user
    )

    def renew(number: str, until: dt.date) -> Credential:
        return licences.licence_renewal_record(
            credential_id=licence.pk,
            document_id=str(document.pk),
            number=number,
            issuer="",
            valid_from_date=TODAY,
            valid_until_date=until,
        )

    with pytest.raises(InvalidInput) as refused:
        renew("NEW", licence.valid_until_date)
    renewed = renew("NEW", TODAY + dt.timedelta(days=365))

    assert refused.value.errors[0]["field"] == "valid_until_date"
    assert (renewed.replaces, renewed.kind) == (licence, licence.kind)
    with pytest.raises(Conflict):
        renew("AGAIN", TODAY + dt.timedelta(days=400))


def test_a_credential_is_tied_to_one_renewal_instance(org):
    licence = credential(org.nurse, 50)
    licences.licence_renewal_open(credential_id=licence.pk, instance_id=7)

    assert licences.licence_renewal_open(credential_id=licence.pk, instance_id=7) == licence
    with pytest.raises(Conflict):
        licences.licence_renewal_open(credential_id=licence.pk, instance_id=8)


@pytest.mark.parametrize(
    ("who", "visible"),
    [
        ("nurse", {"mine"}),
        ("head_nurse", {"mine"}),
        ("east_hr", {"mine"}),
        ("west_hr", {"west"}),
        ("group_hr", {"mine", "west"}),
    ],
)
def test_credentials_are_scoped_like_other_hr_data(org, who, visible):
    credential(org.nurse, 200, number="mine")
    credential(org.west_nurse, 200, number="west")
    user = getattr(org, who).user

    response = client_for(user).get("/api/v1/licences/")

    assert response.status_code == 200
    assert {row["number"] for row in response.json()["results"]} == visible


def test_an_unknown_filter_is_named(org):
    response = client_for(org.nurse.user).get("/api/v1/licences/", {"owner": "x"})

    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": "owner", "message": "unknown filter"}]


def test_days_to_expiry_count_in_local_days(org, time_machine):
    time_machine.move_to(
        timezone.make_aware(dt.datetime.combine(TODAY, dt.time(23, 30))), tick=False
    )
    credential(org.nurse, 90)

    (row,) = client_for(org.nurse.user).get("/api/v1/licences/").json()["results"]

    assert row["days_to_expiry"] == 90


def test_the_admin_lists_credentials_and_shows_signals_read_only(org, client):
    admin_user = UserFactory(username="admin", is_staff=True, is_superuser=True)
    credential(org.nurse, 30, number="NL-ADMIN")
    client.force_login(admin_user)

    listed = client.get("/admin/hr/credential/")
    add_signal = client.get("/admin/hr/compliancesignal/add/")

    assert listed.status_code == 200
    assert b"NL-ADMIN" in listed.content
    assert add_signal.status_code == 403


def test_celery_beat_runs_the_scan_daily_and_the_task_is_idempotent(org, settings):
    services.version_deploy(files=shipped_bundle("licence_renewal.bpmn"))
    credential(org.nurse, (timezone.localdate() - TODAY).days + 60)
    entry = settings.CELERY_BEAT_SCHEDULE["scan-licence-renewals"]

    first, second = tasks.scan_licence_renewals(), tasks.scan_licence_renewals()

    assert entry["task"] == "workers.scan_licence_renewals"
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({22}, {0})
    assert (first, second) == (1, 0)
