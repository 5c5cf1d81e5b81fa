"""Every write of the process engine: deploy, start, task work, messages, timers, operations.

Each state change of an instance is one transaction: lock the instance row, load the
workflow, apply the operation, run engine steps, then write the instance state, the
human-task projection, timers, message subscriptions, incidents and history together.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import F, Max, Q
from django.utils import timezone
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from hr.models import Employee, OrgUnit, RoleAssignment
from hr.selectors import has_role
from workflows import (
    assignment,
    budget,
    diffs,
    documents,
    form_schema,
    notifications,
    outbox,
    registry,
    scripting,
    sensitive,
)
from workflows.engine import (
    SERIALIZER_VERSION,
    BundleInvalid,
    BundleProblem,
    EngineStepFailed,
    MigrationRefused,
    ParsedBundle,
    Snapshot,
    TaskNotReady,
    bundle_outline,
    engine,
    parse_bundle,
)
from workflows.exceptions import Conflict, DeployRefused, InvalidInput, NotAllowed, NotFound
from workflows.models import (
    Document,
    HumanTask,
    Incident,
    MessageSubscription,
    ProcessDefinition,
    ProcessInstance,
    ProcessVersion,
    Timer,
    WorkflowEvent,
)

Kind = WorkflowEvent.Kind
Status = ProcessInstance.Status
logger = logging.getLogger(__name__)

# --- service tasks -------------------------------------------------------------------------

_current_instance: ContextVar[ProcessInstance | None] = ContextVar(
    "careflow_instance", default=None
)


def _call_operation(name: str, params: dict[str, Any], data: dict[str, Any]) -> Any:
    instance = _current_instance.get()
    ctx = registry.OperationContext(
        instance_id=instance.pk if instance else None,
        subject_employee_id=instance.subject_id if instance else None,
        org_unit_id=instance.org_unit_id if instance else None,
    )
    return registry.call(name, ctx, params)


engine.service_handler = _call_operation


@contextlib.contextmanager
def _acting_for(instance: ProcessInstance) -> Iterator[None]:
    token = _current_instance.set(instance)
    try:
        yield
    finally:
        _current_instance.reset(token)


# --- bundles ---------------------------------------------------------------------------------


def version_bundle(version: ProcessVersion) -> ParsedBundle:
    """The parsed specs of a version, parsed once per process and cached."""

    def load() -> ParsedBundle:
        return parse_bundle(
            {k: v.encode() for k, v in version.bpmn_files.items()},
            {k: v.encode() for k, v in version.dmn_files.items()},
        )

    # Keyed by content: identical content parses identically, and ids can be reused.
    return engine.bundle(version.content_hash, load)


@dataclass(frozen=True)
class DeployResult:
    version: ProcessVersion
    created: bool


def _content_hash(files: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return digest.hexdigest()


FORM_MAX_DEPTH = 64


def _json_depth(value: Any) -> int:
    """How deeply lists and objects nest in a parsed JSON value (iterative)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


def _split_bundle(files: dict[str, bytes]) -> tuple[dict, dict, dict, list[BundleProblem]]:
    bpmn, dmn, forms, problems = {}, {}, {}, []
    max_bytes = settings.CAREFLOW["BUNDLE_MAX_FILE_BYTES"]
    for name, content in files.items():
        if "/" in name or "\\" in name or name.startswith("."):
            problems.append(BundleProblem(name, "", "file names may not contain paths"))
            continue
        if len(content) > max_bytes:
            problems.append(BundleProblem(name, "", f"file is larger than {max_bytes} bytes"))
            continue
        try:
            content.decode("utf-8")
        except UnicodeDecodeError:
            problems.append(BundleProblem(name, "", "file is not UTF-8 text"))
            continue
        lower = name.lower()
        if lower.endswith(".bpmn") or lower.endswith(".bpmn20.xml"):
            bpmn[name] = content
        elif lower.endswith(".dmn"):
            dmn[name] = content
        elif lower.endswith(".json"):
            try:
                schema = json.loads(content)
                too_deep = _json_depth(schema) > FORM_MAX_DEPTH
            except ValueError as exc:
                problems.append(BundleProblem(name, "", f"form is not valid JSON: {exc}"))
                continue
            except RecursionError:
                too_deep = True
            if too_deep:
                # Deeper than any form needs, and deep enough to exhaust the stack of the
                # schema checker or the JSON encoder (a 500): refused here.
                problems.append(BundleProblem(name, "", "form is nested too deeply"))
                continue
            if not isinstance(schema, dict):
                problems.append(BundleProblem(name, "", "form must be a JSON object"))
                continue
            if not name.endswith(".uischema.json"):
                try:
                    Draft202012Validator.check_schema(schema)
                except SchemaError as exc:
                    where = "/".join(str(p) for p in exc.path) or "(root)"
                    problems.append(
                        BundleProblem(name, where, f"not a valid JSON Schema: {exc.message}")
                    )
                    continue
                refused = _form_problems(name, schema)
                if refused:
                    problems.extend(refused)
                    continue
            forms[name] = schema
        else:
            problems.append(
                BundleProblem(name, "", "unknown file type (expected .bpmn, .dmn, .json)")
            )
    return bpmn, dmn, forms, problems


def _form_problems(name: str, schema: dict[str, Any]) -> list[BundleProblem]:
    """What deploy refuses in a form beyond JSON Schema validity: references outside the
    form, patterns RE2 cannot run in linear time (workflows/form_schema.py)."""
    return [
        BundleProblem(name, where, message) for where, message in form_schema.form_problems(schema)
    ]


def _check_bundle(bundle: ParsedBundle, forms: dict[str, Any]) -> list[BundleProblem]:
    problems = []
    for lane, (file, element) in sorted(bundle.lanes.items()):
        if assignment.lane_key(lane) is None:
            known = ", ".join(assignment.known_lane_names())
            problems.append(
                BundleProblem(
                    file, element, f"unknown lane {lane!r}; lanes must be one of: {known}"
                )
            )
    for form, (file, element) in sorted(bundle.forms.items()):
        if form not in forms:
            problems.append(BundleProblem(file, element, f"form {form!r} is not in the bundle"))
    for name, (file, element) in sorted(bundle.operators.items()):
        if not registry.is_registered(name):
            problems.append(
                BundleProblem(file, element, f"service operator {name!r} is not registered")
            )
    for script in bundle.scripts:
        for error in scripting.check_script(script.source, script.mode):
            problems.append(BundleProblem(script.file, script.element, f"script refused: {error}"))
    problems.extend(_check_budget(bundle))
    return problems


def _check_budget(bundle: ParsedBundle) -> list[BundleProblem]:
    """The budget limits a diagram breaks with its constants (workflows/budget.py)."""
    return [BundleProblem(*problem) for problem in budget.bundle_problems(bundle)]


def current_version(definition: ProcessDefinition) -> ProcessVersion | None:
    """The version new instances start on: the released version with the highest number."""
    return definition.versions.released().order_by("-number").first()


def version_outline(version: ProcessVersion | None) -> dict[str, Any] | None:
    """Elements, lanes, operations and messages of a version (None for no version)."""
    return bundle_outline(version_bundle(version)) if version is not None else None


def _version_messages(version: ProcessVersion) -> set[tuple[str, str]]:
    if "messages" in version.summary:
        return {(name, kind) for name, kind in version.summary["messages"]}
    # Deployed before the summary listed messages: read them from the (cached) specs.
    return {(m.name, m.kind) for m in version_bundle(version).messages}


