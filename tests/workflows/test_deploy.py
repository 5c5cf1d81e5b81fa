"""Deploying a bundle: valid content becomes a numbered version, anything unsafe is refused."""

import json
from dataclasses import dataclass, field

import pytest

from tests.conftest import bundle_files
from workflows import services
from workflows.exceptions import DeployRefused
from workflows.models import ProcessDefinition, ProcessVersion

pytestmark = pytest.mark.django_db

BPMN = "simple_task.bpmn"
FORM = "simple_form.json"
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'


def replaced(files: dict[str, bytes], name: str, old: str, new: str) -> dict[str, bytes]:
    """A copy of `files` where `old` (which must occur in file `name`) is replaced by `new`."""
    text = files[name].decode()
    assert old in text, f"{old!r} is not in {name}"
    return {**files, name: text.replace(old, new).encode()}


def with_extra_step(files: dict[str, bytes], step: str) -> dict[str, bytes]:
    """simple_task with the element `step` (id "extra_step") between the user task and the end."""
    files = replaced(
        files,
        BPMN,
        'sourceRef="do_the_work" targetRef="work_done" />',
        'sourceRef="do_the_work" targetRef="extra_step" />'
        + step
        + '<bpmn:sequenceFlow id="flow_to_end" sourceRef="extra_step" targetRef="work_done" />',
    )
    return replaced(
        files,
        BPMN,
        "<bpmn:incoming>flow_to_work_done</bpmn:incoming>\n    </bpmn:endEvent>",
        "<bpmn:incoming>flow_to_end</bpmn:incoming>\n    </bpmn:endEvent>",
    )


def script_task(script: str) -> str:
    return f"""
    <bpmn:scriptTask id="extra_step" name="Extra step 额外步骤" scriptFormat="python">
      <bpmn:incoming>flow_to_work_done</bpmn:incoming>
      <bpmn:outgoing>flow_to_end</bpmn:outgoing>
      <bpmn:script>{script}</bpmn:script>
    </bpmn:scriptTask>"""


def service_task(operator: str) -> str:
    return f"""
    <bpmn:serviceTask id="extra_step" name="Extra step 额外步骤">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="{operator}" resultVariable="result">
          <spiffworkflow:parameters />
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
      <bpmn:incoming>flow_to_work_done</bpmn:incoming>
      <bpmn:outgoing>flow_to_end</bpmn:outgoing>
    </bpmn:serviceTask>"""


def with_pre_script(files: dict[str, bytes], script: str) -> dict[str, bytes]:
    """simple_task whose user task runs `script` before it becomes ready."""
    return replaced(
        files,
        BPMN,
        "<spiffworkflow:properties>",
        f"<spiffworkflow:preScript>{script}</spiffworkflow:preScript>\n"
        "        <spiffworkflow:properties>",
    )


def with_doctype(files: dict[str, bytes], doctype: str, entity: str) -> dict[str, bytes]:
    """simple_task with a DTD after the XML declaration and `entity` used in the documentation."""
    files = replaced(files, BPMN, XML_DECLARATION, XML_DECLARATION + "\n" + doctype)
    return replaced(
        files, BPMN, "<bpmn:documentation>Do the work", f"<bpmn:documentation>{entity} Do the work"
    )


def without(files: dict[str, bytes], name: str) -> dict[str, bytes]:
    assert name in files
    return {k: v for k, v in files.items() if k != name}


# --- deploying valid bundles ----------------------------------------------------------------


def test_a_valid_bundle_deploys_as_version_one():
    files = bundle_files("simple_task")

    result = services.version_deploy(files=files, deployed_by=None)

    assert result.created is True
    assert result.version.number == 1
    assert result.version.definition.key == "simple_task"
    assert result.version.definition.name == "Simple task 简单任务"
    assert result.version.bpmn_files == {BPMN: files[BPMN].decode()}
    assert result.version.forms == {FORM: json.loads(files[FORM])}
    assert result.version.summary["process_id"] == "simple_task"
    assert result.version.summary["start_form"] == ""
    assert result.version.summary["user_tasks"] == {
        "do_the_work": {
            "name": "Do the work 完成工作",
            "lane": "Employee (员工)",
            "form": FORM,
            "ui_form": "",
            "not_by_initiator": False,
        }
    }


def test_deploying_identical_content_again_returns_the_same_version():
    first = services.version_deploy(files=bundle_files("simple_task"), deployed_by=None)

    again = services.version_deploy(files=bundle_files("simple_task"), deployed_by=None)

    assert again.created is False
    assert again.version.pk == first.version.pk
    assert again.version.number == 1
    assert ProcessVersion.objects.count() == 1


def test_changed_content_becomes_the_next_version():
    files = bundle_files("simple_task")
    first = services.version_deploy(files=files, deployed_by=None)
    changed = replaced(
        files, FORM, '"title": "Work report 工作记录"', '"title": "Work log 工作日志"'
    )

    second = services.version_deploy(files=changed, deployed_by=None)

    assert second.created is True
    assert second.version.number == 2
    assert second.version.definition == first.version.definition
    assert second.version.forms[FORM]["title"] == "Work log 工作日志"
    assert ProcessDefinition.objects.count() == 1
    assert ProcessVersion.objects.count() == 2


