"""The sandbox that runs the scripts and expressions found in process models.

Diagrams are uploaded by people, so their code is untrusted. It is compiled with
RestrictedPython (no imports, no names or attributes starting with "_", guarded
item and attribute access), runs against allow-listed builtins and helpers only,
and is bounded in time. This module knows nothing of SpiffWorkflow; engine.py
plugs it into the engine.
"""

import ast
import datetime as dt
import operator
import sys
import time
from collections.abc import Callable
from functools import lru_cache
from types import CodeType
from typing import Any

from django.conf import settings
from django.utils import timezone
from RestrictedPython import (
    RestrictingNodeTransformer,
    compile_restricted_eval,
    compile_restricted_exec,
)
from RestrictedPython.Guards import (
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safe_builtins,
    safer_getattr,
)

SCRIPT_FILENAME = "<careflow-script>"
LOOP_GUARD = "_loop_guard_"
MAX_RANGE = 100_000


class ScriptRefused(Exception):
    """The source may not run in the sandbox (it imports, reaches private names, ...)."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("; ".join(errors))


class ScriptLimitExceeded(Exception):
    """A script ran longer than the sandbox allows."""


class _CareflowPolicy(RestrictingNodeTransformer):
    """RestrictedPython's policy, plus: no imports at all, no class or async definitions."""

    def _refuse(self, node: ast.AST, what: str) -> None:
        self.error(node, f"{what} are not allowed in process scripts.")

    def visit_Import(self, node: ast.Import) -> ast.AST:
        self._refuse(node, "Imports")
        return node

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.AST:
        self._refuse(node, "Imports")
        return node

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        self._refuse(node, "Class definitions")
        return node

    def visit_Global(self, node: ast.Global) -> ast.AST:
        self._refuse(node, "Global statements")
        return node

    def visit_Nonlocal(self, node: ast.Nonlocal) -> ast.AST:
        self._refuse(node, "Nonlocal statements")
        return node

    # A one-line loop ("while True: pass") emits no line events on Python 3.11, so every
    # loop body starts with a call that charges the script's budget.
    def visit_While(self, node: ast.While) -> ast.AST:
        return _with_loop_guard(super().visit_While(node))

    def visit_For(self, node: ast.For) -> ast.AST:
        return _with_loop_guard(super().visit_For(node))


def _with_loop_guard(node: ast.AST) -> ast.AST:
    if isinstance(node, ast.While | ast.For):
        call = ast.Expr(ast.Call(func=ast.Name(LOOP_GUARD, ast.Load()), args=[], keywords=[]))
        node.body.insert(0, ast.copy_location(call, node))
        ast.fix_missing_locations(node)
    return node


@lru_cache(maxsize=4096)
def compile_script(source: str, mode: str) -> CodeType:
    """Compile a script (`mode="exec"`) or expression (`mode="eval"`), or raise ScriptRefused."""
    compiler = compile_restricted_exec if mode == "exec" else compile_restricted_eval
    result = compiler(source, filename=SCRIPT_FILENAME, policy=_CareflowPolicy)
    if result.errors:
        raise ScriptRefused(list(result.errors))
    return result.code


def check_script(source: str, mode: str) -> list[str]:
    """The reasons `source` is refused by the sandbox; empty when it compiles."""
    try:
        compile_script(source, mode)
    except ScriptRefused as exc:
        return exc.errors
    return []


# --- what scripts may call -------------------------------------------------------------


def _write_guard(obj: Any) -> Any:
    # Scripts may change the plain containers they build or find in task data, nothing else.
    if isinstance(obj, dict | list):
        return obj
    raise TypeError(f"scripts may not modify a {type(obj).__name__}")


_INPLACE = {
    "+=": operator.iadd,
    "-=": operator.isub,
    "*=": operator.imul,
    "/=": operator.itruediv,
    "//=": operator.ifloordiv,
    "%=": operator.imod,
    "**=": operator.ipow,
    "|=": operator.ior,
    "&=": operator.iand,
}


def _inplacevar(op: str, target: Any, value: Any) -> Any:
    try:
        return _INPLACE[op](target, value)
    except KeyError:
        raise TypeError(f"operator {op} is not allowed in process scripts") from None


def _bounded_range(*args: int) -> range:
    result = range(*args)
    if len(result) > MAX_RANGE:
        raise ScriptLimitExceeded(f"range() of more than {MAX_RANGE} items")
    return result


