"""The shipped onboarding process (入职与岗前培训), driven through the REST API along each path.

Clinic HR starts it about a new hire; the new hire gets one task per item of the pre-job
training checklist of their role family (from the DMN table); the supervisor signs off;
only then is the new hire cleared for duty. A reminder goes to the new hire after 3 days,
clinic HR gets a follow-up task after 7 days. Timers are fired by moving the clock.
"""

import datetime as dt

import pytest

from hr.models import Employee, TrainingCompletion
from hr.seed import onboarding as onboarding_seed
from hr.services import onboarding as onboarding_services
from tests.factories import EmployeeFactory
from tests.processes.conftest import api, complete, deploy_shipped, open_tasks
from workflows import services
from workflows.models import HumanTask, Incident, Notification, ProcessInstance, Timer

pytestmark = pytest.mark.django_db

# Monday 2 March 2026, 09:00 in Beijing.
START = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
REMINDER_DAYS = 3
ESCALATION_DAYS = 7
REMIND_AT = START + dt.timedelta(days=REMINDER_DAYS)
ESCALATE_AT = START + dt.timedelta(days=ESCALATION_DAYS)

NURSE_CHECKLIST = [
    "prejob-medical-law",
    "prejob-nurse-regulations",
    "prejob-hospital-rules",
    "prejob-infection-control",
    "prejob-nurse-duties",
    "prejob-group-culture",
]
OPTIONAL = "prejob-group-culture"


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(START, tick=False)
    return time_machine


@pytest.fixture
def onboarding(org, clock):
    """The pre-job course catalogue, and the shipped onboarding bundle deployed."""
    onboarding_seed.seed()
    return deploy_shipped("onboarding.bpmn")


def start_onboarding(
    org, employee: Employee | None = None, planned_duty_date: str = "2026-03-09"
) -> int:
    response = api(org.east_hr.user).post(
        "/api/v1/instances/start",
        {
            "process": "onboarding",
            "subject": (employee or org.nurse).employee_no,
            "data": {"planned_duty_date": planned_duty_date},
        },
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


def open_items(client) -> dict[str, int]:
    """{course code: task id} of the checklist items open in `client`'s inbox."""
    items = {}
    for task in tasks_at(client, "complete_training_item"):
        detail = client.get(f"/api/v1/tasks/{task['id']}")
        assert detail.status_code == 200, detail.content
        items[detail.json()["form"]["data"]["item"]["code"]] = task["id"]
    return items


def report_items(client, *, not_completed: tuple[str, ...] = ()) -> list[str]:
    """Report every open item completed (score 90), except `not_completed`."""
    items = open_items(client)
    for code, task_id in items.items():
        if code in not_completed:
            complete(client, task_id, {"is_completed": False, "training_note": "sick leave"})
        else:
            complete(client, task_id, {"is_completed": True, "score": 90})
    return sorted(items)


def sign_off(org, decision: str = "sign_off", **extra) -> None:
    supervisor = api(org.head_nurse.user)
    (task,) = tasks_at(supervisor, "sign_off_pre_job_training")
    complete(supervisor, task["id"], {"decision": decision, **extra})


def fire_timers_at(clock, when: dt.datetime) -> int:
    clock.move_to(when, tick=False)
    return services.timer_fire_due()


def completions(employee: Employee) -> list[str]:
    return sorted(
        TrainingCompletion.objects.filter(employee=employee).values_list("course__code", flat=True)
    )


def reminders_to(user) -> list[Notification]:
    return list(
        Notification.objects.filter(recipient=user, kind=Notification.Kind.MESSAGE).order_by("pk")
    )


# --- deploy and start ------------------------------------------------------------------------


def test_the_bundle_holds_the_process_its_checklist_decision_and_forms(onboarding):
    assert sorted(onboarding.bpmn_files) == ["onboarding.bpmn"]
    assert sorted(onboarding.dmn_files) == ["onboarding_pre_job_checklist.dmn"]
    assert sorted(onboarding.forms) == [
        "onboarding_overdue_follow_up.json",
        "onboarding_overdue_follow_up.uischema.json",
        "onboarding_sign_off.json",
        "onboarding_sign_off.uischema.json",
        "onboarding_start.json",
        "onboarding_start.uischema.json",
        "onboarding_training_item.json",
        "onboarding_training_item.uischema.json",
    ]
    assert onboarding.summary["start_lane"] == "Clinic HR (门店人力资源部)"


def test_only_hr_of_the_new_hires_clinic_starts_an_onboarding(org, onboarding):
    body = {
        "process": "onboarding",
        "subject": org.nurse.employee_no,
        "data": {"planned_duty_date": "2026-03-09"},
    }
    for user in (org.nurse.user, org.head_nurse.user, org.west_hr.user):
        response = api(user).post("/api/v1/instances/start", body, format="json")
        assert response.status_code == 403, (user, response.content)
    missing_date = {**body, "data": {}}
    response = api(org.east_hr.user).post("/api/v1/instances/start", missing_date, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "planned_duty_date", "message": "this field is required"}
    ]


