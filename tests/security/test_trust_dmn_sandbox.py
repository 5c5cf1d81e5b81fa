"""[trust] item 10: every expression of a decision table (input expressions, input entries,
output entries) compiles in the sandbox at deploy, like a diagram's scripts. A process owner's
DMN carrying `__import__('os')` is refused with a 400 naming the DMN file and the entry, and
nothing is stored."""

import io

import pytest
from rest_framework.test import APIClient

from tests.conftest import shipped_bundle
from workflows.models import ProcessVersion

pytestmark = pytest.mark.django_db

ESCAPE = "__import__('os').system('id')"

# (what the owner changes in leave_approval_route.dmn, the element the refusal names)
ATTACKS = {
    "input entry": (
        ('<inputEntry id="rule_family_emergency_type">\n          <text>"family_emergency"</text>'),
        f'<inputEntry id="rule_family_emergency_type">\n          <text>{ESCAPE}</text>',
        "rule_family_emergency_type",
    ),
    "input entry with ?": (
        '<inputEntry id="rule_family_emergency_type">\n          <text>"family_emergency"</text>',
        f'<inputEntry id="rule_family_emergency_type">\n          <text>? == {ESCAPE}</text>',
        "rule_family_emergency_type",
    ),
    "input entry as a comparison": (
        '<inputEntry id="rule_family_emergency_type">\n          <text>"family_emergency"</text>',
        f'<inputEntry id="rule_family_emergency_type">\n          <text>&gt; {ESCAPE}</text>',
        "rule_family_emergency_type",
    ),
    "output entry": (
        '<outputEntry id="rule_family_emergency_route">\n          <text>"supervisor_only"</text>',
        f'<outputEntry id="rule_family_emergency_route">\n          <text>{ESCAPE}</text>',
        "rule_family_emergency_route",
    ),
    "input expression": (
        "<text>leave_type</text>",
        f"<text>{ESCAPE}</text>",
        "input_leave_type",
    ),
}


def upload(user, files: dict[str, bytes]):
    client = APIClient()
    client.force_authenticate(user)
    parts = []
    for name, content in files.items():
        part = io.BytesIO(content)
        part.name = name
        parts.append(part)
    return client.post("/api/v1/deployments", {"files": parts}, format="multipart")


def with_dmn_change(old: str, new: str) -> dict[str, bytes]:
    files = shipped_bundle("leave_request.bpmn")
    dmn = files["leave_approval_route.dmn"].decode()
    assert dmn.count(old) == 1
    return {**files, "leave_approval_route.dmn": dmn.replace(old, new).encode()}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_a_decision_table_escaping_the_sandbox_is_refused_at_deploy(personas, attack):
    old, new, element = ATTACKS[attack]

    response = upload(personas.process_owner, with_dmn_change(old, new))

    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert [(e["file"], e["element"]) for e in errors] == [("leave_approval_route.dmn", element)]
    assert errors[0]["message"].startswith("script refused: ")
    assert '"__import__" is an invalid variable name' in errors[0]["message"]
    assert not ProcessVersion.objects.exists()


def test_a_new_version_with_such_a_table_stores_nothing(leave_request, personas):
    old, new, _element = ATTACKS["input entry"]

    response = upload(personas.process_owner, with_dmn_change(old, new))

    assert response.status_code == 400, response.content
    assert list(ProcessVersion.objects.values_list("number", flat=True)) == [1]


def test_the_shipped_decision_tables_still_deploy(personas):
    response = upload(personas.process_owner, shipped_bundle("leave_request.bpmn"))

    assert response.status_code == 201, response.content
