"""Family care 家庭关怀, driven through the REST API along each path.

- Children's birthday reminders: the daily scan starts `family_birthday_greeting` 3 days
  ahead, only with the employee's consent, once per child per year; the manager greets.
- Family-emergency leave (leave_request with leave_type family_emergency): approval due in
  1 day instead of 3, reminder and escalation when late, a care message task, and a care gift
  proposal for clinic HR (tests/processes/test_family_leave_rules.py).
- Care gifts (`care_gift`): clinic or group HR asks, group HR approves, the gift is recorded.
"""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command

from hr.models import CareGift, FamilyBirthdayReminder, FamilyMember, RoleAssignment
from hr.services import family
from tests.factories import RoleAssignmentFactory, UserFactory
from tests.processes.conftest import api, complete, deploy_shipped, open_tasks
from workflows import services
from workflows.models import HumanTask, Notification, ProcessInstance

pytestmark = pytest.mark.django_db

# Monday 2 March 2026, 09:00 in Beijing.
START = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 3, 2)
BIRTHDAY_LEAD_DAYS = 3
EMERGENCY_APPROVAL_DAYS = 1
NORMAL_APPROVAL_DAYS = 3
EMERGENCY_REMINDER = dt.timedelta(hours=12)
NORMAL_REMINDER = dt.timedelta(days=2)
CARE_GIFT_MAX_CNY = 2000


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(START, tick=False)
    return time_machine


def fire_timers_at(clock, when: dt.datetime) -> int:
    clock.move_to(when, tick=False)
    return services.timer_fire_due()


def notes(user, kind) -> list[Notification]:
    return list(Notification.objects.filter(recipient=user, kind=kind).order_by("pk"))


def tasks_at(client, element_id: str) -> list[dict]:
    return [t for t in open_tasks(client) if t["element_id"] == element_id]


# --- birthday reminders --------------------------------------------------------------------


@pytest.fixture
def greeting(org, clock):
    return deploy_shipped("family_birthday_greeting.bpmn")


def child(employee, birth_date, *, consent=True, relation=FamilyMember.Relation.CHILD):
    return FamilyMember.objects.create(
        employee=employee,
        relation=relation,
        name="小明",
        birth_date=birth_date,
        has_consented_to_reminders=consent,
    )


def test_the_lead_time_is_3_days(settings):
    assert settings.CAREFLOW_FAMILY_BIRTHDAY_LEAD_DAYS == BIRTHDAY_LEAD_DAYS
    assert family.birthday_lead_days() == BIRTHDAY_LEAD_DAYS


def test_the_manager_gets_a_greeting_task_3_days_ahead(org, greeting, clock):
    kid = child(org.nurse, dt.date(2018, 3, 5))  # 8 on Thursday 5 March 2026

    sent = family.family_birthday_reminders_send(today=TODAY)

    assert [(r.family_member_id, r.year, r.birthday_date) for r in sent] == [
        (kid.pk, 2026, dt.date(2026, 3, 5))
    ]
    head_nurse = api(org.head_nurse.user)
    (task,) = tasks_at(head_nurse, "send_birthday_greeting")
    data = head_nurse.get(f"/api/v1/tasks/{task['id']}").json()["form"]["data"]
    assert (data["child_name"], data["birthday_date"], data["age"]) == ("小明", "2026-03-05", 8)
    task_name = "Send a birthday greeting 送上生日祝福"
    assert [n.title for n in notes(org.head_nurse.user, Notification.Kind.TASK_ASSIGNED)] == [
        f"新待办：{task_name} / New task: {task_name}"
    ]

    complete(head_nurse, task["id"], {"greeting": "生日快乐！", "channel": "card"})

    (wishes,) = notes(org.nurse.user, Notification.Kind.MESSAGE)
    assert wishes.title == "生日祝福 / Birthday wishes"
    assert wishes.body == "生日快乐！\n(小明, 2026-03-05)"
    instance = ProcessInstance.objects.get(pk=sent[0].process_instance_id)
    assert instance.status == ProcessInstance.Status.COMPLETED


def test_no_reminder_without_consent(org, greeting):
    child(org.nurse, dt.date(2018, 3, 5), consent=False)

    assert family.family_birthday_reminders_send(today=TODAY) == []
    assert FamilyBirthdayReminder.objects.count() == 0
    assert ProcessInstance.objects.count() == 0