def test_the_new_hire_gets_one_task_per_checklist_item_with_both_timers_armed(org, onboarding):
    instance_id = start_onboarding(org)

    nurse = api(org.nurse.user)
    items = open_items(nurse)
    assert sorted(items) == sorted(NURSE_CHECKLIST)
    assert api(org.head_nurse.user).get("/api/v1/tasks").json()["results"] == []
    assert list(
        Timer.objects.filter(instance_id=instance_id)
        .order_by("due_at")
        .values_list("element_id", "due_at", "status")
    ) == [
        ("remind_after_3_days", REMIND_AT, Timer.Status.WAITING),
        # Planned first day on duty 9 March: due 8 March, overdue from 9 March 00:00 Beijing.
        ("remind_when_overdue", dt.datetime(2026, 3, 8, 16, 0, tzinfo=dt.UTC), "waiting"),
        ("escalate_after_7_days", ESCALATE_AT, Timer.Status.WAITING),
        ("escalate_3_days_overdue", dt.datetime(2026, 3, 11, 16, 0, tzinfo=dt.UTC), "waiting"),
    ]
    detail = nurse.get(f"/api/v1/tasks/{items['prejob-nurse-duties']}").json()
    assert detail["form"]["data"]["item"] == {
        "code": "prejob-nurse-duties",
        "name": "Duties of the nurse position 护士岗位职责",
        "category": "position_duties",
        "is_mandatory": True,
    }
    assert detail["form"]["schema"]["title"] == "Pre-job training item 岗前培训项目"


@pytest.mark.parametrize(
    ("role_family", "checklist"),
    [
        ("nurse", NURSE_CHECKLIST),
        (
            "doctor",
            [
                "prejob-medical-law",
                "prejob-medical-core-systems",
                "prejob-medical-records",
                "prejob-hospital-rules",
                "prejob-infection-control",
                "prejob-doctor-duties",
                "prejob-group-culture",
            ],
        ),
        (
            "technician",
            [
                "prejob-medical-law",
                "prejob-radiation-safety",
                "prejob-hospital-rules",
                "prejob-infection-control",
                "prejob-technician-duties",
                "prejob-group-culture",
            ],
        ),
        (
            "admin",
            [
                "prejob-medical-law",
                "prejob-hospital-rules",
                "prejob-patient-privacy",
                "prejob-admin-duties",
                "prejob-group-culture",
            ],
        ),
        (
            "other",
            [
                "prejob-medical-law",
                "prejob-hospital-rules",
                "prejob-patient-privacy",
                "prejob-general-duties",
                "prejob-group-culture",
            ],
        ),
    ],
)
def test_the_checklist_follows_the_role_family(org, onboarding, role_family, checklist):
    new_hire = EmployeeFactory(
        user__username=f"new_{role_family}",
        org_unit=org.east_nursing,
        manager=org.head_nurse,
        role_family=role_family,
    )

    start_onboarding(org, new_hire)

    assert sorted(open_items(api(new_hire.user))) == sorted(checklist)


# --- the paths -------------------------------------------------------------------------------


