"""Hostile and broken input across every write endpoint of the API: each is refused with a 4xx
and a message that says what is wrong, and nothing changes (every row a write could touch is
compared before and after).

Each endpoint is first shown to accept its well-formed baseline body, so a refusal below is
caused by the one thing that was broken, not by the persona or the state of the world."""

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.api.conftest import client_for
from tests.reliability.conftest import PASSWORD, World, catalogue_add, snapshot

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Endpoint:
    """A write endpoint, who may call it, a body it accepts, and its text inputs (dotted)."""

    name: str
    persona: str | None
    path: Callable[[World], str]
    body: dict
    accepted_status: int
    text_fields: tuple[str, ...] = ()


ENDPOINTS = [
    Endpoint(
        "auth-token",
        None,
        lambda w: "/api/v1/auth/token",
        {"username": "nurse", "password": PASSWORD},
        200,
        ("username", "password"),
    ),
    Endpoint(
        "instance-start",
        "employee",
        lambda w: "/api/v1/instances/start",
        {
            "process": "leave_request",
            "business_key": "LR-2026-001",
            "data": {"leave_type": "sick", "days": 1, "reason": "flu 流感"},
        },
        201,
        ("process", "business_key", "data.reason"),
    ),
    Endpoint(
        "task-complete",
        "supervisor",
        lambda w: f"/api/v1/tasks/{w.task.pk}/complete",
        {"data": {"decision": "approve", "comment": "enjoy 好好休息"}},
        200,
        ("data.comment",),
    ),
    Endpoint(
        "task-delegate",
        "supervisor",
        lambda w: f"/api/v1/tasks/{w.task.pk}/delegate",
        {"to_user": "head_nurse"},  # to themself: no one else may work the review
        200,
        ("to_user",),
    ),
    Endpoint(
        "instance-suspend",
        "group_hr",
        lambda w: f"/api/v1/instances/{w.instance.pk}/suspend",
        {"reason": "payroll audit 薪资审计"},
        200,
        ("reason",),
    ),
    Endpoint(
        "instance-terminate",
        "group_hr",
        lambda w: f"/api/v1/instances/{w.instance.pk}/terminate",
        {"reason": "filed twice 重复提交"},
        200,
        ("reason",),
    ),
    Endpoint(
        "instance-migrate",
        "group_hr",
        lambda w: f"/api/v1/instances/{w.instance.pk}/migrate",
        {"to_version": 1},
        409,  # already on version 1: accepted as input, refused by state
    ),
    Endpoint(
        "messages",
        "group_hr",
        lambda w: "/api/v1/messages",
        {"name": "appraisal_scores", "correlation": {"employee_no": "E1"}, "payload": {"a": "b"}},
        404,  # nobody waits for it: accepted as input, refused by state
        ("name", "correlation.employee_no", "payload.a"),
    ),
    Endpoint(
        "feedback-submit",
        "employee",
        lambda w: "/api/v1/feedback",
        {"text": "the night-shift roster 夜班排班 is unfair", "is_anonymous": True},
        201,
        ("text",),
    ),
    Endpoint(
        "appraisals",
        "supervisor",
        lambda w: "/api/v1/appraisals",
        {
            "employee_no": "EMPLOYEE_NO",
            "period": "2026-10",
            "scores": {"service_attitude": 80, "nursing_quality": 90, "discipline": 70},
        },
        201,
        ("employee_no", "period"),
    ),
    Endpoint(
        "appraisals-close-month",
        "group_hr",
        lambda w: "/api/v1/appraisals/close-month",
        {"period": "2026-10"},
        200,
        ("period",),
    ),
]
BY_NAME = {e.name: e for e in ENDPOINTS}


def call(world, personas, org, endpoint: Endpoint, body: Any = None, **raw):
    user = getattr(personas, endpoint.persona) if endpoint.persona else None
    client = client_for(user)
    path = endpoint.path(world)
    if raw:
        return client.generic("POST", path, **raw)
    body = copy.deepcopy(endpoint.body if body is None else body)
    if body.get("employee_no") == "EMPLOYEE_NO":
        body["employee_no"] = org.nurse.employee_no
    # Escaped ASCII JSON, as a client would send a lone surrogate ("\ud800").
    return client.generic("POST", path, json.dumps(body), content_type="application/json")


