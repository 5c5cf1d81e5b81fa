"""Every endpoint x every persona answers with the expected status.

The table is checked against the URL conf, so a new endpoint without a row fails."""

import io
from dataclasses import dataclass

import pytest
from django.urls import URLPattern

from api import urls as api_urls
from tests.api.conftest import client_for
from tests.conftest import bundle_files, shipped_bundle
from workflows import services

pytestmark = pytest.mark.django_db

PERSONAS = [
    "anonymous",
    "employee",
    "supervisor",
    "other_clinic_hr",
    "group_hr",
    "process_owner",
    "auditor",
]


@dataclass
class World:
    version: object
    instance: object
    task: object
    incident: object


@pytest.fixture
def world(org, personas, leave_request, settings):
    settings.CAREFLOW = {**settings.CAREFLOW, "SCRIPT_MAX_LINES": 500}
    instance = services.instance_start(
        process_key="leave_request",
        started_by=org.nurse.user,
        subject=org.nurse,
        data={"leave_type": "annual", "days": 2},
    )
    services.version_deploy(files=bundle_files("script_loop"))
    failed = services.instance_start(
        process_key="script_loop", started_by=org.nurse.user, subject=org.nurse
    )
    return World(leave_request, instance, instance.tasks.get(), failed.incidents.get())


def bundle_upload():
    parts = []
    for name, content in shipped_bundle("leave_request.bpmn").items():
        part = io.BytesIO(content)
        part.name = name
        parts.append(part)
    return {"files": parts}


