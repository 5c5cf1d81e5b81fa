"""Hostile BPMN, DMN and form uploads to POST /deployments: XML bombs, external entities, deep
nesting, bad file names and oversize requests are refused with 4xx naming the file, nothing
is deployed, and no entity is ever resolved (a local HTTP server records any fetch)."""

import http.server
import threading

import pytest

from tests.api.conftest import client_for
from tests.api.test_bad_input import upload
from tests.conftest import shipped_bundle
from tests.reliability.conftest import snapshot

pytestmark = pytest.mark.django_db

BPMN_HEAD = b'<?xml version="1.0" encoding="UTF-8"?>\n'
BPMN_BODY = (
    b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"'
    b' id="d" targetNamespace="urn:t"><bpmn:process id="p" name="&x;" isExecutable="true">'
    b'<bpmn:startEvent id="s"/></bpmn:process></bpmn:definitions>'
)
DMN_BODY = (
    b'<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="&x;"'
    b' namespace="urn:t"/>'
)

BILLION_LAUGHS = b"""<!DOCTYPE d [
 <!ENTITY a "lol">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
 <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
 <!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">
 <!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;">
 <!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;">
 <!ENTITY x "&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;">
]>
"""
QUADRATIC_BLOWUP = b'<!DOCTYPE d [<!ENTITY big "' + b"A" * 50_000 + b'">]>\n'


def _quadratic(body: bytes) -> bytes:
    # One 50 kB entity referenced 2,000 times: 100 MB once expanded.
    return BPMN_HEAD + QUADRATIC_BLOWUP + body.replace(b"&x;", b"&big;" * 2000)


@pytest.fixture
def secret_file(tmp_path):
    path = tmp_path / "secret.txt"
    path.write_text("careflow-secret-salary-table")
    return path


@pytest.fixture
def fetch_recorder():
    """A local HTTP server that records every request an XML parser might make."""
    fetched: list[str] = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the stdlib's name
            fetched.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"fetched-from-the-network")

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/dtd", fetched
    server.shutdown()
    server.server_close()


def xml_attacks(body: bytes, secret_url: str, http_url: str) -> dict[str, bytes]:
    return {
        "billion-laughs": BPMN_HEAD + BILLION_LAUGHS + body,
        "quadratic-blowup": _quadratic(body),
        "xxe-file": BPMN_HEAD
        + f'<!DOCTYPE d [<!ENTITY x SYSTEM "{secret_url}">]>\n'.encode()
        + body,
        "xxe-http": BPMN_HEAD + f'<!DOCTYPE d [<!ENTITY x SYSTEM "{http_url}">]>\n'.encode() + body,
        "xxe-parameter-entity": BPMN_HEAD
        + f'<!DOCTYPE d [<!ENTITY % p SYSTEM "{http_url}"> %p;]>\n'.encode()
        + body.replace(b"&x;", b"x"),
        "external-dtd": BPMN_HEAD
        + f'<!DOCTYPE d SYSTEM "{http_url}">\n'.encode()
        + body.replace(b"&x;", b"x"),
    }


ATTACKS = [
    "billion-laughs",
    "quadratic-blowup",
    "xxe-file",
    "xxe-http",
    "xxe-parameter-entity",
    "external-dtd",
]


@pytest.mark.parametrize("kind", ["bpmn", "dmn"])
@pytest.mark.parametrize("attack", ATTACKS)
def test_xml_bombs_and_external_entities_are_refused(
    org, personas, secret_file, fetch_recorder, attack, kind
):
    http_url, fetched = fetch_recorder
    body = BPMN_BODY if kind == "bpmn" else DMN_BODY
    content = xml_attacks(body, secret_file.as_uri(), http_url)[attack]
    files = {**shipped_bundle("leave_request.bpmn"), f"evil.{kind}": content}
    before = snapshot()

    response = upload(client_for(personas.process_owner), files)

    assert response.status_code == 400, response.content[:300]
    assert response.json()["detail"] == "the bundle was refused"
    (problem,) = response.json()["errors"]
    assert problem["file"] == f"evil.{kind}"
    assert problem["message"].startswith("XML with a DTD or entities is not accepted")
    assert "careflow-secret" not in response.content.decode()
    assert fetched == []
    assert snapshot() == before


def nested_form(levels: int) -> bytes:
    return ('{"type": "object", "x": ' + "[" * levels + "]" * levels + "}").encode()


@pytest.mark.parametrize("levels", [10_000, 900], ids=["10000-deep", "900-deep"])
def test_a_deeply_nested_form_is_refused(org, personas, levels):
    files = {**shipped_bundle("leave_request.bpmn"), "deep.json": nested_form(levels)}
    before = snapshot()

    response = upload(client_for(personas.process_owner), files)

    assert response.status_code == 400, response.content[:300]
    assert response.json()["errors"] == [
        {"file": "deep.json", "element": "", "message": "form is nested too deeply"}
    ]
    assert snapshot() == before


def test_deeply_nested_xml_is_refused(org, personas):
    deep = b"<a>" * 10_000 + b"</a>" * 10_000
    content = BPMN_BODY.replace(b'<bpmn:startEvent id="s"/>', deep).replace(b"&x;", b"x")
    before = snapshot()

    response = upload(client_for(personas.process_owner), {"deep.bpmn": BPMN_HEAD + content})

    assert response.status_code == 400, response.content[:300]
    (problem,) = response.json()["errors"]
    assert problem["file"] == "deep.bpmn"
    assert problem["message"].startswith("not well-formed XML")
    assert snapshot() == before


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("leave\x00.bpmn", "a file name contains a NUL or control character (U+0000)"),
        ("gpj\u202e.bpmn", "a file name contains a bidirectional override character (U+202E)"),
        ("leave\u200b.bpmn", "a file name contains an invisible zero-width character (U+200B)"),
        ("\u0301leave.bpmn", "a file name has a combining mark without a base character (U+0301)"),
    ],
    ids=["nul", "rtl-override", "zero-width", "combining-mark"],
)
def test_bad_file_names_are_refused(org, personas, name, message):
    before = snapshot()

    content = shipped_bundle("leave_request.bpmn")["leave_request.bpmn"]

    response = upload(client_for(personas.process_owner), {name: content})

    assert response.status_code == 400, response.content[:300]
    assert response.json()["errors"] == [{"field": "files", "message": message}]
    assert snapshot() == before


def test_an_upload_over_the_request_cap_is_413_before_it_is_read(org, personas, settings):
    settings.CAREFLOW = {**settings.CAREFLOW, "REQUEST_MAX_BYTES": 100_000}
    before = snapshot()

    response = upload(client_for(personas.process_owner), {"big.bpmn": b" " * 200_000})

    assert response.status_code == 413
    assert response.json() == {
        "detail": "request body too large: at most 100000 bytes are accepted"
    }
    assert snapshot() == before
