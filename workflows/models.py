import hashlib
import json
import uuid

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone

from hr.models import Employee, OrgUnit
from workflows.exceptions import Conflict


class ProcessDefinition(models.Model):
    """A process as process owners know it, keyed by its BPMN process id."""

    key = models.CharField(max_length=200, unique=True)
    name = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key


class ProcessVersionQuerySet(models.QuerySet):
    def released(self) -> "ProcessVersionQuerySet":
        """Versions that may run: current without review, or approved by a second person."""
        return self.filter(approval_status__in=ProcessVersion.RELEASED)


class ProcessVersion(models.Model):
    """An immutable deployed bundle (BPMN + DMN + forms) of one process definition.

    The current version of a process is its released version with the highest number; a
    version waiting for approval (four-eyes deploy) or rejected never runs."""

    class Approval(models.TextChoices):
        NOT_REQUIRED = "not_required", "Current without review 无需审批"
        PENDING = "pending", "Waiting for approval 待审批"
        APPROVED = "approved", "Approved 已批准"
        REJECTED = "rejected", "Rejected 已驳回"

    RELEASED = (Approval.NOT_REQUIRED, Approval.APPROVED)

    definition = models.ForeignKey(
        ProcessDefinition, on_delete=models.PROTECT, related_name="versions"
    )
    number = models.PositiveIntegerField()
    content_hash = models.CharField(max_length=64)
    # {filename: text} of every file in the bundle, as deployed.
    bpmn_files = models.JSONField()
    dmn_files = models.JSONField(default=dict)
    forms = models.JSONField(default=dict)
    # What the deploy validation learnt, so reads never need to parse BPMN:
    # user tasks (id -> name, lane, forms), start form, start messages.
    summary = models.JSONField(default=dict)
    deployed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    deployed_at = models.DateTimeField(auto_now_add=True)
    # Four-eyes deploy: why a second person must approve this version ([{kind, name, file,
    # element, ...}]), the version it was compared with, and who decided, when, and why.
    approval_status = models.CharField(
        max_length=16, choices=Approval.choices, default=Approval.NOT_REQUIRED
    )
    approval_reasons = models.JSONField(default=list, blank=True)
    base_version = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reviewed_versions",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_comment = models.TextField(blank=True)

    objects = ProcessVersionQuerySet.as_manager()

    class Meta:
        ordering = ["definition", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["definition", "number"], name="unique_version_number"),
            models.UniqueConstraint(
                fields=["definition", "content_hash"], name="unique_version_content"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.definition.key} v{self.number}"

    @property
    def start_form(self) -> str | None:
        return self.summary.get("start_form")

    @property
    def is_released(self) -> bool:
        return self.approval_status in self.RELEASED


