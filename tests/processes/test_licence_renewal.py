"""Licence and credential renewal 执业证书/资质续期, driven through the REST API.

The nurse's licence is valid until 31 March 2027 (the group's time zone, Asia/Shanghai):
- three calendar months before (31 Dec 2026) the daily scan starts the renewal and the holder
  and the supervisor are reminded; on 30 Dec nothing happens; a second scan starts nothing;
  "3 months ahead" is calendar months, clamped to the month's end (31 May: 28 Feb, not 2 Mar
  as 90 days would have it; 29 Feb in a leap year; 30 June: 30 Mar; 1 June: 1 Mar);
- 30 calendar days before (00:00 on 1 Mar 2027, DMN licence_renewal_deadlines) clinic HR and
  the supervisor are told it is still open;
- at expiry (00:00 on 1 Apr 2027) the nurse is not eligible for duty in that role
  (/api/v1/me, /api/v1/licences/) until clinic HR accepts the renewed credential, which then
  replaces the old one (kept as history).

Paths: rejected once then accepted after expiry; accepted before the escalation (the
escalation and expiry timers are then cancelled).
"""

import datetime as dt
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from hr.models import Credential, CredentialRenewal, DutyRestriction
from hr.services.licences import RENEWAL_WINDOW_MONTHS
from tests.processes.conftest import api, complete, deploy_shipped, open_tasks
from workflows import services
from workflows.models import ProcessInstance, Timer

pytestmark = pytest.mark.django_db

CHINA = ZoneInfo("Asia/Shanghai")
VALID_UNTIL = dt.date(2027, 3, 31)
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
RENEWED = {
    "new_number": "NL-2027-0001",
    "new_issuer": "Municipal Health Commission 市卫生健康委员会",
    "new_valid_from_date": "2027-03-15",
    "new_valid_until_date": "2032-03-14",
}


def china(day: dt.date, hour: int = 9, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=CHINA)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(china(VALID_UNTIL - dt.timedelta(days=100)), tick=False)
    return time_machine


@pytest.fixture
def licence(org, clock):
    deploy_shipped("licence_renewal.bpmn")
    return Credential.objects.create(
        employee=org.nurse,
        kind=Credential.Kind.NURSE_LICENCE,
        number="NL-2022-0001",
        issuer="Municipal Health Commission 市卫生健康委员会",
        valid_from_date=dt.date(2022, 4, 1),
        valid_until_date=VALID_UNTIL,
    )


def scan_on(clock, day: dt.date) -> str:
    clock.move_to(china(day, 6), tick=False)
    out = StringIO()
    call_command("scan_licence_renewals", stdout=out)
    return out.getvalue()


def sweep_at(clock, when: dt.datetime) -> int:
    clock.move_to(when, tick=False)
    return services.timer_fire_due()


def titles(user) -> list[str]:
    response = api(user).get("/api/v1/notifications")
    assert response.status_code == 200, response.content
    return [n["title"] for n in response.json()["results"]]


def upload(user, content: bytes = PDF, name: str = "licence.pdf") -> dict:
    response = api(user).post(
        "/api/v1/documents/", {"file": SimpleUploadedFile(name, content)}, format="multipart"
    )
    assert response.status_code == 201, response.content
    return response.json()


def only_task(user, element_id: str) -> dict:
    (task,) = [t for t in open_tasks(api(user)) if t["element_id"] == element_id]
    return task


def me(user) -> dict:
    response = api(user).get("/api/v1/me")
    assert response.status_code == 200, response.content
    return response.json()


def licences(user, **filters) -> list[dict]:
    response = api(user).get("/api/v1/licences/", filters)
    assert response.status_code == 200, response.content
    return response.json()["results"]


LICENCE = "Nurse licence 护士执业证书"
EXPIRING = f"证书即将到期：{LICENCE} / Credential expiring: {LICENCE}"
ESCALATED = f"证书续期预警：{LICENCE} / Renewal overdue: {LICENCE}"
EXPIRED = f"证书已过期，暂停相应岗位：{LICENCE} / Credential expired: {LICENCE}"


def test_the_reminder_is_3_calendar_months_ahead():
    assert RENEWAL_WINDOW_MONTHS == 3


