"""The sandbox that runs the scripts and expressions found in process models.

Diagrams are uploaded by people, so their code is untrusted. It is compiled with
RestrictedPython (no imports, no names or attributes starting with "_", guarded
item and attribute access), runs against allow-listed builtins and helpers only,
and is bounded in time. This module knows nothing of SpiffWorkflow; engine.py
plugs it into the engine.
"""

import ast
import datetime as dt
import functools
import operator
import re
import resource
import sys
import time
from collections.abc import Callable, Sized
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
UNPACK_GUARD = "_unpack_"
BINOP_GUARD = "_binop_"
MAX_RANGE = 100_000
MAX_FORMAT_WIDTH = 1000
_GUARDED_OPS = {ast.Mult: "*", ast.Pow: "**", ast.LShift: "<<", ast.Add: "+", ast.Mod: "%"}


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

    # Operators that can build a huge value in one step ("x" * 10**9, 10**10**8, 1 << 10**9,
    # s + s doubling in a loop) become calls to _binop_, which checks the size of the result
    # before computing it. The other operators cannot outgrow their operands.
    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        node = super().visit_BinOp(node)
        if isinstance(node, ast.BinOp) and type(node.op) in _GUARDED_OPS:
            call = ast.Call(
                func=ast.Name(BINOP_GUARD, ast.Load()),
                args=[ast.Constant(_GUARDED_OPS[type(node.op)]), node.left, node.right],
                keywords=[],
            )
            return ast.fix_missing_locations(ast.copy_location(call, node))
        return node

    # f"{x:>1000000000}" pads to a billion characters: format specs must be literal and
    # their widths and precisions small.
    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        spec = node.format_spec
        if spec is not None:
            parts = spec.values if isinstance(spec, ast.JoinedStr) else [spec]
            if not all(isinstance(p, ast.Constant) for p in parts):
                self._refuse(node, "Computed format specifications in f-strings")
            else:
                text = "".join(str(p.value) for p in parts)
                if any(int(n) > MAX_FORMAT_WIDTH for n in re.findall(r"\d+", text)):
                    self.error(
                        node, f"Format widths over {MAX_FORMAT_WIDTH} are not allowed in scripts."
                    )
        return super().visit_FormattedValue(node)

    # [*a, *a, *a] builds a list of many times a's length in one step: every unpacked
    # iterable is charged to the run's budget (Budget.unpack).
    def visit_Starred(self, node: ast.Starred) -> ast.AST:
        node = super().visit_Starred(node)
        if isinstance(node, ast.Starred) and isinstance(node.ctx, ast.Load):
            node.value = ast.Call(
                func=ast.Name(UNPACK_GUARD, ast.Load()), args=[node.value], keywords=[]
            )
            ast.fix_missing_locations(node)
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
    binop = op[:-1]
    if binop in _GUARDED_OPS.values():
        _check_binop(binop, target, value)
    try:
        return _INPLACE[op](target, value)
    except KeyError:
        raise TypeError(f"operator {op} is not allowed in process scripts") from None


# --- bounds on single operations ---------------------------------------------------------
# The time budget stops long loops, but one C-level operation ("x" * 10**9, pow(7, 10**7))
# runs to its end before the tracer sees the next line. Each operation that can build a
# value much larger than its operands checks the size of the result before computing it.

_SIZED = (str, bytes, list, tuple)
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")


def _check_size(size: int, what: str) -> None:
    limit = settings.CAREFLOW["SCRIPT_MAX_SIZE"]
    if size > limit:
        raise ScriptLimitExceeded(f"{what} would have {size} items, more than {limit}")


def _check_bits(bits: int, what: str) -> None:
    limit = settings.CAREFLOW["SCRIPT_MAX_INT_BITS"]
    if bits > limit:
        raise ScriptLimitExceeded(f"{what} would be a number of {bits} bits, more than {limit}")


