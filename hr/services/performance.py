"""Domain services of performance appraisal 绩效考核 and the performance improvement plan (PIP).

A monthly appraisal arrives from the appraisal system (an integration account) or from the
employee's supervisor: one score from 0 to 100 per indicator of the employee's role family
(`AppraisalIndicator` rows, seeded by `hr.seed.performance`: admin discipline 20 %,
teamwork 30 %, efficiency 50 %; nurse service attitude 30 %, nursing quality 40 %,
discipline 30 %). `appraisal_record` stores the weighted total and its rating and then
applies the monthly rules at once, in the same transaction:

- points that compliance signals added to an indicator of the month (`AppraisalInput`, e.g. a
  patient commendation: service attitude +5; see hr.services.compliance) are added to that
  score, capped at 100;
- rating: excellent from 90, good from 75, pass from 60, fail under 60 (`rating_for`);
- a total under 60 enrols the employee in mandatory remedial training 强制培训: an instance
  of the `performance_remedial_training` process (one at a time);
- 3 consecutive calendar months rated excellent put them on the reserve-cadre list
  储备干部 (once);
- 2 consecutive calendar months rated fail start a PIP: an instance of the `pip` process
  (once per streak of failing months; not while a PIP or an offboarding of theirs is
  running).

The streak rules judge months in calendar order whenever they arrive: a month recorded late
(October after November and December) completes every window of consecutive months it
closes, looking back and forward, and each window is judged when its last month arrives,
once. A month without an appraisal breaks a streak. What the rules decided for each window,
including a PIP skipped and why, is kept on the appraisal that completed it (`rule_notes`).
The rules are code because nobody acts in them; where people act (the PIP, the remedial
training) they are BPMN processes.

`appraisal_month_close` closes a month: the top 10 % by total get a 10 % bonus record.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from hr.models import (
    AppraisalIndicator,
    AppraisalInput,
    BonusRecord,
    Employee,
    MonthlyAppraisal,
    OrgUnit,
    ReserveCadre,
    TrainingCompletion,
    TrainingCourse,
)
from hr.services import offboarding as offboarding_services
from hr.services import staff_notices
from workflows import services as workflow_services
from workflows.exceptions import Conflict, InvalidInput, NotFound
from workflows.models import ProcessInstance

Rating = MonthlyAppraisal.Rating

# Rating thresholds on the weighted total (0-100): the lowest total of each rating.
EXCELLENT_FROM = Decimal("90")
GOOD_FROM = Decimal("75")
PASS_FROM = Decimal("60")
# Consecutive months that trigger the rules.
RESERVE_CADRE_EXCELLENT_MONTHS = 3
PIP_FAILING_MONTHS = 2
# Monthly bonus: the top 10 % (rounded up, so at least one person) get a 10 % bonus.
TOP_SHARE_PERCENT = 10
TOP_BONUS_PERCENT = Decimal("10")
TOP_BONUS_REASON = "Top 10 % of the month 月度绩效前10%"

PIP_PROCESS = "pip"
REMEDIAL_PROCESS = "performance_remedial_training"
OFFBOARDING_MESSAGE = "offboarding_requested"

CENT = Decimal("0.01")


def rating_for(total: Decimal) -> str:
    """The rating of a weighted total: excellent >= 90 > good >= 75 > pass >= 60 > fail."""
    if total >= EXCELLENT_FROM:
        return Rating.EXCELLENT
    if total >= GOOD_FROM:
        return Rating.GOOD
    if total >= PASS_FROM:
        return Rating.PASS
    return Rating.FAIL


def period_label(period_date: dt.date) -> str:
    return f"{period_date:%Y-%m}"


def _previous_month(period_date: dt.date) -> dt.date:
    return (period_date.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def _months_back(period_date: dt.date, count: int) -> list[dt.date]:
    """`count` months ending with `period_date`, oldest first."""
    months = [period_date]
    while len(months) < count:
        months.insert(0, _previous_month(months[0]))
    return months


def _weighted_total(
    employee: Employee, scores: dict[str, Any], extra: dict[str, Decimal] | None = None
) -> tuple[Decimal, dict[str, Decimal]]:
    indicators = list(AppraisalIndicator.objects.filter(role_family=employee.role_family))
    if not indicators:
        raise InvalidInput(
            [
                {
                    "field": "employee_no",
                    "message": f"role family {employee.role_family!r} has no appraisal indicators",
                }
            ]
        )
    weight_sum = sum(i.weight_percent for i in indicators)
    if weight_sum != 100:
        raise Conflict(
            f"the indicator weights of {employee.role_family!r} add up to {weight_sum} %, not 100 %"
        )
    known = {i.code for i in indicators}
    errors = [
        {"field": f"scores.{code}", "message": f"not an indicator of {employee.role_family!r}"}
        for code in sorted(set(scores) - known)
    ]
    clean: dict[str, Decimal] = {}
    for indicator in indicators:
        field = f"scores.{indicator.code}"
        if indicator.code not in scores:
            errors.append({"field": field, "message": "this field is required"})
            continue
        raw = scores[indicator.code]
        try:
            value = Decimal(str(raw)) if not isinstance(raw, bool) else None
        except InvalidOperation:
            value = None
        if value is None or not value.is_finite() or not Decimal(0) <= value <= Decimal(100):
            errors.append({"field": field, "message": "must be a number from 0 to 100"})
            continue
        clean[indicator.code] = value
    if errors:
        raise InvalidInput(errors, "the scores do not match the appraisal indicators")
    for code, points in (extra or {}).items():
        if code in clean:
            clean[code] = min(Decimal(100), clean[code] + points)
    total = sum(clean[i.code] * i.weight_percent for i in indicators) / Decimal(100)
    return total.quantize(CENT, rounding=ROUND_HALF_UP), clean


def _is_active(process_key: str, employee: Employee) -> bool:
    return ProcessInstance.objects.filter(
        definition__key=process_key,
        subject=employee,
        status__in=ProcessInstance.ACTIVE_STATUSES,
    ).exists()


def _start(
    process_key: str,
    *,
    employee: Employee,
    started_by: AbstractBaseUser | None,
    data: dict[str, Any],
    business_key: str,
) -> ProcessInstance:
    try:
        return workflow_services.instance_start(
            process_key=process_key,
            started_by=started_by,
            subject=employee,
            data=data,
            business_key=business_key,
        )
    except NotFound:
        raise Conflict(
            f"the {process_key!r} process is not deployed, so the appraisal rules cannot run; "
            "nothing was recorded"
        ) from None


def _next_month(period_date: dt.date) -> dt.date:
    return (period_date.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def _completed_windows(
    employee: Employee, period_date: dt.date, rating: str, months: int
) -> list[list[dt.date]]:
    """Every run of `months` consecutive calendar months that contains `period_date` and is
    all rated `rating`, oldest first: the windows the month just recorded completes (it is
    the last of each to arrive, since a month is recorded once)."""
    span = _months_back(period_date, months)
    while len(span) < 2 * months - 1:
        span.append(_next_month(span[-1]))
    rated = set(
        MonthlyAppraisal.objects.filter(
            employee=employee, period_date__in=span, rating=rating
        ).values_list("period_date", flat=True)
    )
    windows = [span[i : i + months] for i in range(months)]
    return [w for w in windows if all(m in rated for m in w)]


def _judged_pip_months(employee: Employee) -> dict[str, str]:
    """{month label: how it was judged} for every month already counted in a PIP window of
    the employee (started or skipped), so a streak starts one PIP at most."""
    judged: dict[str, str] = {}
    for notes in MonthlyAppraisal.objects.filter(employee=employee).values_list(
        "rule_notes", flat=True
    ):
        for note in notes or []:
            if note.get("rule") == "pip":
                for month in note.get("months", []):
                    judged.setdefault(month, ", ".join(note["months"]))
    return judged


def _pip_skip_reason(employee: Employee, labels: list[str], judged: dict[str, str]) -> str:
    """Why the failing months `labels` start no PIP; "" when they start one."""
    counted = [m for m in labels if m in judged]
    if counted:
        return f"{counted[0]} already counted in the PIP judgement of {judged[counted[0]]}"
    running = offboarding_services.offboarding_running(employee=employee)
    if running is not None:
        label = offboarding_services.offboarding_label(running, employee)
        return f"offboarding in progress ({label})"
    pip = ProcessInstance.objects.filter(
        definition__key=PIP_PROCESS, subject=employee, status__in=ProcessInstance.ACTIVE_STATUSES
    ).first()
    if pip is not None:
        return f"a PIP is already running (instance {pip.pk})"
    return ""


@dataclass(frozen=True)
class AppraisalOutcome:
    """A recorded appraisal and what the monthly rules did about it."""

    appraisal: MonthlyAppraisal
    remedial_training: ProcessInstance | None
    reserve_cadre_added: bool
    pip: ProcessInstance | None


def appraisal_record(
    *,
    employee: Employee,
    period_date: dt.date,
    scores: dict[str, Any],
    recorded_by: AbstractBaseUser | None,
) -> AppraisalOutcome:
    """Store one month's scores of an employee with the weighted total and rating, then apply
    the monthly rules (remedial training under 60, reserve cadre after 3 excellent months,
    PIP after 2 failing months). A month is recorded once (Conflict otherwise)."""
    period_date = period_date.replace(day=1)
    if period_date > timezone.localdate().replace(day=1):
        raise InvalidInput([{"field": "period", "message": "the month has not started yet"}])
    _weighted_total(employee, scores)  # refuse bad scores before taking any lock
    label = period_label(period_date)
    with transaction.atomic():
        # One employee's months are recorded one at a time, so the streak rules of two
        # months arriving together each see the other.
        Employee.objects.select_for_update().filter(pk=employee.pk).first()
        if MonthlyAppraisal.objects.filter(employee=employee, period_date=period_date).exists():
            raise Conflict(f"{employee.employee_no} already has an appraisal for {label}")
        # Points from compliance signals (a patient commendation: service attitude +5) are
        # added to their indicator, capped at 100.
        inputs = list(
            AppraisalInput.objects.filter(
                employee=employee, period_date=period_date, applied_to__isnull=True
            )
        )
        extra: dict[str, Decimal] = {}
        for item in inputs:
            extra[item.indicator_code] = extra.get(item.indicator_code, Decimal(0)) + item.points
        total, clean = _weighted_total(employee, scores, extra)
        rating = rating_for(total)
        appraisal = MonthlyAppraisal.objects.create(
            employee=employee,
            period_date=period_date,
            scores={code: float(value) for code, value in clean.items()},
            total=total,
            rating=rating,
        )
        AppraisalInput.objects.filter(
            pk__in=[i.pk for i in inputs if i.indicator_code in clean]
        ).update(applied_to=appraisal)
        remedial = None
        if total < PASS_FROM and not _is_active(REMEDIAL_PROCESS, employee):
            remedial = _start(
                REMEDIAL_PROCESS,
                employee=employee,
                started_by=recorded_by,
                data={"period": label, "total": float(total)},
                business_key=f"remedial-{employee.employee_no}-{label}",
            )
        notes: list[dict[str, Any]] = []
        reserve_added = False
        if rating == Rating.EXCELLENT:
            for window in _completed_windows(
                employee, period_date, Rating.EXCELLENT, RESERVE_CADRE_EXCELLENT_MONTHS
            ):
                labels = [period_label(m) for m in window]
                _, added = ReserveCadre.objects.get_or_create(
                    employee=employee,
                    defaults={
                        "reason": f"{RESERVE_CADRE_EXCELLENT_MONTHS} consecutive excellent "
                        f"months 连续{RESERVE_CADRE_EXCELLENT_MONTHS}个月优秀: " + ", ".join(labels)
                    },
                )
                reserve_added = reserve_added or added
                notes.append(
                    {"rule": "reserve_cadre", "months": labels, "outcome": "added"}
                    if added
                    else {
                        "rule": "reserve_cadre",
                        "months": labels,
                        "outcome": "skipped",
                        "reason": "already on the reserve-cadre list",
                    }
                )
        pip = None
        if rating == Rating.FAIL:
            judged = _judged_pip_months(employee)
            for window in _completed_windows(
                employee, period_date, Rating.FAIL, PIP_FAILING_MONTHS
            ):
                labels = [period_label(m) for m in window]
                note: dict[str, Any] = {"rule": "pip", "months": labels}
                reason = _pip_skip_reason(employee, labels, judged)
                if reason:
                    note.update(outcome="skipped", reason=reason)
                else:
                    pip = _start(
                        PIP_PROCESS,
                        employee=employee,
                        started_by=recorded_by,
                        data={"reason": "consecutive_failing_months", "failing_periods": labels},
                        business_key=f"pip-{employee.employee_no}-{labels[-1]}",
                    )
                    note.update(outcome="started", instance=pip.pk)
                notes.append(note)
                for month in labels:
                    judged.setdefault(month, ", ".join(labels))
        if notes:
            appraisal.rule_notes = notes
            appraisal.save(update_fields=["rule_notes"])
        staff_notices.appraisal_notices_send(appraisal=appraisal, reserve_added=reserve_added)
    return AppraisalOutcome(appraisal, remedial, reserve_added, pip)


def top_share_size(appraised: int) -> int:
    """How many people are the top 10 % of `appraised`: 10 % rounded up, so any month with
    appraisals has at least one (1-10 people: 1, 11-20: 2, 25: 3)."""
    return -(-appraised * TOP_SHARE_PERCENT // 100)


@dataclass(frozen=True)
class MonthClose:
    """A closed month: how many were appraised, how many places the top 10 % has, and the
    bonus records of the people in it."""

    period_date: dt.date
    appraised: int
    top_size: int
    bonuses: list[BonusRecord]


POOL_GROUP, POOL_CLINIC = "group", "clinic"
TIES_INCLUDE, TIES_EXCLUDE = "include", "exclude"


def _top_share_rules() -> tuple[str, str]:
    conf = settings.CAREFLOW
    pool = conf.get("TOP_SHARE_POOL", POOL_GROUP)
    ties = conf.get("TOP_SHARE_TIES", TIES_INCLUDE)
    if pool not in (POOL_GROUP, POOL_CLINIC) or ties not in (TIES_INCLUDE, TIES_EXCLUDE):
        raise Conflict(f"the top-share settings are invalid: pool {pool!r}, ties {ties!r}")
    return pool, ties


def _pools(appraisals: list[MonthlyAppraisal], pool: str) -> list[list[MonthlyAppraisal]]:
    """The appraisals ranked together: all of them, or those of each clinic apart (staff
    outside any clinic, e.g. at group head office, are one more pool)."""
    if pool == POOL_GROUP:
        return [appraisals] if appraisals else []
    clinics = set(OrgUnit.objects.filter(kind=OrgUnit.Kind.CLINIC).values_list("pk", flat=True))
    pools: dict[int | None, list[MonthlyAppraisal]] = {}
    for appraisal in appraisals:
        ids = [int(i) for i in appraisal.employee.org_unit.path.strip("/").split("/") if i]
        clinic = next((i for i in reversed(ids) if i in clinics), None)
        pools.setdefault(clinic, []).append(appraisal)
    return [pools[key] for key in sorted(pools, key=lambda k: (k is None, k or 0))]


def top_of_pool(ranked: list[MonthlyAppraisal], ties: str) -> list[MonthlyAppraisal]:
    """The top 10 % of one pool, best first (`ranked` is ordered by total, best first):
    `top_share_size` places; the people tied with the last place all get in ("include") or,
    when they do not all fit, none of them ("exclude")."""
    size = top_share_size(len(ranked))
    if not ranked:
        return []
    cutoff = ranked[size - 1].total
    with_ties = [a for a in ranked if a.total >= cutoff]
    if ties == TIES_INCLUDE or len(with_ties) <= size:
        return with_ties
    return [a for a in ranked if a.total > cutoff]


def appraisal_month_close(*, period_date: dt.date) -> MonthClose:
    """Grant the month's top 10 % by weighted total a 10 % bonus record.

    The top 10 % is `top_share_size` (rounded up) of everyone appraised that month in the
    pool: the whole group, or each clinic apart (settings `TOP_SHARE_POOL`); the people tied
    with the last place all get in, or none of them when they do not all fit
    (`TOP_SHARE_TIES`). `top_size` is the sum of the pools' places. Closing a month again
    grants nobody twice and tells nobody twice. A month that is not over yet cannot be closed.
    """
    period_date = period_date.replace(day=1)
    if period_date >= timezone.localdate().replace(day=1):
        raise InvalidInput([{"field": "period", "message": "the month is not over yet"}])
    pool, ties = _top_share_rules()
    with transaction.atomic():
        appraisals = list(
            MonthlyAppraisal.objects.filter(period_date=period_date)
            .select_related("employee__org_unit", "employee__user")
            .order_by("-total", "employee_id")
        )
        pools = _pools(appraisals, pool)
        size = sum(top_share_size(len(p)) for p in pools)
        top = sorted(
            (a for p in pools for a in top_of_pool(p, ties)),
            key=lambda a: (-a.total, a.employee_id),
        )
        bonuses = []
        for appraisal in top:
            record, created = BonusRecord.objects.get_or_create(
                employee_id=appraisal.employee_id,
                period_date=period_date,
                reason=TOP_BONUS_REASON,
                defaults={"percent": TOP_BONUS_PERCENT},
            )
            if created:
                staff_notices.bonus_notice_send(record=record)
            bonuses.append(record)
    return MonthClose(period_date, len(appraisals), size, bonuses)


# --- mandatory remedial training -------------------------------------------------------------


def remedial_weakest_indicator(*, employee: Employee, period_date: dt.date) -> str:
    """The indicator of the employee's appraisal of the month with the lowest score: on a tie
    the one with the larger weight, then the first by code. "" when that month has no
    appraisal (e.g. the supervisor started the training by hand)."""
    appraisal = MonthlyAppraisal.objects.filter(
        employee=employee, period_date=period_date.replace(day=1)
    ).first()
    if appraisal is None or not appraisal.scores:
        return ""
    weights = dict(
        AppraisalIndicator.objects.filter(role_family=employee.role_family).values_list(
            "code", "weight_percent"
        )
    )
    code, _ = min(
        appraisal.scores.items(),
        key=lambda item: (Decimal(str(item[1])), -weights.get(item[0], 0), item[0]),
    )
    return code


def remedial_course_for(*, employee: Employee, course_code: str = "") -> TrainingCourse:
    """The remedial course 强制培训 for the employee: the one the decision table
    performance_remedial_course chose (`course_code`; by role family and weakest indicator).
    Without a code (instances of diagram versions before the table): the one of their role
    family if the catalogue has one, else the one for every family."""
    courses = TrainingCourse.objects.filter(category=TrainingCourse.Category.REMEDIAL)
    if course_code:
        course = courses.filter(code=course_code).first()
        if course is None:
            raise NotFound(f"the catalogue has no remedial course {course_code!r}")
        return course
    course = (
        courses.filter(role_family__in=[employee.role_family, ""])
        .order_by("-role_family", "code")
        .first()
    )
    if course is None:
        raise NotFound(f"the catalogue has no remedial course for {employee.role_family!r}")
    return course


def remedial_training_record(
    *, employee: Employee, course_code: str, score: Decimal | float | int
) -> TrainingCompletion:
    """Record that the employee finished their remedial course with `score`."""
    course = TrainingCourse.objects.filter(
        code=course_code, category=TrainingCourse.Category.REMEDIAL
    ).first()
    if course is None:
        raise InvalidInput([{"field": "course_code", "message": "no such remedial course"}])
    with transaction.atomic():
        return TrainingCompletion.objects.create(
            employee=employee,
            course=course,
            completed_at=timezone.now(),
            score=Decimal(str(score)).quantize(CENT, rounding=ROUND_HALF_UP),
        )


# --- PIP -------------------------------------------------------------------------------------


class OffboardingNotDeployed(Conflict):
    """No process starts on (or waits for) `offboarding_requested`: the request would be lost."""


@dataclass(frozen=True)
class PipOffboardingRequest:
    """What a failed PIP's offboarding request did: the instances the message started or
    reached, or the offboarding already in progress that was kept (and its last working day)."""

    started: list[ProcessInstance]
    correlated: list[ProcessInstance]
    kept: ProcessInstance | None = None
    kept_last_working_date: dt.date | None = None


def pip_offboarding_request(
    *, employee: Employee, last_working_date: dt.date, reason: str
) -> PipOffboardingRequest:
    """Ask for the employee's offboarding 离职 after a failed PIP: send the message
    `offboarding_requested` (correlation {employee_no}, payload {last_working_date, reason}),
    which starts the offboarding process.

    When an offboarding of the employee is already in progress, nothing is sent: that
    offboarding and the last working day it agreed stand, and the result names it (the PIP
    keeps it in its history). The employee row is locked, so a second request cannot slip
    in beside the first.

    When no process receives the message it is not silently dropped: OffboardingNotDeployed
    is raised, so the calling PIP stops with an incident an operator retries once the
    offboarding process is deployed.
    """
    with transaction.atomic():
        employee = Employee.objects.select_for_update().get(pk=employee.pk)
        running = offboarding_services.offboarding_running(employee=employee)
        if running is not None:
            return PipOffboardingRequest([], [], running, employee.last_working_date)
        try:
            result = workflow_services.message_send(
                name=OFFBOARDING_MESSAGE,
                correlation={"employee_no": employee.employee_no},
                payload={"last_working_date": last_working_date.isoformat(), "reason": reason},
            )
        except NotFound:
            raise OffboardingNotDeployed(
                f"no process receives {OFFBOARDING_MESSAGE!r}: deploy the offboarding process, "
                "then retry"
            ) from None
    return PipOffboardingRequest(result.started, result.correlated)