class ProcessInstance(models.Model):
    """One running (or finished) process; its engine state lives here, without the specs."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running 运行中"
        WAITING = "waiting", "Waiting 等待中"
        COMPLETED = "completed", "Completed 已完成"
        TERMINATED = "terminated", "Terminated 已终止"
        ERROR = "error", "Error 出错"
        SUSPENDED = "suspended", "Suspended 已挂起"

    ACTIVE_STATUSES = (Status.RUNNING, Status.WAITING, Status.ERROR, Status.SUSPENDED)

    definition = models.ForeignKey(
        ProcessDefinition, on_delete=models.PROTECT, related_name="instances"
    )
    version = models.ForeignKey(ProcessVersion, on_delete=models.PROTECT, related_name="instances")
    business_key = models.CharField(max_length=200, blank=True, db_index=True)
    subject = models.ForeignKey(
        Employee, null=True, blank=True, on_delete=models.PROTECT, related_name="process_instances"
    )
    org_unit = models.ForeignKey(
        OrgUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="process_instances"
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="started_instances",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    # Status to go back to when a suspended instance is resumed.
    status_before_suspend = models.CharField(max_length=16, choices=Status.choices, blank=True)
    state = models.JSONField(encoder=DjangoJSONEncoder)
    serializer_version = models.CharField(max_length=16)
    started_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["definition", "status"]),
            models.Index(fields=["org_unit", "status"]),
            models.Index(fields=["started_by", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.definition.key} #{self.pk}"

    def save(self, *args, **kwargs) -> None:
        # An instance never runs on a version waiting for approval or rejected: neither
        # started on it nor migrated to it, whichever service tries.
        moved = self.version_id != getattr(self, "_saved_version_id", None)
        if moved and not self.version.is_released:
            raise Conflict(
                f"version {self.version.number} of {self.version.definition.key} is "
                f"{self.version.approval_status}, not released: no instance may run on it"
            )
        super().save(*args, **kwargs)
        self._saved_version_id = self.version_id

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._saved_version_id = instance.__dict__.get("version_id")
        return instance

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES


class HumanTask(models.Model):
    """Projection of one READY user task, written with the instance so the inbox never
    deserialises a workflow."""

    class Status(models.TextChoices):
        OPEN = "open", "Open 待办"
        COMPLETED = "completed", "Completed 已完成"
        CANCELLED = "cancelled", "Cancelled 已取消"

    instance = models.ForeignKey(ProcessInstance, on_delete=models.CASCADE, related_name="tasks")
    # The SpiffWorkflow task id; unique across all instances.
    task_id = models.UUIDField(unique=True)
    element_id = models.CharField(max_length=200)
    name = models.CharField(max_length=300)
    documentation = models.TextField(blank=True)
    lane = models.CharField(max_length=200, blank=True)
    form = models.CharField(max_length=200, blank=True)
    ui_form = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    # Who may work it: a named user, or anyone holding a role in an org unit.
    candidate_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="candidate_tasks",
    )
    candidate_role = models.CharField(max_length=32, blank=True)
    candidate_org_unit = models.ForeignKey(
        OrgUnit, null=True, blank=True, on_delete=models.SET_NULL, related_name="candidate_tasks"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tasks",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    due_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="completed_tasks",
    )

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(
                fields=["assignee", "status"],
                name="humantask_assignee_open",
                condition=Q(status="open"),
            ),
            models.Index(
                fields=["candidate_user"],
                name="humantask_user_open",
                condition=Q(status="open"),
            ),
            models.Index(
                fields=["candidate_role", "candidate_org_unit"],
                name="humantask_role_open",
                condition=Q(status="open"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.element_id} of {self.instance_id}"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN

    @property
    def is_not_by_initiator(self) -> bool:
        """Is the task marked notByInitiator (an approval of the initiator's own request)?"""
        info = self.instance.version.summary.get("user_tasks", {}).get(self.element_id, {})
        return bool(info.get("not_by_initiator"))


class Timer(models.Model):
    """Something an instance waits for until a time: a BPMN timer event, or the next try of a
    failed service task. The row is the truth, Celery only the clock."""

    class Kind(models.TextChoices):
        EVENT = "event", "Timer event 定时事件"
        SERVICE_RETRY = "service_retry", "Service task retry 服务任务重试"

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting"
        FIRED = "fired", "Fired"
        CANCELLED = "cancelled", "Cancelled"
        # Firing kept failing; the instance has an incident naming this timer.
        FAILED = "failed", "Failed"

    instance = models.ForeignKey(ProcessInstance, on_delete=models.CASCADE, related_name="timers")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.EVENT)
    task_id = models.UUIDField()
    element_id = models.CharField(max_length=200)
    due_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.WAITING)
    # A boundary timer's activity (the HumanTask.task_id of a user task) and whether the
    # timer cancels it (a deadline) or runs beside it (a reminder).
    attached_task_id = models.UUIDField(null=True, blank=True)
    is_interrupting = models.BooleanField(default=False)
    # For a service retry: which retry of the failed task this is (1, 2, ...).
    retry_number = models.PositiveIntegerField(default=0)
    # A sweeper holds the row until leased_until; an expired lease is taken over. After a
    # failed firing it is also the backoff: the row is not taken again before then.
    leased_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    fired_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["task_id", "due_at"], name="unique_timer_occurrence")
        ]
        indexes = [
            models.Index(fields=["due_at"], name="timer_waiting_due", condition=Q(status="waiting"))
        ]

    def __str__(self) -> str:
        return f"{self.element_id} due {self.due_at:%Y-%m-%d %H:%M}"


class MessageSubscription(models.Model):
    """A message catch event an instance is waiting on, with the keys that correlate to it."""

    instance = models.ForeignKey(
        ProcessInstance, on_delete=models.CASCADE, related_name="subscriptions"
    )
    task_id = models.UUIDField(unique=True)
    element_id = models.CharField(max_length=200)
    message_name = models.CharField(max_length=200, db_index=True)
    # Flat {key: value}; a message correlates when every key it names matches.
    correlation = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.message_name} -> {self.instance_id}"


