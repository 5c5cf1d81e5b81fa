"""A new employee works the onboarding checklist in the browser; the supervisor signs it off."""

import re

from playwright.sync_api import expect

from hr.models import Employee, TrainingCompletion
from tests.web.conftest import NEW_HIRE, NEW_HIRE_PASSWORD, sign_in
from workflows.models import HumanTask, ProcessInstance


def open_items() -> list[HumanTask]:
    return list(
        HumanTask.objects.filter(
            element_id="complete_training_item", status=HumanTask.Status.OPEN
        ).order_by("pk")
    )


def test_new_hire_completes_training_and_supervisor_signs_off(onboarding, new_page):
    items = open_items()
    assert len(items) == 6  # the nurse checklist of the DMN table

    # The new hire signs in: the home page says what is waiting.
    page = new_page()
    sign_in(page, NEW_HIRE, NEW_HIRE_PASSWORD)
    expect(page.locator("#task-count")).to_have_text("6")
    page.get_by_role("link", name="Open my task list").click()
    expect(page.locator("#my-tasks tbody tr")).to_have_count(6)

    # The first item: the instructions, the course it is about, the form.
    page.locator(f"#my-tasks tr[data-task-id='{items[0].pk}'] a").click()
    expect(page.locator("#task-title")).to_have_text("Complete training item")
    expect(page.locator("#task-instructions")).to_contain_text("Take the course named")
    expect(page.locator("#task-context")).to_contain_text("prejob-medical-law")
    # Submitting without the required answer is stopped in the page, next to the field.
    page.get_by_role("button", name="Complete task").click()
    expect(page.locator(".field[data-field='is_completed'] .field-error")).to_have_text(
        "This field is required."
    )
    # A score over the schema's maximum is refused in the page too.
    page.get_by_label("Yes").check()
    page.get_by_label("Assessment score, if there was one").fill("120")
    page.get_by_role("button", name="Complete task").click()
    expect(page.locator(".field[data-field='score'] .field-error")).to_have_text("At most 100.")
    assert HumanTask.objects.get(pk=items[0].pk).status == HumanTask.Status.OPEN

    page.get_by_label("Assessment score, if there was one").fill("95")
    page.get_by_role("button", name="Complete task").click()
    expect(page.locator("#completed-notice")).to_contain_text("Complete training item")
    expect(page.locator("#my-tasks tbody tr")).to_have_count(5)
    assert HumanTask.objects.get(pk=items[0].pk).status == HumanTask.Status.COMPLETED

    # The other items, one after the other from the task list.
    for remaining in range(5, 0, -1):
        page.locator("#my-tasks tbody tr a").first.click()
        page.get_by_label("Yes").check()
        page.get_by_role("button", name="Complete task").click()
        expect(page.locator("#completed-notice")).to_be_visible()
        expect(page.locator("#my-tasks tbody tr[data-task-id]")).to_have_count(remaining - 1)
    new_hire = Employee.objects.get(employee_no="E0100")
    assert TrainingCompletion.objects.filter(employee=new_hire).count() == 6

    # The supervisor sees the next task, the sign-off, and signs it off.
    supervisor = new_page()
    sign_in(supervisor, "east_head_nurse")
    supervisor.goto("/tasks/")
    row = supervisor.locator("#my-tasks tr[data-element='sign_off_pre_job_training']")
    expect(row).to_contain_text("Sign off pre-job training")
    expect(row).to_contain_text("Chen Xiao")
    row.locator("a").click()
    # Returning for retraining needs a comment (the schema's if / then), checked in the page.
    supervisor.get_by_label("Return for retraining").check()
    supervisor.get_by_role("button", name="Complete task").click()
    expect(supervisor.locator(".field[data-field='sign_off_comment'] .field-error")).to_have_text(
        "This field is required."
    )
    supervisor.get_by_label("Sign off: cleared for duty").check()
    supervisor.get_by_role("button", name="Complete task").click()
    expect(supervisor.locator("#completed-notice")).to_be_visible()

    onboarding.refresh_from_db()
    assert onboarding.status == ProcessInstance.Status.COMPLETED
    # The new hire's processes page shows where it stands now.
    page.goto("/instances/")
    expect(page.locator(f"tr[data-instance-id='{onboarding.pk}']")).to_contain_text(
        re.compile("Completed")
    )
