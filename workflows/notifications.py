"""Notifications: in-app messages, and email and group-chat copies sent through an outbox.

What happens in a process (a task created for someone, a reminder, an escalation, the end
of a process, a `notify.send` service task) becomes, in the same transaction as the engine
step, one `Notification` per person plus `Delivery` rows for the outside channels. A worker
sends each delivery after commit; a delivery that fails is tried again with backoff, and
the periodic sweep re-sends whatever is still pending (e.g. after the broker was down).
A crash between sending and recording means the message may go out twice, never zero times.
"""

from __future__ import annotations

import json
import logging
import re
import urllib.request
from collections.abc import Iterable
from datetime import timedelta
from typing import Any, Protocol

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from hr.models import RoleAssignment
from hr.selectors import may_see_private
from workflows import assignment, outbox, sensitive
from workflows.exceptions import NotFound
from workflows.models import Delivery, HumanTask, Notification, ProcessInstance
from workflows.registry import OperationContext, Scope, operation

logger = logging.getLogger(__name__)
Kind = Notification.Kind

# Bilingual texts (see the glossary). Placeholders: {process} {instance} {task} {employee},
# and for `notify.send` any value the diagram passes in `values`.
TEMPLATES: dict[str, tuple[str, str]] = {
    "task_assigned": (
        "新待办：{task} / New task: {task}",
        "{process}（#{instance}）的“{task}”已交给您办理。\n"
        "“{task}” of {process} (#{instance}) is waiting for you.",
    ),
    "task_delegated": (
        "转交待办：{task} / Task handed to you: {task}",
        "{by}将{process}（#{instance}）的“{task}”转交给您办理。\n"
        "{by} handed you “{task}” of {process} (#{instance}).",
    ),
    "task_reminder": (
        "待办提醒：{task} / Reminder: {task}",
        "{process}（#{instance}）的“{task}”尚未完成，请尽快办理。\n"
        "“{task}” of {process} (#{instance}) is still open; please complete it.",
    ),
    "task_escalated": (
        "待办已升级：{task} / Escalated: {task}",
        "{process}（#{instance}）的“{task}”已超过期限，已转交上级或人力资源部处理。\n"
        "“{task}” of {process} (#{instance}) passed its deadline and was handed on.",
    ),
    "process_completed": (
        "流程已完成：{process} / Process completed: {process}",
        "{process}（#{instance}）已完成。\n{process} (#{instance}) is complete.",
    ),
    "feedback_answered": (
        "心声已回复 / Your feedback was answered",
        "您的心声已收到回复：{answer}\nYour feedback was answered: {answer}",
    ),
    "training_due": (
        "培训即将到期：{training} / Training due: {training}",
        "请于{due_date}前完成培训“{training}”。\nPlease complete “{training}” by {due_date}.",
    ),
    "licence_expiring": (
        "执业证书即将到期 / Practising licence expiring",
        "{employee}的执业证书将于{expiry_date}到期，请及时办理延续注册。\n"
        "{employee}'s practising licence expires on {expiry_date}; please renew it.",
    ),
    "credential_renewal_due": (
        "证书即将到期：{credential} / Credential expiring: {credential}",
        "{employee}的{credential}（编号{number}）将于{expiry_date}到期，请上传新证书办理续期。\n"
        "{employee}'s {credential} (no. {number}) expires on {expiry_date}; "
        "please upload the renewed document.",
    ),
    "credential_renewal_escalated": (
        "证书续期预警：{credential} / Renewal overdue: {credential}",
        "{employee}的{credential}（编号{number}）将于{expiry_date}到期，距到期不足{days}天仍未完成续期，"
        "请跟进。\n{employee}'s {credential} (no. {number}) expires on {expiry_date}, "
        "{days} days from now, and is still not renewed; please follow up.",
    ),
    "credential_expired": (
        "证书已过期，暂停相应岗位：{credential} / Credential expired: {credential}",
        "{employee}的{credential}（编号{number}）已于{expiry_date}到期，续期前不得从事相应岗位工作。\n"
        "{employee}'s {credential} (no. {number}) expired on {expiry_date}: not eligible for "
        "duty in that role until it is renewed.",
    ),
    # The manager's greeting passed on to the parent (bpmn/family_birthday_greeting.bpmn).
    "birthday_greeting": (
        "生日祝福 / Birthday wishes",
        "{greeting}\n({child_name}, {birthday_date})",
    ),
    # A colleague's report about the employee (bpmn/compliance_warning.bpmn): anonymised,
    # never who reported it; the suggestion comes from a DMN by clause.
    "colleague_report": (
        "同事反映提醒 / A colleague raised a concern",
        "有同事匿名反映了您{date}在“{clause}”方面的情况。\n"
        "A colleague raised a concern, anonymously, about “{clause}” on {date}.\n"
        "整改建议 / Suggestion:\n{suggestion}",
    ),
    # Free text from the diagram: `title` and `body` parameters.
    "message": ("{title}", "{body}"),
}

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def render(text: str, values: dict[str, Any]) -> str:
    """Fill `{name}` placeholders; only plain names, never attribute or item access."""

    def fill(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        if value is None or isinstance(value, dict | list | tuple | set):
            return match.group(0)
        return str(value)

    return _PLACEHOLDER.sub(fill, text)


def _base_values(instance: ProcessInstance | None, task_name: str = "") -> dict[str, Any]:
    values: dict[str, Any] = {"task": task_name}
    if instance is not None:
        values["process"] = instance.definition.name
        values["instance"] = instance.pk
        values["employee"] = instance.subject.name if instance.subject_id else ""
    return values


# --- who to tell -------------------------------------------------------------------------------


def _role_holders(role: str, org_unit_id: int | None) -> list[AbstractBaseUser]:
    if not role or org_unit_id is None:
        return []
    user_ids = RoleAssignment.objects.filter(role=role, org_unit_id=org_unit_id).values("user_id")
    return list(get_user_model().objects.filter(pk__in=user_ids).order_by("pk"))


def task_people(row: HumanTask) -> list[AbstractBaseUser]:
    """Who works a task now: its assignee, else its named candidate, else the role holders;
    never someone the four-eyes rule bars from it (the employee a review is about, who may
    hold the offered role)."""
    if row.assignee_id is not None:
        people = [row.assignee]
    elif row.candidate_user_id is not None:
        people = [row.candidate_user]
    else:
        people = _role_holders(row.candidate_role, row.candidate_org_unit_id)
    return _not_barred(row, people)


def _not_barred(row: HumanTask, people: list[AbstractBaseUser]) -> list[AbstractBaseUser]:
    return [user for user in people if user is None or not assignment.task_barred(user, row)]


def _webhooks_for(kind: str) -> list[str]:
    hooks = settings.CAREFLOW.get("NOTIFY_WEBHOOKS") or {}
    return sorted(
        name for name, conf in hooks.items() if not conf.get("kinds") or kind in conf["kinds"]
    )


def notify(
    *,
    kind: str,
    recipients: Iterable[AbstractBaseUser],
    title: str,
    body: str,
    instance: ProcessInstance | None = None,
    human_task: HumanTask | None = None,
    personal: bool = False,
) -> list[Notification]:
    """Write the notifications and their deliveries in the caller's transaction; they are sent
    after it commits. A `personal` message (one person's own score, bonus, praise) goes to
    them in the app and by email only, never to a group-chat webhook others read."""
    people: dict[int, AbstractBaseUser] = {}
    for user in recipients:
        if user is not None and user.is_active:
            people.setdefault(user.pk, user)
    if not people:
        return []
    title = title[:300]
    notes = Notification.objects.bulk_create(
        [
            Notification(
                recipient=user,
                kind=kind,
                instance=instance,
                human_task=human_task,
                title=title,
                body=body,
            )
            for user in people.values()
        ]
    )
    messages = [] if personal else [(title, body, list(people.values()))]
    _deliver(instance, kind, notes, messages)
    return notes


def _deliver(
    instance: ProcessInstance | None,
    kind: str,
    notes: list[Notification],
    messages: list[tuple[str, str, list[AbstractBaseUser]]],
) -> None:
    """Write the deliveries of saved notifications (an email each, where the recipient has
    an address) and of `messages` (title, body, people) to the group-chat webhooks of
    `kind`; the outbox sends them once the transaction commits."""
    now = timezone.now()
    deliveries = []
    if settings.CAREFLOW.get("NOTIFY_EMAIL", True):
        deliveries += [
            Delivery(
                channel=Delivery.Channel.EMAIL,
                target=note.recipient.email,
                notification=note,
                instance=instance,
                subject=note.title,
                body=note.body,
                next_attempt_at=now,
            )
            for note in notes
            if note.recipient.email
        ]
    hooks = _webhooks_for(kind)
    for title, body, people in messages if hooks else []:
        names = "、".join(_display_name(u) for u in people)
        deliveries += [
            Delivery(
                channel=Delivery.Channel.WEBHOOK,
                target=hook,
                instance=instance,
                subject=title,
                body=f"{body}\n→ {names}",
                next_attempt_at=now,
            )
            for hook in hooks
        ]
    for delivery in Delivery.objects.bulk_create(deliveries):
        outbox.deliver_on_commit(delivery.pk)


def _display_name(user: AbstractBaseUser) -> str:
    employee = getattr(user, "employee", None)
    return employee.name if employee is not None else user.get_username()


def _about_task(kind: str, template: str, instance: ProcessInstance, row: HumanTask, people):
    title, body = TEMPLATES[template]
    values = _base_values(instance, row.name)
    return notify(
        kind=kind,
        recipients=people,
        title=render(title, values),
        body=render(body, values),
        instance=instance,
        human_task=row,
    )


def tasks_created(instance: ProcessInstance, rows: Iterable[HumanTask]) -> None:
    """Tell the people who may work each new task."""
    rows = list(rows)
    if len(rows) <= 1:
        for row in rows:
            _about_task(Kind.TASK_ASSIGNED, "task_assigned", instance, row, task_people(row))
        return
    # Many tasks at once (a multi-instance task): one insert for all their notifications.
    title_t, body_t = TEMPLATES["task_assigned"]
    holders: dict[tuple, list] = {}
    notes, webhook_rows = [], []
    for row in rows:
        if row.assignee_id is None and row.candidate_user_id is None:
            key = (row.candidate_role, row.candidate_org_unit_id)
            if key not in holders:
                holders[key] = _role_holders(*key)
            people = _not_barred(row, holders[key])
        else:
            people = task_people(row)
        values = _base_values(instance, row.name)
        title, body = render(title_t, values)[:300], render(body_t, values)
        seen = {}
        for user in people:
            if user is not None and user.is_active:
                seen.setdefault(user.pk, user)
        notes += [
            Notification(
                recipient=u,
                kind=Kind.TASK_ASSIGNED,
                instance=instance,
                human_task=row,
                title=title,
                body=body,
            )
            for u in seen.values()
        ]
        webhook_rows.append((title, body, list(seen.values())))
    notes = Notification.objects.bulk_create(notes)
    _deliver(instance, Kind.TASK_ASSIGNED, notes, webhook_rows)


def task_delegated(instance: ProcessInstance, row: HumanTask, by: AbstractBaseUser) -> None:
    """A colleague handed the task to its new assignee: tell them who and what."""
    title, body = TEMPLATES["task_delegated"]
    values = {**_base_values(instance, row.name), "by": _display_name(by)}
    notify(
        kind=Kind.TASK_ASSIGNED,
        recipients=[row.assignee],
        title=render(title, values),
        body=render(body, values),
        instance=instance,
        human_task=row,
    )


def task_reminded(instance: ProcessInstance, row: HumanTask) -> None:
    """A reminder timer on an open task fired: chase the people who should work it."""
    _about_task(Kind.TASK_REMINDER, "task_reminder", instance, row, task_people(row))


def task_escalated(instance: ProcessInstance, row: HumanTask) -> None:
    """A deadline took the task away: tell the people who had it (the new owners get theirs
    as a new task)."""
    _about_task(Kind.TASK_ESCALATED, "task_escalated", instance, row, task_people(row))


def process_completed(instance: ProcessInstance) -> None:
    """Tell the initiator, and the employee the process was about, that it is done."""
    people = [instance.started_by]
    if instance.subject_id and instance.subject.user_id:
        people.append(instance.subject.user)
    title, body = TEMPLATES["process_completed"]
    values = _base_values(instance)
    notify(
        kind=Kind.PROCESS_COMPLETED,
        recipients=people,
        title=render(title, values),
        body=render(body, values),
        instance=instance,
    )


@operation("notify.send", scope=Scope.ORG_UNIT)
def notify_send(
    ctx: OperationContext,
    template: str,
    to: str,
    values: dict[str, Any] | None = None,
    title: str = "",
    body: str = "",
    personal: bool = False,
) -> dict[str, Any]:
    """Service task: notify the people of a lane (`to`, e.g. "Supervisor", "Clinic HR") with a
    named template, filled from `values`; `personal` keeps it off the group-chat webhooks."""
    if template not in TEMPLATES:
        known = ", ".join(sorted(TEMPLATES))
        raise ValueError(f"unknown notification template {template!r}; known: {known}")
    instance = (
        ProcessInstance.objects.select_related(
            "definition", "subject__user", "subject__manager__user", "org_unit", "started_by"
        )
        .filter(pk=ctx.instance_id)
        .first()
    )
    if instance is None:
        raise ValueError("notify.send needs a process instance")
    values = dict(values or {})
    candidates = assignment.resolve(
        to,
        assignment.InstanceContext(
            subject=instance.subject,
            org_unit=instance.org_unit,
            started_by=instance.started_by,
            data=values,
        ),
    )
    if candidates.user is not None:
        people = [candidates.user]
    else:
        org_unit_id = candidates.org_unit.pk if candidates.org_unit else None
        people = _role_holders(candidates.role, org_unit_id)
    if assignment.judges_subject(to) and instance.subject is not None:
        # A message to a lane that judges the subject is not for the subject, who may hold
        # the lane's role among others (alone, the lane went one level up).
        people = [user for user in people if user.pk != instance.subject.user_id]
    # Sealed values (workflows/sensitive.py) are filled in only when every recipient may read
    # the subject's private data (the employee themself, HR over them); masked otherwise.
    may_read = instance.subject is not None and all(
        may_see_private(user, instance.subject) for user in people
    )
    values, _ = sensitive.reveal(values, may_read=may_read and bool(people))
    filled = {**values, **_base_values(instance), "title": title, "body": body}
    title_text, body_text = TEMPLATES[template]
    notes = notify(
        kind=Kind.MESSAGE,
        recipients=people,
        title=render(title_text, filled),
        body=render(body_text, filled),
        instance=instance,
        personal=bool(personal),
    )
    return {"notified": sorted(n.recipient.get_username() for n in notes)}


# --- reading and marking -------------------------------------------------------------------


def notification_mark_read(*, notification_id: int, user: AbstractBaseUser) -> Notification:
    """Mark one of the user's notifications read (again is fine); others' are not found."""
    with transaction.atomic():
        note = Notification.objects.filter(pk=notification_id, recipient=user).first()
        if note is None:
            raise NotFound(f"notification {notification_id} does not exist")
        if note.read_at is None:
            note.read_at = timezone.now()
            note.save(update_fields=["read_at"])
    return note


def notification_mark_all_read(*, user: AbstractBaseUser) -> int:
    """Mark every unread notification of the user read; returns how many were unread."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )


# --- channels ------------------------------------------------------------------------------


class WebhookAdapter(Protocol):
    """A group-chat robot: takes one message payload, raises when it was not accepted."""

    def send(self, payload: dict[str, Any]) -> None: ...


class WebhookRefused(Exception):
    """The robot answered, but did not take the message."""


class JsonWebhook:
    """POSTs JSON to a WeCom (企业微信) or DingTalk (钉钉) style group robot.

    Both take `{"msgtype": "text", "text": {"content": ...}}` and answer
    `{"errcode": 0, "errmsg": "ok"}`; any other errcode is a refusal.
    """

    def __init__(self, url: str, *, timeout: float = 5.0):
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"webhook URL must be http(s): {url!r}")
        self.url = url
        self.timeout = timeout

    def send(self, payload: dict[str, Any]) -> None:
        request = urllib.request.Request(  # noqa: S310 - http(s) only, checked above
            self.url,
            data=json.dumps(payload, ensure_ascii=False).encode(),
            headers={"Content-Type": "application/json; charset=utf-8"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
            raw = response.read()
        try:
            answer = json.loads(raw or b"{}")
        except ValueError:
            return
        if isinstance(answer, dict) and answer.get("errcode", 0) != 0:
            raise WebhookRefused(f"errcode {answer.get('errcode')}: {answer.get('errmsg', '')}")


def webhook_adapter(name: str) -> WebhookAdapter:
    """The adapter for the webhook configured under `name` (URLs come from settings only,
    never from a diagram)."""
    conf = (settings.CAREFLOW.get("NOTIFY_WEBHOOKS") or {}).get(name)
    if conf is None:
        raise LookupError(f"no webhook named {name!r} is configured")
    return JsonWebhook(conf["url"], timeout=float(conf.get("timeout", 5.0)))


def webhook_payload(delivery: Delivery) -> dict[str, Any]:
    return {"msgtype": "text", "text": {"content": f"{delivery.subject}\n{delivery.body}"}}


def _send(delivery: Delivery) -> None:
    if delivery.channel == Delivery.Channel.EMAIL:
        EmailMessage(
            subject=delivery.subject,
            body=delivery.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[delivery.target],
        ).send(fail_silently=False)
    elif delivery.channel == Delivery.Channel.WEBHOOK:
        webhook_adapter(delivery.target).send(webhook_payload(delivery))
    else:
        raise ValueError(f"unknown channel {delivery.channel!r}")


def _backoff(attempts: int) -> timedelta:
    conf = settings.CAREFLOW
    seconds = conf["DELIVERY_RETRY_BASE_SECONDS"] * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, conf["RETRY_MAX_BACKOFF_SECONDS"]))


def delivery_send(*, delivery_id: int) -> Delivery | None:
    """Send one outbox row if it is pending and due; safe to run twice and concurrently.

    The row is leased in a short transaction, sent outside any transaction, and the outcome
    recorded: delivered, or the error with the time of the next try, or failed for good when
    the attempts run out.
    """
    conf = settings.CAREFLOW
    now = timezone.now()
    with transaction.atomic():
        row = Delivery.objects.select_for_update().filter(pk=delivery_id).first()
        if row is None or row.status != Delivery.Status.PENDING:
            return row
        if (row.leased_until and row.leased_until > now) or row.next_attempt_at > now:
            return row
        row.attempts += 1
        row.leased_until = now + timedelta(seconds=conf["DELIVERY_LEASE_SECONDS"])
        row.save(update_fields=["attempts", "leased_until"])
    error = ""
    try:
        _send(row)
    except Exception as exc:  # noqa: BLE001 - any failure of the channel is recorded and retried
        error = f"{type(exc).__name__}: {exc}"[:2000]
        logger.warning("delivery %s (%s) failed: %s", row.pk, row.channel, error)
    done_at = timezone.now()
    with transaction.atomic():
        row = Delivery.objects.select_for_update().get(pk=delivery_id)
        row.leased_until = None
        row.last_error = error
        if not error:
            row.status = Delivery.Status.DELIVERED
            row.delivered_at = done_at
        elif row.attempts >= conf["DELIVERY_MAX_ATTEMPTS"]:
            row.status = Delivery.Status.FAILED
        else:
            row.next_attempt_at = done_at + _backoff(row.attempts)
        row.save(
            update_fields=[
                "leased_until",
                "last_error",
                "status",
                "delivered_at",
                "next_attempt_at",
            ]
        )
    return row


def delivery_redispatch_due(*, limit: int = 500) -> int:
    """Enqueue again the pending deliveries whose time has come and that nobody holds: those
    whose first enqueue failed (broker down) and those waiting for their next try."""
    now = timezone.now()
    grace = timedelta(seconds=settings.CAREFLOW["DELIVERY_REDISPATCH_AFTER_SECONDS"])
    ids = list(
        Delivery.objects.filter(
            Q(leased_until__isnull=True) | Q(leased_until__lte=now),
            status=Delivery.Status.PENDING,
            next_attempt_at__lte=now - grace,
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    for delivery_id in ids:
        outbox.deliver_on_commit(delivery_id)
    return len(ids)