def with_value(body: dict, dotted: str, value: Any) -> dict:
    body = copy.deepcopy(body)
    *parents, last = dotted.split(".")
    target = body
    for key in parents:
        target = target[key]
    target[last] = value
    return body


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_the_baseline_body_is_accepted(world, personas, org, endpoint):
    if endpoint.name in ("feedback-submit", "appraisals", "appraisals-close-month"):
        catalogue_add()
    org.nurse.user.set_password(PASSWORD)  # slow on purpose (PBKDF2): only here
    org.nurse.user.save()

    response = call(world, personas, org, endpoint)

    assert response.status_code == endpoint.accepted_status, response.content[:300]


# --- Unicode edge cases in every text input ------------------------------------------------

BAD_TEXT = {
    "nul": ("Zhou\x00Min", "contains a NUL or control character (U+0000)"),
    "control": ("Zhou\x1bMin", "contains a NUL or control character (U+001B)"),
    "lone-surrogate": ("Zhou\ud800Min", "contains a lone surrogate (U+D800)"),
    "rtl-override": ("invoice\u202egpj.exe", "contains a bidirectional override character"),
    "bidi-isolate": ("\u2067admin\u2069", "contains a bidirectional override character"),
    "zero-width-space": ("east\u200b_hr", "contains an invisible zero-width character (U+200B)"),
    "zero-width-joiner": ("east\u200d_hr", "contains an invisible zero-width character (U+200D)"),
    "byte-order-mark": ("\ufeffeast_hr", "contains an invisible zero-width character (U+FEFF)"),
    "combining-stack": ("Z" + "\u0336\u0334\u0337\u0338\u0335" * 4, "combining marks"),
    "leading-combining-mark": ("\u0301Zhou", "combining mark without a base character"),
    "very-long": ("周" * 20_000, "is longer than 10000 characters"),
}
TEXT_CASES = [
    (endpoint, field, kind)
    for endpoint in ENDPOINTS
    for field in endpoint.text_fields
    for kind in BAD_TEXT
]


@pytest.mark.parametrize(
    ("endpoint", "field", "kind"),
    TEXT_CASES,
    ids=[f"{e.name}-{f}-{k}" for e, f, k in TEXT_CASES],
)
def test_bad_text_is_refused_naming_the_field(world, personas, org, endpoint, field, kind):
    text, message = BAD_TEXT[kind]
    before = snapshot()

    response = call(world, personas, org, endpoint, with_value(endpoint.body, field, text))

    assert response.status_code == 400, response.content[:300]
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert message in response.json()["errors"][0]["message"]
    assert snapshot() == before


def test_bad_text_in_a_key_is_refused(world, personas, org):
    endpoint = BY_NAME["messages"]
    before = snapshot()

    response = call(
        world, personas, org, endpoint, {"name": "x", "payload": {"note\u202e": "harmless"}}
    )

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "field": "payload.<key>",
            "message": "key contains a bidirectional override character (U+202E)",
        }
    ]
    assert snapshot() == before


@pytest.mark.parametrize(
    "text",
    ["José", "Jose\u0301", "Nguyễn Thị Minh", "王\u3000芳", "مريم", "👩\u200d⚕️ night shift"],
    ids=["precomposed", "decomposed", "vietnamese", "ideographic-space", "arabic", "emoji-zwj"],
)
def test_ordinary_international_text_is_accepted(world, personas, org, text):
    endpoint = BY_NAME["instance-start"]

    response = call(world, personas, org, endpoint, with_value(endpoint.body, "data.reason", text))

    assert response.status_code == 201, response.content[:300]


# --- Broken bodies, on every write endpoint -------------------------------------------------


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