def _reserved_message_reasons(
    bundle: ParsedBundle, base: ProcessVersion | None
) -> list[dict[str, Any]]:
    """Messages this bundle newly starts on or catches that another released process already
    uses (sends, catches or starts on): a new catcher could start beside the real process or
    take its messages, so such a deploy needs a second person's approval."""
    caught = [m for m in bundle.messages if m.kind in ("start", "catch")]
    if not caught:
        return []
    already = {name for name, kind in _version_messages(base) if kind != "throw"} if base else set()
    used_by: dict[str, set[str]] = {}
    others = (
        ProcessVersion.objects.released()
        .exclude(definition__key=bundle.process_id)
        .select_related("definition")
        .only("summary", "content_hash", "bpmn_files", "dmn_files", "definition__key")
    )
    for version in others:
        for name, _kind in _version_messages(version):
            used_by.setdefault(name, set()).add(version.definition.key)
    return [
        {
            "kind": "reserved_message",
            "message": use.name,
            "file": use.file,
            "element": use.element,
            "used_by": sorted(used_by[use.name]),
        }
        for use in caught
        if use.name in used_by and use.name not in already
    ]


def _approval_reasons(
    bundle: ParsedBundle, base: ProcessVersion | None, *, request_approval: bool
) -> list[dict[str, Any]]:
    """Why this deploy by a person must wait for a second person; refuses (DeployRefused) a
    reserved message unless the deployer asked for approval."""
    reserved = _reserved_message_reasons(bundle, base)
    if reserved and not request_approval:
        raise DeployRefused(
            [
                {
                    "file": r["file"],
                    "element": r["element"],
                    "message": (
                        f"message {r['message']!r} is reserved: {', '.join(r['used_by'])} "
                        "already use it. A new process may start on or catch it only once group "
                        "HR approves the deploy: deploy again with request_approval=true"
                    ),
                }
                for r in reserved
            ]
        )
    diff = diffs.outline_diff(version_outline(base), bundle_outline(bundle))
    reasons = [*diffs.high_impact_reasons(diff), *reserved]
    if request_approval and not reasons:
        reasons.append({"kind": "requested"})
    return reasons


def version_deploy(
    *,
    files: dict[str, bytes],
    deployed_by: AbstractBaseUser | None = None,
    request_approval: bool = False,
) -> DeployResult:
    """Validate a bundle and store it as the next version; identical content is a no-op.

    A deploy by a person (`deployed_by`) that adds or changes a call to a high-impact
    operation, or newly starts on or catches a message another process uses, is stored
    waiting for approval (four-eyes deploy: group HR, not the deployer, approves it with
    `version_approve`); until then it is not current, not startable, not a migration target.
    `deployed_by=None` is the operator's deploy from the server (`manage.py deploy_processes`
    at setup, of the reviewed files in bpmn/): trusted, current at once. Whoever runs it holds
    the server and its database already, so a second person's approval would add nothing.
    """
    bpmn, dmn, forms, problems = _split_bundle(files)
    if not bpmn and not problems:
        problems.append(BundleProblem("", "", "the bundle has no .bpmn file"))
    if problems:
        raise DeployRefused([p.as_dict() for p in problems])
    try:
        bundle = parse_bundle(bpmn, dmn)
    except BundleInvalid as exc:
        raise DeployRefused([p.as_dict() for p in exc.problems]) from None
    problems = _check_bundle(bundle, forms)
    if problems:
        raise DeployRefused([p.as_dict() for p in problems])

    content_hash = _content_hash(files)
    with transaction.atomic():
        definition, _ = ProcessDefinition.objects.get_or_create(
            key=bundle.process_id, defaults={"name": bundle.name}
        )
        definition = ProcessDefinition.objects.select_for_update().get(pk=definition.pk)
        existing = definition.versions.filter(content_hash=content_hash).first()
        if existing is not None:
            return DeployResult(existing, created=False)
        base = current_version(definition)
        reasons = (
            _approval_reasons(bundle, base, request_approval=request_approval)
            if deployed_by is not None
            else []
        )
        number = (definition.versions.aggregate(n=Max("number"))["n"] or 0) + 1
        if definition.name != bundle.name and not reasons:
            definition.name = bundle.name
            definition.save(update_fields=["name"])
        Approval = ProcessVersion.Approval
        version = ProcessVersion.objects.create(
            definition=definition,
            number=number,
            content_hash=content_hash,
            bpmn_files={k: v.decode() for k, v in bpmn.items()},
            dmn_files={k: v.decode() for k, v in dmn.items()},
            forms=forms,
            summary=bundle.summary(),
            deployed_by=deployed_by,
            approval_status=Approval.PENDING if reasons else Approval.NOT_REQUIRED,
            approval_reasons=reasons,
            base_version=base,
        )
    engine.bundle(version.content_hash, lambda: bundle)
    if reasons:
        logger.info(
            "deploy of %s v%s by %s waits for approval: %s",
            definition.key,
            number,
            deployed_by,
            reasons,
        )
    return DeployResult(version, created=True)


def _version_review(
    version_id: int, actor: AbstractBaseUser, comment: str, *, approve: bool
) -> ProcessVersion:
    version = ProcessVersion.objects.select_related("definition").filter(pk=version_id).first()
    if version is None:
        raise NotFound(f"version {version_id} does not exist")
    if not has_role(actor, RoleAssignment.Role.GROUP_HR):
        raise NotAllowed("only group HR approves or rejects deploys")
    if version.deployed_by_id is not None and version.deployed_by_id == actor.pk:
        raise NotAllowed("a deploy is approved or rejected by a second person, not its deployer")
    with transaction.atomic():
        # The definition's lock orders this decision with deploys of the same process.
        ProcessDefinition.objects.select_for_update().get(pk=version.definition_id)
        version = ProcessVersion.objects.select_related("definition").get(pk=version_id)
        if version.approval_status != ProcessVersion.Approval.PENDING:
            raise Conflict(
                f"version {version.number} of {version.definition.key} is "
                f"{version.approval_status}, not waiting for approval"
            )
        current = current_version(version.definition)
        if approve and current is not None and current.number > version.number:
            raise Conflict(
                f"version {current.number} of {version.definition.key} is newer and current: "
                f"version {version.number} can no longer become current; reject it"
            )
        version.approval_status = (
            ProcessVersion.Approval.APPROVED if approve else ProcessVersion.Approval.REJECTED
        )
        version.reviewed_by = actor
        version.reviewed_at = timezone.now()
        version.review_comment = comment
        version.save(
            update_fields=["approval_status", "reviewed_by", "reviewed_at", "review_comment"]
        )
        if approve and version.definition.name != version.summary.get("name"):
            version.definition.name = version.summary.get("name") or version.definition.name
            version.definition.save(update_fields=["name"])
    logger.info(
        "deploy of %s v%s %s by %s",
        version.definition.key,
        version.number,
        version.approval_status,
        actor,
    )
    return version


def version_approve(
    *, version_id: int, actor: AbstractBaseUser, comment: str = ""
) -> ProcessVersion:
    """Group HR (never the deployer) approves a deploy waiting for approval: it becomes current."""
    return _version_review(version_id, actor, comment, approve=True)


def version_reject(
    *, version_id: int, actor: AbstractBaseUser, comment: str = ""
) -> ProcessVersion:
    """Group HR (never the deployer) rejects a deploy waiting for approval: it never runs."""
    return _version_review(version_id, actor, comment, approve=False)


# --- form data -----------------------------------------------------------------------------


def validate_form_data(schema: dict[str, Any] | None, data: Any) -> None:
    """Raise InvalidInput naming each failing field when `data` violates the form."""
    if not isinstance(data, dict):
        raise InvalidInput([{"field": "data", "message": "must be a JSON object"}])
    if not schema:
        return
    # References resolve only inside the form and patterns run on RE2 (form_schema.py).
    try:
        validator = form_schema.form_validator(schema)
        found = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    except form_schema.FormUnsupported as exc:
        # A version stored before deploy refused such forms: nothing is fetched or run.
        raise InvalidInput(
            [
                {
                    "field": form_schema.data_field(exc.where),
                    "message": f"this form cannot be checked ({exc.where}: {exc.message}); "
                    "the process owner must deploy a corrected version",
                }
            ],
            "form data cannot be checked",
        ) from None
    errors = []
    for error in found:
        path = "/".join(str(p) for p in error.absolute_path)
        if error.validator == "required":
            missing = [f for f in error.validator_value if f not in (error.instance or {})]
            for name in missing:
                field_path = f"{path}/{name}" if path else name
                errors.append({"field": field_path, "message": "this field is required"})
            continue
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            extra = form_schema.additional_property_names(error.instance, error.schema)
            for name in sorted(extra):
                field_path = f"{path}/{name}" if path else name
                errors.append({"field": field_path, "message": "unknown field"})
            continue
        errors.append({"field": path or "data", "message": error.message})
    # One "required" rule is reported once per missing field; keep each field once.
    errors = [dict(t) for t in dict.fromkeys(tuple(e.items()) for e in errors)]
    if errors:
        raise InvalidInput(errors, "form data does not match the form")


