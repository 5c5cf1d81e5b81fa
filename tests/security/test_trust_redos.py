"""Form patterns run in linear time (issue 16, item 8).

Tried as a process owner and an employee: a form `pattern` of `^(a+)+$` doubled the
server's time per input character (Python's backtracking `re`). Form patterns,
patternProperties and the `regex` format now run on RE2 (google-re2): the same input is a
400 naming the field in microseconds, and a pattern RE2 cannot run (backreferences,
look-around) is refused at deploy naming the form and the pattern's location.
"""

import contextlib
import io
import json
import signal
import time

import pytest
from django.conf import settings

from tests.api.conftest import client_for
from tests.conftest import bundle_files
from workflows import form_schema, services
from workflows.exceptions import InvalidInput
from workflows.models import HumanTask, ProcessDefinition, ProcessVersion

pytestmark = pytest.mark.django_db

FORM = "simple_form.json"
EVIL = "^(a+)+$"
ATTACK = "a" * 5000 + "!"
# A correctness bound, not a performance goal: backtracking takes longer than the age of the
# universe on this input, RE2 microseconds.
QUICK_SECONDS = 0.5


class TookTooLong(Exception):
    pass


@contextlib.contextmanager
def at_most(seconds: float):
    """Interrupt the request after `seconds` (Python's `re` checks signals while matching),
    so that the code before the fix fails this test instead of hanging it."""

    def interrupt(signum, frame):
        raise TookTooLong(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def form(properties: dict, **top) -> dict:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
        **top,
    }


def upload(client, form_schema_: dict):
    files = bundle_files("simple_task")
    files[FORM] = json.dumps(form_schema_).encode()
    parts = [io.BytesIO(content) for content in files.values()]
    for part, name in zip(parts, files, strict=True):
        part.name = name
    return client.post("/api/v1/deployments", {"files": parts}, format="multipart")


def open_task_of(client) -> str:
    started = client.post("/api/v1/instances/start", {"process": "simple_task"}, format="json")
    assert started.status_code == 201, started.json()
    (task,) = client.get("/api/v1/tasks").json()["results"]
    return task["id"]


def complete_timed(client, task_id: str, data: dict):
    began = time.monotonic()
    with at_most(5):
        response = client.post(f"/api/v1/tasks/{task_id}/complete", {"data": data}, format="json")
    return response, time.monotonic() - began


def test_a_catastrophic_pattern_answers_400_naming_the_field_quickly(personas):
    # Given a deployed form whose note must match ^(a+)+$, and an open task with it
    deployed = upload(
        client_for(personas.process_owner), form({"note": {"type": "string", "pattern": EVIL}})
    )
    assert deployed.status_code == 201, deployed.json()
    nurse = client_for(personas.employee)
    task_id = open_task_of(nurse)

    # When the employee sends 5,000 a's and a '!'
    response, seconds = complete_timed(nurse, task_id, {"note": ATTACK})

    # Then it is a 400 naming the field, well under a second, and the task stays open
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "note", "message": f'does not match the pattern "{EVIL}"'}
    ]
    assert seconds < QUICK_SECONDS
    assert HumanTask.objects.get(pk=task_id).status == HumanTask.Status.OPEN


def test_a_catastrophic_pattern_property_answers_400_quickly(personas):
    # patternProperties (and additionalProperties deciding which keys they cover) match keys.
    schema = form({}, patternProperties={EVIL: {"type": "string"}})
    deployed = upload(client_for(personas.process_owner), schema)
    assert deployed.status_code == 201, deployed.json()
    nurse = client_for(personas.employee)
    task_id = open_task_of(nurse)

    response, seconds = complete_timed(nurse, task_id, {ATTACK: "x", "aaa": 1})

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": ATTACK, "message": "unknown field"},
        {"field": "aaa", "message": "1 is not of type 'string'"},
    ]
    assert seconds < QUICK_SECONDS