BROKEN_BODIES = {
    "malformed-json": (b'{"data": {', "application/json", 400, "JSON parse error"),
    "trailing-garbage": (b'{"a": 1} {"b": 2}', "application/json", 400, "JSON parse error"),
    "not-utf8": (b'{"reason": "\xff\xfe"}', "application/json", 400, "JSON parse error"),
    "nan": (b'{"to_version": NaN}', "application/json", 400, "not JSON compliant"),
    "huge-integer": (b'{"to_version": ' + b"9" * 5000 + b"}", "application/json", 400, "JSON"),
    "unknown-charset": (b"{}", "application/json; charset=bz2_codec", 400, "Unsupported charset"),
    "nested-10000": (
        f'{{"data": {deep(10_000)}}}'.encode(),
        "application/json",
        400,
        "nested deeper than 32 levels",
    ),
    "nested-40": (
        f'{{"data": {deep(40)}}}'.encode(),
        "application/json",
        400,
        "nested deeper than 32 levels",
    ),
    "top-level-array": (b"[1, 2]", "application/json", 400, "invalid input"),
    "top-level-string": (b'"reason"', "application/json", 400, "invalid input"),
    # The message is in the caller's language; it names the media type.
    "text-plain": (b"decision=approve", "text/plain", 415, "text/plain"),
    "xml": (b"<data><decision>approve</decision></data>", "application/xml", 415, "/xml"),
    "form-urlencoded": (
        b"decision=approve",
        "application/x-www-form-urlencoded",
        415,
        "x-www-form-urlencoded",
    ),
    "multipart": (
        b"--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--b--\r\n",
        "multipart/form-data; boundary=b",
        415,
        "multipart/form-data",
    ),
    "huge-body": (
        json.dumps({"reason": "x" * (2 * 1024 * 1024)}).encode(),
        "application/json",
        413,
        "request body too large: at most 1048576 bytes",
    ),
}
BODY_CASES = [(endpoint, kind) for endpoint in ENDPOINTS for kind in BROKEN_BODIES]


@pytest.mark.parametrize(
    ("endpoint", "kind"), BODY_CASES, ids=[f"{e.name}-{k}" for e, k in BODY_CASES]
)
def test_broken_bodies_are_refused(world, personas, org, endpoint, kind):
    body, content_type, status, message = BROKEN_BODIES[kind]
    before = snapshot()

    response = call(world, personas, org, endpoint, data=body, content_type=content_type)

    assert response.status_code == status, response.content[:300]
    assert message in json.dumps(response.json(), ensure_ascii=False)
    assert snapshot() == before


def test_a_content_length_that_is_not_a_number_is_400(world, personas, org):
    response = client_for(personas.group_hr).generic(
        "POST",
        "/api/v1/messages",
        b"{}",
        content_type="application/json",
        CONTENT_LENGTH="lots",
    )

    assert response.status_code == 400
    assert response.json() == {"detail": "invalid Content-Length header"}


# --- Paths and query strings ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/tasks?process=leave%00request", "process"),
        ("/api/v1/instances?process=%ED%A0%80", None),
        ("/api/v1/instances?business_key=LR%E2%80%AE1", "business_key"),
        ("/api/v1/definitions/leave%00request/versions", "path"),
        ("/api/v1/definitions/leave_request%E2%80%8B/start-form", "path"),
        ("/api/v1/feedback/ABC%00DEF", "path"),
    ],
    ids=["query-nul", "query-invalid-utf8", "query-rtl", "path-nul", "path-zwsp", "path-anon"],
)
def test_bad_text_in_paths_and_queries_is_400(world, personas, path, field):
    response = client_for(personas.auditor).get(path)

    if field is None:
        # Bytes that are not UTF-8 decode to U+FFFD: harmless text, an ordinary empty answer.
        assert response.status_code == 200
        assert response.json()["count"] == 0
    else:
        assert response.status_code == 400, response.content[:300]
        assert [e["field"] for e in response.json()["errors"]] == [field]


# --- What the fuzzer found (tests/reliability/test_schemathesis.py) ---------------------------


@pytest.mark.parametrize("period", ["0000-01", "9999-12", "1999-12"])
def test_a_month_outside_2000_to_2099_is_400_not_500(world, personas, org, period):
    before = snapshot()

    response = client_for(personas.group_hr).post(
        "/api/v1/appraisals/close-month", {"period": period}, format="json"
    )

    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["period"]
    assert snapshot() == before