def _form(version: ProcessVersion, name: str) -> dict[str, Any] | None:
    return version.forms.get(name) if name else None


# --- history -------------------------------------------------------------------------------

_SENSITIVE = re.compile(
    r"(id_?(card|number|no)|national_id|identity|passport|phone|mobile|bank|account_no|iban|"
    r"address|password|secret|token|salary|medical|diagnosis|illness|身份证|电话|手机|银行|地址|病)",
    re.IGNORECASE,
)
MASK = "***"


def mask_sensitive(value: Any) -> Any:
    """A copy of `value` with the values of sensitive-looking keys replaced by a mask."""
    if isinstance(value, dict):
        return {
            k: (MASK if _SENSITIVE.search(str(k)) else mask_sensitive(v)) for k, v in value.items()
        }
    if isinstance(value, list):
        return [mask_sensitive(v) for v in value]
    return value


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


@dataclass
class _History:
    """Events of one operation, appended to the instance's hash chain when saved."""

    instance: ProcessInstance
    pending: list[WorkflowEvent] = field(default_factory=list)
    # Events that close the operation's story (e.g. "terminated" after the cancellations).
    closing: list[WorkflowEvent] = field(default_factory=list)
    # An instance created in this transaction: no events, no tasks, nothing to look up.
    is_new: bool = False

    def add(
        self,
        kind: str,
        *,
        actor: AbstractBaseUser | None = None,
        element_id: str = "",
        task_id: UUID | None = None,
        data: dict[str, Any] | None = None,
        closing: bool = False,
    ) -> None:
        label = ""
        if actor is not None:
            label = actor.get_username()
        (self.closing if closing else self.pending).append(
            WorkflowEvent(
                instance=self.instance,
                kind=kind,
                actor=actor,
                actor_label=label,
                element_id=element_id,
                task_id=task_id,
                data=_plain(mask_sensitive(data or {})),
            )
        )

    def flush(self) -> None:
        self.pending.extend(self.closing)
        self.closing = []
        if not self.pending:
            return
        last = None
        if not self.is_new:
            last = (
                WorkflowEvent.objects.filter(instance=self.instance)
                .order_by("-seq")
                .values_list("seq", "hash")
                .first()
            )
        seq, prev = last if last else (0, WorkflowEvent.GENESIS_HASH)
        now = timezone.now()
        for event in self.pending:
            seq += 1
            event.seq = seq
            event.created_at = now
            event.prev_hash = prev
            event.hash = event.compute_hash()
            prev = event.hash
        WorkflowEvent.objects.bulk_create(self.pending)
        self.pending = []


# --- the instance transaction --------------------------------------------------------------


def _lock_query():
    # Few joins and no ORDER BY: the ten-table join this replaced cost PostgreSQL ~1 ms to
    # plan on every call (no prepared statements). The version's BPMN text is only needed to
    # parse it, which happens once per process (engine.bundle caches by content hash).
    return (
        ProcessInstance.objects.select_for_update(of=("self",))
        .select_related("definition", "version", "subject__user", "started_by")
        .defer("version__bpmn_files", "version__dmn_files")
        .order_by()
    )


def _lock(instance_id: int) -> ProcessInstance:
    try:
        return _lock_query().get(pk=instance_id)
    except ProcessInstance.DoesNotExist:
        raise NotFound(f"process instance {instance_id} does not exist") from None


def _context(instance: ProcessInstance, data: dict[str, Any]) -> assignment.InstanceContext:
    return assignment.InstanceContext(
        subject=instance.subject,
        org_unit=instance.org_unit,
        started_by=instance.started_by,
        data=data,
    )


def _open_incident(
    instance: ProcessInstance,
    history: _History,
    *,
    message: str,
    element_id: str = "",
    task_id: UUID | None = None,
    kind: str = "engine",
    details: dict[str, Any] | None = None,
) -> Incident:
    incident = Incident.objects.create(
        instance=instance,
        element_id=element_id,
        task_id=task_id,
        message=message,
        details={"kind": kind, **(details or {})},
    )
    history.add(
        Kind.INCIDENT_OPENED,
        element_id=element_id,
        task_id=task_id,
        data={"incident": incident.pk, "message": message},
    )
    return incident


def _project_tasks(
    instance: ProcessInstance, snap: Snapshot, history: _History, incidents: list[str]
) -> None:
    ready = {t.task_id: t for t in snap.user_tasks}
    # Only ids: an instance with a thousand open tasks would build a thousand model objects.
    open_rows = (
        {}
        if history.is_new
        else {
            task_id: (pk, element_id)
            for task_id, pk, element_id in instance.tasks.filter(
                status=HumanTask.Status.OPEN
            ).values_list("task_id", "pk", "element_id")
        }
    )
    # A deadline (an interrupting timer on a user task) is the task's due time: the inbox's
    # `overdue` filter and the open-tasks metrics read it from the task row.
    deadlines: dict[UUID, datetime] = {}
    for timer in snap.timers:
        if timer.is_interrupting and timer.attached_task_id in ready:
            known = deadlines.get(timer.attached_task_id, timer.due_at)
            deadlines[timer.attached_task_id] = min(known, timer.due_at)
    now = timezone.now()
    gone = [(t, pk, element) for t, (pk, element) in open_rows.items() if t not in ready]
    if gone:
        HumanTask.objects.filter(pk__in=[pk for _, pk, _ in gone]).update(
            status=HumanTask.Status.CANCELLED, completed_at=now
        )
        for task_id, _pk, element in gone:
            history.add(Kind.TASK_CANCELLED, element_id=element, task_id=task_id)
    new_rows = []
    for task_id, task in ready.items():
        if task_id in open_rows:
            continue
        row = HumanTask(
            instance=instance,
            task_id=task_id,
            element_id=task.element_id,
            name=task.name[:300],
            documentation=task.documentation,
            lane=task.lane,
            form=task.form,
            ui_form=task.ui_form,
            due_at=deadlines.get(task_id),
        )
        try:
            candidates = assignment.resolve(task.lane, _context(instance, task.data))
        except assignment.LaneUnresolvable as exc:
            incidents.append(f"{task.element_id}: {exc}")
            candidates = assignment.Candidates()
            _open_incident(
                instance,
                history,
                message=f"nobody can work {task.element_id!r}: {exc}",
                element_id=task.element_id,
                task_id=task_id,
                kind="assignment",
            )
        row.candidate_user = candidates.user
        row.candidate_role = candidates.role
        row.candidate_org_unit = candidates.org_unit
        new_rows.append(row)
        history.add(
            Kind.TASK_CREATED,
            element_id=task.element_id,
            task_id=task_id,
            data={
                "name": task.name,
                "lane": task.lane,
                "candidate_user": candidates.user.get_username() if candidates.user else None,
                "candidate_role": candidates.role or None,
                "candidate_org_unit": candidates.org_unit.code if candidates.org_unit else None,
                **({"escalated": candidates.escalated} if candidates.escalated else {}),
            },
        )
    HumanTask.objects.bulk_create(new_rows)
    notifications.tasks_created(instance, new_rows)


def _fire_soon(timer: Timer) -> None:
    """A timer due before the next sweeps is also handed to the queue with an ETA."""
    horizon = timedelta(seconds=settings.CAREFLOW["TIMER_ETA_HORIZON_SECONDS"])
    if timer.due_at <= timezone.now() + horizon:
        outbox.fire_timer_on_commit(timer.pk, timer.due_at)


