"""Group HR's dashboards: one chart per metric of /api/v1/metrics/, drawn from the demo data."""

import pytest
from playwright.sync_api import expect

from tests.web.conftest import sign_in

METRICS = ["turnover", "training", "open-tasks", "feedback", "cycle-time"]


def test_group_hr_sees_a_chart_per_metric(onboarding, new_page):
    page = new_page()
    sign_in(page, "hr_group")
    page.get_by_role("link", name="Dashboards").click()
    for metric in METRICS:
        section = page.locator(f"[data-metric='{metric}']")
        expect(section).to_have_attribute("data-ready", "true")
        expect(section.locator("canvas")).to_be_visible()
    # The onboarding started for the new hire shows as six open training items at East Clinic.
    open_tasks = page.locator("[data-metric='open-tasks']")
    open_tasks.locator("summary").click()
    row = open_tasks.locator("tbody tr", has_text="East Clinic")
    expect(row).to_contain_text("Onboarding and pre-job training")
    expect(row.locator("td").nth(1)).to_have_text("6")
    # Grouping by role family redraws turnover and training by family.
    page.locator("#group_by").select_option("role_family")
    page.get_by_role("button", name="Show").click()
    turnover = page.locator("[data-metric='turnover']")
    turnover.locator("summary").click()
    rows = turnover.locator("tbody tr td:first-child")
    expect(rows).to_have_text(["Doctor", "Nurse", "Technician", "Administration", "Other"])


@pytest.mark.parametrize("username", ["east_nurse", "owner"])
def test_dashboards_are_not_offered_to_others(demo, new_page, username):
    page = new_page()
    sign_in(page, username)
    expect(page.get_by_role("link", name="Dashboards")).to_have_count(0)
    response = page.goto("/dashboards/")
    assert response.status == 403
