"""Domain services of compliance signals 合规信号.

Other systems (attendance, patient survey) and people whose job it is (supervisors, HR) report
events about an employee at `POST /api/v1/signals/`: attendance anomaly, late arrival,
patient complaint, patient commendation, peer report. We do not read private chats or phone
usage: signals come only from systems and reports made for that purpose.

`signal_record` stores a signal once per (source, idempotency key) and, in the same
transaction, under a lock on the employee:

- maps it to the policy clause it concerns with the `compliance_signal_clause` DMN, deployed
  with the `compliance_deduction` process (so process owners change the mapping by deploying);
- three violations of one clause that occurred within 30 days of each other start the
  `compliance_deduction` process (a deduction notice for the supervisor and the clause's
  mandatory training), and each violation counts towards one deduction at most: the fourth
  in the window starts nothing more, three new ones start it again. The three need not
  arrive in the order they occurred (`_start_deductions`); different clauses never add up;
- a violation that is the first or second of its clause in the window that no deduction counted
  (`warning_number`) starts the `compliance_warning` process: the supervisor's compliance
  warning 合规预警 with a correction suggestion by clause (DMN), and, for a colleague's report,
  an anonymised notice to the employee;
- a patient commendation becomes an `Achievement` the promotion requirements count and, when
  the DMN names an indicator of the employee's role family, an `AppraisalInput` that adds its
  points to that indicator of the month's appraisal (applied when the scores arrive).

"Within 30 days" counts calendar days in the group's time zone (settings.TIME_ZONE), not
hours: two violations are in one window when their local dates are at most 30 days apart,
whatever the time of day (1 Jan 08:00 and 31 Jan 18:00 are 30 days apart and count
together; 1 Jan 00:00 and 1 Feb 00:00 are 31 days apart and do not).
"""

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from hr.models import (
    Achievement,
    AppraisalInput,
    BonusRecord,
    ComplianceSignal,
    DeductionNotice,
    Employee,
    TrainingAssignment,
    TrainingCourse,
)
from hr.services import staff_notices
from workflows import services as workflow_services
from workflows.exceptions import Conflict, InvalidInput, NotFound
from workflows.models import HumanTask, ProcessInstance

logger = logging.getLogger(__name__)

# The third violation of one clause within 30 days starts the deduction process: 30 calendar
# days between the local dates the violations occurred on (see `days_apart`).
VIOLATIONS_TO_ACT = 3
WINDOW_DAYS = 30
DEDUCTION_PROCESS = "compliance_deduction"
CLASSIFY_ELEMENT = "classify_signal"
CONFIRM_ELEMENT = "confirm_deduction_notice"
EFFECT_VIOLATION = "violation"
EFFECT_COMMENDATION = "commendation"
# The first and second violation of a clause in the window start the warning process.
WARNING_PROCESS = "compliance_warning"
WARNING_NUMBERS = (1, 2)


@dataclass(frozen=True)
class SignalIntake:
    """A recorded signal and what the intake did about it."""

    signal: ComplianceSignal
    is_new: bool
    violations_in_window: int | None
    deduction: ProcessInstance | None


def _signal_facts(*, employee: Employee, kind: str, severity: str) -> dict[str, Any]:
    return {"kind": kind, "severity": severity, "role_family": employee.role_family}


def signal_classify(*, employee: Employee, kind: str, severity: str) -> dict[str, Any]:
    """What the deployed `compliance_signal_clause` table says about a signal: effect,
    clause_code, appraisal_indicator, appraisal_points."""
    try:
        decided = workflow_services.decision_evaluate(
            process_key=DEDUCTION_PROCESS,
            element_id=CLASSIFY_ELEMENT,
            data={"signal": _signal_facts(employee=employee, kind=kind, severity=severity)},
        )
    except NotFound:
        raise Conflict(
            f"the {DEDUCTION_PROCESS!r} process (with the signal-to-clause table) is not "
            "deployed, so signals cannot be mapped; nothing was recorded"
        ) from None
    return {
        "effect": decided.get("effect") or "none",
        "clause_code": decided.get("clause_code") or "",
        "appraisal_indicator": decided.get("appraisal_indicator") or "",
        "appraisal_points": Decimal(str(decided.get("appraisal_points") or 0)),
    }


def _local_date(moment: dt.datetime) -> dt.date:
    """The calendar date of a moment in the group's time zone."""
    return timezone.localdate(moment, timezone.get_default_timezone())


def _start_of(day: dt.date) -> dt.datetime:
    """00:00 of a calendar date in the group's time zone."""
    return timezone.make_aware(
        dt.datetime.combine(day, dt.time.min), timezone.get_default_timezone()
    )


