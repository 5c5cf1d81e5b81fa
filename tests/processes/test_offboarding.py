"""The shipped offboarding process (离职办理), driven through the REST API along each path.

Started by clinic HR by hand (`offboarding`) or by the message `offboarding_requested`
(`offboarding_on_request`, e.g. sent by a failed PIP); both run `offboarding_steps`:
handover, return of equipment, revocation of every system account at 18:00 of the last
working day (a timer) and the exit interview in parallel, then the final settlement.
Nothing closes while an account is still active.
"""

import datetime as dt

import pytest

from hr.models import EquipmentAssignment, SystemAccount
from tests.processes.conftest import api, complete, deploy_shipped, open_tasks
from workflows import services
from workflows.models import ProcessInstance, Timer

pytestmark = pytest.mark.django_db

# Monday 2 March 2026, 09:00 in Beijing; the last working day is Friday 13 March.
START = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
LAST_WORKING_DATE = "2026-03-13"
# 18:00 Beijing time (UTC+8) of the last working day.
REVOKE_AT = dt.datetime(2026, 3, 13, 10, 0, tzinfo=dt.UTC)

SETTLED = {
    "salary_settled": True,
    "leave_balance_settled": True,
    "social_insurance_stopped": True,
    "equipment_settled": True,
    "separation_certificate_issued": True,
}


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(START, tick=False)
    return time_machine


@pytest.fixture
def lent(org):
    """The east nurse's equipment and system accounts (set up directly: no API lends them)."""
    for tag, item in [("EAST-UNI-0001", "Nurse uniform set"), ("EAST-CARD-0001", "Ward card")]:
        EquipmentAssignment.objects.create(
            employee=org.nurse, item=item, asset_tag=tag, assigned_date=dt.date(2024, 3, 1)
        )
    for system in ("HIS", "NIS", "OA"):
        SystemAccount.objects.create(employee=org.nurse, system=system, username="nurse01")
    # Someone else's account, which no offboarding of the nurse may touch.
    SystemAccount.objects.create(employee=org.west_nurse, system="HIS", username="west01")


@pytest.fixture
def offboarding(org, clock, lent):
    return deploy_shipped("offboarding.bpmn")


@pytest.fixture
def offboarding_on_request(org, clock, lent):
    return deploy_shipped("offboarding_on_request.bpmn")


