"""Family leave rules (issue 21), driven through the REST API with the clock moved.

- Fast track: ordinary family leave (家庭事假) is due in 1 day (reminder after 12 hours)
  instead of 3 when the employee's youngest child on file, shared with consent
  (`has_consented_to_reminders`), is under 6 in completed years on the day the request is
  made (Asia/Shanghai). The DMN leave_approval_route decides it from
  `family_facts.youngest_child_age_years`, which the scoped operation hr.family_leave_facts
  gives (an age, never a name or a birth date).
- Care gift: a family-emergency leave ends with a task for clinic HR proposing a care gift;
  they start `care_gift` for the ill family member, or decline.
"""

import datetime as dt

import pytest

from hr.models import CareGift, FamilyMember
from tests.processes.conftest import api, complete, deploy_shipped, open_tasks
from workflows import registry, services
from workflows.models import ProcessInstance
from workflows.registry import Scope

pytestmark = pytest.mark.django_db

# Monday 2 March 2026, 09:00 in Beijing.
START = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
FAST_TRACK_DUE = dt.timedelta(days=1)
FAST_TRACK_REMINDER = dt.timedelta(hours=12)
NORMAL_DUE = dt.timedelta(days=3)
SECOND = dt.timedelta(seconds=1)


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(START, tick=False)
    return time_machine


@pytest.fixture
def leave(org, clock):
    deploy_shipped("care_gift.bpmn")
    return deploy_shipped("leave_request.bpmn")


def child_born(employee, birth_date, *, consent=True, relation=FamilyMember.Relation.CHILD):
    return FamilyMember.objects.create(
        employee=employee,
        relation=relation,
        name="王小宝",
        birth_date=birth_date,
        has_consented_to_reminders=consent,
    )