def _check_width(width: int, what: str) -> None:
    if width > MAX_FORMAT_WIDTH:
        raise ScriptLimitExceeded(f"{what} of {width}, more than {MAX_FORMAT_WIDTH}")


def _check_binop(op: str, left: Any, right: Any) -> None:
    if op == "*":
        if isinstance(left, _SIZED) and isinstance(right, int):
            _check_size(len(left) * right, "a repetition")
        elif isinstance(right, _SIZED) and isinstance(left, int):
            _check_size(len(right) * left, "a repetition")
        elif isinstance(left, int) and isinstance(right, int):
            _check_bits(left.bit_length() + right.bit_length(), "a product")
    elif op == "+":
        if isinstance(left, _SIZED) and isinstance(right, _SIZED):
            _check_size(len(left) + len(right), "a concatenation")
    elif op == "**":
        _check_power(left, right)
    elif op == "<<":
        if isinstance(left, int) and isinstance(right, int) and right > 0:
            _check_bits(left.bit_length() + right, "a shift")
    elif op == "%" and isinstance(left, str | bytes):
        text = left.decode("latin-1") if isinstance(left, bytes) else left
        for width, precision in _PERCENT_SPEC.findall(text):
            for number in (width, precision):
                if number == "*":
                    raise ScriptLimitExceeded("'*' widths are not allowed in % formatting")
                if number:
                    _check_width(int(number), "a % format width")


def _check_power(base: Any, exponent: Any) -> None:
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
        _check_bits(abs(base).bit_length() * exponent, "a power")


def _binop(op: str, left: Any, right: Any) -> Any:
    _check_binop(op, left, right)
    return _BINOPS[op](left, right)


_BINOPS = {
    "*": operator.mul,
    "+": operator.add,
    "**": operator.pow,
    "<<": operator.lshift,
    "%": operator.mod,
}


def _pow(base: Any, exponent: Any, modulus: Any = None) -> Any:
    if modulus is None:
        _check_power(base, exponent)
        return pow(base, exponent)
    return pow(base, exponent, modulus)


def _bytes(*args: Any, **kwargs: Any) -> bytes:
    if args and isinstance(args[0], int):
        _check_size(args[0], "bytes()")
    return bytes(*args, **kwargs)


def _sum(iterable: Any, start: Any = 0) -> Any:
    # sum() of lists or strings copies the growing result on every item.
    if not isinstance(start, int | float | complex):
        raise TypeError("sum() in process scripts adds numbers only")
    return sum(iterable, start)


def _round(number: Any, ndigits: int | None = None) -> Any:
    if ndigits is None:
        return round(number)
    # round(5, -10**9) computes 10**(10**9) first.
    _check_width(abs(ndigits), "round() to a precision")
    return round(number, ndigits)


def _join(self: str | bytes, iterable: Any) -> Any:
    items = list(iterable)
    _check_size(len(self) * max(len(items) - 1, 0), "a join")
    _check_size(
        sum(len(i) for i in items if isinstance(i, str | bytes)) + len(self) * len(items),
        "a join",
    )
    return self.join(items)


def _pad(method: str) -> Callable[..., Any]:
    def pad(self: str | bytes, width: int, *args: Any) -> Any:
        _check_size(width, f"{method}()")
        return getattr(self, method)(width, *args)

    return pad


def _expandtabs(self: str | bytes, tabsize: int = 8) -> Any:
    tab = "\t" if isinstance(self, str) else b"\t"
    _check_size(len(self) + self.count(tab) * max(tabsize, 0), "expandtabs()")
    return self.expandtabs(tabsize)


def _replace(self: str | bytes, old: Any, new: Any, count: int = -1) -> Any:
    found = self.count(old)
    if count >= 0:
        found = min(found, count)
    _check_size(len(self) + found * max(len(new) - len(old), 0), "replace()")
    return self.replace(old, new, count)


