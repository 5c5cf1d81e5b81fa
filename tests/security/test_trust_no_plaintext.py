"""No value of an encrypted field enters process data unsealed (issue 16 item 13).

The leak: `FamilyMember.name` is encrypted in its table, but the birthday greeting copied the
child's name in clear into the instance state and the hash-chained history, which
supervisors, auditors and delegates read. Now the name is sealed there; the manager who
works the greeting task sees it on that task (logged), the employee gets it in the greeting.

Every shipped process's scenarios (tests/processes, tests/workflows/test_leave_request.py)
run under tests/plaintext_guard.py, which fills every encrypted field with distinctive
values and fails when one of them appears in any instance state or history event; the last
tests here check that the guard covers every shipped process and that it finds a leak.
"""

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from hr.models import FamilyMember, SensitiveAccess
from hr.services import family
from tests.api.conftest import client_for
from tests.conftest import bundle_files, shipped_bundle
from tests.plaintext_guard import plaintext_leaks
from workflows import services
from workflows.bundles import collect_bundles
from workflows.models import Notification, ProcessInstance, WorkflowEvent

pytestmark = pytest.mark.django_db

CHILD_NAME = "林小星 Lin Xiaoxing"
START = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)  # Monday 09:00 in Beijing
TODAY = dt.date(2026, 3, 2)


@pytest.fixture
def greeting_task(org, personas, time_machine, no_plaintext_in_process_data):
    """The head nurse's birthday greeting task for the nurse's child, started by the scan."""
    time_machine.move_to(START, tick=False)
    services.version_deploy(files=shipped_bundle("family_birthday_greeting.bpmn"))
    FamilyMember.objects.create(
        employee=org.nurse,
        relation=FamilyMember.Relation.CHILD,
        name=CHILD_NAME,
        birth_date=dt.date(2018, 3, 5),
        has_consented_to_reminders=True,
    )
    (reminder,) = family.family_birthday_reminders_send(today=TODAY)
    instance = ProcessInstance.objects.get(pk=reminder.process_instance_id)
    (task,) = instance.tasks.all()
    return task


def process_data_text(instance: ProcessInstance) -> str:
    instance.refresh_from_db()
    events = list(WorkflowEvent.objects.filter(instance=instance).values_list("data", flat=True))
    return json.dumps([instance.state, events], ensure_ascii=False)


def test_the_childs_name_is_sealed_in_state_and_history(org, personas, greeting_task):
    # Given the greeting process the scan started
    instance = greeting_task.instance

    # When the head nurse sends her greeting
    response = client_for(personas.supervisor).post(
        f"/api/v1/tasks/{greeting_task.pk}/complete",
        {"data": {"greeting": "生日快乐！", "channel": "card"}},
        format="json",
    )

    # Then the process is done, and neither its state nor its history holds the name in clear
    assert response.status_code == 200, response.content
    assert CHILD_NAME not in process_data_text(instance)
    assert plaintext_leaks() == []
    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.COMPLETED
    # and the employee, who may read it, gets the greeting with the name
    (wishes,) = Notification.objects.filter(recipient=org.nurse.user, kind="message")
    assert wishes.body == f"生日快乐！\n({CHILD_NAME}, 2026-03-05)"


def test_the_manager_working_the_task_sees_the_childs_name(personas, greeting_task):
    response = client_for(personas.supervisor).get(f"/api/v1/tasks/{greeting_task.pk}")

    assert response.status_code == 200, response.content
    assert response.json()["form"]["data"]["child_name"] == CHILD_NAME
    (access,) = SensitiveAccess.objects.filter(user=personas.supervisor)
    assert access.fields == ["family_birthday_greeting.child_name"]


def test_the_greeting_task_page_shows_the_childs_name_to_the_manager(personas, greeting_task):
    browser = Client()
    browser.force_login(personas.supervisor)

    page = browser.get(f"/tasks/{greeting_task.pk}/")

    assert page.status_code == 200
    embedded = re.search(
        r'<script id="task-form-data" type="application/json">(.*?)</script>',
        page.content.decode(),
    )
    assert json.loads(embedded.group(1))["data"]["child_name"] == CHILD_NAME


def test_readers_of_the_history_see_a_mask(personas, greeting_task):
    # Given the greeting's history, read by the auditor and by the (not working) group HR...
    url = f"/api/v1/instances/{greeting_task.instance_id}/history"

    # When the auditor reads it
    response = client_for(personas.auditor).get(url)

    # Then the child's name is masked in the start event
    assert response.status_code == 200, response.content
    (started,) = [e for e in response.json() if e["kind"] == "instance_started"]
    assert started["data"]["data"]["child_name"] == "***"
    assert CHILD_NAME not in response.content.decode()


def test_the_auditor_sees_a_mask_on_the_task(personas, greeting_task):
    # The auditor may look at the task, but neither works it nor may see private data
    response = client_for(personas.auditor).get(f"/api/v1/tasks/{greeting_task.pk}")

    assert response.status_code == 200, response.content
    assert response.json()["form"]["data"]["child_name"] == "***"
    assert SensitiveAccess.objects.filter(user=personas.auditor).count() == 0


# --- the guard the scenario tests run under ----------------------------------------------------


def test_every_shipped_process_is_walked_under_the_guard():
    tests = Path(__file__).resolve().parent.parent
    guarded = [
        *sorted((tests / "processes").glob("test_*.py")),
        tests / "workflows/test_leave_request.py",
    ]
    scenario_text = "\n".join(p.read_text() for p in guarded)
    bundles = collect_bundles(settings.CAREFLOW["BPMN_DIR"], settings.CAREFLOW["FORMS_DIR"])

    # A bundle its scenarios deploy by its main file walks every diagram in it.
    walked = {
        name
        for bundle in bundles
        if f'"{bundle.main_file}"' in scenario_text
        for name in bundle.files
        if name.endswith(".bpmn")
    }
    shipped = sorted(p.name for p in Path(settings.CAREFLOW["BPMN_DIR"]).glob("*.bpmn"))

    assert [name for name in shipped if name not in walked] == []


def test_the_guard_finds_plaintext_copied_into_process_data(org):
    # Given the nurse's phone number, copied by a diagram's caller into start data
    org.nurse.phone = "PLAIN-PHONE-LEAK-0001"
    org.nurse.save(update_fields=["phone"])
    services.version_deploy(files=bundle_files("simple_task"))

    instance = services.instance_start(
        process_key="simple_task",
        started_by=org.nurse.user,
        subject=org.nurse,
        data={"callback_number": org.nurse.phone},
    )

    # Then the guard names where it is
    assert f"Employee {org.nurse.employee_no}.phone in ProcessInstance {instance.pk}.state" in (
        plaintext_leaks()
    )