def _project_timers(instance: ProcessInstance, snap: Snapshot) -> None:
    if not snap.timers and not version_bundle(instance.version).has_timers:
        return
    wanted = {(t.task_id, t.due_at): t for t in snap.timers}
    known = getattr(instance, "_waiting_timers", None)
    if known is None:
        known = list(instance.timers.filter(status=Timer.Status.WAITING))
        instance._waiting_timers = known
    existing = {(row.task_id, row.due_at): row for row in known if row.kind == Timer.Kind.EVENT}
    # Timers the engine no longer waits on: the task they belong to completed or was cancelled.
    stale = [row.pk for key, row in existing.items() if key not in wanted]
    if stale:
        Timer.objects.filter(pk__in=stale).update(status=Timer.Status.CANCELLED)
        instance._waiting_timers = [r for r in known if r.pk not in set(stale)]
    new = [
        Timer(
            instance=instance,
            task_id=t.task_id,
            element_id=t.element_id,
            due_at=t.due_at,
            attached_task_id=t.attached_task_id,
            is_interrupting=t.is_interrupting,
        )
        for key, t in wanted.items()
        if key not in existing
    ]
    for timer in Timer.objects.bulk_create(new):
        _fire_soon(timer)


def _schedule_service_retry(
    instance: ProcessInstance,
    workflow: Any,
    history: _History,
    failure: EngineStepFailed,
    retries_done: dict[UUID, int],
) -> bool | int:
    """For a failed service task with `spiffworkflow:retry`, plan the next try (True); when the
    retries are used up return how many there were, so the incident can say so."""
    policy = engine.service_retry(workflow, failure.task_id)
    if policy is None:
        return False
    done = retries_done.get(failure.task_id, 0)
    if done >= policy.retries:
        return done
    number = done + 1
    base = policy.backoff_base_seconds or settings.CAREFLOW["SERVICE_RETRY_BACKOFF_SECONDS"]
    delay = min(base * 2 ** (number - 1), settings.CAREFLOW["RETRY_MAX_BACKOFF_SECONDS"])
    due_at = timezone.now() + timedelta(seconds=delay)
    retry = Timer.objects.create(
        instance=instance,
        kind=Timer.Kind.SERVICE_RETRY,
        task_id=failure.task_id,
        element_id=failure.element_id,
        due_at=due_at,
        retry_number=number,
        last_error=str(failure),
    )
    history.add(
        Kind.SERVICE_RETRY_SCHEDULED,
        element_id=failure.element_id,
        task_id=failure.task_id,
        data={
            "retry": number,
            "retries": policy.retries,
            "due_at": due_at.isoformat(),
            "error": str(failure),
        },
    )
    _fire_soon(retry)
    return True


def _instance_keys(instance: ProcessInstance) -> dict[str, Any]:
    keys: dict[str, Any] = {"instance_id": instance.pk}
    if instance.business_key:
        keys["business_key"] = instance.business_key
    if instance.subject is not None:
        keys["employee_no"] = instance.subject.employee_no
    return keys


def _project_messages(instance: ProcessInstance, snap: Snapshot) -> None:
    if not snap.messages and not version_bundle(instance.version).has_messages:
        return
    wanted = {m.task_id: m for m in snap.messages}
    rows = {row.task_id: row for row in instance.subscriptions.all()}
    gone = [row.pk for task_id, row in rows.items() if task_id not in wanted]
    if gone:
        MessageSubscription.objects.filter(pk__in=gone).delete()
    keys = _instance_keys(instance)
    new = [
        MessageSubscription(
            instance=instance,
            task_id=m.task_id,
            element_id=m.element_id,
            message_name=m.message_name,
            correlation=_plain({**m.correlation, **keys}),
        )
        for task_id, m in wanted.items()
        if task_id not in rows
    ]
    if new:
        MessageSubscription.objects.bulk_create(new)


def _is_scope_refusal(failure: BaseException) -> bool:
    """Did the registry refuse an operation's ids? Trying again cannot help."""
    seen: set[int] = set()
    exc: BaseException | None = failure
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, registry.OperationOutOfScope):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def _save(
    instance: ProcessInstance,
    workflow: Any,
    history: _History,
    *,
    failure: EngineStepFailed | None = None,
    auto_retry: bool = True,
    retries_done: dict[UUID, int] | None = None,
) -> None:
    """Write the instance and everything projected from it (inside the caller's transaction).

    A failed service task that carries `spiffworkflow:retry` is tried again later (a
    service-retry Timer row) while `auto_retry`; when its retries are used up, or for any other
    failure, the instance gets an incident. Notifications are written here too, so they
    commit (or not) with the step that caused them.
    """
    snap = engine.snapshot(workflow)
    instance.state = engine.dump(workflow)
    instance.serializer_version = SERIALIZER_VERSION
    incidents: list[str] = []
    _project_tasks(instance, snap, history, incidents)
    _project_timers(instance, snap)
    _project_messages(instance, snap)
    retrying = False
    if failure is not None:
        scheduled = (
            _schedule_service_retry(instance, workflow, history, failure, retries_done or {})
            if auto_retry and not _is_scope_refusal(failure)
            else False
        )
        retrying = scheduled is True
        if not retrying:
            _open_incident(
                instance,
                history,
                message=str(failure),
                element_id=failure.element_id,
                task_id=failure.task_id,
                details={"retries": scheduled} if scheduled else None,
            )
    if instance.status in (Status.SUSPENDED, Status.TERMINATED):
        pass
    elif (failure is not None and not retrying) or incidents or instance.status == Status.ERROR:
        # An instance stays in error until its open incidents are retried.
        instance.status = Status.ERROR
    elif snap.is_completed:
        instance.status = Status.COMPLETED
        instance.ended_at = timezone.now()
        history.add(Kind.INSTANCE_COMPLETED, data={"data": snap.data})
        notifications.process_completed(instance)
    elif (
        snap.user_tasks
        or snap.timers
        or snap.messages
        or retrying
        or instance.timers.filter(
            kind=Timer.Kind.SERVICE_RETRY, status=Timer.Status.WAITING
        ).exists()
    ):
        instance.status = Status.WAITING
    else:
        # Not completed and waiting for nobody: left alone it would stay "running" forever.
        element = engine.stuck_element(workflow)
        _open_incident(
            instance,
            history,
            message=f"the process stopped at {element or 'an unknown element'!r} with nothing "
            "to wait for: no task, timer or message",
            element_id=element,
            kind="stuck",
        )
        instance.status = Status.ERROR
    if instance.status in (Status.COMPLETED, Status.TERMINATED) and (
        version_bundle(instance.version).has_timers
        and getattr(instance, "_waiting_timers", None) != []
    ):
        instance.timers.filter(status=Timer.Status.WAITING).update(status=Timer.Status.CANCELLED)
    instance.save()
    history.flush()


def _run_on_instance(
    instance_id: int,
    operation: Callable[[ProcessInstance, Any, _History], None],
    *,
    allowed: tuple[str, ...] = (Status.RUNNING, Status.WAITING),
    auto_retry: bool = True,
    retries_done: dict[UUID, int] | None = None,
    enforce_budget: bool = True,
    on_budget: Callable[[ProcessInstance], dict[str, Any]] | None = None,
) -> ProcessInstance:
    """Lock, load, apply `operation` (which may raise EngineStepFailed), save: one transaction.

    The change runs under the budget (workflows/budget.py); over it, everything the change
    did is rolled back and the instance gets an incident instead (`on_budget` then adds what
    the caller needs, e.g. stops the timers that kept firing). `enforce_budget=False` for
    ending an instance, which must always be possible.
    """
    with transaction.atomic():
        instance = _lock(instance_id)
        if instance.status not in allowed:
            raise Conflict(f"instance {instance_id} is {instance.status}")
        try:
            with budget.metered(enforce=enforce_budget), transaction.atomic():
                workflow = engine.load(
                    version_bundle(instance.version), instance.state, instance.serializer_version
                )
                history = _History(instance)
                failure = None
                with _acting_for(instance):
                    try:
                        operation(instance, workflow, history)
                    except EngineStepFailed as exc:
                        failure = exc
                _save(
                    instance,
                    workflow,
                    history,
                    failure=failure,
                    auto_retry=auto_retry,
                    retries_done=retries_done,
                )
        except budget.BudgetExceeded as exc:
            instance = _budget_exceeded(instance_id, exc, on_budget)
    return instance


