"""Which remedial course 强制培训 a total under 60 assigns, driven through the REST API.

bpmn/performance_remedial_course.dmn (first hit), fed by the employee's role family and the
weakest indicator of the month's appraisal (lowest score; on a tie the heavier indicator,
then the first by code):
- administration 行政, any indicator -> work discipline 工作纪律专项培训;
- weakest nursing quality -> nursing quality; service attitude -> service attitude;
  discipline -> work discipline;
- anything else (no appraisal of the month: started by hand) -> general performance course.
"""

import datetime as dt

import pytest

from hr.models import Employee, RoleAssignment, TrainingCourse
from hr.seed import performance as performance_seed
from tests.factories import EmployeeFactory, RoleAssignmentFactory, UserFactory
from tests.processes.conftest import api, deploy_shipped, open_tasks

pytestmark = pytest.mark.django_db

Role = RoleAssignment.Role
NOW = dt.datetime(2026, 11, 10, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


@pytest.fixture
def appraisal_system(org):
    user = UserFactory(username="appraisal_system")
    RoleAssignmentFactory(user=user, role=Role.INTEGRATION, org_unit=org.group)
    return user


@pytest.fixture
def remedial(org):
    performance_seed.seed()
    return deploy_shipped("performance_remedial_training.bpmn")


@pytest.fixture
def clerk(org):
    """An administrative employee (discipline 20 %, teamwork 30 %, efficiency 50 %)."""
    return EmployeeFactory(
        user__username="clerk",
        org_unit=org.east,
        manager=org.east_hr,
        role_family=Employee.RoleFamily.ADMIN,
    )


def assigned_course(appraisal_system, employee: Employee, scores: dict) -> dict:
    response = api(appraisal_system).post(
        "/api/v1/appraisals",
        {"employee_no": employee.employee_no, "period": "2026-10", "scores": scores},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["rating"] == "fail"
    return course_of_task(employee)


def course_of_task(employee: Employee) -> dict:
    client = api(employee.user)
    (task,) = [t for t in open_tasks(client) if t["element_id"] == "complete_remedial_training"]
    detail = client.get(f"/api/v1/tasks/{task['id']}")
    assert detail.status_code == 200, detail.content
    return detail.json()["form"]["data"]["remedial_course"]


def test_bundle_holds_the_course_decision(remedial):
    assert sorted(remedial.dmn_files) == ["performance_remedial_course.dmn"]


def test_admin_weakest_at_efficiency_40_takes_work_discipline(remedial, appraisal_system, clerk):
    # 70 x 20 % + 60 x 30 % + 40 x 50 % = 52
    course = assigned_course(
        appraisal_system, clerk, {"discipline": 70, "teamwork": 60, "efficiency": 40}
    )

    assert course == {
        "code": "remedial-work-discipline",
        "name": "Work discipline special training 工作纪律专项培训",
    }


def test_admin_weakest_at_teamwork_30_takes_work_discipline(remedial, appraisal_system, clerk):
    # 90 x 20 % + 30 x 30 % + 50 x 50 % = 52
    course = assigned_course(
        appraisal_system, clerk, {"discipline": 90, "teamwork": 30, "efficiency": 50}
    )

    assert course["code"] == "remedial-work-discipline"


def test_nurse_weakest_at_nursing_quality_40_takes_nursing_quality(org, remedial, appraisal_system):
    # 60 x 30 % + 40 x 40 % + 60 x 30 % = 52
    course = assigned_course(
        appraisal_system,
        org.nurse,
        {"service_attitude": 60, "nursing_quality": 40, "discipline": 60},
    )

    assert course == {
        "code": "remedial-nursing-quality",
        "name": "Nursing quality remedial training 护理质量强制培训",
    }


def test_nurse_weakest_at_service_attitude_50_takes_service_attitude(
    org, remedial, appraisal_system
):
    # 50 x 30 % + 60 x 40 % + 55 x 30 % = 55.5
    course = assigned_course(
        appraisal_system,
        org.nurse,
        {"service_attitude": 50, "nursing_quality": 60, "discipline": 55},
    )

    assert course == {
        "code": "remedial-service-attitude",
        "name": "Service attitude remedial training 服务态度强制培训",
    }


def test_nurse_weakest_at_discipline_40_takes_work_discipline(org, remedial, appraisal_system):
    # 60 x 30 % + 60 x 40 % + 40 x 30 % = 54
    course = assigned_course(
        appraisal_system,
        org.nurse,
        {"service_attitude": 60, "nursing_quality": 60, "discipline": 40},
    )

    assert course["code"] == "remedial-work-discipline"


def test_nurse_all_at_50_tie_goes_to_the_heavier_nursing_quality_40_percent(
    org, remedial, appraisal_system
):
    course = assigned_course(
        appraisal_system,
        org.nurse,
        {"service_attitude": 50, "nursing_quality": 50, "discipline": 50},
    )

    assert course["code"] == "remedial-nursing-quality"


def test_nurse_attitude_and_discipline_tied_at_40_both_30_percent_go_by_code_to_discipline(
    org, remedial, appraisal_system
):
    # 40 x 30 % + 70 x 40 % + 40 x 30 % = 52
    course = assigned_course(
        appraisal_system,
        org.nurse,
        {"service_attitude": 40, "nursing_quality": 70, "discipline": 40},
    )

    assert course["code"] == "remedial-work-discipline"


def test_started_by_hand_without_an_appraisal_takes_the_general_course(org, remedial):
    response = api(org.head_nurse.user).post(
        "/api/v1/instances/start",
        {
            "process": "performance_remedial_training",
            "subject": org.nurse.employee_no,
            "data": {"referral_note": "Repeated documentation gaps"},
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    assert course_of_task(org.nurse) == {
        "code": "remedial-performance",
        "name": "Performance improvement training 绩效改进强制培训",
    }


def test_the_remedial_courses_are_seeded_once(remedial):
    performance_seed.seed()

    assert sorted(
        TrainingCourse.objects.filter(category=TrainingCourse.Category.REMEDIAL).values_list(
            "code", "role_family"
        )
    ) == [
        ("remedial-nursing-quality", "nurse"),
        ("remedial-performance", ""),
        ("remedial-service-attitude", "nurse"),
        ("remedial-work-discipline", ""),
    ]