def test_the_deploying_user_is_recorded(org):
    result = services.version_deploy(files=bundle_files("simple_task"), deployed_by=org.nurse.user)

    assert result.version.deployed_by == org.nurse.user


def test_a_safe_script_task_is_accepted():
    files = with_extra_step(bundle_files("simple_task"), script_task("total = hours * 2"))

    result = services.version_deploy(files=files, deployed_by=None)

    assert result.created is True
    assert result.version.number == 1


# --- refusals -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    files: dict[str, bytes]
    file: str
    element: str
    message: str
    careflow: dict = field(default_factory=dict)


SIMPLE = bundle_files("simple_task")

REFUSALS = {
    "malformed XML": Refusal(
        files=replaced(SIMPLE, BPMN, "</bpmn:definitions>", ""),
        file=BPMN,
        element="",
        message="not well-formed XML",
    ),
    "external entity (XXE)": Refusal(
        files=with_doctype(SIMPLE, '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>', "&e;"),
        file=BPMN,
        element="",
        message="XML with a DTD or entities is not accepted",
    ),
    "billion laughs": Refusal(
        files=with_doctype(
            SIMPLE,
            '<!DOCTYPE lolz [<!ENTITY lol "lol">'
            '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
            '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>',
            "&lol3;",
        ),
        file=BPMN,
        element="",
        message="XML with a DTD or entities is not accepted",
    ),
    "no executable process": Refusal(
        files=replaced(SIMPLE, BPMN, 'isExecutable="true"', 'isExecutable="false"'),
        file=BPMN,
        element="",
        message="no executable process",
    ),
    "unknown lane": Refusal(
        files=replaced(SIMPLE, BPMN, 'name="Employee (员工)"', 'name="Janitor"'),
        file=BPMN,
        element="task_requested",
        message="unknown lane 'Janitor'",
    ),
    "missing form file": Refusal(
        files=without(SIMPLE, FORM),
        file=BPMN,
        element="do_the_work",
        message="form 'simple_form.json' is not in the bundle",
    ),
    "form that is not a JSON Schema": Refusal(
        files=replaced(SIMPLE, FORM, '"type": "object"', '"type": 12'),
        file=FORM,
        element="type",
        message="not a valid JSON Schema",
    ),
    "form that is not JSON": Refusal(
        files={**SIMPLE, FORM: SIMPLE[FORM][:40]},
        file=FORM,
        element="",
        message="form is not valid JSON",
    ),
    "pre-script that imports": Refusal(
        files=with_pre_script(SIMPLE, "import os"),
        file=BPMN,
        element="do_the_work",
        message="script refused: Line 1: Imports are not allowed in process scripts.",
    ),
    "script task that imports": Refusal(
        files=with_extra_step(SIMPLE, script_task("import os")),
        file=BPMN,
        element="extra_step",
        message="script refused: Line 1: Imports are not allowed in process scripts.",
    ),
    "script task reaching __subclasses__": Refusal(
        files=with_extra_step(
            SIMPLE, script_task("found = ().__class__.__base__.__subclasses__()")
        ),
        file=BPMN,
        element="extra_step",
        message='"__subclasses__" is an invalid attribute name because it starts with "_"',
    ),
    "unregistered service operator": Refusal(
        files=with_extra_step(SIMPLE, service_task("evil.rm_rf")),
        file=BPMN,
        element="extra_step",
        message="service operator 'evil.rm_rf' is not registered",
    ),
    "unknown file type": Refusal(
        files={**SIMPLE, "notes.txt": b"remember the milk"},
        file="notes.txt",
        element="",
        message="unknown file type (expected .bpmn, .dmn, .json)",
    ),
    "file name with a path": Refusal(
        files={**without(SIMPLE, FORM), "../simple_form.json": SIMPLE[FORM]},
        file="../simple_form.json",
        element="",
        message="file names may not contain paths",
    ),
    "oversize file": Refusal(
        files=SIMPLE,
        file=BPMN,
        element="",
        message="file is larger than 1000 bytes",
        careflow={"BUNDLE_MAX_FILE_BYTES": 1000},
    ),
}


@pytest.mark.parametrize("case", REFUSALS.values(), ids=REFUSALS.keys())
def test_an_unsafe_or_invalid_bundle_is_refused_and_nothing_is_stored(case, settings):
    settings.CAREFLOW = {**settings.CAREFLOW, **case.careflow}

    with pytest.raises(DeployRefused) as refused:
        services.version_deploy(files=case.files, deployed_by=None)

    problems = refused.value.problems
    assert {(p["file"], p["element"]) for p in problems} == {(case.file, case.element)}
    assert any(case.message in p["message"] for p in problems)
    assert ProcessDefinition.objects.count() == 0
    assert ProcessVersion.objects.count() == 0


def test_every_problem_of_a_bundle_is_reported_together():
    files = without(replaced(SIMPLE, BPMN, 'name="Employee (员工)"', 'name="Janitor"'), FORM)

    with pytest.raises(DeployRefused) as refused:
        services.version_deploy(files=files, deployed_by=None)

    assert [(p["file"], p["element"]) for p in refused.value.problems] == [
        (BPMN, "task_requested"),
        (BPMN, "do_the_work"),
    ]
