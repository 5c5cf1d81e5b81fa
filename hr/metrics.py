"""HR metrics behind the dashboards: turnover, training and feedback participation, process
cycle times and open tasks. Definitions and formulas: docs/metrics.md.

Every figure is computed by aggregate queries grouped in the database (a handful of queries
per call, whatever the number of employees, instances or tasks); Python only shapes the few
result rows. `scope` is None for "everything" (group HR, auditors) or the org-unit paths whose
subtrees the caller may read (clinic HR).
"""

import datetime as dt
from dataclasses import dataclass

from django.db.models import (
    Avg,
    Case,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
    Window,
)
from django.db.models.functions import CumeDist
from django.utils import timezone

from hr.models import Employee, FeedbackTicket, OrgUnit, TrainingCompletion
from workflows.models import HumanTask, ProcessDefinition, ProcessInstance

TOTAL_KEY = "all"
TOTAL_LABEL = "合计 / Total"
# The nearest-rank percentile reported as p90_seconds.
PERCENTILE = 0.9


@dataclass(frozen=True)
class Period:
    """An inclusive range of calendar days, in the group's time zone."""

    from_date: dt.date
    to_date: dt.date

    @property
    def start_at(self) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(self.from_date, dt.time.min))

    @property
    def end_at(self) -> dt.datetime:
        """The first instant after the period."""
        next_day = self.to_date + dt.timedelta(days=1)
        return timezone.make_aware(dt.datetime.combine(next_day, dt.time.min))


def rate(numerator: float, denominator: float) -> float | None:
    """A fraction rounded to 4 places; None when there is nothing to divide by."""
    if not denominator:
        return None
    return round(numerator / denominator, 4)


def _seconds(value: dt.timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds(), 1)


# --- org units: rows are clinics (and group HQ for people and tickets outside any clinic) ---


def _report_units(scope: list[str] | None) -> list[OrgUnit]:
    """Clinics, then group units, in scope. Clinic HR's scope contains no group unit."""
    units = OrgUnit.objects.filter(kind__in=[OrgUnit.Kind.CLINIC, OrgUnit.Kind.GROUP])
    units = units.filter(_in_scope("path", scope))
    # Clinics first: a Case picks the first matching When, and a clinic lies inside its group.
    return sorted(units, key=lambda u: (u.kind != OrgUnit.Kind.CLINIC, u.path))


def _in_scope(path_field: str, scope: list[str] | None) -> Q:
    if scope is None:
        return Q()
    condition = Q(pk__in=[])
    for path in scope:
        condition |= Q(**{f"{path_field}__startswith": path})
    return condition


def _unit_of(path_field: str, units: list[OrgUnit]) -> Case:
    """The id of the reporting unit (clinic or group HQ) a row's org-unit path lies in."""
    return Case(
        *[When(**{f"{path_field}__startswith": u.path}, then=Value(u.pk)) for u in units],
        default=Value(None),
        output_field=IntegerField(),
    )


# --- people --------------------------------------------------------------------------------


def _employees(scope: list[str] | None) -> QuerySet[Employee]:
    # An inactive record without a last working date has no known employment span.
    known = Q(is_active=True) | Q(last_working_date__isnull=False)
    return Employee.objects.filter(known).filter(_in_scope("org_unit__path", scope))


def _employed_on(day: dt.date) -> Q:
    return (Q(hire_date__isnull=True) | Q(hire_date__lte=day)) & (
        Q(last_working_date__isnull=True) | Q(last_working_date__gte=day)
    )


def _employed_during(period: Period) -> Q:
    return (Q(hire_date__isnull=True) | Q(hire_date__lte=period.to_date)) & (
        Q(last_working_date__isnull=True) | Q(last_working_date__gte=period.from_date)
    )


def _grouped(
    queryset: QuerySet, group_by: str, scope: list[str] | None, path_field: str
) -> tuple[QuerySet, list[tuple[object, str, str]]]:
    """`queryset` annotated with a `group` column, and the (group value, key, label) rows."""
    if group_by == "role_family":
        groups = [(value, value, label) for value, label in Employee.RoleFamily.choices]
        return queryset.annotate(group=F("role_family")), groups
    units = _report_units(scope)
    groups = [(u.pk, u.code, u.name) for u in units]
    return queryset.annotate(group=_unit_of(path_field, units)), groups


def _rows(
    groups: list[tuple[object, str, str]], found: dict, fields: tuple[str, ...]
) -> list[dict]:
    return [
        {"key": key, "label": label, **{f: found.get(value, {}).get(f, 0) for f in fields}}
        for value, key, label in groups
    ]


def _total(rows: list[dict], fields: tuple[str, ...]) -> dict:
    return {"key": TOTAL_KEY, "label": TOTAL_LABEL, **{f: sum(r[f] for r in rows) for f in fields}}


