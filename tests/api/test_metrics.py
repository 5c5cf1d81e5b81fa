"""HR metrics API against a small world whose numbers are worked out by hand.

The period is the first quarter of 2026 (2026-01-01 .. 2026-03-31, Asia/Shanghai). The `org`
fixture brings six people without hire or leaving dates (employed throughout):
east: head_nurse, nurse, east_hr; west: west_hr, west_nurse; group HQ: group_hr — all nurses
by role family. The world adds the people, courses, tickets and processes below.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hr.models import Employee, FeedbackTicket, TrainingCompletion, TrainingCourse
from tests.api.conftest import client_for
from tests.conftest import bundle_files, shipped_bundle
from tests.factories import EmployeeFactory
from workflows import services

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
Q1 = "from=2026-01-01&to=2026-03-31"
Status = FeedbackTicket.Status


def at(year, month, day, hour=9, minute=0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def person(org_unit, family="nurse", hired=None, left=None, is_active=True) -> Employee:
    return EmployeeFactory(
        org_unit=org_unit,
        role_family=family,
        hire_date=hired,
        last_working_date=left,
        is_active=is_active,
    )


def ticket(code, clinic, created_at, submitter=None, closed_at=None, status=Status.RECEIVED):
    row = FeedbackTicket.objects.create(
        receipt_code=code,
        is_anonymous=submitter is None,
        submitter=submitter,
        clinic=clinic,
        text="...",
        status=status,
        closed_at=closed_at,
    )
    # created_at is auto_now_add: set the moment the ticket came in afterwards.
    FeedbackTicket.objects.filter(pk=row.pk).update(created_at=created_at)
    return row


def completion(employee, course, completed_at):
    TrainingCompletion.objects.create(employee=employee, course=course, completed_at=completed_at)


@pytest.fixture
def world(org):
    d = dt.date
    people = {
        # east (in east-nursing)
        "leaves_in_february": person(org.east_nursing, hired=d(2025, 6, 1), left=d(2026, 2, 15)),
        "hired_in_february": person(org.east_nursing, "doctor", hired=d(2026, 2, 1)),
        "left_before": person(org.east_nursing, hired=d(2025, 1, 1), left=d(2025, 12, 31)),
        "leaves_on_last_day": person(
            org.east_nursing, "doctor", hired=d(2024, 1, 1), left=d(2026, 3, 31)
        ),
        # west
        "leaves_on_first_day": person(
            org.west_nursing, "doctor", hired=d(2025, 1, 1), left=d(2026, 1, 1)
        ),
        "inactive_without_dates": person(org.west_nursing, is_active=False),
    }
    course = TrainingCourse.objects.create(
        code="hand-hygiene", name="Hand hygiene", category="specialty"
    )
    completion(org.nurse, course, at(2026, 2, 10))
    completion(org.nurse, course, at(2026, 2, 11))  # the same person again: one participant
    completion(people["leaves_in_february"], course, at(2025, 12, 20))  # before the period
    completion(people["hired_in_february"], course, at(2026, 3, 31, 23, 30))  # last evening
    completion(org.west_nurse, course, at(2026, 4, 1, 0, 0))  # first instant after
    completion(people["leaves_on_first_day"], course, at(2026, 1, 1, 10))
    completion(people["left_before"], course, at(2026, 1, 5))  # not employed in the period

    ticket("T1", org.east, at(2026, 1, 10), org.nurse, at(2026, 1, 12), Status.RESOLVED)  # 48 h
    ticket("T2", org.east, at(2026, 2, 1), org.nurse, at(2026, 2, 2), Status.NOT_RESOLVED)  # 24 h
    ticket("T3", org.east, at(2026, 3, 1))  # anonymous, still open
    ticket(  # submitted before the period, closed in it after 13 days = 312 h
        "T4",
        org.east,
        at(2025, 12, 20),
        people["leaves_in_february"],
        at(2026, 1, 2),
        Status.RESOLVED,
    )
    ticket(  # anonymous, 12 h
        "T5", org.west, at(2026, 1, 5, 8), None, at(2026, 1, 5, 20), Status.NOT_RESOLVED
    )
    ticket("T6", org.west, at(2026, 3, 31, 23), org.west_nurse)  # last hour, open
    ticket("T7", None, at(2026, 4, 1, 10), org.group_hr)  # group HQ, after the period
    return people


def get(user, path):
    response = client_for(user).get(path)
    assert response.status_code == 200, response.content
    return response.json()


def by_key(report) -> dict:
    return {row["key"]: row for row in report["rows"]}


def test_turnover_by_clinic(world, org):
    report = get(org.group_hr.user, f"/api/v1/metrics/turnover/?{Q1}&group_by=clinic")

    assert report["from"] == "2026-01-01"
    assert report["to"] == "2026-03-31"
    assert report["group_by"] == "clinic"
    rows = by_key(report)
    assert list(rows) == ["east", "west", "hq"]
    # east: start = 3 + leaves_in_february + leaves_on_last_day = 5;
    #       end = 3 + hired_in_february + leaves_on_last_day = 5 (still there on the last day);
    #       leavers 2; average (5 + 5) / 2 = 5; 2 / 5 = 0.4
    assert rows["east"] == {
        "key": "east",
        "label": org.east.name,
        "headcount_start": 5,
        "headcount_end": 5,
        "average_headcount": 5.0,
        "leavers": 2,
        "turnover_rate": 0.4,
    }
    # west: start = 2 + leaves_on_first_day = 3; end = 2; leavers 1; average 2.5; 1 / 2.5 = 0.4
    # (the inactive record without dates is not counted anywhere)
    assert rows["west"]["headcount_start"] == 3
    assert rows["west"]["headcount_end"] == 2
    assert rows["west"]["average_headcount"] == 2.5
    assert rows["west"]["leavers"] == 1
    assert rows["west"]["turnover_rate"] == 0.4
    # hq: group_hr only: 1, 1, no leavers: 0 / 1 = 0.0
    assert rows["hq"]["turnover_rate"] == 0.0
    # total: start 5 + 3 + 1 = 9; end 5 + 2 + 1 = 8; leavers 3; average 8.5; 3 / 8.5 = 0.35294
    assert report["total"] == {
        "key": "all",
        "label": "合计 / Total",
        "headcount_start": 9,
        "headcount_end": 8,
        "average_headcount": 8.5,
        "leavers": 3,
        "turnover_rate": 0.3529,
    }


def test_turnover_by_role_family(world, org):
    report = get(org.group_hr.user, f"/api/v1/metrics/turnover/?{Q1}&group_by=role_family")

    rows = by_key(report)
    assert list(rows) == ["doctor", "nurse", "technician", "admin", "other"]
    # nurses: the 6 of the org + leaves_in_february at the start (7), the 6 at the end;
    #         1 leaver; average 6.5; 1 / 6.5 = 0.15385
    assert [rows["nurse"][f] for f in ("headcount_start", "headcount_end", "leavers")] == [7, 6, 1]
    assert rows["nurse"]["turnover_rate"] == 0.1538
    # doctors: start leaves_on_last_day + leaves_on_first_day = 2; end leaves_on_last_day +
    #          hired_in_february = 2; both leavers left: 2 / 2 = 1.0
    assert rows["doctor"]["turnover_rate"] == 1.0
    assert rows["doctor"]["leavers"] == 2
    # nobody else: no average headcount, no rate
    assert rows["technician"]["average_headcount"] == 0.0
    assert rows["technician"]["turnover_rate"] is None
    assert report["total"]["turnover_rate"] == 0.3529


def test_training_participation(world, org):
    report = get(org.group_hr.user, f"/api/v1/metrics/training/?{Q1}")

    rows = by_key(report)
    # east employed in the period: the 3 + leaves_in_february, hired_in_february,
    # leaves_on_last_day = 6; participants: nurse (twice, counted once) + hired_in_february = 2
    assert rows["east"] == {
        "key": "east",
        "label": org.east.name,
        "employees": 6,
        "participants": 2,
        "participation_rate": 0.3333,
    }
    # west: 2 + leaves_on_first_day = 3; participant: leaves_on_first_day (west_nurse's
    # completion is one instant after the period): 1 / 3
    assert (rows["west"]["employees"], rows["west"]["participants"]) == (3, 1)
    assert rows["west"]["participation_rate"] == 0.3333
    assert (rows["hq"]["employees"], rows["hq"]["participants"]) == (1, 0)
    # total 3 of 6 + 3 + 1 = 10
    assert report["total"]["employees"] == 10
    assert report["total"]["participants"] == 3
    assert report["total"]["participation_rate"] == 0.3


def test_training_by_role_family(world, org):
    report = get(org.group_hr.user, f"/api/v1/metrics/training/?{Q1}&group_by=role_family")

    rows = by_key(report)
    # doctors: hired_in_february, leaves_on_last_day, leaves_on_first_day = 3;
    #          participants: hired_in_february, leaves_on_first_day = 2; 2 / 3
    assert (rows["doctor"]["employees"], rows["doctor"]["participants"]) == (3, 2)
    assert rows["doctor"]["participation_rate"] == 0.6667
    # nurses: the 6 + leaves_in_february = 7; participant: nurse = 1; 1 / 7 = 0.142857
    assert (rows["nurse"]["employees"], rows["nurse"]["participants"]) == (7, 1)
    assert rows["nurse"]["participation_rate"] == 0.1429


def test_feedback(world, org, personas):
    report = get(personas.auditor, f"/api/v1/metrics/feedback/?{Q1}")

    rows = by_key(report)
    # east: 6 employees; named submitter in the period: nurse (T1, T2) = 1 -> 1 / 6;
    #       submitted T1, T2, T3 (anonymous) = 3; closed T1 (48 h), T2 (24 h), T4 (312 h) = 3,
    #       average (48 + 24 + 312) / 3 = 128 h; unresolved T2: 1 / 3
    assert rows["east"] == {
        "key": "east",
        "label": org.east.name,
        "employees": 6,
        "submitters": 1,
        "participation_rate": 0.1667,
        "submitted": 3,
        "closed": 3,
        "average_closure_hours": 128.0,
        "closed_unresolved": 1,
        "unresolved_share": 0.3333,
    }
    # west: 3 employees; submitter west_nurse (T6) -> 1 / 3; submitted T5, T6; closed T5 12 h,
    #       unresolved: 1 / 1
    assert rows["west"]["submitters"] == 1
    assert rows["west"]["participation_rate"] == 0.3333
    assert (rows["west"]["submitted"], rows["west"]["closed"]) == (2, 1)
    assert rows["west"]["average_closure_hours"] == 12.0
    assert rows["west"]["unresolved_share"] == 1.0
    # hq: T7 came after the period
    assert rows["hq"]["submitted"] == 0
    assert rows["hq"]["average_closure_hours"] is None
    assert rows["hq"]["unresolved_share"] is None
    # total: 10 employees, submitters nurse + west_nurse = 2 -> 0.2; submitted 5; closed 4,
    #        average (48 + 24 + 312 + 12) / 4 = 99 h; unresolved 2 / 4
    assert report["total"] == {
        "key": "all",
        "label": "合计 / Total",
        "employees": 10,
        "submitters": 2,
        "participation_rate": 0.2,
        "submitted": 5,
        "closed": 4,
        "average_closure_hours": 99.0,
        "closed_unresolved": 2,
        "unresolved_share": 0.5,
    }


def test_clinic_hr_sees_only_their_clinic(world, org):
    report = get(org.east_hr.user, f"/api/v1/metrics/feedback/?{Q1}")

    assert [row["key"] for row in report["rows"]] == ["east"]
    assert report["total"]["submitted"] == 3
    assert report["total"]["average_closure_hours"] == 128.0
    turnover = get(org.east_hr.user, f"/api/v1/metrics/turnover/?{Q1}")
    assert [row["key"] for row in turnover["rows"]] == ["east"]
    assert turnover["total"]["leavers"] == 2


def run_simple_task(time_machine, employee, started_at, hours) -> None:
    """One simple_task instance about `employee`, its task done `hours` after the start."""
    time_machine.move_to(started_at, tick=False)
    instance = services.instance_start(
        process_key="simple_task", started_by=employee.user, subject=employee
    )
    if hours is None:
        return
    time_machine.move_to(started_at + dt.timedelta(hours=hours), tick=False)
    services.task_complete(
        human_task_id=instance.tasks.get().pk, user=employee.user, data={"note": "done"}
    )


@pytest.fixture
def processes(org, time_machine):
    services.version_deploy(files=bundle_files("simple_task"))
    run_simple_task(time_machine, org.nurse, at(2025, 12, 31, 9), 1)  # ends before the period
    run_simple_task(time_machine, org.nurse, at(2026, 1, 5), 1)
    run_simple_task(time_machine, org.nurse, at(2026, 1, 6), 2)
    run_simple_task(time_machine, org.nurse, at(2026, 1, 7), 10)
    run_simple_task(time_machine, org.west_nurse, at(2026, 2, 1), 4)
    run_simple_task(time_machine, org.nurse, at(2026, 3, 30), None)  # still open
    run_simple_task(time_machine, org.west_nurse, at(2026, 3, 30, 10), None)  # still open
    run_simple_task(time_machine, org.nurse, at(2026, 3, 30, 11), None)  # still open


def test_cycle_time(processes, org):
    report = get(org.group_hr.user, f"/api/v1/metrics/cycle-time/?{Q1}")

    (row,) = report["rows"]
    # completed in the period: 1 h, 2 h, 10 h (east), 4 h (west) = 3600, 7200, 36000, 14400 s;
    # average 61200 / 4 = 15300; p90 (nearest rank): ceil(0.9 * 4) = 4th of the sorted = 36000
    assert row["key"] == "simple_task"
    assert row["label"] == "Simple task 简单任务"
    assert (row["completed"], row["average_seconds"], row["p90_seconds"]) == (4, 15300.0, 36000.0)
    # the only user task was open from the start to the end of each instance
    assert row["steps"] == [
        {
            "element_id": "do_the_work",
            "label": "Do the work 完成工作",
            "completed": 4,
            "average_seconds": 15300.0,
            "p90_seconds": 36000.0,
        }
    ]


def test_cycle_time_of_clinic_hr(processes, org):
    report = get(org.east_hr.user, f"/api/v1/metrics/cycle-time/?{Q1}")

    (row,) = report["rows"]
    # east only: 3600, 7200, 36000 -> average 46800 / 3 = 15600; p90: ceil(2.7) = 3rd = 36000
    assert (row["completed"], row["average_seconds"], row["p90_seconds"]) == (3, 15600.0, 36000.0)


def test_open_tasks(processes, org, time_machine):
    # A leave request's approval is due 3 days after it is asked for (its deadline timer).
    services.version_deploy(files=shipped_bundle("leave_request.bpmn"))
    time_machine.move_to(at(2026, 3, 27), tick=False)
    services.instance_start(
        process_key="leave_request",
        started_by=org.nurse.user,
        subject=org.nurse,
        data={"leave_type": "annual", "days": 2},
    )
    time_machine.move_to(at(2026, 4, 1), tick=False)  # past 30 March 09:00, timers not fired

    report = get(org.group_hr.user, "/api/v1/metrics/open-tasks/")

    def row(process, label, unit, open_, overdue):
        return {
            "process_key": process,
            "process_label": label,
            "org_unit": unit.code,
            "org_unit_label": unit.name,
            "open": open_,
            "overdue": overdue,
        }

    # east: the leave approval (overdue) and two simple tasks without a due time; west: one
    assert report["rows"] == [
        row("leave_request", "Leave request 请假申请", org.east, 1, 1),
        row("simple_task", "Simple task 简单任务", org.east, 2, 0),
        row("simple_task", "Simple task 简单任务", org.west, 1, 0),
    ]
    west = get(org.west_hr.user, "/api/v1/metrics/open-tasks/")
    assert [(r["process_key"], r["org_unit"], r["open"]) for r in west["rows"]] == [
        ("simple_task", "west", 1)
    ]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("to=2026-03-31", "from"),
        ("from=2026-13-01&to=2026-03-31", "from"),
        ("from=2026-01-01&to=31.03.2026", "to"),
        ("from=2026-04-01&to=2026-03-31", "from"),
        (f"{Q1}&group_by=department", "group_by"),
        (f"{Q1}&colour=red", "colour"),
    ],
)
def test_bad_input_names_the_field(org, query, field):
    response = client_for(org.group_hr.user).get(f"/api/v1/metrics/turnover/?{query}")

    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == [field]


@pytest.mark.parametrize("path", ["turnover", "training", "feedback", "cycle-time", "open-tasks"])
@pytest.mark.parametrize("persona", ["employee", "supervisor", "process_owner"])
def test_other_roles_may_not_read_metrics(personas, path, persona):
    response = client_for(getattr(personas, persona)).get(f"/api/v1/metrics/{path}/?{Q1}")

    assert response.status_code == 403


@pytest.mark.parametrize("path", ["turnover", "training", "feedback", "cycle-time"])
def test_queries_do_not_grow_with_the_number_of_people(world, processes, org, path):
    url = f"/api/v1/metrics/{path}/?{Q1}"
    client = client_for(org.group_hr.user)
    with CaptureQueriesContext(connection) as before:
        client.get(url)
    for _ in range(20):
        person(org.east_nursing, hired=dt.date(2025, 1, 1), left=dt.date(2026, 2, 1))
    services.instance_start(process_key="simple_task", started_by=org.nurse.user, subject=org.nurse)

    with CaptureQueriesContext(connection) as after:
        response = client.get(url)

    assert response.status_code == 200
    assert len(after.captured_queries) == len(before.captured_queries)