def days_apart(earlier: dt.datetime, later: dt.datetime) -> int:
    """Calendar days between the local dates of two moments (times of day do not matter)."""
    return (_local_date(later) - _local_date(earlier)).days


def violations_in_window(signal: ComplianceSignal) -> list[ComplianceSignal]:
    """The violations of the signal's clause by the same employee that occurred in the 30
    calendar days up to it: from 00:00 of the local date 30 days before its own to the signal
    itself (both ends included), oldest first."""
    return list(
        ComplianceSignal.objects.filter(
            employee_id=signal.employee_id,
            clause_code=signal.clause_code,
            is_violation=True,
            occurred_at__gte=_start_of(
                _local_date(signal.occurred_at) - dt.timedelta(days=WINDOW_DAYS)
            ),
            occurred_at__lte=signal.occurred_at,
        ).order_by("occurred_at", "pk")
    )


def _same_signal(existing: ComplianceSignal, fields: dict[str, Any]) -> bool:
    return all(getattr(existing, name) == value for name, value in fields.items())


def _month(moment: dt.datetime) -> dt.date:
    return timezone.localdate(moment).replace(day=1)


def signal_record(
    *,
    employee: Employee,
    kind: str,
    severity: str,
    occurred_at: dt.datetime,
    source: str,
    idempotency_key: str,
    details: dict[str, Any],
    recorded_by: AbstractBaseUser | None,
) -> SignalIntake:
    """Record a signal (once per source and idempotency key) and apply the rules above. The
    same key again with the same content answers the recorded signal; with other content it
    is a Conflict."""
    if occurred_at > timezone.now():
        raise InvalidInput([{"field": "occurred_at", "message": "is in the future"}])
    fields = {
        "employee_id": employee.pk,
        "kind": kind,
        "severity": severity,
        "occurred_at": occurred_at,
        "details": details,
    }
    with transaction.atomic():
        # One employee's signals are counted one at a time, so two arriving together each
        # see the other and exactly one of them is the third.
        Employee.objects.select_for_update().filter(pk=employee.pk).first()
        existing = ComplianceSignal.objects.filter(
            source=source, idempotency_key=idempotency_key
        ).first()
        if existing is not None:
            if not _same_signal(existing, fields):
                raise Conflict(
                    f"idempotency key {idempotency_key!r} of {source!r} was already used "
                    "for a different signal"
                )
            count = len(violations_in_window(existing)) if existing.is_violation else None
            deduction = (
                ProcessInstance.objects.filter(pk=existing.deduction_instance_id).first()
                if existing.deduction_instance_id
                else None
            )
            return SignalIntake(existing, False, count, deduction)
        decided = signal_classify(employee=employee, kind=kind, severity=severity)
        is_violation = decided["effect"] == EFFECT_VIOLATION and bool(decided["clause_code"])
        try:
            with transaction.atomic():
                signal = ComplianceSignal.objects.create(
                    **fields,
                    source=source,
                    idempotency_key=idempotency_key,
                    clause_code=decided["clause_code"] if is_violation else "",
                    is_violation=is_violation,
                    recorded_by=recorded_by,
                )
        except IntegrityError:
            # The same key arrived for another employee at the same moment.
            raise Conflict(
                f"idempotency key {idempotency_key!r} of {source!r} was already used"
            ) from None
        if decided["effect"] == EFFECT_COMMENDATION:
            _record_commendation(signal, decided)
        count, deduction = None, None
        if is_violation:
            count = len(violations_in_window(signal))
            deduction = _start_deductions(signal, recorded_by)
            if deduction is None:
                _start_warning(signal, recorded_by)
    return SignalIntake(signal, True, count, deduction)


def _record_commendation(signal: ComplianceSignal, decided: dict[str, Any]) -> None:
    signal.achievement = Achievement.objects.create(
        employee_id=signal.employee_id,
        kind=Achievement.Kind.PATIENT_COMMENDATION,
        achieved_date=timezone.localdate(signal.occurred_at),
        note=f"signal {signal.pk} from {signal.source}"[:500],
    )
    signal.save(update_fields=["achievement"])
    if decided["appraisal_indicator"] and decided["appraisal_points"]:
        AppraisalInput.objects.create(
            employee_id=signal.employee_id,
            period_date=_month(signal.occurred_at),
            indicator_code=decided["appraisal_indicator"],
            points=decided["appraisal_points"],
            signal=signal,
        )
    staff_notices.commendation_notice_send(
        signal=signal,
        indicator_code=decided["appraisal_indicator"],
        points=decided["appraisal_points"],
    )