def turnover(*, period: Period, group_by: str, scope: list[str] | None) -> dict:
    """Headcount at both ends of the period, leavers in it, and leavers / average headcount."""
    counts = {
        "headcount_start": Count("pk", filter=_employed_on(period.from_date)),
        "headcount_end": Count("pk", filter=_employed_on(period.to_date)),
        "leavers": Count(
            "pk",
            filter=Q(last_working_date__gte=period.from_date)
            & Q(last_working_date__lte=period.to_date),
        ),
    }
    queryset, groups = _grouped(_employees(scope), group_by, scope, "org_unit__path")
    found = {row.pop("group"): row for row in queryset.values("group").annotate(**counts)}
    rows = _rows(groups, found, tuple(counts))
    total = _total(rows, tuple(counts))
    for row in [*rows, total]:
        average = (row["headcount_start"] + row["headcount_end"]) / 2
        row["average_headcount"] = average
        row["turnover_rate"] = rate(row["leavers"], average)
    return _report(period, rows, total, group_by=group_by)


def training(*, period: Period, group_by: str, scope: list[str] | None) -> dict:
    """Employees employed at any time in the period, and how many of them completed at least
    one course in it."""
    completed_in_period = TrainingCompletion.objects.filter(
        employee=OuterRef("pk"),
        completed_at__gte=period.start_at,
        completed_at__lt=period.end_at,
    )
    employed = _employed_during(period)
    counts = {
        "employees": Count("pk", filter=employed),
        "participants": Count("pk", filter=employed & Q(Exists(completed_in_period))),
    }
    queryset, groups = _grouped(_employees(scope), group_by, scope, "org_unit__path")
    found = {row.pop("group"): row for row in queryset.values("group").annotate(**counts)}
    rows = _rows(groups, found, tuple(counts))
    total = _total(rows, tuple(counts))
    for row in [*rows, total]:
        row["participation_rate"] = rate(row["participants"], row["employees"])
    return _report(period, rows, total, group_by=group_by)


FEEDBACK_COUNTS = ("submitted", "closed", "closed_unresolved")


def feedback(*, period: Period, scope: list[str] | None) -> dict:
    """Per clinic: named submitters among the employees, tickets submitted in the period,
    tickets closed in it, their average time to close and the share closed unresolved."""
    units = _report_units(scope)
    groups = [(u.pk, u.code, u.name) for u in units]
    employees = (
        _employees(scope)
        .filter(_employed_during(period))
        .annotate(group=_unit_of("org_unit__path", units))
        .values("group")
        .annotate(employees=Count("pk"))
    )
    headcount = {row["group"]: row["employees"] for row in employees}

    # A ticket sent to no clinic belongs to the group as a whole (the feedback process runs it
    # at group HQ): its row is the group unit's.
    tickets = FeedbackTicket.objects.filter(_in_scope("clinic__path", scope)).annotate(
        group=_ticket_unit(units)
    )
    submitted = Q(created_at__gte=period.start_at, created_at__lt=period.end_at)
    closed = Q(closed_at__gte=period.start_at, closed_at__lt=period.end_at)
    closure = ExpressionWrapper(F("closed_at") - F("created_at"), output_field=DurationField())
    found = {
        row.pop("group"): row
        for row in tickets.values("group").annotate(
            submitted=Count("pk", filter=submitted),
            # Anonymous tickets have no submitter at all, so they cannot be counted here.
            submitters=Count("submitter", filter=submitted & Q(is_anonymous=False), distinct=True),
            closed=Count("pk", filter=closed),
            closed_unresolved=Count(
                "pk", filter=closed & Q(status=FeedbackTicket.Status.NOT_RESOLVED)
            ),
            closure=Avg(closure, filter=closed),
        )
    }
    total_closure = tickets.aggregate(
        submitters=Count("submitter", filter=submitted & Q(is_anonymous=False), distinct=True),
        closure=Avg(closure, filter=closed),
    )
    rows = []
    for value, key, label in groups:
        row = found.get(value, {})
        rows.append(
            _feedback_row(key, label, headcount.get(value, 0), row.get("submitters", 0), row)
        )
    sums = {f: sum(r[f] for r in rows) for f in FEEDBACK_COUNTS}
    total = _feedback_row(
        TOTAL_KEY,
        TOTAL_LABEL,
        sum(r["employees"] for r in rows),
        total_closure["submitters"],
        {**sums, "closure": total_closure["closure"]},
    )
    return _report(period, rows, total)


def _ticket_unit(units: list[OrgUnit]) -> Case:
    groups = [u for u in units if u.kind == OrgUnit.Kind.GROUP]
    clinics = [u for u in units if u.kind == OrgUnit.Kind.CLINIC]
    whens = [When(clinic__path__startswith=u.path, then=Value(u.pk)) for u in clinics]
    if groups:
        whens.append(When(clinic__isnull=True, then=Value(groups[0].pk)))
    return Case(*whens, default=Value(None), output_field=IntegerField())