# (url name, method) -> (path, body, format), statuses per persona in PERSONAS order.
def requests_for(i: int, t: int, v: int, incident: int, note: int, e: int):
    return {
        ("auth-token", "post"): (
            ("/api/v1/auth/token", {}, "json"),
            [400, 400, 400, 400, 400, 400, 400],
        ),
        # Signing out revokes the token the request carries: these callers carry none (forced
        # authentication); tests/security/test_trust_tokens.py signs out with real tokens.
        ("auth-logout", "post"): (
            ("/api/v1/auth/logout", None, None),
            [401, 401, 401, 401, 401, 401, 401],
        ),
        ("auth-logout-all", "post"): (
            ("/api/v1/auth/logout-all", None, None),
            [401, 204, 204, 204, 204, 204, 204],
        ),
        ("me", "get"): (("/api/v1/me", None, None), [401, 200, 200, 200, 200, 200, 200]),
        ("definitions", "get"): (
            ("/api/v1/definitions", None, None),
            [401, 200, 200, 200, 200, 200, 200],
        ),
        ("versions", "get"): (
            ("/api/v1/definitions/leave_request/versions", None, None),
            [401, 403, 403, 403, 200, 200, 200],
        ),
        ("start-form", "get"): (
            ("/api/v1/definitions/leave_request/start-form", None, None),
            [401, 200, 200, 200, 200, 200, 200],
        ),
        ("deployments", "post"): (
            ("/api/v1/deployments", "bundle", "multipart"),
            [401, 403, 403, 403, 403, 200, 403],
        ),
        ("deployments", "get"): (
            ("/api/v1/deployments", None, None),
            [401, 403, 403, 403, 200, 200, 200],
        ),
        ("deployment", "get"): (
            (f"/api/v1/deployments/{v}", None, None),
            [401, 403, 403, 403, 200, 200, 200],
        ),
        ("deployment-diff", "get"): (
            (f"/api/v1/deployments/{v}/diff", None, None),
            [401, 403, 403, 403, 200, 200, 200],
        ),
        # v is current without review: nothing to approve or reject (409) for group HR.
        ("deployment-approve", "post"): (
            (f"/api/v1/deployments/{v}/approve", {}, "json"),
            [401, 403, 403, 403, 409, 403, 403],
        ),
        ("deployment-reject", "post"): (
            (f"/api/v1/deployments/{v}/reject", {}, "json"),
            [401, 403, 403, 403, 409, 403, 403],
        ),
        ("version-file", "get"): (
            (f"/api/v1/versions/{v}/files/leave_request.bpmn", None, None),
            [401, 403, 403, 403, 200, 200, 200],
        ),
        ("inbox", "get"): (("/api/v1/tasks", None, None), [401, 200, 200, 200, 200, 200, 200]),
        ("task", "get"): ((f"/api/v1/tasks/{t}", None, None), [401, 200, 200, 404, 200, 404, 200]),
        ("task-claim", "post"): (
            (f"/api/v1/tasks/{t}/claim", {}, "json"),
            [401, 403, 200, 404, 403, 404, 403],
        ),
        ("task-unclaim", "post"): (
            (f"/api/v1/tasks/{t}/unclaim", {}, "json"),
            [401, 409, 409, 404, 409, 404, 409],
        ),
        ("task-delegate", "post"): (
            (f"/api/v1/tasks/{t}/delegate", {"to_user": "east_hr"}, "json"),
            [401, 403, 403, 404, 403, 404, 403],
        ),
        ("task-delegates", "get"): (
            (f"/api/v1/tasks/{t}/delegates", None, None),
            [401, 200, 200, 404, 200, 404, 200],
        ),
        ("task-complete", "post"): (
            (f"/api/v1/tasks/{t}/complete", {"data": {"decision": "approve"}}, "json"),
            [401, 403, 200, 404, 403, 404, 403],
        ),
        ("instances", "get"): (
            ("/api/v1/instances", None, None),
            [401, 200, 200, 200, 200, 200, 200],
        ),
        ("instance-start", "post"): (
            (
                "/api/v1/instances/start",
                {"process": "leave_request", "data": {"leave_type": "sick", "days": 1}},
                "json",
            ),
            [401, 201, 201, 201, 201, 403, 403],
        ),
        ("instance", "get"): (
            (f"/api/v1/instances/{i}", None, None),
            [401, 200, 200, 404, 200, 404, 200],
        ),
        ("history", "get"): (
            (f"/api/v1/instances/{i}/history", None, None),
            [401, 200, 200, 404, 200, 404, 200],
        ),
        ("history-verify", "get"): (
            (f"/api/v1/instances/{i}/history/verify", None, None),
            [401, 403, 403, 404, 200, 403, 200],
        ),
        ("history-csv", "get"): (
            (f"/api/v1/instances/{i}/history/export.csv", None, None),
            [401, 403, 403, 404, 200, 403, 200],
        ),
        ("history-json", "get"): (
            (f"/api/v1/instances/{i}/history/export.json", None, None),
            [401, 403, 403, 404, 200, 403, 200],
        ),
        ("instance-suspend", "post"): (
            (f"/api/v1/instances/{i}/suspend", {}, "json"),
            [401, 403, 403, 403, 200, 403, 403],
        ),
        ("instance-resume", "post"): (
            (f"/api/v1/instances/{i}/resume", {}, "json"),
            [401, 403, 403, 403, 409, 403, 403],
        ),
        ("instance-terminate", "post"): (
            (f"/api/v1/instances/{i}/terminate", {}, "json"),
            [401, 403, 403, 403, 200, 403, 403],
        ),
        ("instance-migrate", "post"): (
            (f"/api/v1/instances/{i}/migrate", {"to_version": 1}, "json"),
            [401, 403, 403, 404, 409, 403, 403],
        ),
        ("incidents", "get"): (
            ("/api/v1/incidents", None, None),
            [401, 403, 403, 403, 200, 403, 200],
        ),
        ("incident-retry", "post"): (
            (f"/api/v1/incidents/{incident}/retry", {}, "json"),
            [401, 403, 403, 403, 200, 403, 403],
        ),
        ("messages", "post"): (
            ("/api/v1/messages", {"name": "appraisal_scores"}, "json"),
            [401, 403, 403, 403, 404, 403, 403],
        ),
        ("notifications", "get"): (
            ("/api/v1/notifications", None, None),
            [401, 200, 200, 200, 200, 200, 200],
        ),
        ("notifications-read-all", "post"): (
            ("/api/v1/notifications/read-all", {}, "json"),
            [401, 200, 200, 200, 200, 200, 200],
        ),
        ("notification-read", "post"): (
            (f"/api/v1/notifications/{note}/read", {}, "json"),
            [401, 404, 200, 404, 404, 404, 404],
        ),
        ("benefits", "get"): (
            ("/api/v1/benefits", None, None),
            [401, 200, 200, 200, 200, 200, 200],
        ),
        ("feedback-submit", "post"): (
            ("/api/v1/feedback", {}, "json"),
            [401, 400, 400, 400, 400, 400, 400],
        ),
        ("feedback-receipt", "post"): (
            ("/api/v1/feedback/receipt", {"receipt_code": "NO-SUCH-CODE"}, "json"),
            [404, 404, 404, 404, 404, 404, 404],
        ),
        ("feedback-reply", "post"): (
            ("/api/v1/feedback/reply", {"receipt_code": "NO-SUCH-CODE", "text": "x"}, "json"),
            [404, 404, 404, 404, 404, 404, 404],
        ),
        ("feedback-receipt-in-path", "get"): (
            ("/api/v1/feedback/NO-SUCH-CODE", None, None),
            [410, 410, 410, 410, 410, 410, 410],
        ),
        ("appraisals", "post"): (
            ("/api/v1/appraisals", {}, "json"),
            [401, 403, 400, 403, 403, 403, 403],
        ),
        ("appraisals-close-month", "post"): (
            ("/api/v1/appraisals/close-month", {"period": "2020-01"}, "json"),
            [401, 403, 403, 403, 200, 403, 403],
        ),
        ("documents", "post"): (
            ("/api/v1/documents/", {}, "multipart"),
            [401, 400, 400, 400, 400, 400, 400],
        ),
        ("document", "get"): (
            ("/api/v1/documents/00000000-0000-4000-8000-000000000000/", None, None),
            [401, 404, 404, 404, 404, 404, 404],
        ),
        ("licences", "get"): (
            ("/api/v1/licences/", None, None),
            [401, 200, 200, 200, 200, 200, 200],
        ),
        ("signals", "get"): (
            ("/api/v1/signals/", None, None),
            [401, 200, 200, 200, 200, 200, 200],
        ),
        ("signals", "post"): (
            ("/api/v1/signals/", {}, "json"),
            [401, 403, 400, 400, 400, 403, 403],
        ),
        ("metrics-turnover", "get"): (
            ("/api/v1/metrics/turnover/?from=2026-01-01&to=2026-01-31", None, None),
            [401, 403, 403, 200, 200, 403, 200],
        ),
        ("metrics-training", "get"): (
            ("/api/v1/metrics/training/?from=2026-01-01&to=2026-01-31", None, None),
            [401, 403, 403, 200, 200, 403, 200],
        ),
        ("metrics-feedback", "get"): (
            ("/api/v1/metrics/feedback/?from=2026-01-01&to=2026-01-31", None, None),
            [401, 403, 403, 200, 200, 403, 200],
        ),
        ("metrics-cycle-time", "get"): (
            ("/api/v1/metrics/cycle-time/?from=2026-01-01&to=2026-01-31", None, None),
            [401, 403, 403, 200, 200, 403, 200],
        ),
        ("metrics-open-tasks", "get"): (
            ("/api/v1/metrics/open-tasks/", None, None),
            [401, 403, 403, 200, 200, 403, 200],
        ),
        ("care-gifts", "post"): (
            ("/api/v1/family/care-gifts", {}, "json"),
            [401, 400, 400, 400, 400, 400, 400],
        ),
        ("stories", "get"): (
            ("/api/v1/stories/", None, None),
            [401, 200, 200, 200, 200, 200, 200],
        ),
        ("stories", "post"): (
            ("/api/v1/stories/", {}, "multipart"),
            [401, 400, 400, 400, 400, 400, 400],
        ),
        ("story", "get"): (
            ("/api/v1/stories/999999/", None, None),
            [401, 404, 404, 404, 404, 404, 404],
        ),
        ("story-likes", "post"): (
            ("/api/v1/stories/999999/likes/", {}, "json"),
            [401, 404, 404, 404, 404, 404, 404],
        ),
        ("story-comments", "get"): (
            ("/api/v1/stories/999999/comments/", None, None),
            [401, 404, 404, 404, 404, 404, 404],
        ),
        ("story-comments", "post"): (
            ("/api/v1/stories/999999/comments/", {"text": "hi"}, "json"),
            [401, 404, 404, 404, 404, 404, 404],
        ),
        ("story-photo", "get"): (
            ("/api/v1/stories/999999/photos/1/", None, None),
            [401, 404, 404, 404, 404, 404, 404],
        ),
        ("employees", "get"): (
            ("/api/v1/employees/", None, None),
            [401, 200, 200, 200, 200, 200, 200],
        ),
        ("employee", "get"): (
            (f"/api/v1/employees/{e}/", None, None),
            [401, 200, 200, 404, 200, 404, 404],
        ),
        ("employee", "patch"): (
            (f"/api/v1/employees/{e}/", {"phone": "13800000000"}, "json"),
            [401, 200, 403, 404, 200, 404, 404],
        ),
        ("access-log", "get"): (
            ("/api/v1/audit/access-log/", None, None),
            [401, 403, 403, 403, 403, 403, 200],
        ),
        ("schema", "get"): (("/api/v1/schema", None, None), [200, 200, 200, 200, 200, 200, 200]),
        ("docs", "get"): (("/api/v1/docs", None, None), [200, 200, 200, 200, 200, 200, 200]),
    }


