"""A process owner's form resolves `$ref` only inside itself (issue 16, item 7).

Tried as the process owner: a form `$ref` to http://127.0.0.1:… made the server fetch it
(SSRF, then a 500), a `$ref` to file:///… echoed a server file in the 400, and
file:///etc/passwd gave a 500. Now such a form is refused at deploy, naming the form file and
the `$ref` location, and nothing is stored; a version stored before that check (its form
rewritten here in the database) is validated with a registry that fetches nothing, so
completing its task is a 400 naming the field, with nothing fetched and nothing echoed.
"""

import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest

from tests.api.conftest import client_for
from tests.conftest import bundle_files
from workflows import services
from workflows.models import HumanTask, ProcessDefinition, ProcessVersion

pytestmark = pytest.mark.django_db

FORM = "simple_form.json"
SECRET = "server-side-secret-3f9c2a"
OUTSIDE = (
    "points outside this form: a form may refer only to its own parts, "
    'with a JSON pointer such as "#/$defs/address"'
)


@pytest.fixture
def listener():
    """An HTTP server on a local port that records every request it gets; it would answer
    with a schema that only a one-character note satisfies."""
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's naming
            requests.append(self.path)
            body = json.dumps({"type": "string", "maxLength": 1}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/schema+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield SimpleNamespace(url=f"http://127.0.0.1:{server.server_port}/note.json", requests=requests)
    server.shutdown()
    server.server_close()


@pytest.fixture
def secret_file(tmp_path):
    """A JSON file on the server whose content must never reach a caller."""
    path = tmp_path / "secret.json"
    path.write_text(json.dumps({"type": "string", "enum": [SECRET]}))
    return path


def form_with_note(note_schema: dict, **top) -> dict:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {"note": note_schema},
        "required": ["note"],
        "additionalProperties": False,
        **top,
    }


def bundle_with(form: dict) -> dict[str, bytes]:
    files = bundle_files("simple_task")
    files[FORM] = json.dumps(form).encode()
    return files


def upload(client, files: dict[str, bytes]):
    parts = [io.BytesIO(content) for content in files.values()]
    for part, name in zip(parts, files, strict=True):
        part.name = name
    return client.post("/api/v1/deployments", {"files": parts}, format="multipart")


def nothing_stored() -> bool:
    return not ProcessDefinition.objects.exists() and not ProcessVersion.objects.exists()


def open_task_of(client) -> str:
    started = client.post("/api/v1/instances/start", {"process": "simple_task"}, format="json")
    assert started.status_code == 201, started.json()
    (task,) = client.get("/api/v1/tasks").json()["results"]
    return task["id"]


def stored_before_the_check(form: dict) -> None:
    """The honest simple_task deployed, then its form rewritten as a version deployed before
    deploy refused outside references would hold it."""
    version = services.version_deploy(files=bundle_files("simple_task")).version
    ProcessVersion.objects.filter(pk=version.pk).update(forms={FORM: form})


# --- refused at deploy ---------------------------------------------------------------------


def test_a_ref_to_a_local_port_is_refused_at_deploy_and_never_fetched(personas, listener):
    # Given a form whose note field refers to a schema served on a local port
    files = bundle_with(form_with_note({"$ref": listener.url}))

    # When the process owner uploads it
    response = upload(client_for(personas.process_owner), files)

    # Then it is refused naming the form file and the $ref, nothing is stored or fetched
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"file": FORM, "element": "properties/note/$ref", "message": f'"{listener.url}" {OUTSIDE}'}
    ]
    assert nothing_stored()
    assert listener.requests == []


def test_a_remote_meta_schema_is_refused_at_deploy_and_never_fetched(personas, listener):
    files = bundle_with({**form_with_note({"type": "string"}), "$schema": listener.url})

    response = upload(client_for(personas.process_owner), files)

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "file": FORM,
            "element": "$schema",
            "message": "forms are JSON Schema draft 2020-12: $schema must be "
            f'"https://json-schema.org/draft/2020-12/schema" or left out, not "{listener.url}"',
        }
    ]
    assert nothing_stored()
    assert listener.requests == []


def test_a_ref_to_a_server_file_is_refused_at_deploy_without_its_content(personas, secret_file):
    ref = secret_file.as_uri()
    files = bundle_with(form_with_note({"$ref": ref}))

    response = upload(client_for(personas.process_owner), files)

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"file": FORM, "element": "properties/note/$ref", "message": f'"{ref}" {OUTSIDE}'}
    ]
    assert SECRET not in response.content.decode()
    assert nothing_stored()