def start_by_hand(org, **data) -> int:
    body = {"last_working_date": LAST_WORKING_DATE, "reason": "resignation", **data}
    response = api(org.east_hr.user).post(
        "/api/v1/instances/start",
        {"process": "offboarding", "subject": org.nurse.employee_no, "data": body},
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def instance_status(org, instance_id: int) -> str:
    response = api(org.group_hr.user).get(f"/api/v1/instances/{instance_id}")
    assert response.status_code == 200, response.content
    return response.json()["status"]


def tasks_at(client, element_id: str) -> list[dict]:
    return [t for t in open_tasks(client) if t["element_id"] == element_id]


def task_data(client, task: dict) -> dict:
    response = client.get(f"/api/v1/tasks/{task['id']}")
    assert response.status_code == 200, response.content
    return response.json()["form"]["data"]


def do(client, element_id: str, data: dict) -> None:
    (task,) = tasks_at(client, element_id)
    complete(client, task["id"], data)


def hand_over_and_accept(org) -> None:
    do(
        api(org.nurse.user),
        "hand_over_work",
        {
            "handover_summary": "Beds 3-8 handed over; ward keys to the head nurse",
            "successor_name": "王敏",
        },
    )
    do(api(org.head_nurse.user), "confirm_handover", {"handover_accepted": True})


def return_equipment(org, tags: list[str]) -> None:
    do(api(org.east_hr.user), "receive_returned_equipment", {"returned_asset_tags": tags})


def interview(org) -> None:
    do(
        api(org.east_hr.user),
        "conduct_exit_interview",
        {
            "interview_date": "2026-03-12",
            "main_reason": "family",
            "would_rejoin": True,
            "interview_summary": "Moving closer to her parents; would come back.",
        },
    )


def fire_timers_at(clock, when: dt.datetime) -> int:
    clock.move_to(when, tick=False)
    return services.timer_fire_due()


def active_accounts(employee) -> list[str]:
    return sorted(
        f"{a.system}:{a.username}" for a in employee.system_accounts.filter(is_active=True)
    )


# --- deploy and start ------------------------------------------------------------------------


def test_both_bundles_carry_the_shared_offboarding_steps(offboarding, offboarding_on_request):
    assert sorted(offboarding.bpmn_files) == ["offboarding.bpmn", "offboarding_steps.bpmn"]
    assert sorted(offboarding_on_request.bpmn_files) == [
        "offboarding_on_request.bpmn",
        "offboarding_steps.bpmn",
    ]
    assert offboarding.summary["start_lane"] == "Clinic HR (门店人力资源部)"
    assert offboarding.summary["start_messages"] == []
    assert offboarding_on_request.summary["start_messages"] == ["offboarding_requested"]


def test_only_hr_of_the_employees_clinic_starts_an_offboarding_by_hand(org, offboarding):
    body = {
        "process": "offboarding",
        "subject": org.nurse.employee_no,
        "data": {"last_working_date": LAST_WORKING_DATE, "reason": "resignation"},
    }
    for user in (org.nurse.user, org.head_nurse.user, org.west_hr.user):
        response = api(user).post("/api/v1/instances/start", body, format="json")
        assert response.status_code == 403, (user, response.content)
    no_reason = {**body, "data": {"last_working_date": LAST_WORKING_DATE}}
    response = api(org.east_hr.user).post("/api/v1/instances/start", no_reason, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": "reason", "message": "this field is required"}]


def test_the_message_started_variant_cannot_be_started_by_hand(org, offboarding_on_request):
    response = api(org.east_hr.user).post(
        "/api/v1/instances/start",
        {"process": "offboarding_on_request", "subject": org.nurse.employee_no, "data": {}},
        format="json",
    )

    assert response.status_code == 409


def test_starting_opens_the_four_parallel_branches_and_arms_the_last_day_timer(org, offboarding):
    instance_id = start_by_hand(org)

    org.nurse.refresh_from_db()
    assert org.nurse.last_working_date == dt.date(2026, 3, 13)
    assert [t["element_id"] for t in open_tasks(api(org.nurse.user))] == ["hand_over_work"]
    assert sorted(t["element_id"] for t in open_tasks(api(org.east_hr.user))) == [
        "conduct_exit_interview",
        "receive_returned_equipment",
    ]
    assert open_tasks(api(org.west_hr.user)) == []
    assert list(
        Timer.objects.filter(instance_id=instance_id).values_list("element_id", "due_at", "status")
    ) == [("last_working_day_ends", REVOKE_AT, Timer.Status.WAITING)]
    (equipment_task,) = tasks_at(api(org.east_hr.user), "receive_returned_equipment")
    assert task_data(api(org.east_hr.user), equipment_task)["equipment_to_return"] == [
        {"asset_tag": "EAST-CARD-0001", "item": "Ward card", "assigned_date": "2024-03-01"},
        {"asset_tag": "EAST-UNI-0001", "item": "Nurse uniform set", "assigned_date": "2024-03-01"},
    ]


# --- the paths -------------------------------------------------------------------------------


def test_offboarding_by_hand_revokes_access_at_18_00_of_the_last_day_and_closes(
    org, offboarding, clock
):
    instance_id = start_by_hand(org)
    hand_over_and_accept(org)
    return_equipment(org, ["EAST-UNI-0001", "EAST-CARD-0001"])
    interview(org)

    # Everything else is done, but the settlement waits for the last working day.
    assert tasks_at(api(org.east_hr.user), "settle_final_accounts") == []
    assert fire_timers_at(clock, REVOKE_AT - dt.timedelta(minutes=1)) == 0
    assert active_accounts(org.nurse) == ["HIS:nurse01", "NIS:nurse01", "OA:nurse01"]

    revoked_at = REVOKE_AT + dt.timedelta(seconds=1)
    assert fire_timers_at(clock, revoked_at) == 1

    assert active_accounts(org.nurse) == []
    assert set(org.nurse.system_accounts.values_list("revoked_at", flat=True)) == {revoked_at}
    assert active_accounts(org.west_nurse) == ["HIS:west01"]
    assert instance_status(org, instance_id) == ProcessInstance.Status.WAITING

    do(api(org.east_hr.user), "settle_final_accounts", {**SETTLED, "settlement_note": "Paid"})

    assert instance_status(org, instance_id) == ProcessInstance.Status.COMPLETED
    org.nurse.refresh_from_db()
    org.nurse.user.refresh_from_db()
    assert (org.nurse.is_active, org.nurse.user.is_active) == (False, False)
    assert not org.nurse.equipment.filter(returned_at__isnull=True).exists()


def test_the_settlement_checklist_needs_every_item_ticked(org, offboarding, clock):
    start_by_hand(org)
    hand_over_and_accept(org)
    return_equipment(org, ["EAST-UNI-0001", "EAST-CARD-0001"])
    interview(org)
    fire_timers_at(clock, REVOKE_AT + dt.timedelta(seconds=1))
    east_hr = api(org.east_hr.user)
    (task,) = tasks_at(east_hr, "settle_final_accounts")

    response = east_hr.post(
        f"/api/v1/tasks/{task['id']}/complete",
        {"data": {**SETTLED, "separation_certificate_issued": False}},
        format="json",
    )

    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["separation_certificate_issued"]


def test_a_handover_sent_back_returns_to_the_employee(org, offboarding, clock):
    instance_id = start_by_hand(org)
    nurse, supervisor = api(org.nurse.user), api(org.head_nurse.user)
    do(nurse, "hand_over_work", {"handover_summary": "Beds 3-8", "successor_name": "王敏"})
    (review,) = tasks_at(supervisor, "confirm_handover")
    no_feedback = supervisor.post(
        f"/api/v1/tasks/{review['id']}/complete",
        {"data": {"handover_accepted": False}},
        format="json",
    )
    assert no_feedback.status_code == 400
    assert no_feedback.json()["errors"] == [
        {"field": "handover_feedback", "message": "this field is required"}
    ]

    do(
        supervisor,
        "confirm_handover",
        {"handover_accepted": False, "handover_feedback": "List the open lab orders too"},
    )

    (again,) = tasks_at(nurse, "hand_over_work")
    assert task_data(nurse, again)["handover_feedback"] == "List the open lab orders too"

    hand_over_and_accept(org)
    return_equipment(org, ["EAST-UNI-0001", "EAST-CARD-0001"])
    interview(org)
    fire_timers_at(clock, REVOKE_AT + dt.timedelta(seconds=1))
    do(api(org.east_hr.user), "settle_final_accounts", SETTLED)
    assert instance_status(org, instance_id) == ProcessInstance.Status.COMPLETED


def test_equipment_not_handed_in_stays_on_the_record_for_the_settlement(org, offboarding, clock):
    start_by_hand(org)
    hand_over_and_accept(org)
    interview(org)

    return_equipment(org, ["EAST-UNI-0001", "EAST-XXXX-9999"])

    assert sorted(
        org.nurse.equipment.filter(returned_at__isnull=True).values_list("asset_tag", flat=True)
    ) == ["EAST-CARD-0001"]
    fire_timers_at(clock, REVOKE_AT + dt.timedelta(seconds=1))
    east_hr = api(org.east_hr.user)
    (settlement,) = tasks_at(east_hr, "settle_final_accounts")
    assert task_data(east_hr, settlement)["equipment_return"] == {
        "returned": ["EAST-UNI-0001"],
        "outstanding": ["EAST-CARD-0001"],
        "unknown": ["EAST-XXXX-9999"],
    }


def test_nothing_closes_while_an_account_is_still_active(org, offboarding, clock):
    instance_id = start_by_hand(org)
    hand_over_and_accept(org)
    return_equipment(org, ["EAST-UNI-0001", "EAST-CARD-0001"])
    interview(org)
    fire_timers_at(clock, REVOKE_AT + dt.timedelta(seconds=1))
    # After the revocation an administrator re-activates the HIS account and opens an EMR one.
    SystemAccount.objects.filter(employee=org.nurse, system="HIS").update(
        is_active=True, revoked_at=None
    )
    SystemAccount.objects.create(employee=org.nurse, system="EMR", username="nurse01")
    east_hr = api(org.east_hr.user)

    do(east_hr, "settle_final_accounts", SETTLED)

    assert instance_status(org, instance_id) == ProcessInstance.Status.WAITING
    org.nurse.refresh_from_db()
    assert org.nurse.is_active is True
    (task,) = tasks_at(east_hr, "revoke_remaining_accounts")
    assert task_data(east_hr, task)["active_accounts"] == [
        {"system": "EMR", "username": "nurse01", "revoked_at": None},
        {"system": "HIS", "username": "nurse01", "revoked_at": None},
    ]

    closed_at = REVOKE_AT + dt.timedelta(hours=1)
    clock.move_to(closed_at, tick=False)
    complete(east_hr, task["id"], {"remaining_accounts_note": "HIS re-enabled by mistake"})

    assert instance_status(org, instance_id) == ProcessInstance.Status.COMPLETED
    assert active_accounts(org.nurse) == []
    assert sorted(
        org.nurse.system_accounts.filter(revoked_at=closed_at).values_list("system", flat=True)
    ) == ["EMR", "HIS"]
    org.nurse.refresh_from_db()
    assert org.nurse.is_active is False


def test_the_message_offboarding_requested_starts_an_offboarding(
    org, offboarding_on_request, clock
):
    response = api(org.group_hr.user).post(
        "/api/v1/messages",
        {
            "name": "offboarding_requested",
            "correlation": {"employee_no": org.nurse.employee_no},
            "payload": {"last_working_date": LAST_WORKING_DATE, "reason": "pip_goals_not_met"},
        },
        format="json",
    )

    assert response.status_code == 200, response.content
    (instance_id,) = response.json()["started"]
    detail = api(org.east_hr.user).get(f"/api/v1/instances/{instance_id}").json()
    assert (detail["process"], detail["subject"]) == (
        "offboarding_on_request",
        org.nurse.employee_no,
    )
    org.nurse.refresh_from_db()
    assert org.nurse.last_working_date == dt.date(2026, 3, 13)
    assert list(
        Timer.objects.filter(instance_id=instance_id).values_list("element_id", "due_at")
    ) == [("last_working_day_ends", REVOKE_AT)]

    hand_over_and_accept(org)
    return_equipment(org, ["EAST-UNI-0001", "EAST-CARD-0001"])
    interview(org)
    fire_timers_at(clock, REVOKE_AT + dt.timedelta(seconds=1))
    assert active_accounts(org.nurse) == []
    do(api(org.east_hr.user), "settle_final_accounts", SETTLED)

    assert instance_status(org, instance_id) == ProcessInstance.Status.COMPLETED
    org.nurse.refresh_from_db()
    assert org.nurse.is_active is False


def test_a_failed_pip_starts_the_offboarding_through_the_same_message(org, offboarding_on_request):
    # What the PIP's "Request offboarding" service task calls when the goals are not met.
    from hr.services.performance import pip_offboarding_request

    result = pip_offboarding_request(
        employee=org.nurse, last_working_date=dt.date(2026, 3, 13), reason="pip_goals_not_met"
    )

    (instance,) = result.started
    assert (instance.definition.key, instance.subject_id) == (
        "offboarding_on_request",
        org.nurse.pk,
    )
    assert instance.status == ProcessInstance.Status.WAITING
    assert [t["element_id"] for t in open_tasks(api(org.nurse.user))] == ["hand_over_work"]