class Incident(models.Model):
    """A failure an operator must look at: a script or service task error, retries run out."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    instance = models.ForeignKey(
        ProcessInstance, on_delete=models.CASCADE, related_name="incidents"
    )
    task_id = models.UUIDField(null=True, blank=True)
    element_id = models.CharField(max_length=200, blank=True)
    message = models.TextField()
    details = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"incident {self.pk} on {self.instance_id}: {self.message[:60]}"


class WorkflowEvent(models.Model):
    """Append-only history of an instance, hash-chained so edits are detectable."""

    class Kind(models.TextChoices):
        INSTANCE_STARTED = "instance_started"
        INSTANCE_COMPLETED = "instance_completed"
        INSTANCE_TERMINATED = "instance_terminated"
        INSTANCE_SUSPENDED = "instance_suspended"
        INSTANCE_RESUMED = "instance_resumed"
        TASK_CREATED = "task_created"
        TASK_CLAIMED = "task_claimed"
        TASK_UNCLAIMED = "task_unclaimed"
        TASK_DELEGATED = "task_delegated"
        TASK_COMPLETED = "task_completed"
        TASK_CANCELLED = "task_cancelled"
        TIMER_FIRED = "timer_fired"
        SERVICE_RETRY_SCHEDULED = "service_retry_scheduled"
        MESSAGE_CORRELATED = "message_correlated"
        INCIDENT_OPENED = "incident_opened"
        INCIDENT_RESOLVED = "incident_resolved"
        VERSION_MIGRATED = "version_migrated"

    GENESIS_HASH = "0" * 64

    instance = models.ForeignKey(ProcessInstance, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveIntegerField()
    kind = models.CharField(max_length=32, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    # Kept beside the FK so history still names the actor if the user row goes.
    actor_label = models.CharField(max_length=200, blank=True)
    element_id = models.CharField(max_length=200, blank=True)
    task_id = models.UUIDField(null=True, blank=True)
    data = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField()
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["instance", "seq"]
        constraints = [models.UniqueConstraint(fields=["instance", "seq"], name="unique_event_seq")]

    def __str__(self) -> str:
        return f"{self.instance_id}#{self.seq} {self.kind}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ValueError("workflow events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("workflow events are append-only")

    def compute_hash(self) -> str:
        """The hash over this event's content and the previous event's hash."""
        body = {
            "instance": self.instance_id,
            "seq": self.seq,
            "kind": self.kind,
            "actor": self.actor_id,
            "actor_label": self.actor_label,
            "element_id": self.element_id,
            "task_id": str(self.task_id) if self.task_id else None,
            "data": self.data,
            "created_at": self.created_at.isoformat(),
            "prev_hash": self.prev_hash,
        }
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
        return hashlib.sha256(canonical.encode()).hexdigest()


class Notification(models.Model):
    """A message to one person, shown in the app; email and chat copies go out as Deliveries."""

    class Kind(models.TextChoices):
        TASK_ASSIGNED = "task_assigned", "New task 新待办"
        TASK_REMINDER = "task_reminder", "Reminder 待办提醒"
        TASK_ESCALATED = "task_escalated", "Escalated 待办已升级"
        PROCESS_COMPLETED = "process_completed", "Process completed 流程已完成"
        MESSAGE = "message", "Message 流程通知"

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    instance = models.ForeignKey(
        ProcessInstance,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    human_task = models.ForeignKey(
        HumanTask, null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications"
    )
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="notification_recipient"),
            models.Index(
                fields=["recipient"],
                name="notification_unread",
                condition=Q(read_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.recipient_id}: {self.title[:60]}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class Delivery(models.Model):
    """One message to send through an outside channel (email, a chat webhook): the outbox row,
    written with the change that caused it and sent by a worker after commit."""

    class Channel(models.TextChoices):
        EMAIL = "email", "Email 邮件"
        WEBHOOK = "webhook", "Chat webhook 群机器人"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending 待发送"
        DELIVERED = "delivered", "Delivered 已送达"
        # Every attempt failed; last_error says why.
        FAILED = "failed", "Failed 发送失败"

    channel = models.CharField(max_length=16, choices=Channel.choices)
    # An email address, or the name of a configured webhook (CAREFLOW["NOTIFY_WEBHOOKS"]).
    target = models.CharField(max_length=254)
    notification = models.ForeignKey(
        Notification, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    instance = models.ForeignKey(
        ProcessInstance,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    subject = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # Not tried before this time (the backoff after a failure).
    next_attempt_at = models.DateTimeField()
    # A worker holds the row while sending; an expired lease is taken over.
    leased_until = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "deliveries"
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="delivery_pending_due",
                condition=Q(status="pending"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel} to {self.target}: {self.status}"


# --- documents: files that forms refer to by id (licence renewal and others) -----------------


def _document_path(document: "Document", filename: str) -> str:
    # The stored name is the document's id, never the uploader's file name.
    return f"documents/{document.created_at:%Y/%m}/{document.pk}"


class Document(models.Model):
    """An uploaded file (PDF, PNG, JPEG) that a form field with `x-upload` refers to by id.

    Whoever uploaded it may read it; so may everyone who sees a process instance whose form
    data referred to it (linked when the form was submitted)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    file = models.FileField(upload_to=_document_path, max_length=255)
    name = models.CharField(max_length=255, help_text="file name given by the uploader")
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="documents"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    instances = models.ManyToManyField(ProcessInstance, blank=True, related_name="documents")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.pk})"
