"""Non-trivial reads of the process engine: inbox, history, verification."""

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import OuterRef, Q, QuerySet, Subquery

from hr.models import RoleAssignment
from hr.selectors import scope_paths
from workflows import assignment, diffs
from workflows.engine import engine, process_ids
from workflows.models import (
    Document,
    HumanTask,
    Notification,
    ProcessDefinition,
    ProcessInstance,
    ProcessVersion,
    WorkflowEvent,
)
from workflows.services import current_version, version_bundle, version_outline


def inbox(user: AbstractBaseUser) -> QuerySet[HumanTask]:
    """Open tasks assigned to `user`, offered to them by name, or offered to a role they hold
    in the task's org unit; never a task that decides about `user` themself (a lane other
    than Employee / Initiator of an instance about them: the four-eyes rule bars them from
    it, so it is not theirs to do). Reads HumanTask rows only, never a workflow (the
    instances about `user` are a subquery on their subject, no state is read)."""
    roles = RoleAssignment.objects.filter(user=user).values_list("role", "org_unit_id")
    offered = Q(candidate_user=user)
    for role, org_unit_id in roles:
        offered |= Q(candidate_role=role, candidate_org_unit_id=org_unit_id)
    about_them = ProcessInstance.objects.filter(subject__user=user).values("pk")
    judges_them = Q(instance_id__in=about_them) & ~assignment.own_lane_q()
    return (
        HumanTask.objects.filter(
            Q(assignee=user) | (Q(assignee__isnull=True) & offered),
            status=HumanTask.Status.OPEN,
        )
        .exclude(judges_them)
        .order_by("created_at", "id")
    )


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


# Roles whose holders see the instances (and their data) of their org unit's subtree.
# Process owners are not among them: they see versions and instance counts, not HR data.
SCOPING_ROLES = (
    RoleAssignment.Role.AUDITOR,
    RoleAssignment.Role.GROUP_HR,
    RoleAssignment.Role.CLINIC_HR,
    RoleAssignment.Role.SUPERVISOR,
)


def _participant_tasks(user: AbstractBaseUser) -> Q:
    roles = RoleAssignment.objects.filter(user=user).values_list("role", "org_unit_id")
    offered = Q(candidate_user=user) | Q(assignee=user) | Q(completed_by=user)
    for role, org_unit_id in roles:
        offered |= Q(candidate_role=role, candidate_org_unit_id=org_unit_id)
    return offered


def instances_visible_to(user: AbstractBaseUser) -> QuerySet[ProcessInstance]:
    """Instances `user` may see: in the subtree of a unit where they hold a scoping role,
    started by them, about them, or with a task they were offered or worked."""
    instances = ProcessInstance.objects.select_related(
        "definition", "version", "subject", "org_unit", "started_by"
    )
    if user.is_superuser:
        return instances
    visible = (
        Q(started_by=user)
        | Q(subject__user=user)
        | Q(pk__in=HumanTask.objects.filter(_participant_tasks(user)).values("instance_id"))
    )
    for path in scope_paths(user, SCOPING_ROLES):
        visible |= Q(org_unit__path__startswith=path)
    return instances.filter(visible)


# What a list of instances or tasks never shows: the workflow state (a multi-instance task
# over a thousand items is ~450 KB of JSON) and the version's files. Left unread, a page of 50
# rows decodes none of it.
LIST_DEFERRED_INSTANCE_FIELDS = (
    "state",
    "version__bpmn_files",
    "version__dmn_files",
    "version__forms",
    "version__summary",
)


def for_listing(instances: QuerySet[ProcessInstance]) -> QuerySet[ProcessInstance]:
    """`instances` (from instances_visible_to) without the columns a list never shows."""
    return instances.defer(*LIST_DEFERRED_INSTANCE_FIELDS)


def task_visible_to(
    user: AbstractBaseUser, human_task_id: int, *, with_state: bool = True
) -> HumanTask | None:
    """The task, if `user` may see it (a candidate, or one who sees its instance).

    `with_state=False` leaves the instance state and the version's files unread: enough to
    decide visibility and to describe the task, and much cheaper to decode.
    """
    query = HumanTask.objects.filter(pk=human_task_id)
    if with_state:
        query = query.select_related("instance__version", "instance__definition")
    else:
        query = query.select_related("instance__definition").defer("instance__state")
    task = query.first()
    if task is None:
        return None
    # The common case, the task's own candidate or assignee, needs no further query.
    if user.pk in (task.candidate_user_id, task.assignee_id, task.completed_by_id):
        return task
    if HumanTask.objects.filter(_participant_tasks(user), pk=task.pk).exists():
        return task
    if instances_visible_to(user).filter(pk=task.instance_id).exists():
        return task
    return None