def _start_deductions(
    signal: ComplianceSignal, started_by: AbstractBaseUser | None
) -> ProcessInstance | None:
    """Start the deduction a newly recorded violation completes, if any.

    Each violation counts towards one deduction at most: three of a clause whose local dates
    are at most 30 days apart and that no deduction has counted yet start one, which
    counts those three. Signals may arrive out of the order they occurred in (an attendance
    system sends a week at once, newest first), so the three need not end with the new one:
    the earliest such three that hold it are taken, and the deduction is started for the
    last of them by date (its month is the notice's)."""
    day = _local_date(signal.occurred_at)
    window = dt.timedelta(days=WINDOW_DAYS)
    uncounted = list(
        ComplianceSignal.objects.filter(
            employee_id=signal.employee_id,
            clause_code=signal.clause_code,
            is_violation=True,
            deduction_instance_id__isnull=True,
            occurred_at__gte=_start_of(day - window),
            occurred_at__lt=_start_of(day + window + dt.timedelta(days=1)),
        ).order_by("occurred_at", "pk")
    )
    n = VIOLATIONS_TO_ACT
    for i in range(len(uncounted) - n + 1):
        three = uncounted[i : i + n]
        if signal in three and days_apart(three[0].occurred_at, three[-1].occurred_at) <= (
            WINDOW_DAYS
        ):
            instance = _start_deduction(three[-1], started_by)
            ComplianceSignal.objects.filter(pk__in=[s.pk for s in three]).update(
                deduction_instance_id=instance.pk
            )
            signal.refresh_from_db(fields=["deduction_instance_id"])
            return instance
    return None


def counted_violations(signal: ComplianceSignal, instance_id: int | None) -> list[ComplianceSignal]:
    """The violations a deduction for `signal` counts: those of its window that no other
    deduction has counted (the intake marks them when it starts the process)."""
    return [
        s
        for s in violations_in_window(signal)
        if s.deduction_instance_id is None or s.deduction_instance_id == instance_id
    ]


def _start_deduction(
    signal: ComplianceSignal, started_by: AbstractBaseUser | None
) -> ProcessInstance:
    try:
        instance = workflow_services.instance_start(
            process_key=DEDUCTION_PROCESS,
            started_by=started_by,
            subject=signal.employee,
            data={"signal_id": signal.pk},
            business_key=f"compliance-{signal.clause_code}-{signal.pk}",
        )
    except NotFound:
        raise Conflict(f"the {DEDUCTION_PROCESS!r} process is not deployed") from None
    return instance


# --- compliance warning 合规预警 on the first and second violation ---------------------------


def warning_number(signal: ComplianceSignal) -> int:
    """Which violation towards the next deduction `signal` is: the violations of its clause in
    the 30 days up to it that no deduction has counted, itself included."""
    return sum(1 for s in violations_in_window(signal) if s.deduction_instance_id is None)


def _start_warning(signal: ComplianceSignal, started_by: AbstractBaseUser | None) -> None:
    """Start `compliance_warning` for a violation that is the first or second of its clause in
    30 days that no deduction counted. Not deployed: nothing is started (the intake still
    records the signal; the deduction rule does not depend on the warning)."""
    if warning_number(signal) not in WARNING_NUMBERS:
        return
    try:
        workflow_services.instance_start(
            process_key=WARNING_PROCESS,
            started_by=started_by,
            subject=signal.employee,
            data={"signal_id": signal.pk},
            business_key=f"compliance-warning-{signal.clause_code}-{signal.pk}",
        )
    except NotFound:
        logger.warning("%r is not deployed: no warning for signal %s", WARNING_PROCESS, signal.pk)


def warning_load(*, signal_id: int, employee_id: int | None) -> dict[str, Any]:
    """The violation as the warning process sees it: never who reported it or the details."""
    signal = _signal(signal_id)
    if signal.employee_id != employee_id:
        raise InvalidInput([{"field": "signal_id", "message": "is about another employee"}])
    if not signal.is_violation:
        raise InvalidInput([{"field": "signal_id", "message": "is not a violation"}])
    return {
        "clause_code": signal.clause_code,
        "kind": signal.kind,
        "occurred_date": _local_date(signal.occurred_at).isoformat(),
        "number": warning_number(signal),
        "reported_by_colleague": signal.kind == ComplianceSignal.Kind.PEER_REPORT,
    }


# --- what the compliance_deduction process calls --------------------------------------------


