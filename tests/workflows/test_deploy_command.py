"""`manage.py deploy_processes` deploys the shipped models idempotently and refuses bad ones."""

import shutil
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from workflows.models import ProcessDefinition, ProcessVersion

pytestmark = pytest.mark.django_db

# Well-formed BPMN that the deploy validation refuses: its script imports a module.
SCRIPT_IMPORTS_OS = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  id="payroll_export_definitions" targetNamespace="urn:careflow:test">
  <bpmn:process id="payroll_export" name="Payroll export" isExecutable="true">
    <bpmn:startEvent id="export_requested">
      <bpmn:outgoing>flow_to_export_payroll</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:scriptTask id="export_payroll" name="Export payroll" scriptFormat="python">
      <bpmn:incoming>flow_to_export_payroll</bpmn:incoming>
      <bpmn:outgoing>flow_to_export_done</bpmn:outgoing>
      <bpmn:script>import os</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="export_done">
      <bpmn:incoming>flow_to_export_done</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="flow_to_export_payroll" sourceRef="export_requested"
                       targetRef="export_payroll" />
    <bpmn:sequenceFlow id="flow_to_export_done" sourceRef="export_payroll"
                       targetRef="export_done" />
  </bpmn:process>
</bpmn:definitions>
"""

# Not even well-formed: the document stops in the middle of the process.
TRUNCATED = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">
  <bpmn:process id="truncated" isExecutable="true">
"""


def deploy(*args):
    out, err = StringIO(), StringIO()
    call_command("deploy_processes", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


LEAVE_FILES = ["leave_request.bpmn", "leave_acknowledgement.bpmn", "leave_approval_route.dmn"]


@pytest.fixture
def bpmn_dir(tmp_path):
    """A folder with the shipped leave request only, that a test may add files to."""
    folder = tmp_path / "bpmn"
    folder.mkdir()
    for name in LEAVE_FILES:
        shutil.copy(settings.CAREFLOW["BPMN_DIR"] / name, folder / name)
    return folder


def test_every_shipped_process_deploys():
    out, err = deploy()

    assert err == ""
    assert all(line.endswith("(deployed)") for line in out.splitlines())
    assert sorted(ProcessDefinition.objects.values_list("key", flat=True)) == sorted(
        line.split(":")[0] for line in out.splitlines()
    )


def test_the_leave_request_bundle_is_deployed(bpmn_dir):
    out, err = deploy("--bpmn-dir", str(bpmn_dir))

    version = ProcessVersion.objects.get()
    assert out == "leave_request: v1 (deployed)\n"
    assert err == ""
    assert version.definition.key == "leave_request"
    assert version.number == 1
    assert sorted(version.bpmn_files) == ["leave_acknowledgement.bpmn", "leave_request.bpmn"]
    assert sorted(version.dmn_files) == ["leave_approval_route.dmn"]


def test_a_second_run_changes_nothing(bpmn_dir):
    deploy("--bpmn-dir", str(bpmn_dir))

    out, err = deploy("--bpmn-dir", str(bpmn_dir))

    assert out == "leave_request: v1 (unchanged)\n"
    assert err == ""
    assert ProcessVersion.objects.count() == 1


def test_a_refused_model_fails_the_command_naming_the_file(bpmn_dir):
    (bpmn_dir / "payroll_export.bpmn").write_bytes(SCRIPT_IMPORTS_OS)
    err = StringIO()

    with pytest.raises(CommandError, match=r"^1 bundle\(s\) refused: payroll_export\.bpmn$"):
        call_command("deploy_processes", "--bpmn-dir", str(bpmn_dir), stdout=StringIO(), stderr=err)

    lines = err.getvalue().splitlines()
    assert lines[0] == "payroll_export.bpmn: refused"
    assert lines[1].startswith("  payroll_export.bpmn export_payroll: script refused: ")
    assert "Imports are not allowed in process scripts." in lines[1]
    assert list(ProcessDefinition.objects.values_list("key", flat=True)) == ["leave_request"]


def test_malformed_xml_fails_the_command_naming_the_file(bpmn_dir):
    (bpmn_dir / "truncated.bpmn").write_bytes(TRUNCATED)

    with pytest.raises(CommandError, match="truncated.bpmn"):
        deploy("--bpmn-dir", str(bpmn_dir))
