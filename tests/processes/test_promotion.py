"""The promotion ladder process (bpmn/promotion.bpmn), driven through the REST API along
each of its paths:

- requirements met at once -> supervisor recommends -> HR committee grants (level updated);
- gaps -> one task per gap with the recommended courses -> re-check loop -> met ->
  supervisor recommends -> committee declines;
- gaps -> the employee withdraws (the other gap tasks are cancelled);
- requirements met -> supervisor does not recommend;
- top of the ladder -> nothing to apply for.

The requirements are the promotion_requirements DMN's: charge nurse needs the specialty
nursing course, 3 months rated excellent and 1 patient commendation; attending needs 5 papers,
2 internal academic talks and 1 complex case.
"""

import datetime as dt

import pytest
from django.utils import timezone

from hr.models import Achievement, Employee, LadderLevel, OrgUnit, RoleAssignment, TrainingCourse
from hr.seed import performance as performance_seed
from hr.seed import promotion as promotion_seed
from hr.services.performance import appraisal_record
from tests.factories import EmployeeFactory, OrgUnitFactory, RoleAssignmentFactory
from tests.processes.conftest import api, complete, deploy_shipped, open_tasks
from workflows.models import HumanTask, ProcessInstance

pytestmark = pytest.mark.django_db

Kind = Achievement.Kind
EXCELLENT_NURSE_SCORES = {"service_attitude": 95, "nursing_quality": 92, "discipline": 90}


@pytest.fixture(autouse=True)
def clock(time_machine):
    """Mid-2026, so the appraisal months 2026-01 to 2026-03 are in the past."""
    time_machine.move_to(dt.datetime(2026, 6, 15, 9, 0, tzinfo=dt.UTC), tick=False)
    return time_machine


@pytest.fixture
def promotion(org):
    """The shipped promotion bundle deployed, with the ladders and course catalogue seeded."""
    promotion_seed.seed()
    performance_seed.seed()
    return deploy_shipped("promotion.bpmn")


def level(code: str) -> LadderLevel:
    return LadderLevel.objects.get(code=code)


def place(employee: Employee, code: str) -> None:
    employee.ladder_level = level(code)
    employee.save(update_fields=["ladder_level"])


def finish_course(employee: Employee, code: str) -> None:
    employee.training_completions.create(
        course=TrainingCourse.objects.get(code=code), completed_at=timezone.now()
    )


def achieve(employee: Employee, kind: str, count: int) -> None:
    for _ in range(count):
        employee.achievements.create(kind=kind, achieved_date=dt.date(2026, 1, 15))


def excellent_months(employee: Employee, *periods: str) -> None:
    for period in periods:
        appraisal_record(
            employee=employee,
            period_date=dt.date.fromisoformat(f"{period}-01"),
            scores=EXCELLENT_NURSE_SCORES,
            recorded_by=None,
        )