def _budget_exceeded(
    instance_id: int,
    exc: budget.BudgetExceeded,
    on_budget: Callable[[ProcessInstance], dict[str, Any]] | None = None,
) -> ProcessInstance:
    """After the change was rolled back: the instance as it was, in error, with an incident
    naming the element and the limit (inside the caller's transaction; the lock is held)."""
    logger.warning("instance %s: %s", instance_id, exc)
    instance = _lock(instance_id)
    history = _History(instance)
    details: dict[str, Any] = {"kind": "budget"}
    if on_budget is not None:
        details.update(on_budget(instance))
    kind = details.pop("kind")
    _open_incident(
        instance,
        history,
        message=str(exc),
        element_id=exc.element_id,
        kind=kind,
        details={"limit": exc.setting, "allowed": exc.allowed, **details},
    )
    if instance.status not in (Status.SUSPENDED, Status.TERMINATED, Status.COMPLETED):
        instance.status = Status.ERROR
    instance.save(update_fields=["status", "updated_at"])
    history.flush()
    return instance


# --- starting --------------------------------------------------------------------------------


def _latest_version(process_key: str) -> ProcessVersion:
    version = (
        ProcessVersion.objects.released()
        .filter(definition__key=process_key)
        .select_related("definition")
        .order_by("-number")
        .first()
    )
    if version is None:
        raise NotFound(f"no process {process_key!r} is deployed")
    return version


def _start(
    version: ProcessVersion,
    *,
    started_by: AbstractBaseUser | None,
    subject: Employee | None,
    org_unit: OrgUnit | None,
    data: dict[str, Any],
    business_key: str,
    then: Callable[[Any], None] | None = None,
    started_by_message: dict[str, Any] | None = None,
    on_created: Callable[[ProcessInstance], None] | None = None,
) -> ProcessInstance:
    org_unit = org_unit or (subject.org_unit if subject is not None else None)
    initial = dict(data)
    initial["subject_employee_id"] = subject.pk if subject else None
    initial["org_unit_id"] = org_unit.pk if org_unit else None
    bundle = version_bundle(version)
    # No savepoint when a caller's transaction is open (instance_start): all or nothing.
    with transaction.atomic(savepoint=False):
        instance = ProcessInstance(
            definition=version.definition,
            version=version,
            business_key=business_key,
            subject=subject,
            org_unit=org_unit,
            started_by=started_by,
            status=Status.RUNNING,
            state={},
            serializer_version=SERIALIZER_VERSION,
        )
        instance.save()
        if on_created is not None:
            # Tie the records this instance is for to it before its first service task runs.
            on_created(instance)
        history = _History(instance, is_new=True)
        history.add(
            Kind.INSTANCE_STARTED,
            actor=started_by,
            data={
                "version": version.number,
                "data": data,
                "business_key": business_key,
                **({"message": started_by_message} if started_by_message else {}),
            },
        )
        started = list(history.pending)
        try:
            with budget.metered(), transaction.atomic():
                workflow = engine.new_workflow(bundle, initial)
                failure = None
                with _acting_for(instance):
                    try:
                        engine.run(workflow)
                        if then is not None:
                            then(workflow)
                    except EngineStepFailed as exc:
                        failure = exc
                _save(instance, workflow, history, failure=failure)
        except budget.BudgetExceeded as exc:
            # Rolled back to the instance as it was created: its start event not yet run.
            history.pending = started
            history.closing = []
            instance.state = engine.dump(engine.new_workflow(bundle, initial))
            instance.status = Status.RUNNING
            instance.ended_at = None
            instance.save()
            history.flush()
            _budget_exceeded(instance.pk, exc)
            instance.refresh_from_db()
    return instance


def instance_start(
    *,
    process_key: str,
    started_by: AbstractBaseUser | None,
    subject: Employee | None = None,
    org_unit: OrgUnit | None = None,
    data: dict[str, Any] | None = None,
    business_key: str = "",
    version: ProcessVersion | None = None,
    on_created: Callable[[ProcessInstance], None] | None = None,
    sealed_data: dict[str, Any] | None = None,
) -> ProcessInstance:
    """Start the latest version of a process about `subject`, validating the start form.

    `sealed_data`: values CareFlow's own code sealed (workflows.sensitive.seal_value, e.g. a
    value of an encrypted field), added to the start data; `data` itself may hold none.

    `version`: the latest version as the caller has just read it (and checked who may start
    it), so that version is the one started. `on_created(instance)` runs once the instance
    row exists, before any engine step: domain code ties the records the instance is for to
    it there, so its service tasks may act on them (workflows/registry.py).
    """
    if version is None or version.definition.key != process_key:
        version = _latest_version(process_key)
    if version.summary.get("start_messages"):
        raise Conflict(f"process {process_key!r} starts by message, not by hand")
    data = data if data is not None else {}
    start_form = _form(version, version.start_form)
    validate_form_data(start_form, data)
    data = sensitive.seal(start_form, data)
    for name, value in (sealed_data or {}).items():
        if not sensitive.is_envelope(value):
            raise ValueError(f"sealed_data[{name!r}] is not sealed")
        data = {**data, name: value}
    reserved = scripting.RESERVED_NAMES & set(data)
    if reserved:
        raise InvalidInput([{"field": k, "message": "reserved name"} for k in sorted(reserved)])
    most = budget.limit("CAREFLOW_BUDGET_STATE_BYTES")
    if budget.json_size(data, stop_above=most) > most:
        raise InvalidInput(
            [{"field": "data", "message": f"larger than CAREFLOW_BUDGET_STATE_BYTES = {most}"}]
        )
    with transaction.atomic():
        attached = documents.form_documents_check(start_form, data, started_by)

        def created(instance: ProcessInstance) -> None:
            # Linked before the first engine step, so its service tasks may use them.
            documents.documents_link(attached, instance)
            if on_created is not None:
                on_created(instance)

        instance = _start(
            version,
            started_by=started_by,
            subject=subject,
            org_unit=org_unit,
            data=data,
            business_key=business_key,
            on_created=created,
        )
    return instance


