"""Browser tests: the pages served by a live Django server, driven in Debian's headless
Chromium through Playwright (never a browser Playwright downloads itself).

Without Chromium the tests skip with the reason, unless CAREFLOW_REQUIRE_BROWSER=1 (CI sets
it in .ci/run), where a missing browser fails them instead."""

import datetime as dt
import os
import re
import shutil
import threading
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.servers.basehttp import ThreadedWSGIServer
from django.db import connection
from django.test.testcases import LiveServerThread

from hr.demo import DEMO_PASSWORD, demo_seed
from hr.models import Employee, OrgUnit, RoleAssignment
from tests.conftest import shipped_bundle
from workflows import services

CHROMIUM = os.environ.get("CAREFLOW_CHROMIUM", "/usr/bin/chromium")
NEW_HIRE, NEW_HIRE_PASSWORD = "new_nurse", "welcome-2026"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _chromium_missing() -> str | None:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _chromium_missing()
    for item in items:
        if "browser" not in getattr(item, "fixturenames", ()):
            continue
        item.add_marker(pytest.mark.browser)
        if reason and os.environ.get("CAREFLOW_REQUIRE_BROWSER") != "1":
            item.add_marker(pytest.mark.skip(reason=reason))


class OneRequestAtATimeServer(ThreadedWSGIServer):
    """The live server for an in-memory SQLite test database, where pytest-django gives every
    server thread the test's own database connection: two requests querying through it at
    once can hang each other for good (the dashboards fetch five reports at once). Requests
    take turns; the browser's keep-alive connections still have a thread each."""

    _turn = threading.Lock()

    def set_app(self, application):
        def in_turn(environ, start_response):
            with self._turn:
                response = application(environ, start_response)
                try:
                    body = b"".join(response)
                finally:
                    if hasattr(response, "close"):
                        response.close()
            return [body]

        super().set_app(in_turn)


@pytest.fixture(scope="session", autouse=True)
def _one_request_at_a_time_on_sqlite():
    """Set up before `live_server` (autouse fixtures come first); PostgreSQL (CI) is left as
    it is: there every server thread has a connection of its own."""
    if connection.vendor != "sqlite":
        yield
        return
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(LiveServerThread, "server_class", OneRequestAtATimeServer)
        yield


@pytest.fixture(scope="session")
def browser():
    reason = _chromium_missing()
    if reason:
        pytest.fail(f"CAREFLOW_REQUIRE_BROWSER=1 but {reason}")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make
    # between page steps are ordinary synchronous calls, so Django's async guard is lifted
    # while the browser runs (and put back after).
    before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
            )
            yield chromium
            chromium.close()
    finally:
        if before is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = before


@pytest.fixture(scope="session")
def diagram_js():
    """bpmn-js and chart.js, copied from npm by `make setup` (needs Node.js)."""
    from web import vendor

    missing = [
        p
        for p in (vendor.BPMN_MODELER, vendor.BPMN_VIEWER, vendor.CHART)
        if not vendor.is_installed(p)
    ]
    if missing:
        message = (
            f"front-end packages not installed ({', '.join(missing)}): run make setup with npm"
        )
        if os.environ.get("CAREFLOW_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def new_page(browser, live_server, diagram_js):
    """Opens pages in a fresh browser context (own cookies) per person; closes them after."""
    contexts = []
    errors: list[str] = []

    def open_page(locale: str = "en-US"):
        context = browser.new_context(
            base_url=live_server.url, locale=locale, viewport={"width": 1366, "height": 900}
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert errors == [], "JavaScript errors on the pages"


@pytest.fixture
def demo(transactional_db):
    """The demo group of `make run` (people, roles, catalogues) and the onboarding process."""
    demo_seed()
    services.version_deploy(files=shipped_bundle("onboarding.bpmn"))


@pytest.fixture
def onboarding(demo):
    """Clinic HR has started the onboarding of a new nurse of East Nursing."""
    unit = OrgUnit.objects.get(code="east-nursing")
    account = get_user_model().objects.create_user(NEW_HIRE, password=NEW_HIRE_PASSWORD)
    RoleAssignment.objects.create(user=account, role=RoleAssignment.Role.EMPLOYEE, org_unit=unit)
    employee = Employee.objects.create(
        user=account,
        employee_no="E0100",
        name="陈晓 Chen Xiao",
        org_unit=unit,
        position="Nurse 护士",
        role_family=Employee.RoleFamily.NURSE,
        manager=Employee.objects.get(user__username="east_head_nurse"),
        hire_date=dt.date.today(),
    )
    return services.instance_start(
        process_key="onboarding",
        started_by=user("east_hr"),
        subject=employee,
        data={"planned_duty_date": (dt.date.today() + dt.timedelta(days=7)).isoformat()},
    )


def sign_in(page, username: str, password: str = DEMO_PASSWORD) -> None:
    page.goto("/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.locator("form[action='/login/'] button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))


def user(username: str):
    return get_user_model().objects.get(username=username)
