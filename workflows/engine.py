"""The one module that talks to SpiffWorkflow.

It parses bundles into specs (cached per process version), creates, loads and dumps
workflows (state without the specs), runs engine steps with the sandboxed script
environment and the service-task registry, and reports what a workflow waits on
(user tasks, timers, messages) as plain data the rest of CareFlow can store.
"""

from __future__ import annotations

import ast
import json
import re
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, NoReturn
from uuid import UUID

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as DefusedET
from lxml import etree
from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import VERSION as SERIALIZER_VERSION
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import (
    MultiInstanceTask,
    ParallelMultiInstanceTask,
    SequentialMultiInstanceTask,
)
from SpiffWorkflow.bpmn.specs.mixins.script_task import ScriptTask
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity, SubWorkflowTask
from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.dmn.specs.business_rule_task_mixin import BusinessRuleTaskMixin
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.specs.defaults import ServiceTask
from SpiffWorkflow.util.task import TaskState

from workflows import budget, scripting

__all__ = ["SERIALIZER_VERSION"]

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
NSMAP = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}

# --- errors --------------------------------------------------------------------------------


@dataclass(frozen=True)
class BundleProblem:
    """One reason a bundle is refused, pointing at the file and element."""

    file: str
    element: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"file": self.file, "element": self.element, "message": self.message}


class BundleInvalid(Exception):
    """A bundle failed validation; nothing of it may be stored."""

    def __init__(self, problems: list[BundleProblem]):
        self.problems = problems
        super().__init__("; ".join(f"{p.file} {p.element}: {p.message}" for p in problems))


class EngineStepFailed(Exception):
    """A script, expression, rule or service task failed while the engine ran."""

    def __init__(self, message: str, *, element_id: str = "", task_id: UUID | None = None):
        self.element_id = element_id
        self.task_id = task_id
        super().__init__(message)


class TaskNotReady(Exception):
    """The engine task is not in a state that accepts this operation."""


class MigrationRefused(Exception):
    """The instance cannot be moved to the other version."""


# --- what a bundle contains --------------------------------------------------------------


@dataclass
class UserTaskInfo:
    element_id: str
    name: str
    lane: str
    documentation: str
    form: str
    ui_form: str
    file: str
    # The four-eyes rule: the one who started the instance may not work this task
    # (extension property notByInitiator="true").
    not_by_initiator: bool = False


@dataclass
class ScriptInfo:
    file: str
    element: str
    source: str
    mode: str  # "exec" or "eval"


@dataclass(frozen=True)
class MessageUse:
    """One place a diagram starts on, catches or sends a message."""

    name: str
    kind: str  # "start", "catch" or "throw"
    file: str
    element: str


@dataclass
class ParsedBundle:
    """A validated, parsed bundle: the specs plus what validation needs to know of them."""

    process_id: str
    name: str
    spec: Any
    subprocess_specs: dict[str, Any]
    user_tasks: dict[str, UserTaskInfo] = field(default_factory=dict)
    start_form: str = ""
    start_ui_form: str = ""
    start_lane: str = ""
    start_messages: list[str] = field(default_factory=list)
    # Started only by CareFlow itself (a scan, or an endpoint of its own such as the story
    # submission): start event property startedBySystem="true"; /instances/start refuses it.
    started_by_system: bool = False
    lanes: dict[str, tuple[str, str]] = field(default_factory=dict)  # lane -> (file, element)
    forms: dict[str, tuple[str, str]] = field(default_factory=dict)  # form file -> (file, element)
    operators: dict[str, tuple[str, str]] = field(default_factory=dict)
    scripts: list[ScriptInfo] = field(default_factory=list)
    messages: list[MessageUse] = field(default_factory=list)
    # Can an instance of this process ever wait on a timer (event or service retry) or a
    # message? When not, saving it needs no Timer / MessageSubscription queries.
    has_timers: bool = False
    has_messages: bool = False
    # What the budget checks at deploy (workflows/budget.py).
    cardinalities: list[budget.CardinalityFact] = field(default_factory=list)
    timer_cycles: list[budget.TimerCycleFact] = field(default_factory=list)
    calls: list[budget.CallFact] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "process_id": self.process_id,
            "name": self.name,
            "start_form": self.start_form,
            "start_ui_form": self.start_ui_form,
            "start_lane": self.start_lane,
            "start_messages": self.start_messages,
            "started_by_system": self.started_by_system,
            # Every message the process starts on, catches or sends (reserved message names).
            "messages": sorted({(m.name, m.kind) for m in self.messages}),
            "user_tasks": {
                k: {
                    "name": v.name,
                    "lane": v.lane,
                    "form": v.form,
                    "ui_form": v.ui_form,
                    "not_by_initiator": v.not_by_initiator,
                }
                for k, v in self.user_tasks.items()
            },
        }