def test_only_children_within_the_lead_time_are_reminded(org, greeting):
    child(org.nurse, dt.date(2018, 3, 6))  # 4 days ahead: too early
    child(org.nurse, dt.date(2018, 3, 1))  # yesterday: too late
    child(org.nurse, dt.date(1960, 3, 4), relation=FamilyMember.Relation.PARENT)
    on_the_day = child(org.nurse, dt.date(2020, 3, 2))

    sent = family.family_birthday_reminders_send(today=TODAY)

    assert [r.family_member_id for r in sent] == [on_the_day.pk]


def test_the_scan_is_idempotent_per_child_and_year(org, greeting):
    kid = child(org.nurse, dt.date(2018, 3, 5))
    family.family_birthday_reminders_send(today=TODAY)

    # the next days' scans and the command find the same birthday and leave it alone
    assert family.family_birthday_reminders_send(today=TODAY + dt.timedelta(days=1)) == []
    out = StringIO()
    call_command("family_birthday_reminders", "--date", "2026-03-04", stdout=out)
    assert out.getvalue().strip() == "0 birthday reminders started"
    assert FamilyBirthdayReminder.objects.filter(family_member=kid).count() == 1
    # next year it is due again
    assert len(family.family_birthday_reminders_send(today=dt.date(2027, 3, 3))) == 1


def test_a_29_february_birthday_is_celebrated_on_the_28th(org, greeting):
    kid = child(org.nurse, dt.date(2016, 2, 29))

    sent = family.family_birthday_reminders_send(today=dt.date(2026, 2, 26))

    assert [(r.family_member_id, r.birthday_date) for r in sent] == [(kid.pk, dt.date(2026, 2, 28))]


def test_the_manager_is_reminded_on_the_day_and_the_task_lapses_after_it(org, greeting, clock):
    child(org.nurse, dt.date(2018, 3, 5))
    (reminder,) = family.family_birthday_reminders_send(today=TODAY)

    # 08:00 on the birthday in Beijing
    assert fire_timers_at(clock, dt.datetime(2026, 3, 5, 0, 0, 1, tzinfo=dt.UTC)) == 1
    (nudge,) = notes(org.head_nurse.user, Notification.Kind.TASK_REMINDER)
    assert nudge.title.startswith("待办提醒：Send a birthday greeting")
    # the day after it, 00:00 in Beijing
    assert fire_timers_at(clock, dt.datetime(2026, 3, 5, 16, 0, 1, tzinfo=dt.UTC)) == 1

    instance = ProcessInstance.objects.get(pk=reminder.process_instance_id)
    assert instance.status == ProcessInstance.Status.COMPLETED
    assert instance.tasks.get().status == HumanTask.Status.CANCELLED
    assert notes(org.nurse.user, Notification.Kind.MESSAGE) == []


# --- family-emergency leave ----------------------------------------------------------------


@pytest.fixture
def leave(org, clock):
    return deploy_shipped("leave_request.bpmn")