def _feedback_row(key: str, label: str, employees: int, submitters: int, counts: dict) -> dict:
    closed = counts.get("closed", 0)
    hours = _seconds(counts.get("closure"))
    return {
        "key": key,
        "label": label,
        "employees": employees,
        "submitters": submitters,
        "participation_rate": rate(submitters, employees),
        "submitted": counts.get("submitted", 0),
        "closed": closed,
        "average_closure_hours": None if hours is None else round(hours / 3600, 2),
        "closed_unresolved": counts.get("closed_unresolved", 0),
        "unresolved_share": rate(counts.get("closed_unresolved", 0), closed),
    }


def _report(period: Period, rows: list[dict], total: dict, **extra) -> dict:
    return {
        "from": period.from_date,
        "to": period.to_date,
        **extra,
        "rows": rows,
        "total": total,
    }


# --- processes -----------------------------------------------------------------------------


def _duration_stats(queryset: QuerySet, keys: list[str], start: str, end: str, **extra) -> dict:
    """{keys tuple: (completed, average, p90)} of `end - start` over `queryset`.

    p90 is the nearest-rank percentile: the smallest duration that at least 90 % of the
    durations do not exceed (CUME_DIST() >= 0.9 in SQL, so ties count together)."""
    duration = ExpressionWrapper(F(end) - F(start), output_field=DurationField())
    measured = queryset.annotate(duration=duration)
    stats = {
        tuple(row[k] for k in keys): row
        for row in measured.values(*keys).annotate(
            completed=Count("pk"), average=Avg("duration"), **extra
        )
    }
    partition = [F(k) for k in keys]
    ranked = measured.annotate(
        cume=Window(CumeDist(), partition_by=partition, order_by=F("duration").asc())
    ).filter(cume__gte=PERCENTILE)
    for row in ranked.values(*keys).annotate(p90=Min("duration")):
        stats[tuple(row[k] for k in keys)]["p90"] = row["p90"]
    return stats


def cycle_time(*, period: Period, scope: list[str] | None) -> dict:
    """Per process: instances completed in the period and how long they ran (start to end);
    per user task: tasks completed in the period and how long they stayed open."""
    instances = ProcessInstance.objects.filter(
        _in_scope("org_unit__path", scope),
        status=ProcessInstance.Status.COMPLETED,
        ended_at__gte=period.start_at,
        ended_at__lt=period.end_at,
    )
    processes = _duration_stats(instances, ["definition__key"], "started_at", "ended_at")
    tasks = HumanTask.objects.filter(
        _in_scope("instance__org_unit__path", scope),
        status=HumanTask.Status.COMPLETED,
        completed_at__gte=period.start_at,
        completed_at__lt=period.end_at,
    )
    steps = _duration_stats(
        tasks.annotate(process_key=F("instance__definition__key")),
        ["process_key", "element_id"],
        "created_at",
        "completed_at",
        label=Max("name"),
    )
    labels = _process_labels({k for (k,) in processes} | {k for k, _ in steps})
    rows = []
    for key in sorted(labels):
        stat = processes.get((key,), {})
        rows.append(
            {
                "key": key,
                "label": labels[key],
                "completed": stat.get("completed", 0),
                "average_seconds": _seconds(stat.get("average")),
                "p90_seconds": _seconds(stat.get("p90")),
                "steps": [
                    {
                        "element_id": element_id,
                        "label": step["label"],
                        "completed": step["completed"],
                        "average_seconds": _seconds(step["average"]),
                        "p90_seconds": _seconds(step["p90"]),
                    }
                    for (process_key, element_id), step in sorted(steps.items())
                    if process_key == key
                ],
            }
        )
    return {"from": period.from_date, "to": period.to_date, "rows": rows}


def _process_labels(keys: set[str]) -> dict[str, str]:
    return dict(ProcessDefinition.objects.filter(key__in=keys).values_list("key", "name"))


def open_tasks(*, scope: list[str] | None, now: dt.datetime) -> dict:
    """Open user tasks per process and reporting unit (the clinic, or group HQ, of the
    instance's org unit), and how many of them are past their due time."""
    units = _report_units(scope)
    by_id = {u.pk: u for u in units}
    found = (
        HumanTask.objects.filter(
            _in_scope("instance__org_unit__path", scope), status=HumanTask.Status.OPEN
        )
        .annotate(
            process_key=F("instance__definition__key"),
            process_label=F("instance__definition__name"),
            unit=_unit_of("instance__org_unit__path", units),
        )
        .values("process_key", "process_label", "unit")
        .annotate(open=Count("pk"), overdue=Count("pk", filter=Q(due_at__lt=now)))
        .order_by("process_key", "unit")
    )
    rows = [
        {
            "process_key": row["process_key"],
            "process_label": row["process_label"],
            "org_unit": by_id[row["unit"]].code if row["unit"] in by_id else None,
            "org_unit_label": by_id[row["unit"]].name if row["unit"] in by_id else None,
            "open": row["open"],
            "overdue": row["overdue"],
        }
        for row in found
    ]
    return {"rows": rows}
