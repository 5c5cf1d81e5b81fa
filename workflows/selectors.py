"""Non-trivial reads of the process engine: inbox, history, verification."""

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, QuerySet

from hr.models import RoleAssignment
from workflows.models import HumanTask, ProcessInstance, WorkflowEvent


def inbox(user: AbstractBaseUser) -> QuerySet[HumanTask]:
    """Open tasks assigned to `user`, offered to them by name, or offered to a role they hold
    in the task's org unit. Reads HumanTask rows only, never a workflow."""
    roles = RoleAssignment.objects.filter(user=user).values_list("role", "org_unit_id")
    offered = Q(candidate_user=user)
    for role, org_unit_id in roles:
        offered |= Q(candidate_role=role, candidate_org_unit_id=org_unit_id)
    return HumanTask.objects.filter(
        Q(assignee=user) | (Q(assignee__isnull=True) & offered),
        status=HumanTask.Status.OPEN,
    ).order_by("created_at", "id")


def instance_events(instance: ProcessInstance) -> QuerySet[WorkflowEvent]:
    return instance.events.select_related("actor").order_by("seq")


@dataclass(frozen=True)
class ChainVerification:
    """Result of re-computing an instance's event hash chain."""

    is_valid: bool
    events_checked: int
    first_bad_seq: int | None = None
    reason: str = ""


def history_verify(instance: ProcessInstance) -> ChainVerification:
    """Recompute every event hash; any edited, removed or reordered event breaks the chain."""
    prev = WorkflowEvent.GENESIS_HASH
    expected_seq = 1
    checked = 0
    for event in instance.events.order_by("seq").iterator():
        checked += 1
        if event.seq != expected_seq:
            return ChainVerification(False, checked, event.seq, f"event {expected_seq} is missing")
        if event.prev_hash != prev:
            return ChainVerification(False, checked, event.seq, "link to previous event broken")
        if event.compute_hash() != event.hash:
            return ChainVerification(False, checked, event.seq, "event content was changed")
        prev = event.hash
        expected_seq += 1
    return ChainVerification(True, checked)
