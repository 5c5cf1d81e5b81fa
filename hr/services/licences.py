"""Domain services of licence and credential renewal 执业证书/资质到期提醒.

Every credential with a validity date (practising licence, nurse licence, radiation permit,
CPR certificate ...) is renewed through the `licence_renewal` process:

- the daily scan (`licence_renewal_scan`: Celery beat `workers.scan_licence_renewals` and
  `manage.py scan_licence_renewals`) starts one instance per active credential whose reminder
  date (`reminder_date`: three calendar months before its last valid day,
  `RENEWAL_WINDOW_MONTHS`) has come; a credential gets one renewal, ever, so running the scan
  again starts nothing new. The instance reminds the holder and their supervisor at once: that
  is the reminder "3 months ahead";
- the holder uploads the new document, clinic HR verifies it: accepted, a new `Credential`
  row `replaces` the old one (kept, superseded, as history); rejected, it goes back to the
  holder with the reason;
- 30 days before expiry (the `licence_renewal_deadlines` DMN) clinic HR and the supervisor
  are told it is still not renewed;
- at expiry the holder is not eligible for duty in that role (`DutyRestriction`, shown in
  `GET /api/v1/me` and `GET /api/v1/licences/`) until the renewal is accepted.

Dates count in the group's time zone (settings.TIME_ZONE). "3 months ahead" is calendar
months: the reminder date is the same day of the month three months before the last valid
day, or the last day of that month when it is shorter (valid until 31 May: reminded on 28 Feb,
29 Feb in a leap year; valid until 30 June: on 30 March). The escalation stays in days (30
calendar days before the last valid day, 00:00). A credential valid until 30 June is reminded
on 30 March, escalated at 00:00 on 31 May and expired at 00:00 on 1 July.
"""

import datetime as dt
from typing import Any

from dateutil.relativedelta import relativedelta
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from hr.models import Credential, CredentialRenewal, DutyRestriction
from workflows import services as workflow_services
from workflows.exceptions import Conflict, InvalidInput, NotFound
from workflows.models import Document, ProcessInstance

# A renewal starts (and the holder and supervisor are reminded) this many calendar months
# before the last valid day.
RENEWAL_WINDOW_MONTHS = 3
LICENCE_PROCESS = "licence_renewal"


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def expires_at(credential: Credential) -> dt.datetime:
    """The moment the credential is no longer valid: the start of the day after its last
    valid day, local time."""
    return _local_midnight(credential.valid_until_date + dt.timedelta(days=1))


def reminder_date(valid_until_date: dt.date) -> dt.date:
    """The day a credential's renewal starts and its holder is reminded: three calendar months
    before its last valid day, the same day of the month or the last day of that month when
    it is shorter (31 May -> 28 Feb, 29 Feb in a leap year; 30 June -> 30 March)."""
    return valid_until_date - relativedelta(months=RENEWAL_WINDOW_MONTHS)


def last_valid_day_due(today: dt.date) -> dt.date:
    """The latest last valid day whose reminder date is `today` or earlier: three calendar
    months on, or the end of that month when today is the last day of its month (on 28 Feb
    2027 every credential ending in May is due: their reminder dates all clamp to 28 Feb)."""
    if (today + dt.timedelta(days=1)).day == 1:
        return today + relativedelta(months=RENEWAL_WINDOW_MONTHS, day=31)
    return today + relativedelta(months=RENEWAL_WINDOW_MONTHS)


def credentials_due_for_renewal(*, today: dt.date) -> QuerySet[Credential]:
    """Active credentials whose reminder date is today or earlier (expired ones included) and
    that have no renewal yet."""
    return Credential.objects.filter(
        status=Credential.Status.ACTIVE,
        valid_until_date__isnull=False,
        valid_until_date__lte=last_valid_day_due(today),
        renewal__isnull=True,
        employee__is_active=True,
    ).order_by("valid_until_date", "pk")


def licence_renewal_start(
    *, credential_id: int, started_by: AbstractBaseUser | None = None
) -> ProcessInstance | None:
    """Start the renewal of one credential, unless it has one already (then None)."""
    with transaction.atomic():
        credential = (
            Credential.objects.select_for_update()
            .select_related("employee")
            .filter(pk=credential_id)
            .first()
        )
        if credential is None:
            raise NotFound(f"credential {credential_id} does not exist")
        if CredentialRenewal.objects.filter(credential=credential).exists():
            return None
        try:
            return workflow_services.instance_start(
                process_key=LICENCE_PROCESS,
                started_by=started_by,
                subject=credential.employee,
                data={"credential_id": credential.pk},
                business_key=f"licence-renewal-{credential.pk}",
            )
        except NotFound:
            raise Conflict(
                f"the {LICENCE_PROCESS!r} process is not deployed; no renewal was started"
            ) from None


def licence_renewal_scan(*, today: dt.date | None = None) -> list[ProcessInstance]:
    """The daily scan: start a renewal for every credential whose reminder date (three
    calendar months before its last valid day) has come. Safe to run any number of times a
    day."""
    today = today or timezone.localdate()
    started = []
    for credential_id in credentials_due_for_renewal(today=today).values_list("pk", flat=True):
        instance = licence_renewal_start(credential_id=credential_id)
        if instance is not None:
            started.append(instance)
    return started


