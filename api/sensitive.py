"""Revealing sealed form fields (workflows/sensitive.py) to the readers allowed to see them.

The subject employee and HR over them read the plaintext, and each such read is written to
the access log; every other reader (supervisors, auditors, process owners) gets a mask. A
value sealed for a task's workers (e.g. the child's name on the birthday greeting task) is
also shown, and logged, to whoever may work that open task, on that task only."""

from typing import Any

from hr.selectors import may_see_private
from hr.services.privacy import access_record
from workflows import assignment, sensitive
from workflows.models import HumanTask, ProcessInstance


def works_task(user, task: HumanTask) -> bool:
    """May `user` work the open task now (its assignee, or a candidate while unclaimed)?"""
    if not task.is_open or not user.is_authenticated:
        return False
    if task.assignee_id is not None:
        return task.assignee_id == user.pk
    return assignment.may_work(
        user,
        candidate_user_id=task.candidate_user_id,
        role=task.candidate_role,
        org_unit_id=task.candidate_org_unit_id,
    )


def shown(request, instance: ProcessInstance, value: Any, *, task: HumanTask | None = None) -> Any:
    """`value` (task data, event payloads) as the requesting user may see it; with `task`,
    the data of that task, whose workers also see what was sealed for them."""
    subject = instance.subject
    may_read = subject is not None and may_see_private(request.user, subject)
    as_worker = task is not None and subject is not None and works_task(request.user, task)
    revealed, fields = sensitive.reveal(value, may_read=may_read, works_task=as_worker)
    if not may_read and as_worker:
        fields = sensitive.task_worker_fields(value)
    if (may_read or as_worker) and fields:
        access_record(
            user=request.user,
            employee=subject,
            fields=[f"{instance.definition.key}.{name}" for name in sorted(fields)],
            endpoint=f"{request.method} {request.path}",
        )
    return revealed