def _apply(func: Callable, *args: Any, **kwargs: Any) -> Any:
    return func(*args, **kwargs)


def _today() -> dt.date:
    return timezone.localdate()


def _now() -> dt.datetime:
    return timezone.now()


def _parse_date(value: str | dt.date) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _days_between(start: str | dt.date, end: str | dt.date) -> int:
    return (_parse_date(end) - _parse_date(start)).days


def _add_days(value: str | dt.date, days: int) -> str:
    return (_parse_date(value) + dt.timedelta(days=days)).isoformat()


_EXTRA_BUILTINS: dict[str, Any] = {
    "dict": dict,
    "list": list,
    "tuple": tuple,
    "set": set,
    "sorted": sorted,
    "reversed": reversed,
    "sum": sum,
    "min": min,
    "max": max,
    "any": any,
    "all": all,
    "enumerate": enumerate,
    "zip": zip,
    "range": _bounded_range,
}

HELPERS: dict[str, Callable[..., Any]] = {
    "today": _today,
    "now": _now,
    "parse_date": _parse_date,
    "days_between": _days_between,
    "add_days": _add_days,
}


def _builtins() -> dict[str, Any]:
    allowed = {k: v for k, v in safe_builtins.items() if k not in {"__build_class__", "_getattr_"}}
    allowed.update(_EXTRA_BUILTINS)
    return allowed


_BUILTINS = _builtins()
_GUARDS: dict[str, Any] = {
    "__builtins__": _BUILTINS,
    "__name__": "careflow_script",
    "_getattr_": safer_getattr,
    "_getitem_": operator.getitem,
    "_getiter_": iter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": _write_guard,
    "_inplacevar_": _inplacevar,
    "_apply_": _apply,
}
RESERVED_NAMES = frozenset(_GUARDS) | frozenset(HELPERS) | {LOOP_GUARD}


# --- running ---------------------------------------------------------------------------


class _Budget:
    """A trace function that stops a script after too many lines or too much time."""

    def __init__(self) -> None:
        conf = settings.CAREFLOW
        self.max_lines = conf["SCRIPT_MAX_LINES"]
        self.deadline = time.monotonic() + conf["SCRIPT_MAX_SECONDS"]
        self.lines = 0

    def tick(self) -> None:
        self.lines += 1
        if self.lines > self.max_lines:
            raise ScriptLimitExceeded(f"script ran more than {self.max_lines} lines")
        if self.lines % 1000 == 0 and time.monotonic() > self.deadline:
            raise ScriptLimitExceeded("script ran out of time")

    def __call__(self, frame, event, arg):  # noqa: ANN001 - the sys.settrace signature
        if frame.f_code.co_filename != SCRIPT_FILENAME:
            return None
        if event == "line":
            self.tick()
        return self


def _run_bounded(code: CodeType, namespace: dict[str, Any]) -> Any:
    budget = _Budget()
    namespace[LOOP_GUARD] = budget.tick
    previous = sys.gettrace()
    sys.settrace(budget)
    try:
        return eval(code, namespace)  # noqa: S307 - restricted, compiled by compile_script
    finally:
        sys.settrace(previous)


def _namespace(context: dict[str, Any], external: dict[str, Any] | None) -> dict[str, Any]:
    overwrites = (set(HELPERS) | set(external or {})) & set(context)
    if overwrites:
        raise ValueError(
            "task data may not use the names of script helpers: " + ", ".join(sorted(overwrites))
        )
    namespace = dict(HELPERS)
    namespace.update(external or {})
    namespace.update(context)
    # The guards go in last: task data can never replace them.
    namespace.update(_GUARDS)
    return namespace


def evaluate(source: str, context: dict[str, Any], external: dict[str, Any] | None = None) -> Any:
    """Value of the expression `source` over the task data `context`."""
    return _run_bounded(compile_script(source.strip(), "eval"), _namespace(context, external))


def execute(source: str, context: dict[str, Any], external: dict[str, Any] | None = None) -> None:
    """Run the script `source`; the variables it sets or deletes change `context` in place."""
    namespace = _namespace(context, external)
    _run_bounded(compile_script(source, "exec"), namespace)
    skip = RESERVED_NAMES | set(external or {})
    for key in list(context):
        if key not in namespace or key in skip:
            del context[key]
    for key, value in namespace.items():
        if key in skip or callable(value):
            continue
        context[key] = value
