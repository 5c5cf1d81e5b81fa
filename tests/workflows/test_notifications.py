"""Notifications: who is told what, in the app, by email and in a group chat, sent after commit
through an outbox with retries and a delivery record."""

import datetime as dt

import pytest
from django.core import mail
from kombu.exceptions import OperationalError

from config.celery import app as celery_app
from tests.conftest import bundle_files
from tests.factories import RoleAssignmentFactory, UserFactory
from tests.workers.chat_robot import start_chat_robot
from workers import tasks
from workflows import notifications, selectors, services
from workflows.exceptions import NotFound
from workflows.models import Delivery, HumanTask, Notification, ProcessInstance

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
SECOND = dt.timedelta(seconds=1)
N = Notification.Kind
TRAINING_TITLE = "新待办：Complete training 完成培训 / New task: Complete training 完成培训"


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(START, tick=False)
    return time_machine


@pytest.fixture(autouse=True)
def eager():
    """Queued tasks run in-process, as without a broker (the worker tests use a real one)."""
    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = before


@pytest.fixture
def robot(settings):
    """A group-chat robot on 127.0.0.1, configured as the `east_hr_chat` webhook."""
    robot, server = start_chat_robot()
    settings.CAREFLOW = {
        **settings.CAREFLOW,
        "NOTIFY_WEBHOOKS": {"east_hr_chat": {"url": robot.url}},
    }
    yield robot
    server.shutdown()
    server.server_close()


@pytest.fixture
def emails(org):
    for employee, address in [
        (org.nurse, "nurse@east.careflow.test"),
        (org.head_nurse, "head.nurse@east.careflow.test"),
    ]:
        employee.user.email = address
        employee.user.save(update_fields=["email"])


def start_training(org):
    services.version_deploy(files=bundle_files("reminder_timer"))
    return services.instance_start(
        process_key="reminder_timer", started_by=org.head_nurse.user, subject=org.nurse
    )


def kinds_of(user) -> list[tuple[str, str]]:
    return list(
        Notification.objects.filter(recipient=user).order_by("pk").values_list("kind", "title")
    )


# --- who is told -------------------------------------------------------------------------------


def test_a_new_task_notifies_its_candidate(org, clock):
    instance = start_training(org)

    note = Notification.objects.get(recipient=org.nurse.user)
    assert note.kind == N.TASK_ASSIGNED
    assert note.title == TRAINING_TITLE
    assert note.body == (
        f"Training reminder 培训提醒（#{instance.pk}）的“Complete training 完成培训”"
        "已交给您办理。\n"
        f"“Complete training 完成培训” of Training reminder 培训提醒 (#{instance.pk}) "
        "is waiting for you."
    )
    assert note.instance == instance
    assert note.human_task == instance.tasks.get()
    assert note.read_at is None
    assert Notification.objects.exclude(recipient=org.nurse.user).count() == 0


def test_a_task_offered_to_a_role_notifies_every_holder_in_that_unit(org, clock):
    second_hr = UserFactory(username="east_hr_2")
    RoleAssignmentFactory(user=second_hr, role="clinic_hr", org_unit=org.east)
    start_training(org)
    clock.move_to(START + dt.timedelta(days=7, seconds=1))

    services.timer_fire_due()

    title = "新待办：Escalate to HR 上报人力资源部 / New task: Escalate to HR 上报人力资源部"
    assert kinds_of(org.east_hr.user) == [(N.TASK_ASSIGNED, title)]
    assert kinds_of(second_hr) == [(N.TASK_ASSIGNED, title)]
    assert kinds_of(org.west_hr.user) == []


def test_a_reminder_chases_the_people_of_the_open_task(org, clock):
    start_training(org)
    clock.move_to(START + dt.timedelta(days=3, seconds=1))

    services.timer_fire_due()

    assert kinds_of(org.nurse.user) == [
        (N.TASK_ASSIGNED, TRAINING_TITLE),
        (
            N.TASK_REMINDER,
            "待办提醒：Complete training 完成培训 / Reminder: Complete training 完成培训",
        ),
    ]
    assert kinds_of(org.head_nurse.user) == [
        (
            N.TASK_ASSIGNED,
            "新待办：Chase training 督促完成培训 / New task: Chase training 督促完成培训",
        )
    ]