def _credential(credential_id: int) -> Credential:
    credential = Credential.objects.select_related("employee").filter(pk=credential_id).first()
    if credential is None:
        raise NotFound(f"credential {credential_id} does not exist")
    return credential


def credential_facts(credential: Credential) -> dict[str, Any]:
    """What the renewal process shows about a credential."""
    return {
        "id": credential.pk,
        "kind": credential.kind,
        "name": credential.get_kind_display(),
        "number": credential.number,
        "issuer": credential.issuer,
        "valid_until_date": credential.valid_until_date.isoformat()
        if credential.valid_until_date
        else None,
        "days_left": (credential.valid_until_date - timezone.localdate()).days
        if credential.valid_until_date
        else None,
    }


def licence_renewal_open(*, credential_id: int, instance_id: int | None) -> Credential:
    """Tie the credential to the renewal instance; a credential has one renewal, ever."""
    with transaction.atomic():
        credential = _credential(credential_id)
        if credential.valid_until_date is None:
            raise InvalidInput([{"field": "credential_id", "message": "has no validity date"}])
        renewal, created = CredentialRenewal.objects.get_or_create(
            credential=credential, defaults={"process_instance_id": instance_id}
        )
        if not created and renewal.process_instance_id != instance_id:
            raise Conflict(
                f"credential {credential_id} is already being renewed by instance "
                f"{renewal.process_instance_id}"
            )
    return credential


def licence_renewal_schedule(*, credential_id: int, escalation_days: int) -> dict[str, str]:
    """When to escalate (00:00 local time, `escalation_days` calendar days before the last
    valid day) and when the credential expires (00:00 after the last valid day)."""
    credential = _credential(credential_id)
    escalation_date = credential.valid_until_date - dt.timedelta(days=escalation_days)
    return {
        "escalation_date": escalation_date.isoformat(),
        "escalate_at": _local_midnight(escalation_date).isoformat(),
        "expires_at": expires_at(credential).isoformat(),
    }


def licence_expiry_restrict(*, credential_id: int) -> DutyRestriction | None:
    """At expiry: the holder is not eligible for duty in the credential's role until the
    renewal is accepted. Nothing happens to a credential already renewed."""
    with transaction.atomic():
        credential = _credential(credential_id)
        if credential.status != Credential.Status.ACTIVE:
            return None
        credential.status = Credential.Status.EXPIRED
        credential.save(update_fields=["status"])
        restriction, _ = DutyRestriction.objects.get_or_create(
            credential=credential,
            cleared_at=None,
            defaults={
                "employee": credential.employee,
                "started_at": timezone.now(),
                "reason": f"{credential.get_kind_display()} {credential.number} expired on "
                f"{credential.valid_until_date:%Y-%m-%d} 证书已过期",
            },
        )
    return restriction


def renewal_dates_problem(
    *, credential: Credential, valid_from_date: dt.date, valid_until_date: dt.date
) -> str:
    """Why the renewed credential's validity cannot be right ("" when it can): it must start
    before it ends and end after the old credential's last valid day."""
    if valid_until_date <= valid_from_date:
        return "有效期止必须晚于有效期起 / Valid until must be after valid from"
    if valid_until_date <= credential.valid_until_date:
        return (
            f"新证书须在原证书到期日{credential.valid_until_date:%Y-%m-%d}之后到期 / The renewed "
            f"credential must be valid after {credential.valid_until_date:%Y-%m-%d}"
        )
    return ""


def licence_renewal_record(
    *,
    credential_id: int,
    document_id: str,
    number: str,
    issuer: str,
    valid_from_date: dt.date,
    valid_until_date: dt.date,
) -> Credential:
    """Clinic HR accepted the renewed credential: a new row replaces the old one (kept as
    history, superseded) and any duty restriction from the old one is cleared."""
    with transaction.atomic():
        old = Credential.objects.select_for_update().get(pk=credential_id)
        if old.status == Credential.Status.SUPERSEDED:
            raise Conflict(f"credential {credential_id} was already renewed")
        problem = renewal_dates_problem(
            credential=old, valid_from_date=valid_from_date, valid_until_date=valid_until_date
        )
        if problem:
            raise InvalidInput([{"field": "valid_until_date", "message": problem}])
        document = Document.objects.filter(pk=document_id).first()
        if document is None:
            raise InvalidInput([{"field": "document", "message": "no such document"}])
        renewed = Credential.objects.create(
            employee_id=old.employee_id,
            kind=old.kind,
            number=number,
            issuer=issuer,
            valid_from_date=valid_from_date,
            valid_until_date=valid_until_date,
            replaces=old,
        )
        old.status = Credential.Status.SUPERSEDED
        old.save(update_fields=["status"])
        now = timezone.now()
        CredentialRenewal.objects.filter(credential=old).update(
            status=CredentialRenewal.Status.RENEWED, renewed_at=now, document=document
        )
        DutyRestriction.objects.filter(credential=old, cleared_at__isnull=True).update(
            cleared_at=now
        )
    return renewed