def request_leave(org, leave_type: str, days: int = 2) -> int:
    response = api(org.nurse.user).post(
        "/api/v1/instances/start",
        {"process": "leave_request", "data": {"leave_type": leave_type, "days": days}},
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


@pytest.mark.parametrize(
    ("leave_type", "due_days"),
    [("family_emergency", EMERGENCY_APPROVAL_DAYS), ("annual", NORMAL_APPROVAL_DAYS)],
)
def test_the_approval_is_due_in_1_day_for_an_emergency_and_3_otherwise(
    org, leave, leave_type, due_days
):
    request_leave(org, leave_type)

    (task,) = tasks_at(api(org.head_nurse.user), "review_by_supervisor")

    assert dt.datetime.fromisoformat(task["due_at"]) == START + dt.timedelta(days=due_days)


def test_a_family_emergency_asks_the_supervisor_for_a_care_message(org, leave):
    instance_id = request_leave(org, "family_emergency", days=5)
    head_nurse = api(org.head_nurse.user)

    # the fast track: supervisor only, even for 5 days; the care message beside it
    assert sorted(t["element_id"] for t in open_tasks(head_nurse)) == [
        "review_by_supervisor",
        "send_care_message",
    ]
    (care,) = tasks_at(head_nurse, "send_care_message")
    complete(head_nurse, care["id"], {"care_message": "家里的事要紧，有需要随时说。"})
    (review,) = tasks_at(head_nurse, "review_by_supervisor")
    complete(head_nurse, review["id"], {"decision": "approve"})
    (ack,) = tasks_at(api(org.nurse.user), "acknowledge_outcome")
    complete(api(org.nurse.user), ack["id"], {"acknowledged": True})

    (message,) = notes(org.nurse.user, Notification.Kind.MESSAGE)
    assert message.title == "来自主管的关怀 / A message of care from your supervisor"
    assert message.body == "家里的事要紧，有需要随时说。"
    # clinic HR still has the care gift proposal (tests/processes/test_family_leave_rules.py)
    (proposal,) = tasks_at(api(org.east_hr.user), "propose_care_gift")
    complete(api(org.east_hr.user), proposal["id"], {"care_gift_decision": "declined"})
    assert ProcessInstance.objects.get(pk=instance_id).status == "completed"


def test_an_annual_leave_gets_no_care_message_task(org, leave):
    request_leave(org, "annual")

    assert [t["element_id"] for t in open_tasks(api(org.head_nurse.user))] == [
        "review_by_supervisor"
    ]


@pytest.mark.parametrize(
    ("leave_type", "remind_after", "due_days"),
    [
        ("family_emergency", EMERGENCY_REMINDER, EMERGENCY_APPROVAL_DAYS),
        ("annual", NORMAL_REMINDER, NORMAL_APPROVAL_DAYS),
    ],
)
def test_a_late_approval_is_reminded_then_escalated_to_clinic_hr(
    org, leave, clock, leave_type, remind_after, due_days
):
    instance_id = request_leave(org, leave_type)
    second = dt.timedelta(seconds=1)

    assert fire_timers_at(clock, START + remind_after - second) == 0
    assert fire_timers_at(clock, START + remind_after + second) == 1
    (reminder,) = notes(org.head_nurse.user, Notification.Kind.TASK_REMINDER)
    assert (
        reminder.title
        == "待办提醒：Review by supervisor 主管审批 / Reminder: Review by supervisor 主管审批"
    )

    due = START + dt.timedelta(days=due_days)
    assert fire_timers_at(clock, due - second) == 0
    assert fire_timers_at(clock, due + second) == 1
    assert len(notes(org.head_nurse.user, Notification.Kind.TASK_ESCALATED)) == 1
    assert tasks_at(api(org.head_nurse.user), "review_by_supervisor") == []
    east_hr = api(org.east_hr.user)
    (escalated,) = tasks_at(east_hr, "review_escalated_to_clinic_hr")
    complete(east_hr, escalated["id"], {"decision": "approve"})
    (ack,) = tasks_at(api(org.nurse.user), "acknowledge_outcome")
    result = api(org.nurse.user).get(f"/api/v1/tasks/{ack['id']}").json()["form"]["data"]
    assert result["approved"] is True
    assert ProcessInstance.objects.get(pk=instance_id).status == "waiting"


def test_a_late_long_leave_approval_is_reported_to_clinic_hr(org, leave, clock):
    request_leave(org, "annual", days=5)
    due = START + dt.timedelta(days=NORMAL_APPROVAL_DAYS)

    assert fire_timers_at(clock, due + dt.timedelta(seconds=1)) >= 1

    (late,) = notes(org.east_hr.user, Notification.Kind.MESSAGE)
    assert late.title == "请假审批逾期 / Leave approval late"
    # the supervisor keeps the long review; clinic HR reviews in parallel as before
    assert len(tasks_at(api(org.head_nurse.user), "review_by_supervisor_long")) == 1
    assert len(tasks_at(api(org.east_hr.user), "review_by_clinic_hr")) == 1


# --- care gifts ----------------------------------------------------------------------------


@pytest.fixture
def care_gift(org, clock):
    return deploy_shipped("care_gift.bpmn")


def ask_for_gift(user, employee, member, amount=500, **extra):
    return api(user).post(
        "/api/v1/family/care-gifts",
        {
            "employee_no": employee.employee_no,
            "family_member_id": member.pk,
            "gift": "果篮 Fruit basket",
            "amount": str(amount),
            **extra,
        },
        format="json",
    )


@pytest.mark.parametrize("requester", ["east_hr", "group_hr"])
def test_hr_asks_group_hr_approves_and_the_gift_is_recorded(org, care_gift, requester):
    mother = child(org.nurse, dt.date(1965, 1, 1), relation=FamilyMember.Relation.PARENT)

    response = ask_for_gift(getattr(org, requester).user, org.nurse, mother, note="住院治疗")

    assert response.status_code == 201, response.content
    group_hr = api(org.group_hr.user if requester == "east_hr" else second_group_hr(org))
    (task,) = tasks_at(group_hr, "approve_care_gift")
    complete(group_hr, task["id"], {"decision": "approve"})
    gift = CareGift.objects.get()
    assert (gift.employee, gift.family_member, gift.gift) == (
        org.nurse,
        mother,
        "果篮 Fruit basket",
    )
    assert str(gift.amount) == "500.00"
    assert gift.process_instance_id == response.json()["id"]
    (told,) = notes(org.nurse.user, Notification.Kind.MESSAGE)
    assert told.title == "关怀慰问 / Care gift"


def second_group_hr(org):
    colleague = UserFactory(username="group_hr_2")
    RoleAssignmentFactory(user=colleague, role=RoleAssignment.Role.GROUP_HR, org_unit=org.group)
    return colleague


def test_group_hr_may_not_approve_the_gift_they_asked_for(org, care_gift):
    mother = child(org.nurse, None, relation=FamilyMember.Relation.PARENT)
    asker = api(org.group_hr.user)
    assert ask_for_gift(org.group_hr.user, org.nurse, mother).status_code == 201
    colleague = api(second_group_hr(org))
    (task,) = tasks_at(colleague, "approve_care_gift")
    url = f"/api/v1/tasks/{task['id']}"

    refused = asker.post(f"{url}/complete", {"data": {"decision": "approve"}}, format="json")
    claim = asker.post(f"{url}/claim", format="json")
    handed_back = colleague.post(f"{url}/delegate", {"to_user": "group_hr"}, format="json")

    assert refused.status_code == 403, refused.content
    assert "four-eyes" in refused.json()["detail"]
    assert claim.status_code == 403
    assert handed_back.status_code == 403
    assert CareGift.objects.count() == 0
    assert HumanTask.objects.get(pk=task["id"]).status == "open"


def test_a_declined_gift_is_explained_and_not_recorded(org, care_gift):
    spouse = child(org.nurse, None, relation=FamilyMember.Relation.SPOUSE)
    ask_for_gift(org.east_hr.user, org.nurse, spouse)
    group_hr = api(org.group_hr.user)
    (task,) = tasks_at(group_hr, "approve_care_gift")

    complete(group_hr, task["id"], {"decision": "reject", "comment": "已由工会慰问"})

    assert CareGift.objects.count() == 0
    (told,) = notes(org.east_hr.user, Notification.Kind.MESSAGE)
    assert told.body == "审批意见 / Comment: 已由工会慰问"


def test_the_approver_is_reminded_after_2_days(org, care_gift, clock):
    mother = child(org.nurse, None, relation=FamilyMember.Relation.PARENT)
    ask_for_gift(org.east_hr.user, org.nurse, mother)

    assert fire_timers_at(clock, START + dt.timedelta(days=2, seconds=1)) == 1

    assert len(notes(org.group_hr.user, Notification.Kind.TASK_REMINDER)) == 1


@pytest.mark.parametrize(
    ("who", "amount", "status", "field"),
    [
        ("west_hr", 500, 403, None),  # HR of another clinic
        ("nurse", 500, 403, None),
        ("east_hr", CARE_GIFT_MAX_CNY + 1, 400, "amount"),
        ("east_hr", 0, 400, "amount"),
    ],
)
def test_who_may_ask_and_how_much(org, care_gift, who, amount, status, field):
    mother = child(org.nurse, None, relation=FamilyMember.Relation.PARENT)

    response = ask_for_gift(getattr(org, who).user, org.nurse, mother, amount=amount)

    assert response.status_code == status
    assert [e["field"] for e in response.json().get("errors", [])] == ([field] if field else [])
    assert ProcessInstance.objects.count() == 0


def test_a_family_member_of_someone_else_is_refused(org, care_gift):
    other = child(org.west_nurse, None, relation=FamilyMember.Relation.PARENT)

    response = ask_for_gift(org.east_hr.user, org.nurse, other)

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "family_member_id", "message": "not a family member of this employee"}
    ]