def _secure_xml(name: str, content: bytes) -> etree._Element:
    """Parse XML refusing DTDs, entities and network access (XXE, billion laughs)."""
    try:
        DefusedET.fromstring(content, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise BundleInvalid(
            [BundleProblem(name, "", f"XML with a DTD or entities is not accepted ({exc})")]
        ) from None
    except DefusedET.ParseError as exc:
        raise BundleInvalid([BundleProblem(name, "", f"not well-formed XML: {exc}")]) from None
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        return etree.fromstring(content, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise BundleInvalid([BundleProblem(name, "", f"not well-formed XML: {exc}")]) from None


def bundle_references(content: bytes, name: str = "") -> dict[str, set[str]]:
    """What a BPMN file needs from elsewhere: decisions, forms, called processes.

    Used to assemble a bundle from the shipped bpmn/ and forms/ folders.
    """
    root = _secure_xml(name, content)
    found: dict[str, set[str]] = {"decisions": set(), "forms": set(), "called": set()}
    for node in root.iter(f"{{{SPIFF_NS}}}calledDecisionId"):
        if node.text and node.text.strip():
            found["decisions"].add(node.text.strip())
    for node in root.iter(f"{{{SPIFF_NS}}}property"):
        if node.get("name") in {"formJsonSchemaFilename", "formUiSchemaFilename"}:
            found["forms"].add(node.get("value", ""))
    for node in root.iter(f"{{{BPMN_NS}}}callActivity"):
        if node.get("calledElement"):
            found["called"].add(node.get("calledElement"))
    found["forms"].discard("")
    return found


def process_ids(content: bytes, name: str = "") -> list[str]:
    root = _secure_xml(name, content)
    return [p.get("id") for p in root.iter(f"{{{BPMN_NS}}}process") if p.get("id")]


def decision_ids(content: bytes, name: str = "") -> list[str]:
    root = _secure_xml(name, content)
    return [d.get("id") for d in root.iter() if etree.QName(d).localname == "decision"]


def _problem_from_validation(exc: ValidationException, default_file: str) -> BundleProblem:
    file = getattr(exc, "file_name", "") or default_file
    element = getattr(exc, "id", "") or getattr(exc, "name", "") or ""
    message = str(exc).split("\n")[0]
    return BundleProblem(file, str(element), message)


def _properties(task_spec: Any) -> dict[str, str]:
    return (getattr(task_spec, "extensions", None) or {}).get("properties", {}) or {}


def _spec_file(spec: Any) -> str:
    return getattr(spec, "file", "") or ""


def parse_bundle(bpmn_files: dict[str, bytes], dmn_files: dict[str, bytes]) -> ParsedBundle:
    """Parse and structurally validate a bundle; raise BundleInvalid listing every problem."""
    problems: list[BundleProblem] = []
    parser = SpiffBpmnParser(validator=VALIDATOR)
    trees: dict[str, etree._Element] = {}
    for name, content in {**bpmn_files, **dmn_files}.items():
        try:
            trees[name] = _secure_xml(name, content)
        except BundleInvalid as exc:
            problems.extend(exc.problems)
    if problems:
        raise BundleInvalid(problems)
    if not bpmn_files:
        raise BundleInvalid([BundleProblem("", "", "the bundle has no .bpmn file")])

    for name in bpmn_files:
        try:
            parser.add_bpmn_xml(etree.ElementTree(trees[name]), filename=name)
        except ValidationException as exc:
            problems.append(_problem_from_validation(exc, name))
        except etree.DocumentInvalid as exc:
            problems.append(BundleProblem(name, "", f"not valid BPMN 2.0: {exc}"))
    for name in dmn_files:
        try:
            parser.add_dmn_xml(trees[name], filename=name)
        except (ValidationException, etree.DocumentInvalid) as exc:
            problems.append(BundleProblem(name, "", f"not a valid DMN file: {exc}"))
        except Exception as exc:  # noqa: BLE001 - the DMN parser raises bare errors on bad tables
            problems.append(BundleProblem(name, "", f"not a valid DMN file: {exc}"))
    if problems:
        raise BundleInvalid(problems)

    main_id = _main_process_id(trees, bpmn_files)
    try:
        spec = parser.get_spec(main_id)
        subprocess_specs = parser.get_subprocess_specs(main_id)
    except ValidationException as exc:
        raise BundleInvalid([_problem_from_validation(exc, "")]) from None
    except Exception as exc:  # noqa: BLE001 - spec building raises assorted errors on bad models
        raise BundleInvalid(
            [BundleProblem("", main_id, f"cannot build the process: {exc}")]
        ) from None

    bundle = ParsedBundle(
        process_id=main_id,
        name=spec.description or main_id,
        spec=spec,
        subprocess_specs=subprocess_specs,
    )
    for process_spec in [spec, *subprocess_specs.values()]:
        _collect(bundle, process_spec)
    problems = _collect_decision_scripts(bundle, parser)
    if problems:
        raise BundleInvalid(problems)
    return bundle


def _main_process_id(trees: dict[str, etree._Element], bpmn_files: dict[str, bytes]) -> str:
    executable: list[tuple[str, str]] = []
    called: set[str] = set()
    for name in bpmn_files:
        root = trees[name]
        for process in root.iter(f"{{{BPMN_NS}}}process"):
            if process.get("isExecutable", "false").lower() == "true":
                executable.append((name, process.get("id")))
        for process in root.iter(f"{{{BPMN_NS}}}process"):
            for call in process.iter(f"{{{BPMN_NS}}}callActivity"):
                # A process calling itself is recursion, refused by the budget check with
                # the element named; it does not make the process a called one.
                if call.get("calledElement") != process.get("id"):
                    called.add(call.get("calledElement"))
    if not executable:
        raise BundleInvalid(
            [
                BundleProblem(
                    next(iter(bpmn_files)), "", "no executable process (isExecutable='true')"
                )
            ]
        )
    top = [pid for _, pid in executable if pid not in called]
    if len(top) != 1:
        names = ", ".join(pid for _, pid in executable)
        raise BundleInvalid(
            [
                BundleProblem(
                    "",
                    "",
                    "a bundle needs exactly one top-level executable process "
                    f"(one not called by another); found: {names}",
                )
            ]
        )
    return top[0]


def _collect(bundle: ParsedBundle, process_spec: Any) -> None:
    file = _spec_file(process_spec)
    for ts in process_spec.task_specs.values():
        element = getattr(ts, "bpmn_id", None) or ts.name
        definition = getattr(ts, "event_definition", None)
        if isinstance(definition, TimerEventDefinition) or getattr(ts, "retries", None):
            bundle.has_timers = True
        if isinstance(definition, MessageEventDefinition):
            bundle.has_messages = True
        for name in _message_names(definition):
            bundle.has_messages = True
            bundle.messages.append(MessageUse(name, _message_kind(ts), file, element))
        if getattr(ts, "lane", None):
            bundle.lanes.setdefault(ts.lane, (file, element))
        props = _properties(ts)
        for key in ("formJsonSchemaFilename", "formUiSchemaFilename"):
            if props.get(key):
                bundle.forms.setdefault(props[key], (file, element))
        if getattr(ts, "manual", False) and element:
            bundle.user_tasks[element] = UserTaskInfo(
                element_id=element,
                name=ts.bpmn_name or element,
                lane=ts.lane or "",
                documentation=getattr(ts, "documentation", "") or "",
                form=props.get("formJsonSchemaFilename", ""),
                ui_form=props.get("formUiSchemaFilename", ""),
                file=file,
                not_by_initiator=props.get("notByInitiator", "").strip().lower() == "true",
            )
        if isinstance(ts, StartEvent) and process_spec is bundle.spec:
            bundle.start_form = bundle.start_form or props.get("formJsonSchemaFilename", "")
            bundle.start_ui_form = bundle.start_ui_form or props.get("formUiSchemaFilename", "")
            bundle.start_lane = bundle.start_lane or ts.lane or ""
            if props.get("startedBySystem", "").strip().lower() == "true":
                bundle.started_by_system = True
            if isinstance(ts.event_definition, MessageEventDefinition):
                bundle.start_messages.append(ts.event_definition.name)
        _collect_budget_facts(bundle, process_spec, ts, file, element)
        if isinstance(ts, ServiceTask):
            bundle.operators.setdefault(ts.operation_name, (file, element))
            for param in ts.operation_params.values():
                bundle.scripts.append(ScriptInfo(file, element, str(param["value"]), "eval"))
        _collect_scripts(bundle, ts, file, element)


def timer_cycle(text: str) -> tuple[int | None, float]:
    """(repetitions, seconds between two) of an ISO 8601 repeating interval such as
    `R3/P1D`; repetitions None when unbounded (`R/PT1H`). Raises ValueError if malformed."""
    try:
        cycles, _start, duration = TimerEventDefinition.parse_iso_recurring_interval(text)
    except Exception as exc:  # noqa: BLE001 - SpiffWorkflow raises bare errors on bad text
        raise ValueError(f"not a repeating interval: {text!r}") from exc
    return (None if cycles < 0 else cycles), duration.total_seconds()


def _collect_budget_facts(
    bundle: ParsedBundle, process_spec: Any, ts: Any, file: str, element: str
) -> None:
    if isinstance(ts, MultiInstanceTask) and ts.data_input is None:
        is_constant, value = budget.constant_value(getattr(ts, "cardinality", None))
        if is_constant and isinstance(value, int):
            bundle.cardinalities.append(budget.CardinalityFact(file, element, value))
    definition = getattr(ts, "event_definition", None)
    if isinstance(definition, CycleTimerEventDefinition):
        is_constant, value = budget.constant_value(definition.expression)
        if is_constant and isinstance(value, str):
            try:
                repetitions, seconds = timer_cycle(value)
            except ValueError:
                return
            bundle.timer_cycles.append(
                budget.TimerCycleFact(file, element, value, repetitions, seconds)
            )
    if isinstance(ts, CallActivity):
        bundle.calls.append(budget.CallFact(file, element, process_spec.name, ts.spec))


def _message_names(definition: Any) -> list[str]:
    if isinstance(definition, MessageEventDefinition):
        return [definition.name]
    if isinstance(definition, MultipleEventDefinition):
        return [
            d.name for d in definition.event_definitions if isinstance(d, MessageEventDefinition)
        ]
    return []


def _message_kind(ts: Any) -> str:
    if isinstance(ts, StartEvent):
        return "start"
    return "catch" if isinstance(ts, CatchingEvent) else "throw"


def _collect_scripts(bundle: ParsedBundle, ts: Any, file: str, element: str) -> None:
    def add(source: str | None, mode: str) -> None:
        if source is not None and str(source).strip():
            bundle.scripts.append(ScriptInfo(file, element, str(source), mode))

    if isinstance(ts, ScriptTask):
        add(ts.script, "exec")
    add(getattr(ts, "prescript", None), "exec")
    add(getattr(ts, "postscript", None), "exec")
    for condition, _target in getattr(ts, "cond_task_specs", []) or []:
        # Gateway conditions are wrapped in an operator holding the expression.
        add(getattr(condition, "args", [condition])[0], "eval")
    event_definition = getattr(ts, "event_definition", None)
    if isinstance(event_definition, TimerEventDefinition):
        add(event_definition.expression, "eval")
    if isinstance(event_definition, MessageEventDefinition):
        add(getattr(event_definition, "expression", None), "eval")
        for prop in event_definition.correlation_properties:
            add(prop.retrieval_expression, "eval")
    if isinstance(ts, MultiInstanceTask):
        add(getattr(ts, "condition", None), "eval")
        cardinality = getattr(ts, "cardinality", None)
        add(cardinality if isinstance(cardinality, str) else None, "eval")


# SpiffWorkflow's DMNEngine.evaluate: a "?" outside quotes stands for the input's value.
_DMN_INPUT_MARK = re.compile(r"""(\?)(?=(?:[^'"]|['"][^'"]*['"])*$)""")
# What the expression of an input without one stands for (the engine puts a repr there).
_DMN_INPUT_PLACEHOLDER = "dmn_input_value"


def _dmn_entry_expression(input_expression: str | None, entry: str) -> str:
    """The expression the DMN engine evaluates for one input entry of a rule, built the way
    SpiffWorkflow's DMNEngine.evaluate builds it, so deploy compiles exactly what will run."""
    match = _DMN_INPUT_MARK.sub("dmninputexpr", entry)
    if "dmninputexpr" in match:
        return match
    value = input_expression or _DMN_INPUT_PLACEHOLDER
    try:
        ast.parse(match)
    except SyntaxError:
        # An entry such as "> 5" is appended to the input expression.
        return value + match
    return f"({value}) == ({match})"


def _collect_decision_scripts(bundle: ParsedBundle, parser: Any) -> list[BundleProblem]:
    """Every expression of every decision table in the bundle's DMN files (input expressions,
    input entries, output entries), named by the DMN file and the entry's element, so that the
    deploy compiles them in the sandbox like the diagram's scripts. Tables no diagram calls are
    checked too: nothing that cannot run is stored."""
    problems: list[BundleProblem] = []
    for decision_id, dmn_parser in sorted(parser.dmn_parsers.items()):
        file = getattr(dmn_parser, "filename", "") or ""
        try:
            dmn_parser.parse()
        except ValidationException as exc:
            problems.append(_problem_from_validation(exc, file))
            continue
        except Exception as exc:  # noqa: BLE001 - the DMN parser raises bare errors on bad tables
            problems.append(BundleProblem(file, decision_id, f"not a valid decision table: {exc}"))
            continue

        def add(element: str, source: str | None, file: str = file) -> None:
            if source is not None and str(source).strip():
                bundle.scripts.append(ScriptInfo(file, element, str(source), "eval"))

        for table in dmn_parser.decision.decisionTables:
            refused_inputs = set()
            for dmn_input in table.inputs:
                add(dmn_input.id, dmn_input.expression)
                if dmn_input.expression and scripting.check_script(dmn_input.expression, "eval"):
                    refused_inputs.add(dmn_input.id)
            for rule in table.rules:
                for entry in rule.inputEntries:
                    if entry.input.id in refused_inputs:
                        continue  # refused once, at its input, not again at every rule
                    for text in entry.lhs:
                        if text is not None and str(text).strip():
                            add(entry.id, _dmn_entry_expression(entry.input.expression, text))
                for entry in rule.outputEntries:
                    add(entry.id, entry.text)
    return problems


# --- what a reviewer compares ---------------------------------------------------------------


def bundle_outline(bundle: ParsedBundle) -> dict[str, Any]:
    """Plain data describing a bundle's elements, lanes, operations and messages, for the diff
    a second person reviews before a deploy becomes current (workflows.diffs)."""
    elements: dict[str, dict[str, Any]] = {}
    for process_spec in [bundle.spec, *bundle.subprocess_specs.values()]:
        file = _spec_file(process_spec)
        for ts in process_spec.task_specs.values():
            element = getattr(ts, "bpmn_id", None)
            if not element:
                continue
            found = SimpleNamespace(scripts=[])
            _collect_scripts(found, ts, file, element)
            props = _properties(ts)
            described: dict[str, Any] = {
                "type": type(ts).__name__,
                "name": getattr(ts, "bpmn_name", None) or "",
                "process": process_spec.name,
                "lane": getattr(ts, "lane", None) or "",
                "incoming": sorted(
                    getattr(i, "bpmn_id", None) or i.name for i in getattr(ts, "inputs", [])
                ),
                "outgoing": sorted(
                    getattr(o, "bpmn_id", None) or o.name for o in getattr(ts, "outputs", [])
                ),
                "properties": {k: str(v) for k, v in sorted(props.items())},
                "scripts": [s.source for s in found.scripts],
                "messages": _message_names(getattr(ts, "event_definition", None)),
            }
            if isinstance(ts, ServiceTask):
                described["operation"] = ts.operation_name
                described["parameters"] = {
                    k: str(v.get("value")) for k, v in sorted(ts.operation_params.items())
                }
            if isinstance(ts, BusinessRuleTaskMixin):
                described["decision"] = ts.dmnEngine.decision_table.id
            if isinstance(ts, SubWorkflowTask):
                described["called_process"] = str(ts.spec)
            elements[element] = described
    operations: dict[str, list[str]] = {}
    for element, described in elements.items():
        if described.get("operation"):
            operations.setdefault(described["operation"], []).append(element)
    messages: dict[str, list[dict[str, str]]] = {}
    for use in bundle.messages:
        messages.setdefault(use.name, []).append({"kind": use.kind, "element": use.element})
    return {
        "elements": elements,
        "lanes": sorted(bundle.lanes),
        "operations": {k: sorted(v) for k, v in sorted(operations.items())},
        "messages": dict(sorted(messages.items())),
    }


# --- the script environment ------------------------------------------------------------

ServiceHandler = Callable[[str, dict[str, Any], dict[str, Any]], Any]


class _SandboxEnvironment(BasePythonScriptEngineEnvironment):
    """Runs every script and expression of a diagram through workflows.scripting."""

    def __init__(self, service_handler: ServiceHandler):
        super().__init__({})
        self.service_handler = service_handler

    def evaluate(self, expression, context, external_context=None):
        return scripting.evaluate(expression, context, external_context)

    def execute(self, script, context, external_context=None):
        scripting.execute(script, context, external_context)
        return True

    def call_service(self, context, operation_name=None, operation_params=None, **kwargs):
        params = {name: spec["value"] for name, spec in (operation_params or {}).items()}
        return json.dumps(self.service_handler(operation_name, params, context), default=str)


class _ScriptEngine(PythonScriptEngine):
    def execute(self, task, script, external_context=None):
        result = super().execute(task, script, external_context)
        # Data a script built is measured before the engine copies it to the next tasks:
        # three small lists can stand for 40 MB of JSON.
        budget.current().check_data(task.data, _element(task))
        return result

    def call_service(self, task, **kwargs):
        # The library's default wraps errors with a name it never defined; name the task.
        try:
            result = self.environment.call_service(task.data, **kwargs)
        except SpiffWorkflowException:
            raise
        except Exception as exc:
            from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException

            raise WorkflowTaskException(
                f"{type(exc).__name__}: {exc}", task=task, exception=exc
            ) from exc
        budget.current().check_data(result, _element(task))
        return result


def _element(task: Any) -> str:
    return getattr(task.task_spec, "bpmn_id", None) or task.task_spec.name


# --- budget hooks ------------------------------------------------------------------------
# Multi-instance activities create their instances, and call activities their subprocess,
# while the engine updates the task before them: not in a step of their own. The budget is
# checked there, before anything is created.


def _bounded(method: Callable, check: Callable[[Any, Any], None]) -> Callable:
    def bounded(self, my_task, *args, **kwargs):
        check(self, my_task)
        return method(self, my_task, *args, **kwargs)

    bounded.__wrapped__ = method
    return bounded


def _mi_cardinality(spec: Any, my_task: Any) -> Any:
    if spec.data_input is not None:
        try:
            collection = spec.data_input.get(my_task)
        except Exception:  # noqa: BLE001 - the engine reports a missing input itself
            return None
        return len(collection) if hasattr(collection, "__len__") else None
    return my_task.workflow.script_engine.evaluate(my_task, spec.cardinality)


def _check_parallel_mi(spec: Any, my_task: Any) -> None:
    budget.current().check_cardinality(_mi_cardinality(spec, my_task), _element(my_task))


def _check_sequential_mi(spec: Any, my_task: Any) -> None:
    if my_task.internal_data.get("merged"):
        return  # checked when the first instance was created
    count = my_task.internal_data.get("cardinality")
    if spec.data_input is not None:
        count = len(my_task.internal_data.get("remaining") or [])
    budget.current().check_cardinality(count, _element(my_task))


def _check_call_depth(spec: Any, my_task: Any) -> None:
    budget.current().check_call_depth(my_task.workflow.depth + 1, _element(my_task))


def _install_budget_hooks() -> None:
    if getattr(ParallelMultiInstanceTask.create_children, "__wrapped__", None):
        return
    ParallelMultiInstanceTask.create_children = _bounded(
        ParallelMultiInstanceTask.create_children, _check_parallel_mi
    )
    SequentialMultiInstanceTask.add_next_child = _bounded(
        SequentialMultiInstanceTask.add_next_child, _check_sequential_mi
    )
    SubWorkflowTask.start_workflow = _bounded(SubWorkflowTask.start_workflow, _check_call_depth)


_install_budget_hooks()


# --- serialisation without specs -----------------------------------------------------


class _SpeclessWorkflowConverter(BpmnWorkflowConverter):
    """Stores a workflow's state only; the specs come from the cached process version."""

    def to_dict(self, workflow):
        dct = super().to_dict(workflow)
        dct.pop("spec")
        dct.pop("subprocess_specs")
        return dct

    def from_dict(self, dct, spec=None, subprocess_specs=None):
        dct = dict(dct)
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dict(dct["subprocesses"]), workflow)
        workflow.bpmn_events = self.registry.restore(dct.get("bpmn_events", []))
        return workflow


def _parents_first(dct: dict[str, Any]) -> dict[str, Any]:
    """Order each task mapping from the root down.

    Task data is stored as a delta against the parent, so a task must be restored after
    its parent. PostgreSQL's jsonb does not keep key order; the tree does.
    """

    def ordered(workflow_dct: dict[str, Any]) -> dict[str, Any]:
        tasks = workflow_dct["tasks"]
        result: dict[str, Any] = {}
        stack = [workflow_dct["root"]]
        while stack:
            task_id = stack.pop()
            if task_id in result or task_id not in tasks:
                continue
            result[task_id] = tasks[task_id]
            stack.extend(reversed(tasks[task_id]["children"]))
        # Anything unreachable from the root keeps its place after the tree.
        result.update((k, v) for k, v in tasks.items() if k not in result)
        return {**workflow_dct, "tasks": result}

    dct = ordered(dct)
    dct["subprocesses"] = {k: ordered(v) for k, v in dct.get("subprocesses", {}).items()}
    return dct


def _make_registry():
    config = dict(SPIFF_CONFIG)
    config[BpmnWorkflow] = _SpeclessWorkflowConverter
    return BpmnWorkflowSerializer.configure(config)


# --- views of a workflow, as plain data ----------------------------------------------------


@dataclass(frozen=True)
class ReadyUserTask:
    task_id: UUID
    element_id: str
    name: str
    lane: str
    documentation: str
    form: str
    ui_form: str
    data: dict[str, Any]


@dataclass(frozen=True)
class WaitingTimer:
    task_id: UUID
    element_id: str
    due_at: datetime
    # For a boundary timer: the activity it is attached to, and whether firing cancels it
    # (a deadline) or runs beside it (a reminder).
    attached_task_id: UUID | None = None
    is_interrupting: bool = False


@dataclass(frozen=True)
class ServiceRetry:
    """A service task's `spiffworkflow:retry`: how often to try again, and the first delay."""

    retries: int
    backoff_base_seconds: int | None


@dataclass(frozen=True)
class WaitingMessage:
    task_id: UUID
    element_id: str
    message_name: str
    correlation: dict[str, Any]


@dataclass(frozen=True)
class Snapshot:
    """Everything CareFlow projects out of a workflow when it is saved."""

    is_completed: bool
    user_tasks: list[ReadyUserTask]
    timers: list[WaitingTimer]
    messages: list[WaitingMessage]
    errored: list[tuple[UUID, str]]
    data: dict[str, Any]


def _ancestors(task: Any) -> Iterator[Any]:
    parent = task.parent
    while parent is not None:
        yield parent
        parent = parent.parent


def _budget_cause(exc: BaseException | None) -> budget.BudgetExceeded | None:
    """The BudgetExceeded behind `exc`, through the library's wrapping of script errors."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, budget.BudgetExceeded):
            return exc
        exc = exc.__cause__ or exc.__context__ or getattr(exc, "exception", None)
        seen += 1
    return None


def _check_cycle(meter: budget.Meter, task: Any) -> None:
    """A cycle timer's repetitions and interval, once the engine has evaluated them (they
    may come from data): `cycles` counts down from R<n>, and from -1 when unbounded."""
    value = task.internal_data.get("event_value")
    if not isinstance(value, dict) or "duration" not in value:
        return
    cycles = int(value.get("cycles", 0))
    meter.check_timer_cycle(
        element_id=_element(task),
        remaining=cycles,
        interval_seconds=float(value["duration"]),
        fired=-1 - cycles if cycles < 0 else None,
    )


def _is_spent_cycle(task: Any) -> bool:
    value = task.internal_data.get("event_value")
    return isinstance(value, dict) and value.get("cycles") == 0


def _parse_timer_value(value: Any) -> datetime | None:
    if isinstance(value, dict):
        # A cycle (R3/P1D) whose repetitions are used up waits for nothing more.
        if value.get("cycles") == 0:
            return None
        value = value.get("next")
    if not value:
        return None
    parsed = TimerEventDefinition.get_datetime(str(value))
    return parsed.astimezone(UTC)


@dataclass
class _DecisionWorkflow:
    script_engine: PythonScriptEngine


@dataclass
class _DecisionTask:
    """What a decision table needs of a task, for `Engine.decide` outside a workflow."""

    data: dict[str, Any]
    workflow: _DecisionWorkflow
    task_spec: Any


class Engine:
    """Facade over SpiffWorkflow. One per process; thread-safe spec cache."""

    def __init__(self) -> None:
        self._registry = _make_registry()
        self._serializer = BpmnWorkflowSerializer(self._registry, version=SERIALIZER_VERSION)
        self._cache: dict[Any, ParsedBundle] = {}
        self._lock = threading.Lock()
        self.service_handler: ServiceHandler | None = None

    # specs

    def bundle(self, key: Any, loader: Callable[[], ParsedBundle]) -> ParsedBundle:
        """The parsed bundle cached under `key` (a content hash), parsing it on first use."""
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        parsed = loader()
        with self._lock:
            return self._cache.setdefault(key, parsed)

    def _script_engine(self) -> PythonScriptEngine:
        if self.service_handler is None:
            raise RuntimeError("no service task handler installed on the engine")
        return _ScriptEngine(environment=_SandboxEnvironment(self.service_handler))

    # lifecycle

    def new_workflow(self, bundle: ParsedBundle, data: dict[str, Any]) -> BpmnWorkflow:
        workflow = BpmnWorkflow(
            bundle.spec, bundle.subprocess_specs, script_engine=self._script_engine()
        )
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(data)
        return workflow

    def load(self, bundle: ParsedBundle, state: dict[str, Any], version: str) -> BpmnWorkflow:
        dct = _parents_first(dict(state))
        if version != SERIALIZER_VERSION:
            dct[BpmnWorkflowSerializer.VERSION_KEY] = version
            self._serializer.migrate(dct)
        workflow = self._serializer.from_dict(
            dct, spec=bundle.spec, subprocess_specs=bundle.subprocess_specs
        )
        workflow.script_engine = self._script_engine()
        return workflow

    def dump(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        self._registry._encoder_mode = True
        try:
            dct = self._serializer.to_dict(workflow)
        finally:
            self._registry._encoder_mode = False
        # A round trip through JSON proves the state is storable before anything is written,
        # and measures it against the budget.
        text = json.dumps(dct, cls=self._serializer._encoder_cls)
        budget.current().check_state_bytes(len(text))
        return json.loads(text)

    def run(self, workflow: BpmnWorkflow) -> None:
        """Run engine steps until only people, timers or messages are awaited.

        Each step is charged to the change's budget before it runs (steps, wall time, depth of
        the task tree), so a runaway diagram is stopped inside the loop, not after it.
        """
        meter = budget.current()

        def before_step(task: Any) -> None:
            element = _element(task)
            meter.step(element)
            meter.check_task_depth(task.id, element, lambda: (t.id for t in _ancestors(task)))

        try:
            workflow.do_engine_steps(will_complete_task=before_step)
        except Exception as exc:
            self._raise_failure(workflow, exc)

    def _raise_failure(self, workflow: BpmnWorkflow, exc: Exception) -> NoReturn:
        failure = self._step_failure(workflow, exc)
        if failure is exc:
            raise exc
        raise failure from exc

    def _step_failure(self, workflow: BpmnWorkflow, exc: Exception) -> Exception:
        exceeded = _budget_cause(exc)
        if exceeded is not None:
            if not exceeded.element_id:
                task = getattr(exc, "task", None)
                exceeded.element_id = _element(task) if task is not None else ""
            return exceeded
        task = getattr(exc, "task", None)
        if task is None:
            errored = workflow.get_tasks(state=TaskState.ERROR)
            task = errored[0] if errored else None
        element = ""
        task_id = None
        if task is not None:
            element = getattr(task.task_spec, "bpmn_id", None) or task.task_spec.name
            task_id = task.id
        # SpiffWorkflow wraps script errors; the original is the exception's context.
        cause = exc if isinstance(exc, scripting.ScriptLimitExceeded) else exc.__context__
        if isinstance(cause, scripting.ScriptLimitExceeded):
            message = f"script limit exceeded: {cause}"
        else:
            message = str(exc).split("\n")[0].strip().rstrip(".").strip() or type(exc).__name__
        return EngineStepFailed(message, element_id=element, task_id=task_id)

    def stuck_element(self, workflow: BpmnWorkflow) -> str:
        """The element of a task that is ready for the engine but was not run (the library
        looks no deeper than 1,000 tasks into the tree), or "" when there is none."""
        for task in workflow.get_tasks(state=TaskState.READY, max_depth=sys.maxsize):
            if not task.task_spec.manual:
                return _element(task)
        return ""

    def snapshot(self, workflow: BpmnWorkflow) -> Snapshot:
        user_tasks = []
        for task in workflow.get_tasks(state=TaskState.READY, manual=True):
            ts = task.task_spec
            props = _properties(ts)
            user_tasks.append(
                ReadyUserTask(
                    task_id=task.id,
                    element_id=ts.bpmn_id or ts.name,
                    name=ts.bpmn_name or ts.bpmn_id or ts.name,
                    lane=ts.lane or "",
                    documentation=getattr(ts, "documentation", "") or "",
                    form=props.get("formJsonSchemaFilename", ""),
                    ui_form=props.get("formUiSchemaFilename", ""),
                    data=task.data,
                )
            )
        timers = self._waiting_timers(workflow)
        messages: list[WaitingMessage] = []
        for task in workflow.event_manager.tasks.values():
            definition = task.task_spec.event_definition
            element = task.task_spec.bpmn_id or task.task_spec.name
            if isinstance(definition, MessageEventDefinition):
                flat: dict[str, Any] = {}
                for values in task.workflow.top_workflow.correlations.values():
                    if isinstance(values, dict):
                        flat.update(values)
                messages.append(WaitingMessage(task.id, element, definition.name, flat))
        errored = [
            (t.id, t.task_spec.bpmn_id or t.task_spec.name)
            for t in workflow.get_tasks(state=TaskState.ERROR)
        ]
        return Snapshot(
            is_completed=workflow.completed,
            user_tasks=user_tasks,
            timers=timers,
            messages=messages,
            errored=errored,
            data=workflow.data,
        )

    def _waiting_timers(self, workflow: BpmnWorkflow) -> list[WaitingTimer]:
        timers = []
        meter = budget.current()
        for task in workflow.event_manager.tasks.values():
            spec = task.task_spec
            if not isinstance(spec.event_definition, TimerEventDefinition):
                continue
            _check_cycle(meter, task)
            due_at = _parse_timer_value(task.internal_data.get("event_value"))
            if due_at is None or task.internal_data.get("event_fired"):
                continue
            attached, interrupting = None, False
            if isinstance(spec, BoundaryEvent) and task.parent is not None:
                interrupting = bool(spec.cancel_activity)
                attached = next(
                    (
                        c.id
                        for c in task.parent.children
                        if not isinstance(c.task_spec, BoundaryEvent)
                    ),
                    None,
                )
            timers.append(
                WaitingTimer(task.id, spec.bpmn_id or spec.name, due_at, attached, interrupting)
            )
        return timers

    def element_states(self, workflow: BpmnWorkflow) -> dict[str, str]:
        """{BPMN element id: completed | waiting | active | error} over the task tree, for a
        diagram: an element run several times (loops, multi-instance) shows its liveliest state."""
        rank = {"completed": 0, "waiting": 1, "active": 2, "error": 3}
        by_state = {
            TaskState.COMPLETED: "completed",
            TaskState.WAITING: "waiting",
            TaskState.READY: "active",
            TaskState.STARTED: "active",
            TaskState.ERROR: "error",
        }
        states: dict[str, str] = {}
        for task in workflow.get_tasks():
            state = by_state.get(task.state)
            element = getattr(task.task_spec, "bpmn_id", None)
            if state is None or not element:
                continue
            if rank[state] >= rank.get(states.get(element, "completed"), 0):
                states[element] = state
        return states

    def task_data(self, workflow: BpmnWorkflow, task_id: UUID) -> dict[str, Any]:
        return self._task(workflow, task_id).data

    def _task(self, workflow: BpmnWorkflow, task_id: UUID):
        task = workflow.get_task_from_id(task_id)
        if task is None:
            raise TaskNotReady(f"task {task_id} is not part of this instance")
        return task

    def complete_user_task(self, workflow: BpmnWorkflow, task_id: UUID, data: dict) -> None:
        task = self._task(workflow, task_id)
        if task.state != TaskState.READY or not task.task_spec.manual:
            raise TaskNotReady(f"task {task_id} is not a ready user task")
        budget.current().check_data(data, _element(task))
        task.data.update(data)
        try:
            task.run()
        except Exception as exc:
            self._raise_failure(workflow, exc)
        self.run(workflow)

    def deliver_message(
        self, workflow: BpmnWorkflow, task_id: UUID, payload: dict[str, Any]
    ) -> None:
        task = self._task(workflow, task_id)
        definition = task.task_spec.event_definition
        budget.current().check_data(payload, _element(task))
        try:
            task.task_spec.catch(task, BpmnEvent(definition, payload=payload))
            task.task_spec._update(task)
        except Exception as exc:
            self._raise_failure(workflow, exc)
        self.run(workflow)

    def refresh_timers(self, workflow: BpmnWorkflow) -> list[WaitingTimer]:
        """Let every timer whose time has passed fire; the caller then runs the engine.

        Returns the timers that fired (a cycle timer fires once per call and waits again).
        SpiffWorkflow fires a timer only once its due time is strictly in the past.
        """
        before = self._waiting_timers(workflow)
        try:
            workflow.refresh_timers()
            # A cycle timer that just used up its repetitions completes on the next refresh;
            # do it now, or nothing would ever wake the instance again.
            if any(_is_spent_cycle(t) for t in workflow.event_manager.tasks.values()):
                workflow.refresh_timers()
        except Exception as exc:
            self._raise_failure(workflow, exc)
        now = datetime.now(UTC)
        still_waiting = {(t.task_id, t.due_at) for t in self._waiting_timers(workflow)}
        return [t for t in before if (t.task_id, t.due_at) not in still_waiting and t.due_at < now]

    def service_retry(self, workflow: BpmnWorkflow, task_id: UUID | None) -> ServiceRetry | None:
        """The retry policy of the service task `task_id`, if the diagram gives it one."""
        try:
            task = workflow.get_task_from_id(task_id) if task_id is not None else None
        except SpiffWorkflowException:
            return None
        if task is None or not isinstance(task.task_spec, ServiceTask):
            return None
        retries = getattr(task.task_spec, "retries", None)
        if not retries:
            return None
        base = getattr(task.task_spec, "retry_backoff_base", None)
        return ServiceRetry(int(retries), int(base) if base is not None else None)

    def retry_errored(self, workflow: BpmnWorkflow, task_id: UUID | None) -> None:
        """Put the failed task back to READY and run the engine again."""
        errored = workflow.get_tasks(state=TaskState.ERROR)
        for task in errored:
            if task_id is None or task.id == task_id:
                task._set_state(TaskState.READY)
        self.run(workflow)

    def cancel(self, workflow: BpmnWorkflow) -> None:
        workflow.cancel()

    def decide(self, bundle: ParsedBundle, element_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """Evaluate the decision table of the business rule task `element_id` against `data`,
        outside any instance: e.g. to classify an event before deciding to start a process.
        The table is the one deployed with the bundle, run in the same sandbox."""
        spec = next(
            (
                ts
                for process_spec in [bundle.spec, *bundle.subprocess_specs.values()]
                for ts in process_spec.task_specs.values()
                if isinstance(ts, BusinessRuleTaskMixin) and ts.bpmn_id == element_id
            ),
            None,
        )
        if spec is None:
            raise EngineStepFailed(
                f"{bundle.process_id} has no business rule task {element_id!r}",
                element_id=element_id,
            )
        # The table reads only `task.data` and `task.workflow.script_engine`.
        workflow = _DecisionWorkflow(self._script_engine())
        task = _DecisionTask(dict(data), workflow, spec)
        try:
            return spec.dmnEngine.result(task)
        except Exception as exc:  # noqa: BLE001 - a bad rule or input raises anything
            raise EngineStepFailed(
                f"decision {element_id!r} failed: {exc}", element_id=element_id
            ) from exc

    def is_user_task_ready(self, workflow: BpmnWorkflow, task_id: UUID) -> bool:
        task = workflow.get_task_from_id(task_id)
        return task is not None and task.state == TaskState.READY and task.task_spec.manual

    def migrate(self, workflow: BpmnWorkflow, bundle: ParsedBundle) -> list[str]:
        """Move a workflow onto another version's specs, where SpiffWorkflow's diff allows.

        Refused when a task the instance has started or finished no longer exists.
        Returns the element ids whose waiting or ready tasks were reset.
        """
        top_diff, sub_diffs = diff_workflow(
            self._registry, workflow, bundle.spec, bundle.subprocess_specs
        )
        problems = [
            t.task_spec.bpmn_id or t.task_spec.name
            for t in top_diff.removed
            if t.has_state(TaskState.FINISHED_MASK | TaskState.STARTED | TaskState.READY)
        ]
        for sp_diff in sub_diffs.values():
            if sp_diff is None:
                problems.append("a running subprocess whose process was removed")
                continue
            problems.extend(
                t.task_spec.bpmn_id or t.task_spec.name
                for t in sp_diff.removed
                if t.has_state(TaskState.FINISHED_MASK | TaskState.STARTED | TaskState.READY)
            )
        if problems:
            raise MigrationRefused(
                "the new version removes elements this instance has reached: "
                + ", ".join(sorted(set(filter(None, problems))))
            )
        removed = migrate_workflow(top_diff, workflow, bundle.spec)
        for sp_id, sp_diff in sub_diffs.items():
            subprocess = workflow.subprocesses[sp_id]
            removed.extend(
                migrate_workflow(sp_diff, subprocess, bundle.subprocess_specs[subprocess.spec.name])
            )
        workflow.subprocess_specs = bundle.subprocess_specs
        reset = sorted({t.task_spec.bpmn_id for t in removed if t.task_spec.bpmn_id})
        self.run(workflow)
        return reset


engine = Engine()
