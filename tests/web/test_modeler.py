"""A process owner opens the onboarding diagram, adds a task, deploys, and sees version 2."""

import pytest
from lxml import etree
from playwright.sync_api import expect

from tests.web.conftest import sign_in
from workflows.models import ProcessVersion

NEW_TASK = "Welcome talk 入职谈话"
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"


def open_onboarding(page):
    sign_in(page, "owner")
    page.get_by_role("link", name="Modeler").click()
    page.locator("tr[data-process='onboarding'] a").click()
    expect(page.locator("#canvas[data-ready='true']")).to_be_attached()
    expect(page.locator("#version-badge")).to_have_text("version 1")


def name_new_element(page, name: str):
    expect(page.locator(".djs-direct-editing-content")).to_be_visible()
    page.keyboard.type(name)
    # A click on the empty canvas below the pool ends the editing.
    page.locator("#canvas").click(position={"x": 700, "y": 585})


def drop_task_on_flow(page, flow_id: str, name: str):
    """Take a task from the palette and drop it on a sequence flow: the modeler splits the flow
    and puts the task in between."""
    box = page.locator(f"g.djs-connection[data-element-id='{flow_id}']").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.locator(".djs-palette [data-action='create.task']").click()
    page.mouse.move(x - 30, y, steps=3)
    page.mouse.move(x, y, steps=3)
    page.mouse.click(x, y)
    name_new_element(page, name)


def append_task_after(page, element_id: str, name: str):
    """Select an element and append a task from its context pad."""
    page.locator(f"g.djs-element[data-element-id='{element_id}']").first.click()
    page.locator(".djs-context-pad [data-action='append.append-task']").click()
    name_new_element(page, name)


@pytest.mark.django_db(transaction=True)
def test_owner_adds_a_task_and_deploys_version_2(demo, new_page):
    page = new_page()
    open_onboarding(page)

    drop_task_on_flow(page, "flow_to_cleared_for_duty", NEW_TASK)
    expect(page.locator("g.djs-element", has_text="Welcome talk")).to_have_count(1)
    page.get_by_role("button", name="Deploy as a new version").click()

    expect(page.locator("#deploy-status")).to_contain_text("Deployed as version 2")
    expect(page.locator("#version-badge")).to_have_text("version 2")
    versions = ProcessVersion.objects.filter(definition__key="onboarding").order_by("number")
    assert [v.number for v in versions] == [1, 2]
    assert NEW_TASK not in versions[0].bpmn_files["onboarding.bpmn"]
    # The task sits on the path: clear for duty -> the new task -> cleared for duty.
    root = etree.fromstring(versions[1].bpmn_files["onboarding.bpmn"].encode())
    (task,) = root.iterfind(f".//{{{BPMN}}}task[@name='{NEW_TASK}']")
    flows = {f.get("id"): f for f in root.iterfind(f".//{{{BPMN}}}sequenceFlow")}
    (incoming,) = [flows[e.text] for e in task.iterfind(f"{{{BPMN}}}incoming")]
    (outgoing,) = [flows[e.text] for e in task.iterfind(f"{{{BPMN}}}outgoing")]
    assert incoming.get("sourceRef") == "clear_for_duty"
    assert outgoing.get("targetRef") == "cleared_for_duty"
    # The forms and the decision table went along unchanged.
    assert versions[1].forms == versions[0].forms
    assert versions[1].dmn_files == versions[0].dmn_files

    # Reopened, the modeler lists both versions and opens the latest.
    page.reload()
    expect(page.locator("#version-badge")).to_have_text("version 2")
    expect(page.locator("#version-select option")).to_have_count(2)


@pytest.mark.django_db(transaction=True)
def test_refused_deploy_shows_the_errors_next_to_the_element(demo, new_page):
    page = new_page()
    open_onboarding(page)
    # A second path out of a user task is not something the engine runs: refused.
    append_task_after(page, "sign_off_pre_job_training", "Call nobody 调用不存在的服务")
    page.get_by_role("button", name="Deploy as a new version").click()

    expect(page.locator("#deploy-status")).to_contain_text("refused")
    error = page.locator("#deploy-errors li[data-element='sign_off_pre_job_training']")
    expect(error).to_contain_text("Multiple outgoing flows are not supported")
    overlay = page.locator(".djs-overlay-container [data-container-id='sign_off_pre_job_training']")
    expect(overlay.locator(".deploy-error-overlay")).to_contain_text("Multiple outgoing flows")
    assert ProcessVersion.objects.filter(definition__key="onboarding").count() == 1


@pytest.mark.django_db(transaction=True)
def test_invalid_form_json_is_caught_in_the_page(demo, new_page):
    page = new_page()
    open_onboarding(page)
    page.get_by_role("tab", name="Forms and decision tables").click()
    page.locator("#form-file").select_option("onboarding_sign_off.json")
    page.locator("#form-editor").fill('{"type": "object", ')
    expect(page.locator("#form-editor-status")).to_contain_text("is not valid JSON")
    page.get_by_role("button", name="Deploy as a new version").click()
    expect(page.locator("#deploy-status")).to_contain_text("Fix the file with invalid JSON first")
    # A schema that is JSON but not a valid JSON Schema is refused by the server's validation.
    page.locator("#form-editor").fill('{"type": "object", "properties": {"a": {"type": 5}}}')
    page.get_by_role("button", name="Deploy as a new version").click()
    expect(page.locator("#deploy-errors li").first).to_contain_text("onboarding_sign_off.json")
    assert ProcessVersion.objects.filter(definition__key="onboarding").count() == 1