def decision_evaluate(*, process_key: str, element_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """Evaluate the decision table of a business rule task of the latest deployed version of
    a process, without starting it (NotFound when the process is not deployed)."""
    version = _latest_version(process_key)
    try:
        return engine.decide(version_bundle(version), element_id, data)
    except EngineStepFailed as exc:
        raise Conflict(f"{process_key}: {exc}") from None


# --- human tasks -----------------------------------------------------------------------------


def _check_four_eyes(instance: ProcessInstance, row: HumanTask, user: AbstractBaseUser) -> None:
    """Nobody works a task that decides about themself (any lane but Employee / Initiator of
    an instance about them), nor, when it is marked notByInitiator, one of a process they
    started: whether they are offered it, claim it or are handed it."""
    reason = assignment.task_barred(user, row)
    if reason:
        raise NotAllowed(f"task {row.pk} {reason} (four-eyes rule)")


def _check_may_work(instance: ProcessInstance, row: HumanTask, user: AbstractBaseUser) -> None:
    _check_four_eyes(instance, row, user)
    if row.assignee_id is not None:
        if row.assignee_id != user.pk:
            raise Conflict(f"task {row.pk} is claimed by someone else")
        # Holding a task is not enough: the holder must still be someone who could work it
        # (a role given up since, or a hand-over from before delegation was checked).
        if not assignment.task_receivers(row).filter(pk=user.pk).exists():
            raise NotAllowed(f"task {row.pk} is not yours to work")
        return
    if not assignment.may_work(
        user,
        candidate_user_id=row.candidate_user_id,
        role=row.candidate_role,
        org_unit_id=row.candidate_org_unit_id,
    ):
        raise NotAllowed(f"task {row.pk} is not yours to work")


def _check_may_receive(
    instance: ProcessInstance, row: HumanTask, to_user: AbstractBaseUser
) -> None:
    """A task is handed only to someone who could work it: one of its candidates, or a holder
    of its lane's role in scope (another supervisor of the subject's unit), never to someone
    the four-eyes rule bars."""
    _check_four_eyes(instance, row, to_user)
    if not assignment.task_receivers(row).filter(pk=to_user.pk).exists():
        raise NotAllowed(
            f"task {row.pk} cannot be delegated to {to_user.get_username()!r}: they are not"
            " among those who could work it"
        )


def _locked_open_task(
    human_task_id: int, instance_id: int | None = None
) -> tuple[ProcessInstance, HumanTask]:
    """Lock the task's instance, then re-read the task: it must still be open.

    A caller that has already read the task passes its `instance_id` (it never changes).
    """
    if instance_id is None:
        instance_id = (
            HumanTask.objects.filter(pk=human_task_id).values_list("instance_id", flat=True).first()
        )
        if instance_id is None:
            raise NotFound(f"task {human_task_id} does not exist")
    instance = _lock(instance_id)
    row = (
        HumanTask.objects.select_related("candidate_user", "assignee", "candidate_org_unit")
        .filter(pk=human_task_id, instance_id=instance_id)
        .first()
    )
    if row is None:
        raise NotFound(f"task {human_task_id} does not exist")
    row.instance = instance
    if not row.is_open:
        raise Conflict(f"task {human_task_id} is already {row.status}")
    if instance.status == Status.SUSPENDED:
        raise Conflict(f"instance {instance.pk} is suspended")
    return instance, row


def task_claim(*, human_task_id: int, user: AbstractBaseUser) -> HumanTask:
    """Take a task so nobody else works it."""
    with transaction.atomic():
        instance, row = _locked_open_task(human_task_id)
        _check_may_work(instance, row, user)
        if row.assignee_id == user.pk:
            return row
        row.assignee = user
        row.claimed_at = timezone.now()
        row.save(update_fields=["assignee", "claimed_at"])
        history = _History(instance)
        history.add(Kind.TASK_CLAIMED, actor=user, element_id=row.element_id, task_id=row.task_id)
        history.flush()
    return row


def task_unclaim(*, human_task_id: int, user: AbstractBaseUser) -> HumanTask:
    """Give a claimed task back to its candidates."""
    with transaction.atomic():
        instance, row = _locked_open_task(human_task_id)
        if row.assignee_id != user.pk:
            raise Conflict(f"task {human_task_id} is not claimed by you")
        row.assignee = None
        row.claimed_at = None
        row.save(update_fields=["assignee", "claimed_at"])
        history = _History(instance)
        history.add(Kind.TASK_UNCLAIMED, actor=user, element_id=row.element_id, task_id=row.task_id)
        history.flush()
    return row


def task_delegate(
    *, human_task_id: int, user: AbstractBaseUser, to_user: AbstractBaseUser
) -> HumanTask:
    """Hand a task to a colleague, who becomes its assignee."""
    if not to_user.is_active:
        raise InvalidInput([{"field": "to_user", "message": "user is not active"}])
    with transaction.atomic():
        instance, row = _locked_open_task(human_task_id)
        _check_may_work(instance, row, user)
        _check_may_receive(instance, row, to_user)
        row.assignee = to_user
        row.claimed_at = timezone.now()
        row.save(update_fields=["assignee", "claimed_at"])
        history = _History(instance)
        history.add(
            Kind.TASK_DELEGATED,
            actor=user,
            element_id=row.element_id,
            task_id=row.task_id,
            data={"to": to_user.get_username()},
        )
        history.flush()
        if to_user.pk != user.pk:
            notifications.task_delegated(instance, row, user)
    return row


def task_complete(
    *,
    human_task_id: int,
    user: AbstractBaseUser,
    data: dict[str, Any],
    instance_id: int | None = None,
) -> HumanTask:
    """Complete a user task with form data and move the instance on.

    Exactly one of two concurrent completions succeeds; the other gets Conflict.
    `instance_id`: the task's instance, when the caller has already read the task.
    """
    reserved = scripting.RESERVED_NAMES & set(data)
    if reserved:
        raise InvalidInput([{"field": k, "message": "reserved name"} for k in sorted(reserved)])

    exceeded = None
    with transaction.atomic():
        instance, row = _locked_open_task(human_task_id, instance_id)
        form = _form(instance.version, row.form)
        validate_form_data(form, data)
        data = sensitive.seal(form, data)
        _check_may_work(instance, row, user)
        attached = documents.form_documents_check(form, data, user)
        if instance.status not in (Status.RUNNING, Status.WAITING, Status.ERROR):
            raise Conflict(f"instance {instance.pk} is {instance.status}")
        try:
            with budget.metered(), transaction.atomic():
                _task_complete_step(instance, row, user, data, human_task_id, attached)
        except budget.BudgetExceeded as exc:
            # Rolled back: the task stays open, the instance as it was, with an incident.
            row.refresh_from_db()
            _budget_exceeded(instance.pk, exc)
            exceeded = exc
    if exceeded is not None:
        raise Conflict(f"task {human_task_id} was not completed: {exceeded}")
    return row


def _task_complete_step(
    instance: ProcessInstance,
    row: HumanTask,
    user: AbstractBaseUser,
    data: dict[str, Any],
    human_task_id: int,
    attached: list[Document],
) -> None:
    workflow = engine.load(
        version_bundle(instance.version), instance.state, instance.serializer_version
    )
    if not engine.is_user_task_ready(workflow, row.task_id):
        raise Conflict(f"task {human_task_id} is no longer ready")
    now = timezone.now()
    row.status = HumanTask.Status.COMPLETED
    row.completed_at = now
    row.completed_by = user
    row.save(update_fields=["status", "completed_at", "completed_by"])
    history = _History(instance)
    history.add(
        Kind.TASK_COMPLETED,
        actor=user,
        element_id=row.element_id,
        task_id=row.task_id,
        data={"submitted": data},
    )
    # Linked before the engine runs on, so the next service tasks may use them.
    documents.documents_link(attached, instance)
    failure = None
    with _acting_for(instance):
        try:
            engine.complete_user_task(workflow, row.task_id, data)
        except EngineStepFailed as exc:
            failure = exc
        except TaskNotReady as exc:
            raise Conflict(str(exc)) from None
    _save(instance, workflow, history, failure=failure)


# --- messages --------------------------------------------------------------------------------


@dataclass(frozen=True)
class MessageResult:
    correlated: list[ProcessInstance]
    started: list[ProcessInstance]


def _matches(subscription: MessageSubscription, correlation: dict[str, Any]) -> bool:
    keys = subscription.correlation
    return all(k in keys and str(keys[k]) == str(v) for k, v in correlation.items())


def message_send(
    *,
    name: str,
    correlation: dict[str, Any] | None = None,
    payload: dict[str, Any] | None = None,
    actor: AbstractBaseUser | None = None,
) -> MessageResult:
    """Deliver a message to every instance waiting for it whose keys match `correlation`,
    and start every process whose start event waits for it."""
    correlation = correlation or {}
    payload = payload or {}
    if not name:
        raise InvalidInput([{"field": "name", "message": "this field is required"}])
    correlated: list[ProcessInstance] = []
    skipped: list[int] = []
    subscriptions = [
        s
        for s in MessageSubscription.objects.filter(message_name=name).order_by("pk")
        if _matches(s, correlation)
    ]
    for subscription in subscriptions:

        def deliver(instance, workflow, history, sub=subscription):
            history.add(
                Kind.MESSAGE_CORRELATED,
                actor=actor,
                element_id=sub.element_id,
                task_id=sub.task_id,
                data={"message": name, "correlation": correlation, "payload": payload},
            )
            engine.deliver_message(workflow, sub.task_id, payload)

        try:
            correlated.append(_run_on_instance(subscription.instance_id, deliver))
        except Conflict:
            skipped.append(subscription.instance_id)

    started = []
    if not correlated and not skipped:
        started = _start_by_message(name, correlation, payload, actor)
    if not correlated and skipped:
        ids = ", ".join(str(i) for i in skipped)
        raise Conflict(f"the instances waiting for {name!r} are suspended or in error: {ids}")
    if not correlated and not started:
        raise NotFound(f"no process is waiting for message {name!r} with {correlation}")
    return MessageResult(correlated=correlated, started=started)


def _start_by_message(
    name: str, correlation: dict[str, Any], payload: dict[str, Any], actor: Any
) -> list[ProcessInstance]:
    latest: dict[int, ProcessVersion] = {}
    for version in (
        ProcessVersion.objects.released().select_related("definition").order_by("number")
    ):
        latest[version.definition_id] = version
    started = []
    subject = None
    if correlation.get("employee_no"):
        subject = Employee.objects.filter(employee_no=str(correlation["employee_no"])).first()
    for version in latest.values():
        if name not in version.summary.get("start_messages", []):
            continue

        def deliver(workflow):
            waiting = [m for m in engine.snapshot(workflow).messages if m.message_name == name]
            for message in waiting:
                engine.deliver_message(workflow, message.task_id, payload)

        instance = _start(
            version,
            started_by=actor,
            subject=subject,
            org_unit=None,
            data={},
            business_key=str(correlation.get("business_key", "")),
            then=deliver,
            started_by_message={"name": name, "correlation": correlation, "payload": payload},
        )
        started.append(instance)
    return started


# --- timers ----------------------------------------------------------------------------------
#
# A sweep (Celery beat, or the web process itself in laptop mode) claims due Timer rows in a
# short transaction: `FOR UPDATE SKIP LOCKED` on PostgreSQL (SQLite serialises writers), and a
# lease (`leased_until`) so a crashed sweeper's rows are taken over once it expires. Each
# instance is then fired in its own transaction under the instance lock, and its rows are
# marked fired in that same transaction: a crash before commit leaves nothing half-done.
# A failure outside the engine (the database, a bug) pushes the lease forward as a backoff
# and, when the attempts run out, opens an incident.


class _NothingDue(Exception):
    """Another sweeper fired the claimed timers first: roll back, write nothing."""


def _timer_conf(name: str) -> Any:
    return settings.CAREFLOW[name]


def _timers_claim(*, limit: int, timer_id: int | None = None) -> list[Timer]:
    now = timezone.now()
    leased_until = now + timedelta(seconds=_timer_conf("TIMER_LEASE_SECONDS"))
    with transaction.atomic():
        # SpiffWorkflow fires a timer once its due time is strictly past: never before.
        due = Timer.objects.filter(
            Q(leased_until__isnull=True) | Q(leased_until__lte=now),
            status=Timer.Status.WAITING,
            due_at__lt=now,
            instance__status__in=[Status.WAITING, Status.RUNNING],
        )
        if timer_id is not None:
            due = due.filter(pk=timer_id)
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True, of=("self",))
        rows = list(due.order_by("due_at", "pk")[:limit])
        if rows:
            Timer.objects.filter(pk__in=[r.pk for r in rows]).update(
                leased_until=leased_until, attempts=F("attempts") + 1
            )
    for row in rows:
        row.leased_until = leased_until
        row.attempts += 1
    return rows


