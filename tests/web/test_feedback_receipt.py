"""The employee-voice page follows feedback by receipt code with POST /api/v1/feedback/receipt:
the code goes in the body and never appears in a URL the browser requests (issue 16, item 3).
Desktop (1366 px) in English and a phone (390 px) in Chinese; screenshots of both are kept
in pytest's temporary directory (`--basetemp` to choose it) for a person to look at."""

import json

import pytest
from playwright.sync_api import expect

from hr.models import FeedbackTicket
from hr.services.feedback import feedback_submit
from tests.conftest import shipped_bundle
from tests.web.conftest import sign_in, user
from workflows import services
from workflows.models import HumanTask

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def feedback_closure(demo):
    services.version_deploy(files=shipped_bundle("feedback_closure.bpmn"))


def requests_of(page) -> list:
    seen = []
    page.on("request", lambda request: seen.append(request))
    return seen


def work(username: str, instance, element_id: str, data: dict) -> None:
    task = HumanTask.objects.get(instance=instance, element_id=element_id, status="open")
    services.task_complete(human_task_id=task.pk, user=user(username), data=data)


def test_the_page_looks_a_code_up_with_the_code_in_the_body_only(
    feedback_closure, new_page, tmp_path
):
    # Given a nurse on the employee-voice page (desktop, English)
    page = new_page()
    seen = requests_of(page)
    sign_in(page, "east_nurse")
    page.goto("/feedback/")

    # when she sends anonymous feedback and looks its receipt code up
    page.get_by_label("Your feedback").fill("夜班太多 Too many night shifts this month")
    page.get_by_label("Send anonymously").check()
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator("#feedback-receipt")).to_be_visible()
    code = FeedbackTicket.objects.get(text__startswith="夜班太多").receipt_code
    with page.expect_request("**/api/v1/feedback/receipt") as lookup:
        page.get_by_role("button", name="Look up").click()
    expect(page.locator("#lookup-status")).to_have_text("Received")
    page.screenshot(path=tmp_path / "feedback-receipt-1366-en.png", full_page=True)

    # then the lookup was a POST with the code in its body, and no URL held the code
    assert lookup.value.method == "POST"
    assert json.loads(lookup.value.post_data) == {"receipt_code": code}
    assert [r.url for r in seen if code in r.url] == []
    assert page.url.endswith("/feedback/")

    # and a wrong code is told plainly
    page.locator("#lookup-code").fill("FB-2222-3333-4444")
    page.get_by_role("button", name="Look up").click()
    expect(page.locator("#lookup-message")).to_have_text(
        "No feedback has this receipt code. Check it and try again."
    )
    expect(page.locator("#lookup-result")).to_be_hidden()


def test_on_a_phone_in_chinese_the_answer_of_a_closed_ticket_is_shown(
    feedback_closure, new_page, tmp_path
):
    # Given anonymous feedback that the head nurse closed as not resolved, with her answers
    submission = feedback_submit(
        user=user("west_nurse"), text="希望增加专科护理培训的名额", is_anonymous=True
    )
    instance = submission.instance
    work(
        "hr_group",
        instance,
        "triage_by_group_hr",
        {"category": "workload", "department": "east-nursing"},
    )
    work("east_head_nurse", instance, "acknowledge_feedback", {"acknowledged": True})
    work(
        "east_head_nurse",
        instance,
        "resolve_feedback",
        {
            "outcome": "not_resolved",
            "reason": "培训名额取决于明年预算",
            "follow_up_plan": "四月起每季度增开一期专科护理培训",
        },
    )

    # when the sender looks the code up on a phone, in Chinese
    page = new_page(locale="zh-CN")
    page.set_viewport_size(PHONE)
    seen = requests_of(page)
    sign_in(page, "west_nurse")
    page.goto("/feedback/")
    page.locator("#lookup-code").fill(submission.ticket.receipt_code.lower())
    page.get_by_role("button", name="查询").click()

    # then the status and the head nurse's answers are shown, in Chinese
    expect(page.locator("#lookup-status")).to_have_text("未解决")
    expect(page.locator("#lookup-reason")).to_have_text("培训名额取决于明年预算")
    expect(page.locator("#lookup-plan")).to_have_text("四月起每季度增开一期专科护理培训")
    expect(page.locator("#lookup-outcome")).to_have_text("—")
    page.screenshot(path=tmp_path / "feedback-receipt-390-zh.png", full_page=True)
    code = submission.ticket.receipt_code
    assert [r.url for r in seen if code.lower() in r.url.lower()] == []
    # Nothing wider than the phone's screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_an_anonymous_sender_sees_the_question_and_answers_it_on_a_phone_in_chinese(
    feedback_closure, new_page, tmp_path
):
    # Given anonymous feedback whose head nurse asked the sender a question (issue 21)
    submission = feedback_submit(user=user("west_nurse"), text="夜班太多", is_anonymous=True)
    instance = submission.instance
    work(
        "hr_group",
        instance,
        "triage_by_group_hr",
        {"category": "workload", "department": "east-nursing"},
    )
    work("east_head_nurse", instance, "acknowledge_feedback", {"acknowledged": True})
    work(
        "east_head_nurse",
        instance,
        "resolve_feedback",
        {"outcome": "ask_sender", "question": "是哪一个月的夜班？"},
    )
    code = submission.ticket.receipt_code

    # when the sender looks the code up on a phone, in Chinese, and answers
    page = new_page(locale="zh-CN")
    page.set_viewport_size(PHONE)
    seen = requests_of(page)
    sign_in(page, "west_nurse")
    page.goto("/feedback/")
    page.locator("#lookup-code").fill(code)
    page.get_by_role("button", name="查询").click()
    expect(page.locator("#question-text")).to_have_text("是哪一个月的夜班？")
    page.screenshot(path=tmp_path / "feedback-question-390-zh.png", full_page=True)
    page.get_by_label("您的答复").fill("十一月，连续三周")
    with page.expect_request("**/api/v1/feedback/reply") as sent:
        page.get_by_role("button", name="发送答复").click()

    # then the answer went with the code in the body, the question is gone, and the head
    # nurse's resolution task is back with the answer
    expect(page.locator("#lookup-message")).to_have_text("谢谢，您的答复已发送。")
    expect(page.locator("#question-box")).to_be_hidden()
    assert json.loads(sent.value.post_data) == {"receipt_code": code, "text": "十一月，连续三周"}
    assert [r.url for r in seen if code in r.url] == []
    back = HumanTask.objects.get(instance=instance, element_id="resolve_feedback", status="open")
    assert back.pk
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
