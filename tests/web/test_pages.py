"""The pages' access rules, without a browser: who may open what."""

import datetime as dt

import pytest
from django.test import Client

from hr.demo import demo_seed
from hr.models import Employee
from tests.conftest import bundle_files, shipped_bundle
from workflows import services
from workflows.models import HumanTask

pytestmark = pytest.mark.django_db


@pytest.fixture
def leave_task(db):
    """East nurse's leave request, waiting for her head nurse."""
    demo_seed()
    services.version_deploy(files=shipped_bundle("leave_request.bpmn"))
    from django.contrib.auth import get_user_model

    nurse = get_user_model().objects.get(username="east_nurse")
    instance = services.instance_start(
        process_key="leave_request",
        started_by=nurse,
        subject=nurse.employee,
        data={"leave_type": "annual", "days": 2},
    )
    return HumanTask.objects.get(instance=instance)


def client_for(username: str) -> Client:
    from django.contrib.auth import get_user_model

    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    return client


@pytest.mark.parametrize(
    "path",
    ["/", "/tasks/", "/processes/", "/instances/", "/feedback/", "/modeler/", "/dashboards/"],
)
def test_anonymous_is_sent_to_sign_in(db, path):
    response = Client().get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={path}"


def test_the_task_and_instance_pages_follow_visibility(leave_task):
    task, instance = leave_task.pk, leave_task.instance_id
    assert client_for("east_head_nurse").get(f"/tasks/{task}/").status_code == 200
    assert client_for("east_hr").get(f"/instances/{instance}/").status_code == 200
    # West clinic sees neither the task nor the instance of East clinic.
    assert client_for("west_head_nurse").get(f"/tasks/{task}/").status_code == 404
    assert client_for("west_hr").get(f"/instances/{instance}/").status_code == 404


@pytest.mark.parametrize(
    ("username", "modeler", "dashboards"),
    [("owner", 200, 403), ("hr_group", 403, 200), ("east_hr", 403, 200), ("east_nurse", 403, 403)],
)
def test_modeler_and_dashboards_by_role(leave_task, username, modeler, dashboards):
    client = client_for(username)
    assert client.get("/modeler/").status_code == modeler
    assert client.get("/modeler/leave_request/").status_code == modeler
    assert client.get("/dashboards/").status_code == dashboards


def test_start_page_offers_only_what_the_person_may_start(leave_task):
    assert client_for("east_nurse").get("/processes/leave_request/start/").status_code == 200
    services.version_deploy(files=shipped_bundle("onboarding.bpmn"))
    # Onboarding is started by clinic HR, not by the employee.
    assert client_for("east_nurse").get("/processes/onboarding/start/").status_code == 404
    page = client_for("east_hr").get("/processes/onboarding/start/")
    assert page.status_code == 200
    offered = {e.employee_no for e in page.context["subjects"]}
    # East Clinic's people, its staff without a sign-in included, but not its former staff
    # (E0205 to E0207) nor anyone of West Clinic or HQ.
    demo_users = {"E0001", "E0002", "E0003", "E0004", "E0005"}
    assert offered == demo_users | {"E0201", "E0202", "E0203", "E0204"}


def test_operator_buttons_only_for_operators(leave_task):
    path = f"/instances/{leave_task.instance_id}/"
    assert b'data-op="terminate"' in client_for("hr_group").get(path).content
    assert b'data-op="terminate"' not in client_for("auditor").get(path).content
    assert b'id="verify-button"' in client_for("auditor").get(path).content
    assert b'id="verify-button"' not in client_for("east_nurse").get(path).content


def test_due_dates_and_overdue_marks(db, time_machine):
    # Given a feedback answer with a 5-day deadline, opened on 2 March ...
    time_machine.move_to(dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC), tick=False)
    demo_seed()
    services.version_deploy(files=bundle_files("feedback_deadline"))
    nurse = Employee.objects.get(employee_no="E0003")
    services.instance_start(process_key="feedback_deadline", started_by=nurse.user, subject=nurse)
    head_nurse = client_for("east_head_nurse")
    on_time = head_nurse.get("/tasks/").content.decode()
    assert "2026-03-07 09:00" in on_time  # due 5 days later, shown in Beijing time
    assert "overdue" not in on_time
    # ... it is overdue a week later, before any sweep has fired the deadline.
    time_machine.move_to(dt.datetime(2026, 3, 9, 1, 0, tzinfo=dt.UTC), tick=False)
    head_nurse = client_for("east_head_nurse")  # a new sign-in: sessions last one shift (8 h)
    late = head_nurse.get("/tasks/")
    assert 'class="badge overdue"' in late.content.decode()
    assert head_nurse.get("/").context["overdue_count"] == 1