def apply(user) -> dict:
    response = api(user).post(
        "/api/v1/instances/start",
        {"process": "promotion", "data": {"statement": "Ready for the next rung."}},
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def instance_of(started: dict) -> ProcessInstance:
    return ProcessInstance.objects.get(pk=started["id"])


def task_data(user, task_id: int) -> dict:
    response = api(user).get(f"/api/v1/tasks/{task_id}")
    assert response.status_code == 200, response.content
    return response.json()["form"]["data"]


def gap_tasks(user) -> list[dict]:
    """The open gap tasks of `user`, each with its gap (requirement, numbers, courses)."""
    tasks = [t for t in open_tasks(api(user)) if t["element_id"] == "close_requirement_gap"]
    return [{"id": t["id"], **task_data(user, t["id"])["gap"]} for t in tasks]


def gaps_summary(user) -> list[tuple[str, int, int, int, list[str]]]:
    return sorted(
        (
            g["requirement"],
            g["required"],
            g["have"],
            g["missing"],
            [c["code"] for c in g["recommended_courses"]],
        )
        for g in gap_tasks(user)
    )


def only_task(user, element_id: str) -> dict:
    (task,) = [t for t in open_tasks(api(user)) if t["element_id"] == element_id]
    return task


def final_data(instance: ProcessInstance) -> dict:
    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.COMPLETED
    return instance.events.get(kind="instance_completed").data["data"]


def test_requirements_met_supervisor_recommends_and_committee_grants(org, promotion):
    """Given a senior nurse with the specialty nursing course, 3 excellent months and
    1 patient commendation, the application goes straight to review and a grant makes her
    a charge nurse."""
    nurse = org.nurse
    place(nurse, "senior-nurse")
    finish_course(nurse, "specialty-nursing")
    excellent_months(nurse, "2026-01", "2026-02", "2026-03")
    achieve(nurse, Kind.PATIENT_COMMENDATION, 1)

    started = apply(nurse.user)

    assert started["waiting_at"] == ["Review by supervisor 主管审核"]
    assert gap_tasks(nurse.user) == []
    review = only_task(org.head_nurse.user, "review_by_supervisor")
    complete(
        api(org.head_nurse.user),
        review["id"],
        {"supervisor_recommendation": "recommend", "supervisor_comment": "Leads the ward well."},
    )
    decision = only_task(org.group_hr.user, "decide_by_hr_committee")
    complete(
        api(org.group_hr.user),
        decision["id"],
        {"committee_decision": "grant", "committee_comment": "All criteria met."},
    )

    data = final_data(instance_of(started))
    assert data["ladder"]["current_level"] == "senior-nurse"
    assert data["ladder"]["target_level"] == "charge-nurse"
    assert data["requirement_gaps"] == []
    assert data["promotion_granted_to"] == {
        "employee_no": nurse.employee_no,
        "ladder_level": "charge-nurse",
    }
    nurse.refresh_from_db()
    assert nurse.ladder_level.code == "charge-nurse"


def test_gaps_become_tasks_with_courses_rechecked_until_met_then_declined(org, promotion):
    """Given a senior nurse with nothing on record, each charge-nurse requirement she lacks
    becomes a task with the recommended courses; a re-check opens tasks for what is still
    missing only; once all is met the application is reviewed and the committee declines."""
    nurse = org.nurse
    place(nurse, "senior-nurse")

    started = apply(nurse.user)

    assert gaps_summary(nurse.user) == [
        ("excellent_appraisals", 3, 0, 3, ["quality-nursing-service", "clinical-communication"]),
        ("patient_commendations", 1, 0, 1, ["quality-nursing-service", "clinical-communication"]),
        ("specialty_course", 1, 0, 1, ["specialty-nursing"]),
    ]

    # She takes the specialty course and the recommended service course, earns a
    # commendation and two excellent months, and asks for a new check.
    finish_course(nurse, "specialty-nursing")
    finish_course(nurse, "quality-nursing-service")
    achieve(nurse, Kind.PATIENT_COMMENDATION, 1)
    excellent_months(nurse, "2026-01", "2026-02")
    for gap in gap_tasks(nurse.user):
        complete(api(nurse.user), gap["id"], {"gap_answer": "recheck", "gap_note": "done"})

    assert gaps_summary(nurse.user) == [
        ("excellent_appraisals", 3, 2, 1, ["clinical-communication"]),
    ]

    excellent_months(nurse, "2026-03")
    (gap,) = gap_tasks(nurse.user)
    complete(api(nurse.user), gap["id"], {"gap_answer": "recheck"})

    assert gap_tasks(nurse.user) == []
    review = only_task(org.head_nurse.user, "review_by_supervisor")
    complete(
        api(org.head_nurse.user),
        review["id"],
        {"supervisor_recommendation": "recommend", "supervisor_comment": "Ready."},
    )
    decision = only_task(org.group_hr.user, "decide_by_hr_committee")
    complete(
        api(org.group_hr.user),
        decision["id"],
        {"committee_decision": "decline", "committee_comment": "No charge nurse post open."},
    )

    data = final_data(instance_of(started))
    assert data["committee_decision"] == "decline"
    assert "promotion_granted_to" not in data
    nurse.refresh_from_db()
    assert nurse.ladder_level.code == "senior-nurse"


def test_withdrawing_from_one_gap_task_cancels_the_others(org, promotion):
    nurse = org.nurse
    place(nurse, "senior-nurse")
    started = apply(nurse.user)
    first, *others = gap_tasks(nurse.user)

    complete(api(nurse.user), first["id"], {"gap_answer": "withdraw", "gap_note": "Next year."})

    instance = instance_of(started)
    data = final_data(instance)
    assert data["gap_answers"] == ["withdraw"]
    assert sorted(
        instance.tasks.filter(element_id="close_requirement_gap").values_list("status", flat=True)
    ) == [HumanTask.Status.CANCELLED, HumanTask.Status.CANCELLED, HumanTask.Status.COMPLETED]
    assert open_tasks(api(nurse.user)) == []
    assert open_tasks(api(org.head_nurse.user)) == []
    nurse.refresh_from_db()
    assert nurse.ladder_level.code == "senior-nurse"


def test_supervisor_not_recommending_ends_the_application(org, promotion):
    """A nurse (护师) applying for senior nurse needs 2 excellent months and 1 commendation."""
    nurse = org.nurse
    place(nurse, "nurse")
    excellent_months(nurse, "2026-01", "2026-02")
    achieve(nurse, Kind.PATIENT_COMMENDATION, 1)
    started = apply(nurse.user)

    review = only_task(org.head_nurse.user, "review_by_supervisor")
    complete(
        api(org.head_nurse.user),
        review["id"],
        {"supervisor_recommendation": "not_recommend", "supervisor_comment": "Not yet."},
    )

    data = final_data(instance_of(started))
    assert data["requirements"] == {
        "specialty_course": "",
        "excellent_appraisals": 2,
        "patient_commendations": 1,
        "papers": 0,
        "academic_talks": 0,
        "complex_cases": 0,
    }
    assert data["supervisor_recommendation"] == "not_recommend"
    assert open_tasks(api(org.group_hr.user)) == []
    nurse.refresh_from_db()
    assert nurse.ladder_level.code == "nurse"


def test_a_charge_nurse_has_no_higher_rung_to_apply_for(org, promotion):
    nurse = org.nurse
    place(nurse, "charge-nurse")

    started = apply(nurse.user)

    data = final_data(instance_of(started))
    assert data["ladder"]["has_next_level"] is False
    assert data["ladder"]["target_level"] == ""
    assert "requirements" not in data
    assert open_tasks(api(nurse.user)) == []


@pytest.fixture
def resident(org):
    """A resident 住院医师 of East internal medicine, managed by the department head."""
    internal = OrgUnitFactory(code="east-internal", kind=OrgUnit.Kind.DEPARTMENT, parent=org.east)
    head = EmployeeFactory(
        user__username="internal_head",
        org_unit=internal,
        role_family=Employee.RoleFamily.DOCTOR,
    )
    RoleAssignmentFactory(user=head.user, role=RoleAssignment.Role.SUPERVISOR, org_unit=internal)
    doctor = EmployeeFactory(
        user__username="resident",
        org_unit=internal,
        manager=head,
        role_family=Employee.RoleFamily.DOCTOR,
    )
    place(doctor, "resident")
    return doctor


def test_attending_needs_5_papers_2_talks_and_1_complex_case(org, promotion, resident):
    """A resident with 4 papers, 2 talks and no complex case lacks 1 paper and 1 complex
    case for attending physician; once they are on record the department head reviews."""
    achieve(resident, Kind.PAPER, 4)
    achieve(resident, Kind.ACADEMIC_TALK, 2)

    started = apply(resident.user)

    assert gaps_summary(resident.user) == [
        ("complex_cases", 1, 0, 1, ["complex-case-management"]),
        ("papers", 5, 4, 1, ["academic-writing"]),
    ]
    achieve(resident, Kind.PAPER, 1)
    achieve(resident, Kind.COMPLEX_CASE, 1)
    for gap in gap_tasks(resident.user):
        complete(api(resident.user), gap["id"], {"gap_answer": "recheck"})

    review = only_task(resident.manager.user, "review_by_supervisor")
    assert instance_of(started).status == ProcessInstance.Status.WAITING
    assert task_data(resident.manager.user, review["id"])["requirements"] == {
        "specialty_course": "",
        "excellent_appraisals": 0,
        "patient_commendations": 0,
        "papers": 5,
        "academic_talks": 2,
        "complex_cases": 1,
    }


def test_only_the_employee_may_apply_for_their_own_promotion(org, promotion):
    response = api(org.head_nurse.user).post(
        "/api/v1/instances/start",
        {"process": "promotion", "subject": org.nurse.employee_no, "data": {"statement": "x"}},
        format="json",
    )

    assert response.status_code == 403


def test_the_statement_is_required(org, promotion):
    response = api(org.nurse.user).post(
        "/api/v1/instances/start", {"process": "promotion", "data": {}}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "statement", "message": "this field is required"}
    ]