def test_a_ref_to_etc_passwd_is_a_400_not_a_500(personas):
    files = bundle_with(form_with_note({"$ref": "file:///etc/passwd"}))

    response = upload(client_for(personas.process_owner), files)

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "file": FORM,
            "element": "properties/note/$ref",
            "message": f'"file:///etc/passwd" {OUTSIDE}',
        }
    ]
    assert "root:" not in response.content.decode()
    assert nothing_stored()


@pytest.mark.parametrize(
    ("form", "element", "message"),
    [
        (
            form_with_note({"$ref": "other_form.json#/properties/note"}),
            "properties/note/$ref",
            f'"other_form.json#/properties/note" {OUTSIDE}',
        ),
        (
            form_with_note({"$ref": "#/$defs/missing"}),
            "properties/note/$ref",
            '"#/$defs/missing" does not point to any part of this form',
        ),
        (
            form_with_note({"$id": "file:///etc/", "type": "string"}),
            "properties/note/$id",
            "$id is allowed only at the top of a form: references inside a form are "
            "resolved from the form itself",
        ),
        (
            # {"$ref": "#"} at the top applies the form to the same value forever (a 500).
            {**form_with_note({"type": "string"}), "$ref": "#"},
            "(root)",
            "the form's references lead back here without reaching any field: "
            "validation would never end",
        ),
    ],
    ids=["another-file", "nowhere", "nested-id", "loop"],
)
def test_other_references_the_browser_cannot_follow_are_refused(personas, form, element, message):
    response = upload(client_for(personas.process_owner), bundle_with(form))

    assert response.status_code == 400
    assert response.json()["errors"] == [{"file": FORM, "element": element, "message": message}]
    assert nothing_stored()


# --- a version stored before the check: validated without fetching anything ---------------


def test_completing_a_stored_form_with_a_local_port_ref_fetches_nothing(personas, listener):
    # Given a running instance whose stored form refers to a local port
    stored_before_the_check(form_with_note({"$ref": listener.url}))
    nurse = client_for(personas.employee)
    task_id = open_task_of(nurse)

    # When the employee completes the task
    response = nurse.post(
        f"/api/v1/tasks/{task_id}/complete", {"data": {"note": "done"}}, format="json"
    )

    # Then it is a 400 naming the field, nothing was fetched and the task is still open
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "field": "note",
            "message": f'this form cannot be checked (properties/note/$ref: "{listener.url}" '
            f"{OUTSIDE}); the process owner must deploy a corrected version",
        }
    ]
    assert listener.requests == []
    assert HumanTask.objects.get(pk=task_id).status == HumanTask.Status.OPEN


def test_completing_a_stored_form_with_a_file_ref_echoes_nothing(personas, secret_file):
    stored_before_the_check(form_with_note({"$ref": secret_file.as_uri()}))
    nurse = client_for(personas.employee)
    task_id = open_task_of(nurse)

    response = nurse.post(
        f"/api/v1/tasks/{task_id}/complete", {"data": {"note": "done"}}, format="json"
    )

    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["note"]
    assert SECRET not in response.content.decode()
    assert HumanTask.objects.get(pk=task_id).status == HumanTask.Status.OPEN


# --- honest use ----------------------------------------------------------------------------


def test_an_internal_defs_ref_works_end_to_end(personas):
    # Given a form whose note refers to a definition of its own
    form = form_with_note(
        {"$ref": "#/$defs/note"},
        **{"$defs": {"note": {"title": "Note 备注", "type": "string", "minLength": 3}}},
    )
    deployed = upload(client_for(personas.process_owner), bundle_with(form))
    assert deployed.status_code == 201, deployed.json()
    nurse = client_for(personas.employee)
    task_id = open_task_of(nurse)

    # When the employee sends a note the definition refuses, then one it accepts
    refused = nurse.post(
        f"/api/v1/tasks/{task_id}/complete", {"data": {"note": "ok"}}, format="json"
    )
    accepted = nurse.post(
        f"/api/v1/tasks/{task_id}/complete", {"data": {"note": "all done"}}, format="json"
    )

    # Then the first is a 400 naming the field and the second completes the task
    assert refused.status_code == 400
    assert refused.json()["errors"] == [{"field": "note", "message": "'ok' is too short"}]
    assert accepted.status_code == 200, accepted.json()
    assert HumanTask.objects.get(pk=task_id).status == HumanTask.Status.COMPLETED