def test_checklist_done_within_3_days_and_signed_off_clears_the_new_hire(org, onboarding, clock):
    instance_id = start_onboarding(org)
    nurse = api(org.nurse.user)
    clock.move_to(START + dt.timedelta(days=2), tick=False)

    assert report_items(nurse) == sorted(NURSE_CHECKLIST)

    assert completions(org.nurse) == sorted(NURSE_CHECKLIST)
    assert (
        list(TrainingCompletion.objects.filter(employee=org.nurse).values_list("score", flat=True))
        == [90] * 6
    )
    org.nurse.refresh_from_db()
    assert org.nurse.cleared_for_duty_at is None
    assert fire_timers_at(clock, ESCALATE_AT + dt.timedelta(days=1)) == 0

    signed_at = START + dt.timedelta(days=9)
    clock.move_to(signed_at, tick=False)
    sign_off(org, sign_off_comment="Ready for the ward 可以上岗")

    assert instance_status(org, instance_id) == ProcessInstance.Status.COMPLETED
    org.nurse.refresh_from_db()
    assert org.nurse.cleared_for_duty_at == signed_at
    assert reminders_to(org.nurse.user) == []
    assert not HumanTask.objects.filter(element_id="follow_up_overdue_training").exists()


def test_a_reminder_goes_to_the_new_hire_after_3_days(org, onboarding, clock):
    instance_id = start_onboarding(org)
    nurse = api(org.nurse.user)

    assert fire_timers_at(clock, REMIND_AT - dt.timedelta(minutes=1)) == 0
    assert reminders_to(org.nurse.user) == []

    assert fire_timers_at(clock, REMIND_AT + dt.timedelta(seconds=1)) == 1

    (reminder,) = reminders_to(org.nurse.user)
    assert reminder.instance_id == instance_id
    assert (
        reminder.title
        == "培训即将到期：岗前培训 Pre-job training / Training due: 岗前培训 Pre-job training"
    )
    # 3 days gone, 4 left before clinic HR is asked to follow up on day 7.
    assert "2026-03-09" in reminder.body
    assert sorted(open_items(nurse)) == sorted(NURSE_CHECKLIST)
    assert tasks_at(api(org.east_hr.user), "follow_up_overdue_training") == []

    report_items(nurse)
    sign_off(org)
    assert instance_status(org, instance_id) == ProcessInstance.Status.COMPLETED
    org.nurse.refresh_from_db()
    assert org.nurse.cleared_for_duty_at == REMIND_AT + dt.timedelta(seconds=1)
    assert len(reminders_to(org.nurse.user)) == 1


def test_clinic_hr_is_asked_to_follow_up_after_7_days(org, onboarding, clock):
    # On duty from 20 March: the checklist is not overdue during these 7 days.
    instance_id = start_onboarding(org, planned_duty_date="2026-03-20")
    nurse, east_hr = api(org.nurse.user), api(org.east_hr.user)
    fire_timers_at(clock, REMIND_AT + dt.timedelta(seconds=1))

    assert fire_timers_at(clock, ESCALATE_AT - dt.timedelta(minutes=1)) == 0
    assert tasks_at(east_hr, "follow_up_overdue_training") == []

    assert fire_timers_at(clock, ESCALATE_AT + dt.timedelta(seconds=1)) == 1

    (follow_up,) = tasks_at(east_hr, "follow_up_overdue_training")
    assert (follow_up["candidate_role"], follow_up["candidate_org_unit"]) == ("clinic_hr", "east")
    assert tasks_at(api(org.west_hr.user), "follow_up_overdue_training") == []
    # The escalation does not take the checklist away from the new hire.
    assert sorted(open_items(nurse)) == sorted(NURSE_CHECKLIST)
    assert len(reminders_to(org.nurse.user)) == 1

    report_items(nurse)
    sign_off(org)

    # Cleared for duty; the instance stays open until clinic HR has noted its follow-up.
    org.nurse.refresh_from_db()
    assert org.nurse.cleared_for_duty_at == ESCALATE_AT + dt.timedelta(seconds=1)
    assert instance_status(org, instance_id) == ProcessInstance.Status.WAITING
    complete(
        east_hr,
        follow_up["id"],
        {
            "follow_up_note": "Night shifts clashed with the course",
            "agreed_completion_date": "2026-03-11",
        },
    )
    assert instance_status(org, instance_id) == ProcessInstance.Status.COMPLETED


