"""Auditors and operators in the instance cockpit: the path on the diagram, the events,
chain verification, CSV export; suspend / resume / terminate and incident retry."""

import csv
import io

import pytest
from playwright.sync_api import expect

from tests.conftest import bundle_files
from tests.web.conftest import NEW_HIRE, sign_in, user
from tests.workflows.test_incidents import PAYROLL_DOWN, _Payroll
from workflows import services
from workflows.models import HumanTask, Incident, ProcessInstance

RECORD_IN_PAYROLL = "Record in payroll"


def work_through_onboarding(instance: ProcessInstance) -> None:
    """The new hire reports every item done, the supervisor signs off (through the services,
    as the browser test of the task pages does through the pages)."""
    for task in instance.tasks.filter(element_id="complete_training_item"):
        services.task_complete(
            human_task_id=task.pk,
            user=user(NEW_HIRE),
            data={"is_completed": True, "score": 95},
        )
    sign_off = instance.tasks.get(element_id="sign_off_pre_job_training")
    services.task_complete(
        human_task_id=sign_off.pk, user=user("east_head_nurse"), data={"decision": "sign_off"}
    )


def marker(page, element_id: str, state: str):
    return page.locator(f"g.djs-element.el-{state}[data-element-id='{element_id}']")


def test_auditor_sees_the_path_and_the_events(onboarding, new_page):
    work_through_onboarding(onboarding)
    onboarding.refresh_from_db()
    assert onboarding.status == ProcessInstance.Status.COMPLETED

    page = new_page()
    sign_in(page, "auditor")
    page.goto(f"/instances/{onboarding.pk}/")
    expect(page.locator("#diagram[data-ready='true']")).to_be_attached()
    expect(page.locator("#instance-status")).to_have_text("Completed")

    # The path taken is marked completed; the branch not taken is not marked at all.
    for element in (
        "new_hire_registered",
        "load_new_hire_profile",
        "complete_pre_job_training",
        "sign_off_pre_job_training",
        "clear_for_duty",
        "cleared_for_duty",
    ):
        expect(marker(page, element, "completed")).to_have_count(1)
    expect(
        page.locator("g.djs-element[data-element-id='plan_retraining'][class*='el-']")
    ).to_have_count(0)
    expect(page.locator("g.djs-element.el-active")).to_have_count(0)

    # The events, with who did what and what changed.
    timeline = page.locator("#timeline")
    expect(timeline.locator("li[data-kind='instance_started'] .actor")).to_have_text("east_hr")
    completed = timeline.locator("li[data-kind='task_completed']")
    expect(completed).to_have_count(7)
    expect(completed.first.locator(".actor")).to_have_text(NEW_HIRE)
    expect(completed.last.locator(".actor")).to_have_text("east_head_nurse")
    expect(completed.last).to_contain_text("Sign off pre-job training")
    completed.first.locator("summary").click()
    expect(completed.first.locator("pre")).to_contain_text('"score": 95')
    expect(timeline.locator("li[data-kind='instance_completed']")).to_have_count(1)

    # Verification of the hash chain, and the CSV export.
    page.get_by_role("button", name="Verify history chain").click()
    events = onboarding.events.count()
    expect(page.locator("#cockpit-message")).to_have_text(
        f"History chain intact: {events} events checked."
    )
    response = page.request.get(page.locator("#csv-link").get_attribute("href"))
    assert response.status == 200
    rows = list(csv.DictReader(io.StringIO(response.text())))
    assert len(rows) == events
    assert rows[0]["kind"] == "instance_started"
    # Auditors read; they do not operate.
    expect(page.locator("[data-op]")).to_have_count(0)


def test_operator_suspends_resumes_and_terminates(onboarding, new_page):
    page = new_page()
    sign_in(page, "hr_group")
    page.goto(f"/instances/{onboarding.pk}/")
    expect(page.locator("#diagram[data-ready='true']")).to_be_attached()
    # Waiting at the checklist: the items are active, the reminder timer is waiting.
    expect(marker(page, "complete_training_item", "active")).to_have_count(1)
    expect(marker(page, "remind_after_3_days", "waiting")).to_have_count(1)
    expect(marker(page, "load_new_hire_profile", "completed")).to_have_count(1)

    page.get_by_role("button", name="Suspend").click()
    expect(page.locator("#instance-status")).to_have_text("Suspended")
    page.get_by_role("button", name="Resume").click()
    expect(page.locator("#instance-status")).to_have_text("Waiting")

    page.once("dialog", lambda dialog: dialog.accept("hired by mistake"))
    page.get_by_role("button", name="Terminate").click()
    expect(page.locator("#instance-status")).to_have_text("Terminated")
    onboarding.refresh_from_db()
    assert onboarding.status == ProcessInstance.Status.TERMINATED
    assert not onboarding.tasks.filter(status=HumanTask.Status.OPEN).exists()
    terminated = onboarding.events.get(kind="instance_terminated")
    assert terminated.actor == user("hr_group")


@pytest.fixture
def failed_claim(demo, monkeypatch):
    """An overtime claim whose payroll step failed: an open incident."""
    monkeypatch.setattr(_Payroll, "is_down", True)
    services.version_deploy(files=bundle_files("failing_service"))
    nurse = user("east_nurse")
    instance = services.instance_start(
        process_key="failing_service", started_by=nurse, subject=nurse.employee
    )
    services.task_complete(
        human_task_id=instance.tasks.get().pk, user=nurse, data={"overtime_hours": 3}
    )
    return instance


def test_operator_retries_an_incident(failed_claim, new_page):
    page = new_page()
    sign_in(page, "hr_group")
    page.goto(f"/instances/{failed_claim.pk}/")
    expect(page.locator("#instance-status")).to_have_text("Error")
    expect(marker(page, "record_in_payroll", "error")).to_have_count(1)
    expect(page.locator("#incidents")).to_contain_text(PAYROLL_DOWN)
    # The incident's service task is named from the diagram in the timeline.
    opened = page.locator("#timeline li[data-kind='incident_opened'] .element-name")
    expect(opened).to_have_text(RECORD_IN_PAYROLL)

    _Payroll.is_down = False  # the payroll system is back
    page.get_by_role("button", name="Retry").click()
    expect(page.locator("#instance-status")).to_have_text("Completed")
    incident = Incident.objects.get(instance=failed_claim)
    assert incident.status == Incident.Status.RESOLVED
    assert incident.resolved_by == user("hr_group")
