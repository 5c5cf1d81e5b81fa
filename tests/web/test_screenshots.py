"""`make screenshots`: every page, from the demo data, into docs/screenshots/ for the README.

Not part of `make test` (it rewrites committed files); it runs only with
CAREFLOW_SCREENSHOTS=1, which `make screenshots` sets."""

import datetime as dt
import os

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from tests.web.conftest import NEW_HIRE, NEW_HIRE_PASSWORD, SCREENSHOTS, sign_in, user
from workflows import services
from workflows.models import HumanTask

pytestmark = [
    pytest.mark.screenshots,
    pytest.mark.skipif(
        os.environ.get("CAREFLOW_SCREENSHOTS") != "1",
        reason="writes docs/screenshots/: run `make screenshots`",
    ),
]


def shoot(page, name: str, *, full_page: bool = True) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


@pytest.fixture
def demo_activity(onboarding):
    """Every shipped process deployed, the new hire half-way through the checklist, a leave
    request waiting for review."""
    call_command("deploy_processes", verbosity=0)
    items = HumanTask.objects.filter(element_id="complete_training_item").order_by("pk")
    for task in items[:3]:
        services.task_complete(
            human_task_id=task.pk, user=user(NEW_HIRE), data={"is_completed": True, "score": 92}
        )
    nurse = user("east_nurse")
    # Asked for yesterday morning, the short one approved in the afternoon: a finished process
    # with a cycle time of hours for the dashboards.
    now = timezone.now()
    with time_machine.travel(now - dt.timedelta(hours=27), tick=False):
        for days in (2, 5):
            services.instance_start(
                process_key="leave_request",
                started_by=nurse,
                subject=nurse.employee,
                data={"leave_type": "annual", "days": days, "reason": "探亲 family visit"},
            )
    short = HumanTask.objects.get(element_id="review_by_supervisor")
    with time_machine.travel(now - dt.timedelta(hours=21), tick=False):
        services.task_complete(
            human_task_id=short.pk, user=user("east_head_nurse"), data={"decision": "approve"}
        )
    with time_machine.travel(now - dt.timedelta(hours=19), tick=False):
        for task in short.instance.tasks.filter(status=HumanTask.Status.OPEN):
            services.task_complete(human_task_id=task.pk, user=nurse, data={"acknowledged": True})
    short.instance.refresh_from_db()
    assert short.instance.status == "completed"
    return onboarding


def test_screenshots_of_every_page(demo_activity, new_page):
    page = new_page(locale="zh-CN")
    page.goto("/login/")
    shoot(page, "login")
    sign_in(page, NEW_HIRE, NEW_HIRE_PASSWORD)
    shoot(page, "home")
    page.goto("/tasks/")
    shoot(page, "tasks")
    page.locator("#my-tasks tbody tr a").first.click()
    page.get_by_role("button", name="提交完成").click()
    expect(page.locator(".field.invalid")).to_have_count(1)
    shoot(page, "task-form")
    page.goto("/instances/")
    shoot(page, "my-processes")

    english = new_page(locale="en-US")
    sign_in(english, NEW_HIRE, NEW_HIRE_PASSWORD)
    english.goto("/tasks/")
    english.locator("#my-tasks tbody tr a").first.click()
    shoot(english, "task-form-en")

    nurse = new_page(locale="zh-CN")
    sign_in(nurse, "east_nurse")
    nurse.goto("/processes/")
    shoot(nurse, "start-process")
    nurse.goto("/processes/benefit_claim/start/")
    shoot(nurse, "start-form")
    nurse.goto("/feedback/")
    shoot(nurse, "feedback")

    auditor = new_page(locale="zh-CN")
    sign_in(auditor, "auditor")
    auditor.goto(f"/instances/{demo_activity.pk}/")
    expect(auditor.locator("#diagram[data-ready='true']")).to_be_attached()
    auditor.get_by_role("button", name="校验审计日志链").click()
    shoot(auditor, "cockpit")

    owner = new_page(locale="en-US")
    sign_in(owner, "owner")
    owner.goto("/modeler/onboarding/")
    expect(owner.locator("#canvas[data-ready='true']")).to_be_attached()
    shoot(owner, "modeler")

    group_hr = new_page(locale="zh-CN")
    sign_in(group_hr, "hr_group")
    group_hr.goto("/dashboards/")
    for metric in ("turnover", "training", "open-tasks", "feedback", "cycle-time"):
        expect(group_hr.locator(f"[data-metric='{metric}']")).to_have_attribute(
            "data-ready", "true"
        )
    shoot(group_hr, "dashboards")

    phone = new_page(locale="zh-CN")
    phone.set_viewport_size({"width": 390, "height": 844})
    sign_in(phone, NEW_HIRE, NEW_HIRE_PASSWORD)
    phone.goto("/tasks/")
    shoot(phone, "tasks-phone")
    assert sorted(p.name for p in SCREENSHOTS.glob("*.png")) == sorted(
        f"{n}.png"
        for n in (
            "login",
            "home",
            "tasks",
            "task-form",
            "my-processes",
            "task-form-en",
            "start-process",
            "start-form",
            "feedback",
            "cockpit",
            "modeler",
            "dashboards",
            "tasks-phone",
        )
    )