def test_a_licence_ending_31_mar_2027_is_reminded_on_31_dec_not_30_dec(org, licence, clock):
    out = scan_on(clock, VALID_UNTIL - dt.timedelta(days=91))

    assert "licence renewals started: 0" in out
    assert ProcessInstance.objects.count() == 0
    assert EXPIRING not in titles(org.nurse.user)

    out = scan_on(clock, VALID_UNTIL - dt.timedelta(days=90))

    (instance,) = ProcessInstance.objects.filter(definition__key="licence_renewal")
    assert "licence renewals started: 1" in out
    assert (instance.subject, instance.business_key) == (org.nurse, f"licence-renewal-{licence.pk}")
    assert titles(org.nurse.user).count(EXPIRING) == 1
    assert titles(org.head_nurse.user).count(EXPIRING) == 1
    assert EXPIRING not in titles(org.east_hr.user)
    task = only_task(org.nurse.user, "upload_renewed_credential")
    data = api(org.nurse.user).get(f"/api/v1/tasks/{task['id']}").json()["form"]["data"]
    assert data["credential"]["days_left"] == 90
    assert licences(org.nurse.user)[0]["renewal"] == {"status": "open", "instance": instance.pk}


def test_the_scan_never_starts_two_renewals_for_one_credential(org, licence, clock):
    scan_on(clock, VALID_UNTIL - dt.timedelta(days=90))

    out_same_day = scan_on(clock, VALID_UNTIL - dt.timedelta(days=90))
    out_next_day = scan_on(clock, VALID_UNTIL - dt.timedelta(days=89))

    assert "licence renewals started: 0" in out_same_day
    assert "licence renewals started: 0" in out_next_day
    assert ProcessInstance.objects.filter(definition__key="licence_renewal").count() == 1
    assert CredentialRenewal.objects.filter(credential=licence).count() == 1
    assert titles(org.nurse.user).count(EXPIRING) == 1


def test_the_escalation_comes_exactly_30_days_before_expiry(org, licence, clock):
    scan_on(clock, VALID_UNTIL - dt.timedelta(days=90))
    escalate_at = china(VALID_UNTIL - dt.timedelta(days=30), 0)

    sweep_at(clock, escalate_at - dt.timedelta(minutes=1))

    assert ESCALATED not in titles(org.east_hr.user)

    sweep_at(clock, escalate_at + dt.timedelta(seconds=1))

    assert titles(org.east_hr.user).count(ESCALATED) == 1
    assert titles(org.head_nurse.user).count(ESCALATED) == 1
    assert ESCALATED not in titles(org.west_hr.user)
    # The holder's task stays open.
    assert only_task(org.nurse.user, "upload_renewed_credential")