def _fire_rows(
    instance: ProcessInstance, workflow: Any, history: _History, rows: list[Timer]
) -> None:
    """Fire the instance's due timers and the claimed service retries, and mark their rows
    (inside the instance transaction)."""
    now = timezone.now()
    fired = engine.refresh_timers(workflow)
    if getattr(instance, "_waiting_timers", None) is None:
        instance._waiting_timers = list(instance.timers.filter(status=Timer.Status.WAITING))
    waiting = {
        (row.task_id, row.due_at): row
        for row in instance._waiting_timers
        if row.kind == Timer.Kind.EVENT
    }
    marked = []
    for timer in fired:
        row = waiting.get((timer.task_id, timer.due_at))
        if row is not None:
            marked.append(row.pk)
        history.add(
            Kind.TIMER_FIRED,
            element_id=timer.element_id,
            task_id=timer.task_id,
            data={"due_at": timer.due_at.isoformat()},
        )
        if timer.attached_task_id is not None:
            task = HumanTask.objects.filter(
                task_id=timer.attached_task_id, status=HumanTask.Status.OPEN
            ).first()
            if task is not None and timer.is_interrupting:
                notifications.task_escalated(instance, task)
            elif task is not None:
                notifications.task_reminded(instance, task)
    retries = [r for r in rows if r.kind == Timer.Kind.SERVICE_RETRY]
    marked += [r.pk for r in retries]
    if marked:
        Timer.objects.filter(pk__in=marked).update(
            status=Timer.Status.FIRED, fired_at=now, leased_until=None
        )
    # What is still waiting, for the projection in _save (no second read).
    instance._waiting_timers = [r for r in instance._waiting_timers if r.pk not in set(marked)]
    for retry in retries:
        engine.retry_errored(workflow, retry.task_id)
    if not retries:
        engine.run(workflow)


def _timers_fire(instance_id: int, rows: list[Timer]) -> bool:
    """Fire one instance's claimed rows; True when the instance moved on."""
    ids = [r.pk for r in rows]

    def fire(instance, workflow, history):
        # Re-read under the instance lock: a sweeper that took over an expired lease may have
        # fired them already.
        instance._waiting_timers = list(instance.timers.filter(status=Timer.Status.WAITING))
        current = [r for r in instance._waiting_timers if r.pk in set(ids)]
        if not current:
            raise _NothingDue
        _fire_rows(instance, workflow, history, current)

    def stop_timers(instance: ProcessInstance) -> dict[str, Any]:
        # The firing went over budget and was rolled back: these rows would be claimed again
        # by every sweep. They wait for the incident's retry instead.
        Timer.objects.filter(pk__in=ids, status=Timer.Status.WAITING).update(
            status=Timer.Status.FAILED, leased_until=None, last_error="budget exceeded"
        )
        return {"kind": "timer", "timer": ids[0], "timers": ids}

    retries_done = {r.task_id: r.retry_number for r in rows if r.kind == Timer.Kind.SERVICE_RETRY}
    try:
        _run_on_instance(instance_id, fire, retries_done=retries_done, on_budget=stop_timers)
    except _NothingDue:
        return False
    except (Conflict, NotFound):
        # Suspended, ended or gone meanwhile: the lease runs out and the claim query (which
        # only takes rows of waiting or running instances) decides again.
        return False
    except Exception as exc:  # noqa: BLE001 - recorded on the rows, retried with backoff
        logger.exception("firing timers %s of instance %s failed", ids, instance_id)
        try:
            _timers_failed(instance_id, ids, exc)
        except Exception:  # noqa: BLE001 - the lease still runs out and the row is retaken
            logger.exception("recording the failure of timers %s failed", ids)
        return False
    return True


def _timers_failed(instance_id: int, ids: list[int], exc: Exception) -> None:
    """Record a failed firing: back off, or give up with an incident after the last attempt."""
    error = f"{type(exc).__name__}: {exc}"[:2000]
    now = timezone.now()
    base = _timer_conf("TIMER_RETRY_BASE_SECONDS")
    with transaction.atomic():
        instance = _lock(instance_id)
        history = _History(instance)
        for row in instance.timers.filter(pk__in=ids, status=Timer.Status.WAITING):
            row.last_error = error
            if row.attempts >= _timer_conf("TIMER_MAX_ATTEMPTS"):
                row.status = Timer.Status.FAILED
                row.leased_until = None
                _open_incident(
                    instance,
                    history,
                    message=f"timer {row.element_id} could not fire after "
                    f"{row.attempts} attempts: {error}",
                    element_id=row.element_id,
                    task_id=row.task_id,
                    kind="timer",
                    details={"timer": row.pk},
                )
                if instance.status in (Status.WAITING, Status.RUNNING):
                    instance.status = Status.ERROR
            else:
                delay = min(
                    base * 2 ** (row.attempts - 1), _timer_conf("RETRY_MAX_BACKOFF_SECONDS")
                )
                row.leased_until = now + timedelta(seconds=delay)
            row.save(update_fields=["last_error", "status", "leased_until"])
        instance.save(update_fields=["status", "updated_at"])
        history.flush()