def _translate(self: str, table: Any) -> str:
    longest = 1
    if isinstance(table, dict):
        longest = max([len(v) for v in table.values() if isinstance(v, str)], default=1)
    _check_size(len(self) * longest, "translate()")
    return self.translate(table)


def _extend(self: list, iterable: Any) -> None:
    items = list(iterable)
    _check_size(len(self) + len(items), "extend()")
    self.extend(items)


def _to_bytes(self: int, length: int = 1, *args: Any, **kwargs: Any) -> bytes:
    _check_size(length, "to_bytes()")
    return self.to_bytes(length, *args, **kwargs)


_STRING_GUARDS: dict[str, Callable[..., Any]] = {
    "join": _join,
    "ljust": _pad("ljust"),
    "rjust": _pad("rjust"),
    "center": _pad("center"),
    "zfill": _pad("zfill"),
    "expandtabs": _expandtabs,
    "replace": _replace,
}
_METHOD_GUARDS: list[tuple[type, dict[str, Callable[..., Any]]]] = [
    (str, {**_STRING_GUARDS, "translate": _translate}),
    (bytes, _STRING_GUARDS),
    (list, {"extend": _extend}),
    (int, {"to_bytes": _to_bytes}),
]


def _getattr(obj: Any, name: str, default: Any = None) -> Any:
    """RestrictedPython's safer getattr (no format(), no inspect attributes), with the
    methods that can build large values replaced by size-checking versions."""
    value = safer_getattr(obj, name, default)
    for cls, guards in _METHOD_GUARDS:
        if isinstance(obj, cls) and name in guards:
            return functools.partial(guards[name], obj)
    return value


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
    "sum": _sum,
    "pow": _pow,
    "bytes": _bytes,
    "round": _round,
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
    "_getattr_": _getattr,
    BINOP_GUARD: _binop,
    "_getitem_": operator.getitem,
    "_getiter_": iter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": _write_guard,
    "_inplacevar_": _inplacevar,
    "_apply_": _apply,
}
RESERVED_NAMES = frozenset(_GUARDS) | frozenset(HELPERS) | {LOOP_GUARD, UNPACK_GUARD}


# --- running ---------------------------------------------------------------------------


def _peak_memory_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # Linux reports KiB


class _Budget:
    """A trace function that stops a script after too many lines, too much time, or when the
    process's peak memory grew by more than the script's allowance (the sum of many bounded
    steps, e.g. a loop appending large lists)."""

    def __init__(self) -> None:
        conf = settings.CAREFLOW
        self.max_lines = conf["SCRIPT_MAX_LINES"]
        self.deadline = time.monotonic() + conf["SCRIPT_MAX_SECONDS"]
        self.max_memory = _peak_memory_bytes() + conf["SCRIPT_MAX_MEMORY_MB"] * 1024 * 1024
        self.max_unpacked = conf["SCRIPT_MAX_SIZE"]
        self.lines = 0
        self.unpacked = 0

    def unpack(self, iterable: Any) -> Any:
        """Charge the items of a `*iterable` to the run (iterators run traced, not charged)."""
        if isinstance(iterable, Sized):
            self.unpacked += len(iterable)
            if self.unpacked > self.max_unpacked:
                raise ScriptLimitExceeded(
                    f"script unpacked more than {self.max_unpacked} items with *"
                )
        return iterable

    def tick(self) -> None:
        self.lines += 1
        if self.lines > self.max_lines:
            raise ScriptLimitExceeded(f"script ran more than {self.max_lines} lines")
        if self.lines % 16 == 0 and _peak_memory_bytes() > self.max_memory:
            raise ScriptLimitExceeded("script used too much memory")
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
    namespace[UNPACK_GUARD] = budget.unpack
    previous = sys.gettrace()
    sys.settrace(budget)
    try:
        return eval(code, namespace)  # noqa: S307 - restricted, compiled by compile_script
    except MemoryError:
        raise ScriptLimitExceeded("script ran out of memory") from None
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