def test_at_expiry_the_holder_is_not_eligible_until_the_renewal_is_accepted(org, licence, clock):
    scan_on(clock, VALID_UNTIL - dt.timedelta(days=90))
    expires_at = china(VALID_UNTIL + dt.timedelta(days=1), 0)
    sweep_at(clock, expires_at - dt.timedelta(minutes=1))
    assert me(org.nurse.user)["is_eligible_for_duty"] is True

    sweep_at(clock, expires_at + dt.timedelta(seconds=1))

    profile = me(org.nurse.user)
    assert profile["is_eligible_for_duty"] is False
    assert [(r["credential_kind"], r["credential"]) for r in profile["duty_restrictions"]] == [
        ("nurse_licence", "NL-2022-0001")
    ]
    (row,) = licences(org.east_hr.user, employee=org.nurse.employee_no)
    assert (row["status"], row["is_restricting_duty"]) == ("expired", True)
    assert titles(org.nurse.user).count(EXPIRED) == 1
    assert titles(org.head_nurse.user).count(EXPIRED) == 1

    # Clinic HR returns the first upload with a reason; it comes back to the holder.
    first = upload(org.nurse.user)
    task = only_task(org.nurse.user, "upload_renewed_credential")
    complete(api(org.nurse.user), task["id"], {"renewed_document": first["id"], **RENEWED})
    review = only_task(org.east_hr.user, "verify_renewed_credential")
    complete(
        api(org.east_hr.user),
        review["id"],
        {"verification_decision": "reject", "rejection_reason": "Scan unreadable 扫描件不清晰"},
    )
    again = only_task(org.nurse.user, "upload_renewed_credential")
    data = api(org.nurse.user).get(f"/api/v1/tasks/{again['id']}").json()["form"]["data"]
    assert data["rejection_reason"] == "Scan unreadable 扫描件不清晰"
    assert me(org.nurse.user)["is_eligible_for_duty"] is False

    second = upload(org.nurse.user, PDF + b"% second scan\n")
    complete(api(org.nurse.user), again["id"], {"renewed_document": second["id"], **RENEWED})
    review = only_task(org.east_hr.user, "verify_renewed_credential")
    complete(api(org.east_hr.user), review["id"], {"verification_decision": "accept"})

    profile = me(org.nurse.user)
    assert (profile["is_eligible_for_duty"], profile["duty_restrictions"]) == (True, [])
    rows = licences(org.nurse.user)
    assert [(r["number"], r["status"], r["replaces"], r["is_restricting_duty"]) for r in rows] == [
        ("NL-2027-0001", "active", licence.pk, False),
        ("NL-2022-0001", "superseded", None, False),
    ]
    assert rows[1]["replaced_by"] == rows[0]["id"]
    renewal = CredentialRenewal.objects.get(credential=licence)
    assert (renewal.status, str(renewal.document_id)) == ("renewed", second["id"])
    assert DutyRestriction.objects.get(credential=licence).cleared_at is not None
    instance = ProcessInstance.objects.get(pk=renewal.process_instance_id)
    assert instance.status == ProcessInstance.Status.COMPLETED


def test_a_renewal_accepted_early_is_neither_escalated_nor_flagged(org, licence, clock):
    scan_on(clock, VALID_UNTIL - dt.timedelta(days=90))
    document = upload(org.nurse.user)
    task = only_task(org.nurse.user, "upload_renewed_credential")
    complete(api(org.nurse.user), task["id"], {"renewed_document": document["id"], **RENEWED})
    review = only_task(org.east_hr.user, "verify_renewed_credential")
    complete(api(org.east_hr.user), review["id"], {"verification_decision": "accept"})

    sweep_at(clock, china(VALID_UNTIL + dt.timedelta(days=2)))

    assert ESCALATED not in titles(org.east_hr.user)
    assert EXPIRED not in titles(org.nurse.user)
    assert me(org.nurse.user)["is_eligible_for_duty"] is True
    assert set(Timer.objects.values_list("element_id", "status")) == {
        ("escalate_before_expiry", Timer.Status.CANCELLED),
        ("credential_expired", Timer.Status.CANCELLED),
    }
    assert Credential.objects.get(pk=licence.pk).status == Credential.Status.SUPERSEDED


def test_the_upload_must_name_a_document_the_holder_uploaded(org, licence, clock):
    scan_on(clock, VALID_UNTIL - dt.timedelta(days=90))
    someone_elses = upload(org.east_hr.user)
    task = only_task(org.nurse.user, "upload_renewed_credential")

    for value in (someone_elses["id"], "7f1f4a52-4f43-4bd8-9a55-000000000000"):
        response = api(org.nurse.user).post(
            f"/api/v1/tasks/{task['id']}/complete",
            {"data": {"renewed_document": value, **RENEWED}},
            format="json",
        )

        assert response.status_code == 400, response.content
        assert response.json()["errors"] == [
            {"field": "renewed_document", "message": "no document you uploaded has this id"}
        ]
    assert only_task(org.nurse.user, "upload_renewed_credential")["id"] == task["id"]