def _signal(signal_id: int) -> ComplianceSignal:
    signal = ComplianceSignal.objects.select_related("employee").filter(pk=signal_id).first()
    if signal is None:
        raise NotFound(f"signal {signal_id} does not exist")
    return signal


def signal_load(
    *, signal_id: int, employee_id: int | None, instance_id: int | None
) -> dict[str, Any]:
    """The signal as the deduction process sees it: the DMN inputs and the violations of its
    clause counted in the 30-day window."""
    signal = _signal(signal_id)
    if signal.employee_id != employee_id:
        raise InvalidInput([{"field": "signal_id", "message": "is about another employee"}])
    if not signal.is_violation:
        raise InvalidInput([{"field": "signal_id", "message": "is not a violation"}])
    counted = counted_violations(signal, instance_id)
    return {
        **_signal_facts(employee=signal.employee, kind=signal.kind, severity=signal.severity),
        "id": signal.pk,
        "occurred_at": signal.occurred_at.isoformat(),
        "source": signal.source,
        "counted_signal_ids": [s.pk for s in counted],
    }


def deduction_notice_open(
    *, signal_id: int, clause_code: str, percent: float, instance_id: int | None
) -> DeductionNotice:
    """A pending deduction notice for the month of the third violation (one per instance)."""
    signal = _signal(signal_id)
    if clause_code != signal.clause_code:
        raise InvalidInput(
            [{"field": "clause_code", "message": f"the signal concerns {signal.clause_code!r}"}]
        )
    with transaction.atomic():
        notice, created = DeductionNotice.objects.get_or_create(
            process_instance_id=instance_id,
            defaults={
                "employee_id": signal.employee_id,
                "clause_code": clause_code,
                "period_date": _month(signal.occurred_at),
                "percent": Decimal(str(percent)),
            },
        )
        if created:
            counted = counted_violations(signal, instance_id)
            notice.signals.set(counted)
            # A deduction clinic HR started by hand counts its violations too.
            ComplianceSignal.objects.filter(
                pk__in=[s.pk for s in counted], deduction_instance_id__isnull=True
            ).update(deduction_instance_id=instance_id)
    return notice


def _decider(instance_id: int | None) -> AbstractBaseUser | None:
    task = (
        HumanTask.objects.filter(
            instance_id=instance_id,
            element_id=CONFIRM_ELEMENT,
            status=HumanTask.Status.COMPLETED,
        )
        .select_related("completed_by")
        .order_by("-completed_at")
        .first()
    )
    return task.completed_by if task else None


def deduction_notice_decide(
    *, notice_id: int, decision: str, reason: str, instance_id: int | None
) -> DeductionNotice:
    """The supervisor confirmed (a negative bonus record for the month) or rejected (the
    reason is kept, nothing deducted) the notice."""
    if decision not in ("confirm", "reject"):
        raise InvalidInput([{"field": "decision", "message": "must be confirm or reject"}])
    with transaction.atomic():
        notice = DeductionNotice.objects.select_for_update().get(pk=notice_id)
        if notice.status != DeductionNotice.Status.PENDING:
            raise Conflict(f"deduction notice {notice_id} is already {notice.status}")
        notice.decided_by = _decider(instance_id)
        notice.decided_at = timezone.now()
        if decision == "confirm":
            notice.status = DeductionNotice.Status.CONFIRMED
            notice.deduction = BonusRecord.objects.create(
                employee_id=notice.employee_id,
                period_date=notice.period_date,
                percent=-notice.percent,
                reason=f"Performance deduction 绩效扣减 #{notice.pk}: {notice.clause_code}",
            )
        else:
            notice.status = DeductionNotice.Status.REJECTED
            notice.rejection_reason = reason
        notice.save()
    return notice


def training_assign(
    *, employee_id: int, course_code: str, due_days: int, notice_id: int, instance_id: int | None
) -> TrainingAssignment:
    """Enrol the employee in the clause's mandatory course, due in `due_days` days."""
    course = TrainingCourse.objects.filter(code=course_code).first()
    if course is None:
        raise NotFound(f"the catalogue has no course {course_code!r}")
    notice = DeductionNotice.objects.get(pk=notice_id)
    with transaction.atomic():
        assignment, _ = TrainingAssignment.objects.get_or_create(
            employee_id=employee_id,
            course=course,
            process_instance_id=instance_id,
            defaults={
                "due_date": timezone.localdate() + dt.timedelta(days=due_days),
                "reason": f"Third violation of {notice.clause_code} in {WINDOW_DAYS} days "
                f"{WINDOW_DAYS}天内第三次违反{notice.clause_code}",
            },
        )
    return assignment