def test_the_end_of_a_process_notifies_the_initiator_and_the_employee(org, clock):
    instance = start_training(org)

    services.task_complete(
        human_task_id=instance.tasks.get().pk, user=org.nurse.user, data={"passed": True}
    )

    done = "流程已完成：Training reminder 培训提醒 / Process completed: Training reminder 培训提醒"
    assert kinds_of(org.head_nurse.user) == [(N.PROCESS_COMPLETED, done)]
    assert kinds_of(org.nurse.user) == [
        (N.TASK_ASSIGNED, TRAINING_TITLE),
        (N.PROCESS_COMPLETED, done),
    ]


def test_a_delegated_task_tells_its_new_assignee_who_handed_it_over(
    org, clock, emails, django_capture_on_commit_callbacks
):
    instance = start_training(org)
    task = instance.tasks.get()
    # Offered to the ward's supervisors, the nurse among them, so the head nurse could work it
    # too (a task is handed only to someone who could).
    RoleAssignmentFactory(user=org.nurse.user, role="supervisor", org_unit=org.east_nursing)
    HumanTask.objects.filter(pk=task.pk).update(
        candidate_user=None, candidate_role="supervisor", candidate_org_unit=org.east_nursing
    )

    with django_capture_on_commit_callbacks(execute=True):
        services.task_delegate(
            human_task_id=task.pk, user=org.nurse.user, to_user=org.head_nurse.user
        )

    note = Notification.objects.get(recipient=org.head_nurse.user)
    handed = "转交待办：Complete training 完成培训 / Task handed to you: Complete training 完成培训"
    assert (note.kind, note.title, note.human_task) == (N.TASK_ASSIGNED, handed, task)
    assert note.body == (
        f"{org.nurse.name}将Training reminder 培训提醒（#{instance.pk}）的“Complete training "
        "完成培训”转交给您办理。\n"
        f"{org.nurse.name} handed you “Complete training 完成培训” of Training reminder "
        f"培训提醒 (#{instance.pk})."
    )
    assert [(m.subject, m.to) for m in mail.outbox] == [(handed, ["head.nurse@east.careflow.test"])]
    assert kinds_of(org.nurse.user) == [(N.TASK_ASSIGNED, TRAINING_TITLE)]


def test_taking_a_task_oneself_by_delegation_tells_nobody(org, clock):
    instance = start_training(org)

    services.task_delegate(
        human_task_id=instance.tasks.get().pk, user=org.nurse.user, to_user=org.nurse.user
    )

    assert kinds_of(org.nurse.user) == [(N.TASK_ASSIGNED, TRAINING_TITLE)]


def test_a_service_task_sends_a_templated_notification(org, clock):
    services.version_deploy(files=bundle_files("feedback_deadline"))
    instance = services.instance_start(
        process_key="feedback_deadline", started_by=org.nurse.user, subject=org.nurse
    )

    services.task_complete(
        human_task_id=instance.tasks.get().pk,
        user=org.head_nurse.user,
        data={"answer": "下月起调整夜班安排"},
    )

    instance.refresh_from_db()
    message = Notification.objects.get(recipient=org.nurse.user, kind=N.MESSAGE)
    assert instance.status == ProcessInstance.Status.COMPLETED
    assert message.title == "心声已回复 / Your feedback was answered"
    assert message.body == (
        "您的心声已收到回复：下月起调整夜班安排\nYour feedback was answered: 下月起调整夜班安排"
    )
    assert message.instance == instance
    assert instance.events.get(kind="instance_completed").data["data"]["notified"] == {
        "notified": ["nurse"]
    }