def test_an_upload_ending_before_the_old_expiry_goes_straight_back_to_the_holder(
    org, licence, clock
):
    scan_on(clock, VALID_UNTIL - dt.timedelta(days=90))
    document = upload(org.nurse.user)
    task = only_task(org.nurse.user, "upload_renewed_credential")

    complete(
        api(org.nurse.user),
        task["id"],
        {**RENEWED, "renewed_document": document["id"], "new_valid_until_date": "2027-03-31"},
    )

    again = only_task(org.nurse.user, "upload_renewed_credential")
    data = api(org.nurse.user).get(f"/api/v1/tasks/{again['id']}").json()["form"]["data"]
    assert data["rejection_reason"] == (
        "新证书须在原证书到期日2027-03-31之后到期 / "
        "The renewed credential must be valid after 2027-03-31"
    )
    assert [t for t in open_tasks(api(org.east_hr.user)) if t["process"] == "licence_renewal"] == []


# --- "3 months ahead" in calendar months, both sides of each boundary ------------------------


@pytest.fixture
def renewal_process(org, clock):
    return deploy_shipped("licence_renewal.bpmn")


def nurse_licence_until(org, valid_until: dt.date) -> Credential:
    return Credential.objects.create(
        employee=org.nurse,
        kind=Credential.Kind.NURSE_LICENCE,
        number="NL-2022-0002",
        issuer="Municipal Health Commission 市卫生健康委员会",
        valid_from_date=dt.date(2022, 6, 1),
        valid_until_date=valid_until,
    )


def renewals_of(credential: Credential) -> list[ProcessInstance]:
    return list(
        ProcessInstance.objects.filter(
            definition__key="licence_renewal", business_key=f"licence-renewal-{credential.pk}"
        )
    )


def assert_reminded_on(org, clock, valid_until: dt.date, day_before: dt.date, day: dt.date):
    credential = nurse_licence_until(org, valid_until)

    out = scan_on(clock, day_before)

    assert "licence renewals started: 0" in out
    assert renewals_of(credential) == []
    assert EXPIRING not in titles(org.nurse.user)

    out = scan_on(clock, day)

    assert "licence renewals started: 1" in out
    assert len(renewals_of(credential)) == 1
    assert titles(org.nurse.user).count(EXPIRING) == 1
    assert titles(org.head_nurse.user).count(EXPIRING) == 1


def test_a_licence_ending_31_may_2027_is_reminded_on_28_feb_not_27_feb(org, renewal_process, clock):
    # 90 days would remind on 2 Mar 2027.
    assert_reminded_on(org, clock, dt.date(2027, 5, 31), dt.date(2027, 2, 27), dt.date(2027, 2, 28))


def test_a_licence_ending_28_may_2027_is_reminded_on_28_feb_not_27_feb(org, renewal_process, clock):
    assert_reminded_on(org, clock, dt.date(2027, 5, 28), dt.date(2027, 2, 27), dt.date(2027, 2, 28))


def test_a_licence_ending_1_jun_2027_is_reminded_on_1_mar_not_28_feb(org, renewal_process, clock):
    assert_reminded_on(org, clock, dt.date(2027, 6, 1), dt.date(2027, 2, 28), dt.date(2027, 3, 1))


def test_a_licence_ending_31_may_2028_is_reminded_on_29_feb_not_28_feb(org, renewal_process, clock):
    # 2028 is a leap year.
    assert_reminded_on(org, clock, dt.date(2028, 5, 31), dt.date(2028, 2, 28), dt.date(2028, 2, 29))


def test_a_licence_ending_30_jun_2027_is_reminded_on_30_mar_not_29_mar(org, renewal_process, clock):
    # 90 days would remind on 1 Apr 2027.
    assert_reminded_on(org, clock, dt.date(2027, 6, 30), dt.date(2027, 3, 29), dt.date(2027, 3, 30))


def test_a_licence_ending_31_may_2027_is_escalated_at_0000_on_1_may_not_2359_on_30_apr(
    org, renewal_process, clock
):
    credential = nurse_licence_until(org, dt.date(2027, 5, 31))
    scan_on(clock, dt.date(2027, 2, 28))

    sweep_at(clock, china(dt.date(2027, 4, 30), 23, 59, 59))

    assert ESCALATED not in titles(org.east_hr.user)

    sweep_at(clock, china(dt.date(2027, 5, 1), 0, 0, 1))

    assert titles(org.east_hr.user).count(ESCALATED) == 1
    assert titles(org.head_nurse.user).count(ESCALATED) == 1
    assert len(renewals_of(credential)) == 1