def task_delegates(task: HumanTask, user: AbstractBaseUser) -> QuerySet:
    """The people `user` may hand `task` to, by username (with their employee record): none
    unless the task is open and theirs to hand on (they hold it, or could claim it); then
    everyone who could work it (assignment.task_receivers) but themself."""
    nobody = get_user_model().objects.none()
    if not task.is_open or assignment.task_barred(user, task):
        return nobody
    if task.assignee_id is not None and task.assignee_id != user.pk:
        return nobody
    if task.assignee_id is None and not assignment.may_work(
        user,
        candidate_user_id=task.candidate_user_id,
        role=task.candidate_role,
        org_unit_id=task.candidate_org_unit_id,
    ):
        return nobody
    return (
        assignment.task_receivers(task)
        .exclude(pk=user.pk)
        .select_related("employee")
        .order_by("username")
    )


def task_form(task: HumanTask) -> dict[str, Any]:
    """The task's form (JSON Schema and UI schema) and the process data it starts from."""
    version = task.instance.version
    data: dict[str, Any] = {}
    if task.is_open:
        workflow = engine.load(
            version_bundle(version), task.instance.state, task.instance.serializer_version
        )
        data = engine.task_data(workflow, task.task_id)
    return {
        "schema": version.forms.get(task.form) if task.form else None,
        "ui_schema": version.forms.get(task.ui_form) if task.ui_form else None,
        "data": data,
    }


def open_tasks(instance_ids: list[int]) -> dict[int, list[dict]]:
    """The open tasks (id, element, name) each instance waits at (one query)."""
    found: dict[int, list[dict]] = {i: [] for i in instance_ids}
    rows = HumanTask.objects.filter(
        instance_id__in=instance_ids, status=HumanTask.Status.OPEN
    ).values_list("instance_id", "id", "element_id", "name")
    for instance_id, pk, element_id, name in rows.order_by("created_at", "id"):
        found[instance_id].append({"id": pk, "element_id": element_id, "name": name})
    return found


def notification_list(
    user: AbstractBaseUser, *, unread_only: bool = False
) -> QuerySet[Notification]:
    """The user's in-app notifications, newest first (optionally only the unread ones)."""
    notes = Notification.objects.filter(recipient=user)
    if unread_only:
        notes = notes.filter(read_at__isnull=True)
    return notes.order_by("-created_at", "-id")


def notification_unread_count(user: AbstractBaseUser) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def document_visible_to(user: AbstractBaseUser, document_id) -> Document | None:
    """The document, if `user` uploaded it or may see a process instance that refers to it."""
    document = Document.objects.filter(pk=document_id).first()
    if document is None:
        return None
    if user.is_superuser or document.uploaded_by_id == user.pk:
        return document
    if instances_visible_to(user).filter(documents=document).exists():
        return document
    return None


def instance_element_states(instance: ProcessInstance) -> dict[str, str]:
    """{BPMN element id: completed | waiting | active | error} of an instance, for its diagram."""
    workflow = engine.load(
        version_bundle(instance.version), instance.state, instance.serializer_version
    )
    return engine.element_states(workflow)


def startable_versions(user: AbstractBaseUser) -> list[ProcessVersion]:
    """The latest version of each process that `user` may start about someone (a person
    starts it, not a message), in process key order."""
    latest = (
        ProcessVersion.objects.released()
        .filter(definition=OuterRef("pk"))
        .order_by("-number")
        .values("pk")[:1]
    )
    latest_ids = ProcessDefinition.objects.annotate(latest_id=Subquery(latest)).values("latest_id")
    versions = (
        ProcessVersion.objects.filter(pk__in=latest_ids)
        .select_related("definition")
        .order_by("definition__key")
    )
    found = []
    for version in versions:
        if version.summary.get("start_messages") or version.summary.get("started_by_system"):
            continue
        lane = version.summary.get("start_lane", "")
        if assignment.startable_subjects(user, start_lane=lane).exists():
            found.append(version)
    return found


def version_main_file(version: ProcessVersion) -> str:
    """The name of the BPMN file of a version that holds its top-level process."""
    process_id = version.summary.get("process_id", version.definition.key)
    for name, content in sorted(version.bpmn_files.items()):
        if process_id in process_ids(content.encode(), name):
            return name
    return sorted(version.bpmn_files)[0]


def deployment_base(version: ProcessVersion) -> ProcessVersion | None:
    """The version a deploy is compared with: the one current when it was deployed (or, for
    versions deployed before that was recorded, the released version before it)."""
    if version.base_version_id is not None:
        return version.base_version
    return (
        version.definition.versions.released()
        .filter(number__lt=version.number)
        .order_by("-number")
        .first()
    )


def deployment_diff(version: ProcessVersion) -> dict[str, Any]:
    """What a deploy changes against the version current when it was deployed: added, removed
    and changed elements, lanes, operations and messages, high-impact ones flagged."""
    base = deployment_base(version)
    current = current_version(version.definition)
    return {
        "version": version.number,
        "against_version": base.number if base is not None else None,
        "current_version": current.number if current is not None else None,
        **diffs.outline_diff(version_outline(base), version_outline(version)),
    }