def test_placeholders_never_reach_attributes():
    rendered = notifications.render(
        "{answer} {answer.__class__} {missing} {nested}", {"answer": "ok", "nested": {"a": 1}}
    )

    assert rendered == "ok {answer.__class__} {missing} {nested}"


# --- reading and marking -----------------------------------------------------------------------


def test_my_notifications_newest_first_and_unread_only(org, clock):
    instance = start_training(org)
    clock.move_to(START + dt.timedelta(days=3, seconds=1))
    services.timer_fire_due()
    first, second = Notification.objects.filter(recipient=org.nurse.user).order_by("pk")

    notifications.notification_mark_read(notification_id=first.pk, user=org.nurse.user)

    assert list(selectors.notification_list(org.nurse.user)) == [second, first]
    assert list(selectors.notification_list(org.nurse.user, unread_only=True)) == [second]
    assert selectors.notification_unread_count(org.nurse.user) == 1
    assert list(selectors.notification_list(org.west_nurse.user)) == []
    assert instance.notifications.count() == 3


def test_marking_read_is_idempotent_and_keeps_the_first_time(org, clock):
    start_training(org)
    note = Notification.objects.get(recipient=org.nurse.user)
    notifications.notification_mark_read(notification_id=note.pk, user=org.nurse.user)
    clock.move_to(START + dt.timedelta(hours=1))

    again = notifications.notification_mark_read(notification_id=note.pk, user=org.nurse.user)

    assert again.read_at == START
    assert again.is_read is True


def test_someone_elses_notification_is_not_found(org, clock):
    start_training(org)
    note = Notification.objects.get(recipient=org.nurse.user)

    with pytest.raises(NotFound, match=f"notification {note.pk} does not exist"):
        notifications.notification_mark_read(notification_id=note.pk, user=org.west_nurse.user)

    note.refresh_from_db()
    assert note.read_at is None


def test_mark_all_read(org, clock):
    start_training(org)
    clock.move_to(START + dt.timedelta(days=3, seconds=1))
    services.timer_fire_due()

    marked = notifications.notification_mark_all_read(user=org.nurse.user)
    again = notifications.notification_mark_all_read(user=org.nurse.user)

    assert (marked, again) == (2, 0)
    assert selectors.notification_unread_count(org.nurse.user) == 0


# --- email and webhook deliveries --------------------------------------------------------------


def test_an_email_copy_is_sent_after_commit(org, clock, emails, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as pending:
        start_training(org)
    sent_before_commit = len(mail.outbox)
    for callback in pending:
        callback()

    delivery = Delivery.objects.get()
    assert sent_before_commit == 0
    assert [(m.subject, m.to) for m in mail.outbox] == [
        (TRAINING_TITLE, ["nurse@east.careflow.test"])
    ]
    assert delivery.channel == Delivery.Channel.EMAIL
    assert delivery.status == Delivery.Status.DELIVERED
    assert delivery.attempts == 1
    assert delivery.delivered_at == START
    assert delivery.notification.recipient == org.nurse.user


def test_nothing_is_told_when_the_step_rolls_back(
    org, clock, emails, monkeypatch, django_capture_on_commit_callbacks
):
    instance = start_training(org)
    mail.outbox.clear()

    def broken_projection(*args, **kwargs):
        raise RuntimeError("timer table unavailable")

    monkeypatch.setattr(services, "_project_timers", broken_projection)
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
    ):
        services.task_complete(
            human_task_id=instance.tasks.get().pk, user=org.nurse.user, data={"passed": True}
        )

    assert callbacks == []
    assert mail.outbox == []
    assert Notification.objects.filter(kind=N.PROCESS_COMPLETED).count() == 0