def test_a_regex_format_field_is_checked_by_re2(personas):
    deployed = upload(
        client_for(personas.process_owner), form({"rule": {"type": "string", "format": "regex"}})
    )
    assert deployed.status_code == 201, deployed.json()
    nurse = client_for(personas.employee)
    task_id = open_task_of(nurse)

    response, _ = complete_timed(nurse, task_id, {"rule": "(a)\\1"})

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "rule", "message": "'(a)\\\\1' is not a 'regex'"}
    ]


@pytest.mark.parametrize(
    ("schema", "element", "pattern", "reason"),
    [
        (
            form({"note": {"type": "string", "pattern": "^(a)\\1$"}}),
            "properties/note/pattern",
            "^(a)\\1$",
            "invalid escape sequence: \\1",
        ),
        (
            form({"note": {"type": "string", "pattern": "^(?!admin).*$"}}),
            "properties/note/pattern",
            "^(?!admin).*$",
            "invalid perl operator: (?!",
        ),
        (
            form({}, patternProperties={"^(?<=x)y$": {"type": "string"}}),
            "patternProperties/^(?<=x)y$",
            "^(?<=x)y$",
            "invalid perl operator: (?<=",
        ),
    ],
    ids=["backreference", "lookahead", "lookbehind-in-patternProperties"],
)
def test_a_pattern_re2_cannot_run_is_refused_at_deploy(personas, schema, element, pattern, reason):
    response = upload(client_for(personas.process_owner), schema)

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "file": FORM,
            "element": element,
            "message": f'pattern "{pattern}" is refused: {reason}. Form patterns run on RE2 '
            "(linear time), which has no backreferences or look-around",
        }
    ]
    assert not ProcessDefinition.objects.exists()
    assert not ProcessVersion.objects.exists()


def test_ecma_unicode_escapes_in_patterns_still_work(personas):
    # "^[\\u4e00-\\u9fa5]+$" (Chinese characters only) is ECMA-262 syntax RE2 spells \x{…}.
    schema = form({"name": {"type": "string", "pattern": "^[\\u4e00-\\u9fa5]+$"}})
    deployed = upload(client_for(personas.process_owner), schema)
    assert deployed.status_code == 201, deployed.json()
    nurse = client_for(personas.employee)
    task_id = open_task_of(nurse)

    refused, _ = complete_timed(nurse, task_id, {"name": "Zhang San"})
    accepted, _ = complete_timed(nurse, task_id, {"name": "张三"})

    assert refused.status_code == 400
    assert [e["field"] for e in refused.json()["errors"]] == ["name"]
    assert accepted.status_code == 200, accepted.json()


SHIPPED_FORMS = sorted(
    p
    for p in settings.CAREFLOW["FORMS_DIR"].glob("*.json")
    if not p.name.endswith(".uischema.json")
)


@pytest.mark.parametrize("path", SHIPPED_FORMS, ids=[p.name for p in SHIPPED_FORMS])
def test_every_shipped_form_passes_the_deploy_checks(path):
    assert form_schema.form_problems(json.loads(path.read_text())) == []


@pytest.mark.parametrize(
    ("form_file", "data", "refused_field"),
    [
        ("performance_remedial_training_start.json", {"period": "2026-12"}, None),
        ("performance_remedial_training_start.json", {"period": "2026-13"}, "period"),
        ("feedback_triage.json", {"category": "benefits", "department": "east-nursing"}, None),
        ("feedback_triage.json", {"category": "benefits", "department": "East 护理"}, "department"),
        ("pip_start.json", {"reason": "supervisor_referral", "failing_periods": ["2026-11"]}, None),
        (
            "pip_start.json",
            {"reason": "supervisor_referral", "failing_periods": ["11/2026"]},
            "failing_periods/0",
        ),
    ],
)
def test_shipped_patterns_still_validate(form_file, data, refused_field):
    schema = json.loads((settings.CAREFLOW["FORMS_DIR"] / form_file).read_text())

    if refused_field is None:
        services.validate_form_data(schema, data)
    else:
        with pytest.raises(InvalidInput) as refused:
            services.validate_form_data(schema, data)
        assert [e["field"] for e in refused.value.errors] == [refused_field]