def test_a_mandatory_item_not_completed_comes_back_and_blocks_duty(org, onboarding, clock):
    instance_id = start_onboarding(org)
    nurse = api(org.nurse.user)

    report_items(nurse, not_completed=("prejob-nurse-duties", OPTIONAL))

    # Only the mandatory item comes back, in a new round with fresh timers; no sign-off yet.
    assert sorted(open_items(nurse)) == ["prejob-nurse-duties"]
    assert tasks_at(api(org.head_nurse.user), "sign_off_pre_job_training") == []
    org.nurse.refresh_from_db()
    assert org.nurse.cleared_for_duty_at is None
    assert completions(org.nurse) == sorted(
        set(NURSE_CHECKLIST) - {"prejob-nurse-duties", OPTIONAL}
    )

    clock.move_to(START + dt.timedelta(days=1), tick=False)
    report_items(nurse)
    sign_off(org)

    assert instance_status(org, instance_id) == ProcessInstance.Status.COMPLETED
    org.nurse.refresh_from_db()
    assert org.nurse.cleared_for_duty_at == START + dt.timedelta(days=1)
    # The optional item was never completed, and it does not stand in the way.
    assert OPTIONAL not in completions(org.nurse)


def test_a_new_round_rearms_the_3_and_7_day_timers(org, onboarding, clock):
    instance_id = start_onboarding(org)
    nurse = api(org.nurse.user)
    round_two = START + dt.timedelta(days=2)
    clock.move_to(round_two, tick=False)

    report_items(nurse, not_completed=("prejob-nurse-duties",))

    assert list(
        Timer.objects.filter(instance_id=instance_id, status=Timer.Status.WAITING)
        .order_by("due_at")
        .values_list("element_id", "due_at")
    ) == [
        ("remind_after_3_days", round_two + dt.timedelta(days=REMINDER_DAYS)),
        # The overdue timers keep their dates (planned first day on duty 9 March).
        ("remind_when_overdue", dt.datetime(2026, 3, 8, 16, 0, tzinfo=dt.UTC)),
        ("escalate_after_7_days", round_two + dt.timedelta(days=ESCALATION_DAYS)),
        ("escalate_3_days_overdue", dt.datetime(2026, 3, 11, 16, 0, tzinfo=dt.UTC)),
    ]


def test_the_supervisor_can_return_the_new_hire_for_retraining(org, onboarding, clock):
    instance_id = start_onboarding(org)
    nurse, supervisor = api(org.nurse.user), api(org.head_nurse.user)
    report_items(nurse)
    (task,) = tasks_at(supervisor, "sign_off_pre_job_training")

    no_reason = supervisor.post(
        f"/api/v1/tasks/{task['id']}/complete",
        {"data": {"decision": "return_for_retraining"}},
        format="json",
    )
    assert no_reason.status_code == 400
    assert no_reason.json()["errors"] == [
        {"field": "sign_off_comment", "message": "this field is required"}
    ]

    sign_off(org, "return_for_retraining", sign_off_comment="Hand hygiene not yet reliable")

    assert sorted(open_items(nurse)) == sorted(NURSE_CHECKLIST)
    org.nurse.refresh_from_db()
    assert org.nurse.cleared_for_duty_at is None

    report_items(nurse)
    sign_off(org)

    assert instance_status(org, instance_id) == ProcessInstance.Status.COMPLETED
    org.nurse.refresh_from_db()
    assert org.nurse.cleared_for_duty_at == START
    assert len(completions(org.nurse)) == 2 * len(NURSE_CHECKLIST)


def test_an_employee_cannot_be_cleared_with_a_mandatory_item_missing(org, onboarding, clock):
    instance_id = start_onboarding(org)
    report_items(api(org.nurse.user))
    # The infection-control completion is withdrawn (e.g. recorded for the wrong person)
    # after the check and before the supervisor signs off.
    TrainingCompletion.objects.filter(
        employee=org.nurse, course__code="prejob-infection-control"
    ).delete()

    sign_off(org)

    assert instance_status(org, instance_id) == ProcessInstance.Status.ERROR
    incident = Incident.objects.get(instance_id=instance_id, status=Incident.Status.OPEN)
    assert incident.element_id == "clear_for_duty"
    assert "mandatory pre-job training not completed: prejob-infection-control" in incident.message
    org.nurse.refresh_from_db()
    assert org.nurse.cleared_for_duty_at is None

    # Once the course is on record again, an operator retries and the new hire is cleared.
    onboarding_services.training_completion_record(
        employee=org.nurse, course_code="prejob-infection-control"
    )
    response = api(org.group_hr.user).post(f"/api/v1/incidents/{incident.pk}/retry")
    assert response.status_code == 200, response.content
    assert instance_status(org, instance_id) == ProcessInstance.Status.COMPLETED
    org.nurse.refresh_from_db()
    assert org.nurse.cleared_for_duty_at == START
