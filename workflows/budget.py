"""The budget of one change of an instance: what a diagram may cost before it is stopped.

A process owner's diagram is trusted to describe work, not to exhaust the machine. Every
change of an instance (start, task completion, message, timer, retry, migration) runs under a
`Meter` that counts engine steps and wall time inside the engine's step loop, and checks the
multi-instance cardinality, the call depth, the depth of the task tree (how often a loop has
gone round), timer cycles and the size of the state. Over a limit, the engine raises
`BudgetExceeded` naming the element and the setting; workflows.services rolls the change back
and opens an incident. Values fixed in the diagram are checked at deploy instead
(`bundle_problems`).

Limits are Django settings `CAREFLOW_BUDGET_*` (config/settings.py). This module knows nothing
of SpiffWorkflow; workflows/engine.py calls it.
"""

from __future__ import annotations

import ast
import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings

from workflows import scripting

if TYPE_CHECKING:
    from workflows.engine import ParsedBundle

# setting name -> what it bounds, for messages
LIMITS = {
    "CAREFLOW_BUDGET_ENGINE_STEPS": "engine steps in one change",
    "CAREFLOW_BUDGET_WALL_SECONDS": "seconds of wall time in one change",
    "CAREFLOW_BUDGET_STATE_BYTES": "bytes of instance state",
    "CAREFLOW_BUDGET_MI_CARDINALITY": "multi-instance cardinality",
    "CAREFLOW_BUDGET_CALL_DEPTH": "nested call activities / subprocesses",
    "CAREFLOW_BUDGET_TASK_DEPTH": "depth of the task tree (loop iterations)",
    "CAREFLOW_BUDGET_TIMER_CYCLE_MIN_SECONDS": "seconds between two repetitions of a timer cycle",
    "CAREFLOW_BUDGET_TIMER_CYCLE_MAX_REPETITIONS": "repetitions of a timer cycle",
}


def limit(name: str) -> Any:
    """The value of the budget setting `name` (read on every use, so tests can override)."""
    return getattr(settings, name)


class BudgetExceeded(Exception):
    """A change of an instance went over one of its limits; the change must be rolled back."""

    def __init__(self, setting: str, detail: str, *, element_id: str = "") -> None:
        self.setting = setting
        self.allowed = limit(setting)
        self.detail = detail
        self.element_id = element_id
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f" at {self.element_id!r}" if self.element_id else ""
        return (
            f"budget exceeded{where}: {self.detail} "
            f"(limit: {LIMITS[self.setting]}, {self.setting} = {self.allowed})"
        )


# --- the size of a value as JSON, without serialising it -----------------------------------


def json_size(value: Any, *, stop_above: int, max_depth: int = 100) -> int:
    """About how many bytes `value` takes as JSON, counting shared objects every time they
    appear (as JSON does) but walking each only once; stops as soon as the count passes
    `stop_above` (then returns a number above it). A value that contains itself, or nests
    deeper than `max_depth`, cannot be stored: returns `stop_above + 1`.

    `[[[0] * 1000] * 1000] * 20` is 40 MB of JSON built from three small lists: this takes
    a millisecond where json.dumps takes seconds and hundreds of megabytes.
    """
    too_big = stop_above + 1
    sizes: dict[int, int] = {}
    open_ids: set[int] = set()
    # (value, depth, expanded?) ; containers are pushed twice: before and after their items
    stack: list[tuple[Any, int, bool]] = [(value, 0, False)]
    result = 0
    while stack:
        item, depth, expanded = stack.pop()
        if isinstance(item, dict | list | tuple):
            key = id(item)
            if expanded:
                open_ids.discard(key)
                children = item.values() if isinstance(item, dict) else item
                size = 2 + len(item)
                if isinstance(item, dict):
                    size += sum(_scalar_size(k) + 1 for k in item)
                size += sum(sizes[id(c)] if id(c) in sizes else _scalar_size(c) for c in children)
                if size > stop_above:
                    return too_big
                sizes[key] = size
                result = size
                continue
            if key in sizes:
                result = sizes[key]
                continue
            if key in open_ids or depth > max_depth:
                return too_big
            open_ids.add(key)
            stack.append((item, depth, True))
            children = item.values() if isinstance(item, dict) else item
            for child in children:
                if isinstance(child, dict | list | tuple) and id(child) not in sizes:
                    stack.append((child, depth + 1, False))
        else:
            result = _scalar_size(item)
    return result


def _scalar_size(value: Any) -> int:
    if isinstance(value, str):
        return len(value) + 2
    if isinstance(value, bool) or value is None:
        return 5
    if isinstance(value, int):
        return value.bit_length() * 3 // 10 + 2
    if isinstance(value, float):
        return len(repr(value))
    return 40  # dates, decimals and the like are written as short strings