def request_leave(user, leave_type: str, days: int = 2) -> int:
    response = api(user).post(
        "/api/v1/instances/start",
        {"process": "leave_request", "data": {"leave_type": leave_type, "days": days}},
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def tasks_at(user, element_id: str) -> list[dict]:
    return [t for t in open_tasks(api(user)) if t["element_id"] == element_id]


def approval_due_after(org) -> dt.timedelta:
    (task,) = tasks_at(org.head_nurse.user, "review_by_supervisor")
    return dt.datetime.fromisoformat(task["due_at"]) - START


# --- fast track: the age boundary at 6 -----------------------------------------------------


@pytest.mark.parametrize(
    ("birth_date", "due_after"),
    [
        (dt.date(2023, 3, 2), FAST_TRACK_DUE),  # exactly 3 today: the seed's example
        (dt.date(2020, 4, 2), FAST_TRACK_DUE),  # 5 years 11 months
        (dt.date(2020, 3, 3), FAST_TRACK_DUE),  # turns 6 tomorrow: still 5
        (dt.date(2020, 3, 2), NORMAL_DUE),  # turns 6 today
        (dt.date(2020, 2, 2), NORMAL_DUE),  # 6 years 1 month
    ],
    ids=["3y0m_1_day", "5y11m_1_day", "5y364d_1_day", "6y0m_3_days", "6y1m_3_days"],
)
def test_family_leave_is_due_in_1_day_with_a_child_under_6_and_3_days_from_the_6th_birthday(
    org, leave, birth_date, due_after
):
    child_born(org.nurse, birth_date)

    request_leave(org.nurse.user, "family")

    assert approval_due_after(org) == due_after


def test_family_leave_with_a_3_year_old_is_reminded_after_12_hours_and_escalated_after_1_day(
    org, leave, clock
):
    child_born(org.nurse, dt.date(2023, 1, 15))
    request_leave(org.nurse.user, "family")

    clock.move_to(START + FAST_TRACK_REMINDER - SECOND, tick=False)
    assert services.timer_fire_due() == 0
    clock.move_to(START + FAST_TRACK_REMINDER + SECOND, tick=False)
    assert services.timer_fire_due() == 1
    clock.move_to(START + FAST_TRACK_DUE + SECOND, tick=False)
    assert services.timer_fire_due() == 1

    assert tasks_at(org.head_nurse.user, "review_by_supervisor") == []
    assert len(tasks_at(org.east_hr.user, "review_escalated_to_clinic_hr")) == 1


def test_a_child_born_29_feb_2020_turns_6_on_1_mar_2026_not_on_28_feb(org, leave, clock):
    child_born(org.nurse, dt.date(2020, 2, 29))
    on_28_feb = dt.datetime(2026, 2, 28, 1, 0, tzinfo=dt.UTC)
    clock.move_to(on_28_feb, tick=False)
    request_leave(org.nurse.user, "family")
    clock.move_to(START, tick=False)  # 2 March: already 6
    request_leave(org.nurse.user, "family")

    due = sorted(
        dt.datetime.fromisoformat(t["due_at"])
        for t in tasks_at(org.head_nurse.user, "review_by_supervisor")
    )

    assert due == [on_28_feb + FAST_TRACK_DUE, START + NORMAL_DUE]


def test_a_child_under_6_without_consent_to_share_is_not_used_3_days(org, leave):
    child_born(org.nurse, dt.date(2023, 3, 2), consent=False)

    request_leave(org.nurse.user, "family")

    assert approval_due_after(org) == NORMAL_DUE


def test_the_youngest_consented_child_decides_10_and_4_years_old_1_day(org, leave):
    child_born(org.nurse, dt.date(2016, 1, 10))
    child_born(org.nurse, dt.date(2022, 1, 10))
    child_born(org.nurse, dt.date(1960, 1, 10), relation=FamilyMember.Relation.PARENT)

    request_leave(org.nurse.user, "family")

    assert approval_due_after(org) == FAST_TRACK_DUE
    (review,) = tasks_at(org.head_nurse.user, "review_by_supervisor")
    data = api(org.head_nurse.user).get(f"/api/v1/tasks/{review['id']}").json()["form"]["data"]
    # only the age reached process data: no name, no birth date
    assert data["family_facts"] == {"youngest_child_age_years": 4}
    assert "2022-01-10" not in str(data)


def test_a_younger_child_of_someone_else_does_not_count_3_days(org, leave):
    child_born(org.west_nurse, dt.date(2024, 1, 10))
    child_born(org.nurse, dt.date(2014, 1, 10))

    request_leave(org.nurse.user, "family")

    assert approval_due_after(org) == NORMAL_DUE


def test_annual_leave_with_a_child_of_3_is_not_fast_tracked_3_days(org, leave):
    child_born(org.nurse, dt.date(2023, 1, 15))

    request_leave(org.nurse.user, "annual")

    assert approval_due_after(org) == NORMAL_DUE


def test_family_leave_of_6_days_with_a_child_of_3_stays_with_the_supervisor_alone(org, leave):
    child_born(org.nurse, dt.date(2023, 1, 15))

    request_leave(org.nurse.user, "family", days=6)

    assert approval_due_after(org) == FAST_TRACK_DUE
    assert tasks_at(org.east_hr.user, "review_by_clinic_hr") == []


def test_the_family_facts_operation_is_scoped_to_the_subject():
    assert registry.spec("hr.family_leave_facts").scope == Scope.SUBJECT
    assert dict(registry.spec("hr.family_leave_facts").ids) == {}


# --- family emergency: clinic HR is asked about a care gift --------------------------------


def decide_emergency(org, decision: str = "approve") -> int:
    instance_id = request_leave(org.nurse.user, "family_emergency")
    (review,) = tasks_at(org.head_nurse.user, "review_by_supervisor")
    complete(api(org.head_nurse.user), review["id"], {"decision": decision})
    (care,) = tasks_at(org.head_nurse.user, "send_care_message")
    complete(api(org.head_nurse.user), care["id"], {"care_message": "家里的事要紧。"})
    return instance_id


def test_a_family_emergency_ends_with_a_care_gift_proposal_for_clinic_hr_who_starts_it(org, leave):
    mother = child_born(org.nurse, dt.date(1958, 5, 1), relation=FamilyMember.Relation.PARENT)
    instance_id = decide_emergency(org)
    east_hr = api(org.east_hr.user)

    (proposal,) = tasks_at(org.east_hr.user, "propose_care_gift")
    assert tasks_at(org.west_hr.user, "propose_care_gift") == []
    started = east_hr.post(
        "/api/v1/family/care-gifts",
        {
            "employee_no": org.nurse.employee_no,
            "family_member_id": mother.pk,
            "gift": "果篮 fruit basket",
            "amount": "300",
        },
        format="json",
    )
    assert started.status_code == 201, started.content
    complete(east_hr, proposal["id"], {"care_gift_decision": "started"})
    (ack,) = tasks_at(org.nurse.user, "acknowledge_outcome")
    complete(api(org.nurse.user), ack["id"], {"acknowledged": True})

    assert ProcessInstance.objects.get(pk=instance_id).status == "completed"
    gift = ProcessInstance.objects.get(pk=started.json()["id"])
    assert (gift.definition.key, gift.subject_id) == ("care_gift", org.nurse.pk)
    (approval,) = tasks_at(org.group_hr.user, "approve_care_gift")
    assert approval["instance"] == gift.pk
    assert CareGift.objects.count() == 0  # recorded only once group HR approves


def test_clinic_hr_may_decline_the_care_gift_proposal(org, leave):
    instance_id = decide_emergency(org, decision="reject")

    (proposal,) = tasks_at(org.east_hr.user, "propose_care_gift")
    complete(
        api(org.east_hr.user),
        proposal["id"],
        {"care_gift_decision": "declined", "care_gift_note": "已由工会慰问"},
    )
    (ack,) = tasks_at(org.nurse.user, "acknowledge_outcome")
    complete(api(org.nurse.user), ack["id"], {"acknowledged": True})

    instance = ProcessInstance.objects.get(pk=instance_id)
    assert instance.status == "completed"
    final = instance.events.get(kind="instance_completed").data["data"]
    assert (final["care_gift_decision"], final["approved"]) == ("declined", False)
    assert not ProcessInstance.objects.filter(definition__key="care_gift").exists()


def test_a_proposal_answer_outside_the_choices_is_refused_naming_the_field(org, leave):
    decide_emergency(org)
    (proposal,) = tasks_at(org.east_hr.user, "propose_care_gift")

    response = api(org.east_hr.user).post(
        f"/api/v1/tasks/{proposal['id']}/complete",
        {"data": {"care_gift_decision": "maybe"}},
        format="json",
    )

    assert response.status_code == 400
    assert "care_gift_decision" in response.content.decode()
    assert len(tasks_at(org.east_hr.user, "propose_care_gift")) == 1


@pytest.mark.parametrize("leave_type", ["family", "annual", "sick"])
def test_no_care_gift_proposal_for_other_leave(org, leave, leave_type):
    request_leave(org.nurse.user, leave_type)
    (review,) = tasks_at(org.head_nurse.user, "review_by_supervisor")
    complete(api(org.head_nurse.user), review["id"], {"decision": "approve"})

    assert tasks_at(org.east_hr.user, "propose_care_gift") == []
    assert len(tasks_at(org.nurse.user, "acknowledge_outcome")) == 1
