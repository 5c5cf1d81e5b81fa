"""When an overdue mandatory course 强制/必修课程 is chased.

A mandatory course (the deduction training of compliance_deduction, the remedial training of
performance_remedial_training, the pre-job checklist of onboarding) has a due date: the last
day, local time, on which it may be finished. From the start of the next day it is overdue:
the person is reminded at once, and if it is still not reported OVERDUE_ESCALATION_DAYS
calendar days later it is escalated (supervisor, or clinic HR for onboarding). The diagrams
attach non-interrupting date timers for both moments to the person's task.
"""

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.utils import timezone

from hr.models import TrainingAssignment, TrainingCompletion
from workflows.exceptions import NotFound

# Calendar days between the overdue reminder and the escalation.
OVERDUE_ESCALATION_DAYS = 3


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def training_overdue_deadlines(*, due_date: dt.date) -> dict[str, str | int]:
    """The moments an open course due on `due_date` is chased: `overdue_at` (the start of the
    day after the due date, local time: remind the person) and `escalate_at`
    (OVERDUE_ESCALATION_DAYS days later: escalate)."""
    overdue_day = due_date + dt.timedelta(days=1)
    return {
        "due_date": due_date.isoformat(),
        "overdue_at": _local_midnight(overdue_day).isoformat(),
        "escalate_at": _local_midnight(
            overdue_day + dt.timedelta(days=OVERDUE_ESCALATION_DAYS)
        ).isoformat(),
        "escalation_days": OVERDUE_ESCALATION_DAYS,
    }


def training_assignment_complete(
    *, employee_id: int, instance_id: int, score: Decimal | float | int | None
) -> TrainingCompletion:
    """Record that the employee finished the course this instance assigned them (its
    TrainingAssignment), with `score` when the course had an assessment."""
    assignment = (
        TrainingAssignment.objects.select_related("course")
        .filter(employee_id=employee_id, process_instance_id=instance_id)
        .first()
    )
    if assignment is None:
        raise NotFound(f"instance {instance_id} assigned no course to employee {employee_id}")
    with transaction.atomic():
        return TrainingCompletion.objects.create(
            employee_id=employee_id,
            course=assignment.course,
            completed_at=timezone.now(),
            score=None
            if score is None
            else Decimal(str(score)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP),
        )