# --- one change ------------------------------------------------------------------------------


class Meter:
    """What one change of an instance has spent so far."""

    def __init__(self, *, enforce: bool = True) -> None:
        self.enforce = enforce
        self.started = time.monotonic()
        self.steps = 0
        self._depths: dict[Any, int] = {}

    def _fail(self, setting: str, detail: str, element_id: str) -> None:
        if self.enforce:
            raise BudgetExceeded(setting, detail, element_id=element_id)

    def check_time(self, element_id: str) -> None:
        allowed = limit("CAREFLOW_BUDGET_WALL_SECONDS")
        elapsed = time.monotonic() - self.started
        if elapsed > allowed:
            self._fail(
                "CAREFLOW_BUDGET_WALL_SECONDS",
                f"the change ran for {elapsed:.1f} s",
                element_id,
            )

    def step(self, element_id: str) -> None:
        """Charge one engine step (called before the engine runs a task)."""
        self.steps += 1
        if self.steps > limit("CAREFLOW_BUDGET_ENGINE_STEPS"):
            self._fail(
                "CAREFLOW_BUDGET_ENGINE_STEPS",
                f"more than {limit('CAREFLOW_BUDGET_ENGINE_STEPS')} engine steps",
                element_id,
            )
        self.check_time(element_id)

    def check_task_depth(self, task_key: Any, element_id: str, ancestors) -> None:
        """`ancestors()` yields the keys of the task's ancestors, nearest first; depths found
        on the way are remembered, so a long loop costs one walk up the tree, not one per step."""
        chain = []
        base = -1  # the depth of the root's parent
        for key in ancestors():
            if key in self._depths:
                base = self._depths[key]
                break
            chain.append(key)
        for offset, key in enumerate(reversed(chain), start=1):
            self._depths[key] = base + offset
        depth = base + len(chain) + 1
        self._depths[task_key] = depth
        if depth > limit("CAREFLOW_BUDGET_TASK_DEPTH"):
            self._fail(
                "CAREFLOW_BUDGET_TASK_DEPTH",
                f"the task tree is {depth} tasks deep: a loop went round too often",
                element_id,
            )

    def check_cardinality(self, count: Any, element_id: str) -> None:
        self.check_time(element_id)
        allowed = limit("CAREFLOW_BUDGET_MI_CARDINALITY")
        if isinstance(count, int) and count > allowed:
            self._fail(
                "CAREFLOW_BUDGET_MI_CARDINALITY",
                f"a multi-instance activity of {count} instances",
                element_id,
            )

    def check_call_depth(self, depth: int, element_id: str) -> None:
        self.check_time(element_id)
        if depth > limit("CAREFLOW_BUDGET_CALL_DEPTH"):
            self._fail(
                "CAREFLOW_BUDGET_CALL_DEPTH",
                f"a call {depth} levels deep (does the process call itself?)",
                element_id,
            )

    def check_data(self, data: Any, element_id: str) -> None:
        """Refuse task data that would not fit in the state, before it is copied around."""
        allowed = limit("CAREFLOW_BUDGET_STATE_BYTES")
        if json_size(data, stop_above=allowed) > allowed:
            self._fail(
                "CAREFLOW_BUDGET_STATE_BYTES",
                f"the task data would take more than {allowed} bytes",
                element_id,
            )

    def check_state_bytes(self, size: int) -> None:
        allowed = limit("CAREFLOW_BUDGET_STATE_BYTES")
        if size > allowed:
            self._fail("CAREFLOW_BUDGET_STATE_BYTES", f"the state would take {size} bytes", "")

    def check_timer_cycle(
        self, *, element_id: str, remaining: int, interval_seconds: float, fired: int | None
    ) -> None:
        """A cycle timer as the engine holds it: `remaining` repetitions (-n for unbounded)."""
        minimum = limit("CAREFLOW_BUDGET_TIMER_CYCLE_MIN_SECONDS")
        if interval_seconds < minimum:
            self._fail(
                "CAREFLOW_BUDGET_TIMER_CYCLE_MIN_SECONDS",
                f"a timer cycle repeating every {interval_seconds:g} s",
                element_id,
            )
        most = limit("CAREFLOW_BUDGET_TIMER_CYCLE_MAX_REPETITIONS")
        if remaining > most:
            self._fail(
                "CAREFLOW_BUDGET_TIMER_CYCLE_MAX_REPETITIONS",
                f"a timer cycle of {remaining} repetitions",
                element_id,
            )
        if fired is not None and fired > most:
            self._fail(
                "CAREFLOW_BUDGET_TIMER_CYCLE_MAX_REPETITIONS",
                f"a timer cycle without end that has fired {fired} times",
                element_id,
            )


