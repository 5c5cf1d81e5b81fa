"""Starting processes from their start forms, following them, and claim / unclaim / delegate."""

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from hr.demo import DEMO_PASSWORD
from hr.models import Employee, FeedbackTicket, OrgUnit, RoleAssignment
from tests.conftest import shipped_bundle
from tests.web.conftest import sign_in, user
from workflows import services
from workflows.models import HumanTask, ProcessInstance


@pytest.fixture
def leave(demo):
    services.version_deploy(files=shipped_bundle("leave_request.bpmn"))


def test_employee_starts_a_leave_request_and_follows_it(leave, new_page):
    page = new_page()
    sign_in(page, "east_nurse")
    page.get_by_role("link", name="Start a process").first.click()
    # Leave is started by the employee; onboarding only by clinic HR.
    expect(page.locator("[data-process='leave_request']")).to_be_visible()
    expect(page.locator("[data-process='onboarding']")).to_have_count(0)
    page.locator("[data-process='leave_request'] a").click()

    page.get_by_label("annual").check()
    page.get_by_label("Days").fill("40")
    page.get_by_role("button", name="Start").click()
    expect(page.locator(".field[data-field='days'] .field-error")).to_have_text("At most 30.")
    assert not ProcessInstance.objects.exists()

    page.get_by_label("Days").fill("5")
    page.get_by_label("Reason").fill("家里有事 family matters")
    page.get_by_role("button", name="Start").click()
    page.wait_for_url(re.compile(r"/instances/\d+/$"))
    instance = ProcessInstance.objects.get()
    assert instance.started_by == user("east_nurse")
    assert instance.subject.employee_no == "E0003"
    expect(page.locator("#instance-status")).to_have_text("Waiting")

    page.get_by_role("link", name="My processes").click()
    row = page.locator(f"tr[data-instance-id='{instance.pk}']")
    expect(row).to_contain_text("Review long leave by supervisor")
    expect(row).to_contain_text("Review by clinic HR")


def test_clinic_hr_starts_onboarding_for_an_employee_of_the_clinic(demo, new_page):
    page = new_page()
    sign_in(page, "east_hr")
    page.goto("/processes/onboarding/start/")
    # Only the employees of East Clinic are offered.
    options = page.locator("#subject option")
    expect(options.filter(has_text="E0004")).to_have_count(1)
    expect(options.filter(has_text="W0003")).to_have_count(0)
    page.get_by_role("button", name="Start").click()
    expect(page.locator(".field[data-field='subject'] .field-error")).to_have_text(
        "This field is required."
    )
    expect(page.locator(".field[data-field='planned_duty_date'] .field-error")).to_have_text(
        "This field is required."
    )
    page.locator("#subject").select_option("E0004")
    page.get_by_label("Planned first day on duty").fill("2026-12-01")
    page.get_by_role("button", name="Start").click()
    page.wait_for_url(re.compile(r"/instances/\d+/$"))
    instance = ProcessInstance.objects.get()
    assert instance.subject.employee_no == "E0004"
    assert instance.started_by == user("east_hr")


@pytest.fixture
def east_hr_colleague(demo):
    """A second HR of the East clinic, who may take over its reviews."""
    account = get_user_model().objects.create_user("east_hr_2", password=DEMO_PASSWORD)
    east = OrgUnit.objects.get(code="east")
    Employee.objects.create(user=account, employee_no="E0900", name="Ma Li 马丽", org_unit=east)
    RoleAssignment.objects.create(user=account, role=RoleAssignment.Role.CLINIC_HR, org_unit=east)
    return account


def test_clinic_hr_claims_unclaims_and_delegates(leave, east_hr_colleague, new_page):
    nurse = user("east_nurse")
    services.instance_start(
        process_key="leave_request",
        started_by=nurse,
        subject=nurse.employee,
        data={"leave_type": "annual", "days": 5},
    )
    review = HumanTask.objects.get(element_id="review_by_clinic_hr")

    page = new_page()
    sign_in(page, "east_hr")
    page.goto("/tasks/")
    row = page.locator(f"#role-tasks tr[data-task-id='{review.pk}']")
    expect(row).to_contain_text("Clinic HR")
    row.locator("a").click()

    page.get_by_role("button", name="Claim", exact=True).click()
    expect(page.locator("#task-holder")).to_have_text("east_hr")
    page.get_by_role("button", name="Unclaim", exact=True).click()
    expect(page.get_by_role("button", name="Claim", exact=True)).to_be_visible()
    review.refresh_from_db()
    assert review.assignee is None

    # The delegate control offers only who could work the review: the clinic's other HR, not
    # group HR nor the nurse it is about.
    choices = page.locator("#delegate-to option")
    expect(choices).to_have_text(["Choose a colleague…", "Ma Li 马丽 (east_hr_2)"])
    expect(page.get_by_role("button", name="Delegate")).to_be_disabled()
    page.locator("#delegate-to").select_option("east_hr_2")
    page.get_by_role("button", name="Delegate").click()
    expect(page.locator("#action-message")).to_contain_text("Delegated to east_hr_2")
    page.wait_for_url(re.compile(r"/tasks/$"))
    review.refresh_from_db()
    assert review.assignee == user("east_hr_2")

    colleague = new_page()
    sign_in(colleague, "east_hr_2")
    colleague.goto("/tasks/")
    expect(colleague.locator(f"#my-tasks tr[data-task-id='{review.pk}']")).to_be_visible()


def test_pages_speak_chinese_by_default_and_switch_to_english(demo, new_page):
    page = new_page(locale="zh-CN")
    page.goto("/login/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("h1")).to_have_text("登录 CareFlow")
    sign_in(page, "east_head_nurse")
    expect(page.locator(".mainnav a[href='/tasks/']")).to_have_text("待办任务")
    expect(page.locator("#task-count")).to_be_visible()
    expect(page.locator(".who")).to_have_text("李娜 Li Na")

    page.locator("button[data-lang='en']").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator(".mainnav a[href='/tasks/']")).to_have_text("Tasks")


def test_employee_sends_anonymous_feedback_and_follows_it(demo, new_page):
    services.version_deploy(files=shipped_bundle("feedback_closure.bpmn"))
    page = new_page()
    sign_in(page, "east_nurse")
    page.get_by_role("link", name="Start a process").first.click()
    page.locator("[data-process='feedback_closure'] a").click()
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator(".field[data-field='text'] .field-error")).to_have_text(
        "This field is required."
    )
    page.get_by_label("Your feedback").fill("夜班太多 Too many night shifts this month")
    page.get_by_label("Send anonymously").check()
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator("#feedback-receipt")).to_be_visible()
    ticket = FeedbackTicket.objects.get(text__startswith="夜班太多")  # not the demo's history
    assert ticket.is_anonymous
    assert ticket.submitter is None
    expect(page.locator("#receipt-code")).to_have_text(ticket.receipt_code)
    page.get_by_role("button", name="Look up").click()
    expect(page.locator("#lookup-status")).to_have_text("Received")