def timer_fire_due(*, limit: int | None = None) -> int:
    """Fire the timers (and service retries) that are due; returns how many instances moved on.

    Claims batches until a batch comes back short, so a backlog is worked off in one sweep;
    several sweepers may run at once.
    """
    limit = limit or _timer_conf("TIMER_BATCH_SIZE")
    # A sweep has a time budget too (below Celery's limits on it): what it has not reached
    # by then is handed back for the next sweep.
    deadline = time.monotonic() + budget.limit("CAREFLOW_BUDGET_SWEEP_SECONDS")
    moved: set[int] = set()
    moved_or_tried: set[int] = set()
    for _ in range(_timer_conf("TIMER_SWEEP_MAX_BATCHES")):
        rows = _timers_claim(limit=limit)
        by_instance: dict[int, list[Timer]] = {}
        for row in rows:
            by_instance.setdefault(row.instance_id, []).append(row)
        for instance_id, instance_rows in by_instance.items():
            if time.monotonic() > deadline:
                _timers_release([r.pk for r in rows if r.instance_id not in moved_or_tried])
                return len(moved)
            moved_or_tried.add(instance_id)
            if _timers_fire(instance_id, instance_rows):
                moved.add(instance_id)
        if len(rows) < limit:
            break
    return len(moved)


def _timers_release(ids: list[int]) -> None:
    """Give claimed rows back untouched, as if never claimed."""
    Timer.objects.filter(pk__in=ids, status=Timer.Status.WAITING).update(
        leased_until=None, attempts=F("attempts") - 1
    )


def timer_fire(*, timer_id: int) -> bool:
    """Fire one timer if it is due and nobody holds it (the ETA path; the sweep is the
    fallback). Safe to run twice: a fired row is left alone."""
    rows = _timers_claim(limit=1, timer_id=timer_id)
    return bool(rows) and _timers_fire(rows[0].instance_id, rows)


# --- operators -------------------------------------------------------------------------------


def instance_suspend(
    *, instance_id: int, actor: AbstractBaseUser, reason: str = ""
) -> ProcessInstance:
    """Stop an instance from moving on until it is resumed."""
    with transaction.atomic():
        instance = _lock(instance_id)
        if instance.status not in (Status.RUNNING, Status.WAITING, Status.ERROR):
            raise Conflict(f"instance {instance_id} is {instance.status}")
        instance.status_before_suspend = instance.status
        instance.status = Status.SUSPENDED
        instance.save(update_fields=["status", "status_before_suspend", "updated_at"])
        history = _History(instance)
        history.add(Kind.INSTANCE_SUSPENDED, actor=actor, data={"reason": reason})
        history.flush()
    return instance


def instance_resume(*, instance_id: int, actor: AbstractBaseUser) -> ProcessInstance:
    """Let a suspended instance move on; timers that fell due meanwhile fire now."""
    with transaction.atomic():
        instance = _lock(instance_id)
        if instance.status != Status.SUSPENDED:
            raise Conflict(f"instance {instance_id} is not suspended")
        instance.status = instance.status_before_suspend or Status.WAITING
        instance.status_before_suspend = ""
        instance.save(update_fields=["status", "status_before_suspend", "updated_at"])
        history = _History(instance)
        history.add(Kind.INSTANCE_RESUMED, actor=actor)
        history.flush()
    return instance


def instance_terminate(
    *, instance_id: int, actor: AbstractBaseUser, reason: str = ""
) -> ProcessInstance:
    """End an instance for good: open tasks and timers are cancelled."""

    def terminate(instance, workflow, history):
        engine.cancel(workflow)
        instance.status = Status.TERMINATED
        instance.ended_at = timezone.now()
        history.add(Kind.INSTANCE_TERMINATED, actor=actor, data={"reason": reason}, closing=True)

    return _run_on_instance(
        instance_id,
        terminate,
        allowed=(Status.RUNNING, Status.WAITING, Status.ERROR, Status.SUSPENDED),
        enforce_budget=False,
    )


def instance_migrate(
    *, instance_id: int, to_version_id: int, actor: AbstractBaseUser
) -> ProcessInstance:
    """Move a waiting instance to another version of its process, where the diff allows.
    Only group HR or HR of the instance's clinic may (assignment.may_migrate)."""
    instance = (
        ProcessInstance.objects.select_related("org_unit", "subject__org_unit")
        .filter(pk=instance_id)
        .first()
    )
    if instance is None:
        raise NotFound(f"process instance {instance_id} does not exist")
    unit = instance.org_unit or (instance.subject.org_unit if instance.subject else None)
    if not assignment.may_migrate(actor, unit=unit):
        raise NotAllowed(
            f"instance {instance_id}: only group HR or HR of its clinic may migrate it"
        )
    try:
        target = ProcessVersion.objects.get(pk=to_version_id)
    except ProcessVersion.DoesNotExist:
        raise NotFound(f"version {to_version_id} does not exist") from None

    def migrate(instance, workflow, history):
        if target.definition_id != instance.definition_id:
            raise Conflict("the target version belongs to another process")
        if target.pk == instance.version_id:
            raise Conflict("the instance already runs on that version")
        try:
            reset = engine.migrate(workflow, version_bundle(target))
        except MigrationRefused as exc:
            raise Conflict(str(exc)) from None
        history.add(
            Kind.VERSION_MIGRATED,
            actor=actor,
            data={"from": instance.version.number, "to": target.number, "reset": reset},
        )
        instance.version = target

    return _run_on_instance(instance_id, migrate)


def incident_retry(*, incident_id: int, actor: AbstractBaseUser) -> Incident:
    """Try the failed step again; the incident is resolved when it no longer fails."""
    try:
        incident = Incident.objects.get(pk=incident_id)
    except Incident.DoesNotExist:
        raise NotFound(f"incident {incident_id} does not exist") from None
    if incident.status != Incident.Status.OPEN:
        raise Conflict(f"incident {incident_id} is already resolved")

    def retry(instance, workflow, history):
        locked = Incident.objects.select_for_update().get(pk=incident_id)
        if locked.status != Incident.Status.OPEN:
            raise Conflict(f"incident {incident_id} is already resolved")
        locked.status = Incident.Status.RESOLVED
        locked.resolved_at = timezone.now()
        locked.resolved_by = actor
        locked.save(update_fields=["status", "resolved_at", "resolved_by"])
        history.add(
            Kind.INCIDENT_RESOLVED,
            actor=actor,
            element_id=locked.element_id,
            data={"incident": locked.pk},
        )
        if locked.details.get("kind") == "assignment":
            # Drop the unworkable task row; saving projects it again with fresh candidates.
            HumanTask.objects.filter(task_id=locked.task_id, status=HumanTask.Status.OPEN).delete()
        elif locked.details.get("kind") == "timer":
            # Arm the timers that kept failing (or went over budget) again and fire them now,
            # under this lock.
            ids = locked.details.get("timers") or [locked.details.get("timer")]
            rows = []
            for timer in Timer.objects.filter(pk__in=ids, status=Timer.Status.FAILED):
                timer.status = Timer.Status.WAITING
                timer.attempts = 0
                timer.last_error = ""
                timer.save(update_fields=["status", "attempts", "last_error"])
                rows.append(timer)
            _fire_rows(instance, workflow, history, rows)
        else:
            engine.retry_errored(workflow, locked.task_id)
        if (
            instance.status == Status.ERROR
            and not instance.incidents.filter(status=Incident.Status.OPEN)
            .exclude(pk=locked.pk)
            .exists()
        ):
            instance.status = Status.RUNNING

    # A retry the operator asked for that fails again opens a new incident straight away.
    _run_on_instance(incident.instance_id, retry, allowed=(Status.ERROR,), auto_retry=False)
    incident.refresh_from_db()
    return incident