def routed_operations() -> set[tuple[str, str]]:
    """(url name, method) for every route of the API and every method its view implements."""
    found = set()
    for pattern in api_urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        view = pattern.callback.view_class
        for method in ("get", "post", "put", "patch", "delete"):
            if hasattr(view, method):
                found.add((pattern.name, method))
    return found


def ids(w: World) -> tuple[int, int, int, int, int, int]:
    note = w.instance.notifications.get(recipient__username="head_nurse")
    return w.instance.pk, w.task.pk, w.version.pk, w.incident.pk, note.pk, w.instance.subject_id


def test_the_table_covers_every_endpoint(world):
    assert routed_operations() == set(requests_for(*ids(world)))


CASES = [
    (name, method, persona_index)
    for (name, method) in requests_for(0, 0, 0, 0, 0, 0)
    for persona_index in range(len(PERSONAS))
]


@pytest.mark.parametrize(
    ("name", "method", "persona_index"),
    CASES,
    ids=[f"{n}-{m}-{PERSONAS[p]}" for n, m, p in CASES],
)
def test_status(world, personas, name, method, persona_index):
    (path, body, fmt), statuses = requests_for(*ids(world))[(name, method)]
    persona = PERSONAS[persona_index]
    user = None if persona == "anonymous" else getattr(personas, persona)
    client = client_for(user)
    if body == "bundle":
        body = bundle_upload()

    if method == "get":
        response = client.get(path)
    else:
        response = getattr(client, method)(path, body, format=fmt)

    assert response.status_code == statuses[persona_index], response.content[:300]


def test_integration_accounts_may_send_messages(world, personas):
    response = client_for(personas.integration).post(
        "/api/v1/messages", {"name": "appraisal_scores"}, format="json"
    )

    assert response.status_code == 404
    assert response.json()["detail"].startswith("no process is waiting for message")