_current: ContextVar[Meter | None] = ContextVar("careflow_budget", default=None)


@contextlib.contextmanager
def metered(*, enforce: bool = True) -> Iterator[Meter]:
    """Run one change under a fresh meter (`enforce=False`: count, never stop; for ending an
    instance, which must always be possible)."""
    meter = Meter(enforce=enforce)
    token = _current.set(meter)
    try:
        yield meter
    finally:
        _current.reset(token)


def current() -> Meter:
    """The meter of the change under way; code that runs the engine outside a change (a
    benchmark, a shell) gets a fresh one each time."""
    return _current.get() or Meter()


# --- values fixed in the diagram, checked at deploy ------------------------------------------

_CONSTANT_NODES = (ast.Expression, ast.Constant, ast.BinOp, ast.UnaryOp, ast.operator, ast.unaryop)


def constant_value(expression: str | None) -> tuple[bool, Any]:
    """(True, value) when `expression` is made of literals and operators only (`10**7`,
    `"R/PT1S"`), evaluated in the sandbox; (False, None) when it depends on data."""
    if not isinstance(expression, str) or not expression.strip():
        return False, None
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError:
        return False, None
    if not all(isinstance(node, _CONSTANT_NODES) for node in ast.walk(tree)):
        return False, None
    try:
        return True, scripting.evaluate(expression, {})
    except Exception:  # noqa: BLE001 - the sandbox refuses it: the run-time check decides
        return False, None


def bundle_problems(bundle: ParsedBundle) -> list[tuple[str, str, str]]:
    """(file, element, message) for every budget a bundle breaks by its constants: a literal
    multi-instance cardinality over the limit, a timer cycle repeating faster than the minimum
    or more often than the maximum, a call activity that can reach its own process."""
    problems = []
    most = limit("CAREFLOW_BUDGET_MI_CARDINALITY")
    for fact in bundle.cardinalities:
        if isinstance(fact.value, int) and fact.value > most:
            problems.append(
                (
                    fact.file,
                    fact.element,
                    f"multi-instance cardinality {fact.value} is over the limit "
                    f"CAREFLOW_BUDGET_MI_CARDINALITY = {most}",
                )
            )
    minimum = limit("CAREFLOW_BUDGET_TIMER_CYCLE_MIN_SECONDS")
    repetitions = limit("CAREFLOW_BUDGET_TIMER_CYCLE_MAX_REPETITIONS")
    for cycle in bundle.timer_cycles:
        if cycle.interval_seconds is None:
            continue
        if cycle.interval_seconds < minimum:
            problems.append(
                (
                    cycle.file,
                    cycle.element,
                    f"timer cycle {cycle.text!r} repeats every {cycle.interval_seconds:g} s, "
                    f"more often than CAREFLOW_BUDGET_TIMER_CYCLE_MIN_SECONDS = {minimum}",
                )
            )
        elif cycle.repetitions is not None and cycle.repetitions > repetitions:
            problems.append(
                (
                    cycle.file,
                    cycle.element,
                    f"timer cycle {cycle.text!r} repeats {cycle.repetitions} times, more than "
                    f"CAREFLOW_BUDGET_TIMER_CYCLE_MAX_REPETITIONS = {repetitions}",
                )
            )
    graph: dict[str, set[str]] = {}
    for call in bundle.calls:
        graph.setdefault(call.process, set()).add(call.called)
    for call in bundle.calls:
        if _reaches(graph, call.called, call.process):
            problems.append(
                (
                    call.file,
                    call.element,
                    f"call activity calls {call.called!r}, which leads back to "
                    f"{call.process!r}: a process may not call itself (recursion)",
                )
            )
    # A process that calls itself is among the subprocesses of the main process too.
    return list(dict.fromkeys(problems))


def _reaches(graph: dict[str, set[str]], start: str, target: str) -> bool:
    seen, stack = set(), [start]
    while stack:
        node = stack.pop()
        if node == target:
            return True
        if node in seen:
            continue
        seen.add(node)
        stack.extend(graph.get(node, ()))
    return False


@dataclass(frozen=True)
class CardinalityFact:
    file: str
    element: str
    value: int | None  # the literal cardinality, None when it depends on data


@dataclass(frozen=True)
class TimerCycleFact:
    file: str
    element: str
    text: str
    repetitions: int | None  # None: unbounded (R/...)
    interval_seconds: float | None  # None: depends on data


@dataclass(frozen=True)
class CallFact:
    file: str
    element: str
    process: str
    called: str
