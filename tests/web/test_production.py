"""The pages as the shipped deployment serves them: gunicorn, CAREFLOW_ENV=production (DEBUG
off, the Content-Security-Policy enforced), static files from `collectstatic` through
WhiteNoise. Demo personas sign in at /login/ in headless Chromium and work the main pages;
every page must run its scripts without a CSP violation and load every static file.

The server runs in its own processes on a database of its own (a SQLite file prepared with
migrate, seed_demo and deploy_processes), not on the test database."""

import base64
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from hr.demo import DEMO_PASSWORD

ROOT = Path(settings.BASE_DIR)
FIELD_KEYS = "prod1:" + base64.b64encode(b"production-test-key-32-bytes-ok!").decode()
SCREENSHOT_SIZES = {"1366": (1366, 900), "390": (390, 844)}

# Run once in a production-mode process before gunicorn starts: the database of `make run`
# plus two leave requests of a nurse waiting for her supervisor (one to complete in the page,
# one to take pictures of).
PREPARE = """
import django
django.setup()
from django.contrib.auth import get_user_model
from django.core.management import call_command
from workflows import services
from workflows.models import HumanTask
call_command("migrate", "--noinput", verbosity=0)
call_command("seed_demo", verbosity=0)
call_command("deploy_processes", verbosity=0)
call_command("collectstatic", "--noinput", verbosity=0)
nurse = get_user_model().objects.get(username="east_nurse")
ids = {}
for name, days in (("", 2), ("_pictured", 3)):
    instance = services.instance_start(
        process_key="leave_request", started_by=nurse, subject=nurse.employee,
        data={"leave_type": "annual", "days": days, "reason": "探亲 family visit"},
    )
    task = HumanTask.objects.get(instance=instance, element_id="review_by_supervisor")
    ids["instance" + name], ids["task" + name] = instance.pk, task.pk
print(" ".join(f"{k}={v}" for k, v in ids.items()))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def production_env(tmp: Path, port: int) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        # The browser tests lift Django's async guard for the session: a server never has it.
        if k not in {"DATABASE_URL", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE", "CELERY_BROKER_URL"}
        and not k.startswith("CAREFLOW_")
    }
    env.update(
        {
            "CAREFLOW_ENV": "production",
            "SECRET_KEY": "p9#Vt2!xR7@mK4$wQ8^zT1&nB5*cL3(hJ6)gF0_dS-uE+aW=oY",
            "ALLOWED_HOSTS": "127.0.0.1",
            "CAREFLOW_FIELD_KEYS": FIELD_KEYS,
            "DATABASE_URL": f"sqlite:///{tmp / 'production.sqlite3'}",
            "STATIC_ROOT": str(tmp / "static"),
            # No TLS proxy on the loopback: plain HTTP, everything else as deployed.
            "SECURE_SSL_REDIRECT": "false",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "GUNICORN_WORKERS": "2",
        }
    )
    return env


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """gunicorn with the production settings on a free loopback port: (base url, ids)."""
    tmp = tmp_path_factory.mktemp("production")
    port = free_port()
    env = production_env(tmp, port)
    prepared = subprocess.run(
        [sys.executable, "-c", PREPARE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert prepared.returncode == 0, prepared.stderr[-3000:]
    ids = dict(part.split("=") for part in prepared.stdout.strip().splitlines()[-1].split())
    log = (tmp / "gunicorn.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{base_url}/login/", timeout=5) as response:  # noqa: S310
                assert response.status == 200
            break
        except OSError:  # refused, reset or timed out while the workers start
            assert process.poll() is None, (tmp / "gunicorn.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "gunicorn did not answer within 60 s"
            time.sleep(0.3)
    yield base_url, {k: int(v) for k, v in ids.items()}, tmp
    process.terminate()
    process.wait(timeout=30)
    log.close()


class Watched:
    """A browser page that records what the production policy and the server refused."""

    def __init__(self, page):
        self.page = page
        self.violations: list[str] = []
        self.static: dict[str, int] = {}
        self.failed: list[str] = []
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"{page.url}: {error}"))
        page.on("response", self._response)
        page.on("requestfailed", lambda request: self.failed.append(request.url))
        # Runs before the page's own scripts, outside the page's CSP (Playwright injects it).
        page.add_init_script(
            "window.__csp = [];"
            "document.addEventListener('securitypolicyviolation', (e) =>"
            " window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline')));"
        )

    def _console(self, message):
        if "Content Security Policy" in message.text or message.text.startswith("Refused to"):
            self.violations.append(message.text)

    def _response(self, response):
        if "/static/" in response.url or "/jsi18n/" in response.url:
            self.static[response.url] = response.status

    def goto(self, path: str):
        response = self.page.goto(path)
        assert response.status == 200, path
        headers = response.headers
        policy = headers["content-security-policy"]
        assert policy.startswith("default-src 'self'; script-src 'self';")
        assert "content-security-policy-report-only" not in headers
        return response

    def assert_clean(self):
        self.page.wait_for_load_state("networkidle")
        reported = self.page.evaluate("window.__csp")
        assert self.violations == [], self.violations
        assert reported == [], reported
        assert self.errors == [], self.errors
        assert self.failed == [], self.failed
        assert self.static, "no static file was loaded"
        assert {url: status for url, status in self.static.items() if status != 200} == {}


@pytest.fixture
def open_as(browser, server):
    base_url, _, _ = server
    contexts = []

    def open_page(username: str, *, locale: str = "en-US", size=(1366, 900)) -> Watched:
        context = browser.new_context(
            base_url=base_url,
            locale=locale,
            viewport={"width": size[0], "height": size[1]},
        )
        context.set_default_timeout(20_000)
        contexts.append(context)
        watched = Watched(context.new_page())
        watched.goto("/login/")
        watched.page.locator("#id_username").fill(username)
        watched.page.locator("#id_password").fill(DEMO_PASSWORD)
        watched.page.locator("form[action='/login/'] button[type=submit]").click()
        watched.page.wait_for_url(re.compile(r"/$"))
        return watched

    yield open_page
    for context in contexts:
        context.close()


def test_static_files_are_served_with_hashed_names_and_long_caching(server):
    base_url, _, tmp = server
    manifest = (tmp / "static" / "staticfiles.json").read_text()
    hashed = re.search(r'"web/js/careflow.js": "(web/js/careflow\.[0-9a-f]{12}\.js)"', manifest)

    with urllib.request.urlopen(f"{base_url}/static/{hashed.group(1)}") as response:  # noqa: S310
        body = response.read()
        headers = response.headers

    assert response.status == 200
    assert b"CF.onPage" in body
    assert headers["Content-Type"].startswith("text/javascript")
    assert headers["Cache-Control"] == "max-age=315360000, public, immutable"


def test_employee_pages_run_under_the_production_policy(open_as):
    nurse = open_as("east_nurse")
    nurse.goto("/")
    expect(nurse.page.locator("#task-count")).to_be_visible()
    nurse.goto("/tasks/")
    expect(nurse.page.locator("#my-tasks")).to_be_visible()
    # The process filter submits itself when chosen (a listener now, not onchange=).
    nurse.page.locator("#process-filter").select_option("leave_request")
    nurse.page.wait_for_url(re.compile(r"/tasks/\?process=leave_request$"))
    nurse.goto("/processes/leave_request/start/")
    expect(nurse.page.locator("#start-fields .field").first).to_be_visible()
    expect(nurse.page.locator("#start-button")).to_be_enabled()
    nurse.goto("/instances/")
    expect(nurse.page.locator("#instance-list tbody tr[data-instance-id]")).to_have_count(2)
    nurse.goto("/feedback/")
    expect(nurse.page.locator("#feedback-send")).to_be_enabled()
    nurse.assert_clean()


def test_api_docs_and_admin_sign_in_run_under_the_production_policy(open_as):
    owner = open_as("owner")
    owner.goto("/api/v1/docs")
    expect(owner.page.locator(".swagger-ui .info .title")).to_contain_text("CareFlow API")
    owner.goto("/admin/login/")
    expect(owner.page.locator("#login-form")).to_be_visible()
    owner.assert_clean()


def test_supervisor_works_the_task_form_under_the_production_policy(open_as, server):
    _, ids, _ = server
    supervisor = open_as("east_head_nurse")
    supervisor.goto(f"/tasks/{ids['task']}/")

    expect(supervisor.page.locator("#task-title")).to_have_text("Review by supervisor")
    expect(supervisor.page.locator("#task-form .field[data-field='decision']")).to_be_visible()
    expect(supervisor.page.locator("#task-instructions")).to_contain_text("Approve or reject")
    expect(supervisor.page.locator("#complete-button")).to_be_enabled()
    supervisor.assert_clean()
    supervisor.page.get_by_role("radio", name="approve").check()
    supervisor.page.get_by_role("button", name="Complete task").click()
    expect(supervisor.page.locator("#completed-notice")).to_contain_text("Review by supervisor")
    supervisor.assert_clean()


def test_process_owner_models_under_the_production_policy(open_as):
    owner = open_as("owner")
    owner.goto("/modeler/")
    owner.goto("/modeler/leave_request/")

    expect(owner.page.locator("#canvas[data-ready='true']")).to_be_attached()
    expect(owner.page.locator("#canvas g.djs-element").first).to_be_visible()
    expect(owner.page.locator("#bpmn-file option")).not_to_have_count(0)
    expect(owner.page.locator("#deploy-button")).to_be_enabled()
    owner.assert_clean()


def test_group_hr_cockpit_and_dashboards_run_under_the_production_policy(open_as, server):
    _, ids, _ = server
    group_hr = open_as("hr_group")
    group_hr.goto(f"/instances/{ids['instance']}/")

    expect(group_hr.page.locator("#diagram[data-ready='true']")).to_be_attached()
    expect(group_hr.page.locator("#diagram g.djs-element").first).to_be_visible()
    expect(group_hr.page.locator("#timeline li[data-kind='instance_started']")).to_be_visible()
    expect(group_hr.page.locator("button[data-op='terminate']")).to_be_enabled()

    group_hr.goto("/dashboards/")
    for section in group_hr.page.locator("#dashboards section[data-metric]").all():
        expect(section).to_have_attribute("data-ready", "true")
        expect(section.locator("canvas")).to_be_visible()
    group_hr.assert_clean()


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
@pytest.mark.parametrize("width", list(SCREENSHOT_SIZES))
def test_task_form_screenshots(open_as, server, locale, width):
    """The task form as the production server renders it, in both languages, on a desktop
    and a phone: saved beside the server's files (the path is printed) to be looked at."""
    _, ids, tmp = server
    supervisor = open_as("east_head_nurse", locale=locale, size=SCREENSHOT_SIZES[width])
    supervisor.goto(f"/tasks/{ids['task_pictured']}/")
    expect(supervisor.page.locator("#complete-button")).to_be_enabled()
    expect(supervisor.page.locator("#task-form .field").first).to_be_visible()
    supervisor.assert_clean()
    path = tmp / f"task-form-{locale}-{width}.png"
    supervisor.page.screenshot(path=str(path), full_page=True)
    print(path)
