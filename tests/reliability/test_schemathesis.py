"""Property-based fuzzing of every operation in the committed api/openapi.yaml (schemathesis):
whatever a caller sends, as whichever demo persona, the server never answers 5xx.

Each generated request is sent for every persona (a demo user of each role with a token,
built once in the test database, and anonymous) with its path ids replaced by ids of real
rows (a running instance, its open task, a version, an incident, a notification), so fuzzed
bodies reach real objects rather than 404s; and as generated (made-up ids) for two of them.
The app is called in-process over WSGI (no network), with a small example budget that keeps
the run to about three minutes on 2 cores; CAREFLOW_FUZZ_EXAMPLES raises it for a deeper
local run.
Generation is derandomized (the same cases every run). It is part of `make test`, so CI runs
it on PostgreSQL (DATABASE_URL), where date-time offsets and text limits differ from SQLite.

Tokens come from `api_authorization`, the one place that knows how an API token is made.
"""

import os
from pathlib import Path

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.test import override_settings
from hypothesis import HealthCheck, settings
from knox.models import AuthToken

from config.wsgi import application
from hr.demo import demo_seed
from hr.models import Employee
from tests.conftest import bundle_files, shipped_bundle
from workflows import services
from workflows.models import Notification

pytestmark = pytest.mark.django_db

SCHEMA = schemathesis.openapi.from_path(Path(__file__).resolve().parents[2] / "api/openapi.yaml")
# The Swagger UI page and the schema endpoint are served by drf-spectacular, not by us.
SCHEMA = SCHEMA.exclude(path_regex=r"^/api/v1/(docs|schema)$")
EXAMPLES = int(os.environ.get("CAREFLOW_FUZZ_EXAMPLES", "8"))

# One caller per role (the demo's users holding it): enough to reach each role's code paths,
# few enough that every generated case is sent by all of them within the time budget.
PERSONAS = [
    "east_nurse",  # employee
    "east_head_nurse",  # supervisor
    "east_hr",  # clinic HR
    "hr_group",  # group HR
    "owner",  # process owner
    "auditor",  # auditor
    "appraisal_system",  # integration account
    "admin",  # operator (superuser)
]


@pytest.fixture(scope="module")
def demo_world(django_db_setup, django_db_blocker):
    """The demo group with a token per persona, and real rows for the path ids: built once
    for the module inside a transaction rolled back at its end (each test, one operation,
    runs in a savepoint of it, as pytest-django's `db` nests), instead of once per operation."""
    rates = django_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    with (
        django_db_blocker.unblock(),
        override_settings(
            PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
            # Every generated case is sent by every persona from one address: let the receipt
            # lookup's per-address throttle through, so fuzzed bodies reach the lookup itself.
            REST_FRAMEWORK={
                **django_settings.REST_FRAMEWORK,
                "DEFAULT_THROTTLE_RATES": {**rates, "feedback_receipt": "100000/min"},
            },
            CAREFLOW={**django_settings.CAREFLOW, "SCRIPT_MAX_LINES": 500},
        ),
        transaction.atomic(),
    ):
        yield _world()
        transaction.set_rollback(True)


def _world() -> tuple[dict[str, str], dict]:
    demo_seed()
    tokens = {username: api_authorization(username) for username in PERSONAS}
    services.version_deploy(files=shipped_bundle("leave_request.bpmn"))
    services.version_deploy(files=shipped_bundle("feedback_closure.bpmn"))
    services.version_deploy(files=bundle_files("script_loop"))
    nurse = Employee.objects.get(user__username="east_nurse")
    instance = services.instance_start(
        process_key="leave_request",
        started_by=nurse.user,
        subject=nurse,
        data={"leave_type": "annual", "days": 2},
    )
    failed = services.instance_start(process_key="script_loop", started_by=nurse.user)
    ids = {
        "instance_id": instance.pk,
        "task_id": instance.tasks.get().pk,
        "version_id": instance.version_id,
        "incident_id": failed.incidents.get().pk,
        "notification_id": Notification.objects.filter(instance=instance).first().pk,
        "key": "leave_request",
        "name": "leave_request.bpmn",
    }
    return tokens, ids


@pytest.fixture
def in_process_wsgi():
    # WSGI calls run in this thread, inside the test's transaction: keep Django from closing
    # the connection at request boundaries, as its own test client does.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def api_authorization(username: str) -> str:
    """The Authorization header of an API token for `username`: the one place these tests
    make tokens (a new django-rest-knox token, shown once: "Token <token>")."""
    user = get_user_model().objects.get(username=username)
    return f"Token {AuthToken.objects.create(user=user)[1]}"


@SCHEMA.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_operation_answers_a_server_error(case, demo_world, in_process_wsgi):
    tokens, ids = demo_world
    generated = dict(case.path_parameters or {})
    real = {name: ids.get(name, value) for name, value in generated.items()}
    everyone = [("anonymous", None), *tokens.items()]
    # Made-up ids mostly meet 404s: two personas are enough there; every persona on real ids.
    rounds = [(real, everyone)]
    if real != generated:
        rounds.append((generated, [everyone[0], ("hr_group", tokens["hr_group"])]))
    failures = []
    for path_parameters, callers in rounds:
        case.path_parameters = path_parameters
        for persona, authorization in callers:
            headers = {"Authorization": authorization} if authorization else {}
            response = case.call(app=application, headers=headers)
            if authorization and case.path.startswith("/api/v1/auth/logout"):
                # Signing out revoked the persona's token: the next examples need another.
                tokens[persona] = api_authorization(persona)
            if response.status_code >= 500:
                failures.append(
                    f"{persona}: {response.status_code} for {case.method} "
                    f"{case.formatted_path} {case.query or ''} {str(case.body)[:300]}"
                )
    assert failures == []