def test_a_chat_robot_receives_the_message(org, clock, robot, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        instance = start_training(org)

    delivery = Delivery.objects.get()
    assert robot.received == [
        {
            "msgtype": "text",
            "text": {
                "content": f"{TRAINING_TITLE}\n"
                f"Training reminder 培训提醒（#{instance.pk}）的“Complete training 完成培训”"
                "已交给您办理。\n"
                f"“Complete training 完成培训” of Training reminder 培训提醒 (#{instance.pk}) "
                f"is waiting for you.\n→ {org.nurse.name}"
            },
        }
    ]
    assert (delivery.channel, delivery.target) == (Delivery.Channel.WEBHOOK, "east_hr_chat")
    assert delivery.status == Delivery.Status.DELIVERED


def test_a_delivered_row_is_not_sent_again(org, clock, robot, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        start_training(org)
    delivery = Delivery.objects.get()

    notifications.delivery_send(delivery_id=delivery.pk)
    tasks.deliver_notification(delivery.pk)

    delivery.refresh_from_db()
    assert len(robot.received) == 1
    assert delivery.attempts == 1


def test_a_refused_message_is_retried_with_backoff_then_given_up(
    org, clock, robot, settings, django_capture_on_commit_callbacks
):
    settings.CAREFLOW = {**settings.CAREFLOW, "DELIVERY_MAX_ATTEMPTS": 2}
    robot.answer = {"errcode": 93000, "errmsg": "invalid webhook url"}
    with django_capture_on_commit_callbacks(execute=True):
        start_training(org)
    delivery = Delivery.objects.get()
    first_try = (delivery.status, delivery.attempts, delivery.next_attempt_at)
    # The redispatch sweep waits for the backoff (30 s) plus its grace (30 s).
    clock.move_to(START + dt.timedelta(seconds=59))
    with django_capture_on_commit_callbacks(execute=True):
        too_early = notifications.delivery_redispatch_due()
    clock.move_to(START + dt.timedelta(seconds=61))

    with django_capture_on_commit_callbacks(execute=True):
        on_time = notifications.delivery_redispatch_due()

    delivery.refresh_from_db()
    assert first_try == ("pending", 1, START + dt.timedelta(seconds=30))
    assert (too_early, on_time) == (0, 1)
    assert len(robot.received) == 2
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.attempts == 2
    assert delivery.last_error == "WebhookRefused: errcode 93000: invalid webhook url"


def test_a_broker_outage_does_not_fail_the_step_and_the_sweep_sends_later(
    org, clock, robot, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    with monkeypatch.context() as outage:
        outage.setattr(tasks.deliver_notification, "delay", broker_down)
        with django_capture_on_commit_callbacks(execute=True):
            instance = start_training(org)
    pending = Delivery.objects.get()
    clock.move_to(START + dt.timedelta(seconds=31))

    with django_capture_on_commit_callbacks(execute=True):
        redispatched = notifications.delivery_redispatch_due()

    delivery = Delivery.objects.get()
    assert instance.status == ProcessInstance.Status.WAITING
    assert (pending.status, pending.attempts) == ("pending", 0)
    assert redispatched == 1
    assert delivery.status == Delivery.Status.DELIVERED
    assert len(robot.received) == 1


def test_webhooks_only_get_the_kinds_they_ask_for(org, clock, robot, settings):
    settings.CAREFLOW = {
        **settings.CAREFLOW,
        "NOTIFY_WEBHOOKS": {"east_hr_chat": {"url": robot.url, "kinds": ["task_escalated"]}},
    }

    start_training(org)

    assert Delivery.objects.count() == 0


def test_an_unknown_template_fails_the_service_task(org, clock, tmp_path):
    bpmn = bundle_files("feedback_deadline")
    bpmn["feedback_deadline.bpmn"] = bpmn["feedback_deadline.bpmn"].replace(
        b"&quot;feedback_answered&quot;", b"&quot;no_such_template&quot;"
    )
    services.version_deploy(files=bpmn)
    instance = services.instance_start(
        process_key="feedback_deadline", started_by=org.nurse.user, subject=org.nurse
    )

    services.task_complete(
        human_task_id=instance.tasks.get().pk, user=org.head_nurse.user, data={"answer": "好的"}
    )

    incident = instance.incidents.get()
    assert incident.element_id == "tell_employee"
    assert incident.message.startswith(
        "ValueError: unknown notification template 'no_such_template'; known: "
    )
