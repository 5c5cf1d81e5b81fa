"""Four-eyes deploy in the pages: the process owner's trojaned leave_request v2 waits for
approval (the owner sees it waiting); group HR read its diff, with the added high-impact
operation flagged, and approve it, which makes it current."""

import pytest
from playwright.sync_api import expect

from tests.conftest import shipped_bundle
from tests.security.test_trust_four_eyes_deploy import trojaned_leave_request
from tests.web.conftest import sign_in, user
from workflows import services
from workflows.models import ProcessVersion


@pytest.fixture
def pending_trojan(demo):
    services.version_deploy(files=shipped_bundle("leave_request.bpmn"))
    version = services.version_deploy(
        files=trojaned_leave_request(), deployed_by=user("owner")
    ).version
    assert version.approval_status == "pending"
    return version


@pytest.mark.django_db(transaction=True)
def test_the_owner_sees_the_deploy_waiting(pending_trojan, new_page):
    page = new_page()
    sign_in(page, "owner")
    page.get_by_role("link", name="Modeler").click()

    row = page.locator("tr[data-process='leave_request']")
    expect(row).to_contain_text("1 waiting for approval")
    row.get_by_role("link", name="Open").click()
    expect(page.locator(".pending-version[data-version='2']")).to_contain_text(
        "Version 2 is waiting for approval by group HR"
    )
    expect(page.locator("#version-badge")).to_have_text("version 1")

    page.locator(".pending-version a").click()
    review = page.locator(f".deploy-review[data-version-id='{pending_trojan.pk}']")
    expect(review).to_contain_text("Waiting for group HR to approve it")
    expect(review.locator("[data-review]")).to_have_count(0)


@pytest.mark.django_db(transaction=True)
def test_group_hr_reads_the_diff_and_approves(pending_trojan, new_page):
    page = new_page()
    sign_in(page, "hr_group")
    page.get_by_role("link", name="Deploy approvals").click()

    review = page.locator(f".deploy-review[data-version-id='{pending_trojan.pk}']")
    added = review.locator("li[data-operation='hr.revoke_system_access']")
    expect(added).to_contain_text("added")
    expect(added.locator(".high-impact")).to_have_text("high impact")
    expect(review.locator("tr[data-element='revoke_accounts'] .high-impact")).to_be_visible()
    expect(review.locator(".reasons")).to_contain_text(
        "Adds a call to the high-impact operation hr.revoke_system_access (revoke_accounts)."
    )
    review.locator(".review-comment").fill("Only for leavers: checked with the owner")
    review.get_by_role("button", name="Approve: make it current").click()

    expect(page.locator("#no-pending-deploys")).to_be_visible()
    decided = page.locator(f"tr[data-version-id='{pending_trojan.pk}']")
    expect(decided).to_contain_text("Approved")
    expect(decided).to_contain_text("hr_group")
    pending_trojan.refresh_from_db()
    assert pending_trojan.approval_status == ProcessVersion.Approval.APPROVED
    assert pending_trojan.reviewed_by == user("hr_group")
    assert pending_trojan.review_comment == "Only for leavers: checked with the owner"


@pytest.mark.django_db(transaction=True)
def test_the_page_speaks_chinese(pending_trojan, new_page):
    page = new_page(locale="zh-CN")
    sign_in(page, "hr_group")
    page.goto("/modeler/reviews/")

    review = page.locator(f".deploy-review[data-version-id='{pending_trojan.pk}']")
    expect(page.locator("h1")).to_have_text("部署审批")
    expect(review.get_by_role("button", name="批准：设为当前版本")).to_be_visible()
    flag = review.locator("li[data-operation='hr.revoke_system_access'] .high-impact")
    expect(flag).to_have_text("高影响")
