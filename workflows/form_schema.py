"""The JSON Schema forms of a bundle: what deploy refuses in them, and the validator that
checks submitted data against them on the server.

Forms are written by process owners, so they are untrusted like scripts. Two rules:

- A form refers only to itself. SpiffArena renders forms with react-jsonschema-form, which
  resolves only local references (a JSON pointer fragment such as "#/$defs/address"), and
  CareFlow bundles name each form by its file, so that is the whole of what a form may
  reference. A `$ref` to anything else (http://, file://, another file) is refused at deploy,
  and the validator's `referencing.Registry` has no way to fetch anything: it holds the form
  itself (and the JSON Schema meta-schemas jsonschema ships in memory), and its retrieve
  function refuses every URI. jsonschema's default would fetch unknown URIs with urllib.
- Patterns run in linear time. `pattern`, `patternProperties` (and the property names
  `additionalProperties` must weed out with them) and the `regex` format are matched with
  RE2 (google-re2), not Python's backtracking `re`: `^(a+)+$` against "aaaa…!" takes
  microseconds instead of doubling per character. A pattern RE2 cannot compile
  (backreferences, look-around) is refused at deploy. RE2's \\d and \\w are ASCII-only, as
  they are in the browser's (ECMA-262) regular expressions.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import re2
from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators
from referencing import Registry
from referencing.exceptions import NoSuchResource, Unresolvable
from referencing.jsonschema import DRAFT202012

DIALECT = "https://json-schema.org/draft/2020-12/schema"
_DIALECTS = {DIALECT, DIALECT + "#"}
_REF_KEYWORDS = ("$ref", "$dynamicRef")
_SHOWN_CHARS = 120


class FormUnsupported(Exception):
    """A form (stored before deploy checked it) that the server cannot check data against."""

    def __init__(self, where: str, message: str):
        self.where = where
        self.message = message
        super().__init__(f"{where}: {message}")


# --- patterns ------------------------------------------------------------------------------


def _re2_options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # a refused pattern is reported to the caller, not to stderr
    return options


_OPTIONS = _re2_options()


def _ecma_to_re2(pattern: str) -> str:
    r"""`pattern` with the ECMA-262 escapes RE2 spells differently rewritten: \uHHHH and
    \u{H…} become \x{…} (common in forms: "^[\u4e00-\u9fa5]+$" for Chinese names)."""
    out, i, n = [], 0, len(pattern)
    while i < n:
        char = pattern[i]
        if char != "\\" or i + 1 >= n:
            out.append(char)
            i += 1
            continue
        nxt = pattern[i + 1]
        if nxt == "u":
            four = pattern[i + 2 : i + 6]
            if len(four) == 4 and all(c in "0123456789abcdefABCDEF" for c in four):
                out.append("\\x{" + four + "}")
                i += 6
                continue
            if pattern[i + 2 : i + 3] == "{":
                end = pattern.find("}", i + 3)
                digits = pattern[i + 3 : end] if end != -1 else ""
                if digits and all(c in "0123456789abcdefABCDEF" for c in digits):
                    out.append("\\x{" + digits + "}")
                    i = end + 1
                    continue
        out.append(pattern[i : i + 2])
        i += 2
    return "".join(out)


@functools.lru_cache(maxsize=1024)
def compile_pattern(pattern: str) -> Any:
    """The RE2 program of a JSON Schema pattern; raises re2.error when RE2 cannot run it."""
    return re2.compile(_ecma_to_re2(pattern), _OPTIONS)


def pattern_error(pattern: str) -> str | None:
    """Why RE2 cannot run `pattern` (None when it can)."""
    try:
        compile_pattern(pattern)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else ""
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        return str(reason) or "not a valid pattern"
    return None


def _search(pattern: str, text: str) -> bool:
    return compile_pattern(pattern).search(text) is not None


def _unsupported_pattern(pattern: str) -> ValidationError:
    return ValidationError(
        f"the form's pattern {_shown(pattern)} cannot be checked in linear time; "
        "the process owner must deploy a corrected form"
    )


def additional_property_names(instance: dict, schema: dict) -> list[str]:
    """The keys of `instance` that neither `properties` nor `patternProperties` cover."""
    properties = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    return [
        key
        for key in instance
        if key not in properties and not any(_search(p, key) for p in patterns)
    ]


# Keyword implementations: the same meaning as jsonschema's, with RE2 doing the matching.


def _pattern(validator, pattern, instance, schema) -> Iterator[ValidationError]:  # noqa: ANN001
    if not validator.is_type(instance, "string"):
        return
    try:
        matched = _search(pattern, instance)
    except re2.error:
        yield _unsupported_pattern(pattern)
        return
    if not matched:
        # Not the value itself: it can be long, and the caller knows what they sent.
        yield ValidationError(f"does not match the pattern {_shown(pattern)}")


def _pattern_properties(validator, patterns, instance, schema) -> Iterator[ValidationError]:  # noqa: ANN001
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        try:
            regex = compile_pattern(pattern)
        except re2.error:
            yield _unsupported_pattern(pattern)
            continue
        for key, value in instance.items():
            if regex.search(key) is not None:
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


_BASE_ADDITIONAL = Draft202012Validator.VALIDATORS["additionalProperties"]


def _additional_properties(validator, aP, instance, schema) -> Iterator[ValidationError]:  # noqa: ANN001
    # jsonschema's own keyword matches patternProperties with `re`: hand it a schema in which
    # the keys RE2 matched are plain properties, and it decides the rest as usual.
    if validator.is_type(instance, "object") and schema.get("patternProperties"):
        try:
            extra = set(additional_property_names(instance, schema))
        except re2.error:
            yield _unsupported_pattern(next(iter(schema["patternProperties"])))
            return
        covered = {key: True for key in instance if key not in extra}
        schema = {k: v for k, v in schema.items() if k != "patternProperties"}
        schema["properties"] = {**schema.get("properties", {}), **covered}
    yield from _BASE_ADDITIONAL(validator, aP, instance, schema)


FormValidator = validators.extend(
    Draft202012Validator,
    {
        "pattern": _pattern,
        "patternProperties": _pattern_properties,
        "additionalProperties": _additional_properties,
    },
)


def _format_checker() -> FormatChecker:
    checker = FormatChecker()  # its own copy of the registered format checks

    @checker.checks("regex", raises=re2.error)
    def _is_regex(instance: object) -> bool:
        if isinstance(instance, str):
            compile_pattern(instance)
        return True

    return checker


FORMAT_CHECKER = _format_checker()


# --- references ----------------------------------------------------------------------------


def _refuse_retrieval(uri: str) -> Any:
    # Nothing outside the form is ever fetched: no network, no files.
    raise NoSuchResource(ref=uri)


def form_registry() -> Registry:
    """The registry a form is validated with: empty but for the form itself, which jsonschema
    adds as the root (plus its in-memory meta-schemas); it retrieves nothing."""
    return Registry(retrieve=_refuse_retrieval)


def form_validator(schema: dict[str, Any]) -> Any:
    """The validator for data submitted through `schema`.

    Raises FormUnsupported when the form has something the server refuses to evaluate (a form
    stored before deploy checked it): the same checks as deploy.
    """
    problems = form_problems(schema)
    if problems:
        where, message = problems[0]
        raise FormUnsupported(where, message)
    return FormValidator(schema, registry=form_registry(), format_checker=FORMAT_CHECKER)


# --- deploy checks -------------------------------------------------------------------------


def _shown(text: str) -> str:
    if len(text) > _SHOWN_CHARS:
        text = text[:_SHOWN_CHARS] + "…"
    return '"' + text + '"'


def _pointer(path: tuple[Any, ...]) -> str:
    """`path` as the `element` of a deploy problem: JSON pointer segments (RFC 6901 escapes)
    joined with "/", like the other form problems; "(root)" for the form itself."""
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in path]
    return "/".join(parts) or "(root)"


def _walk(schema: Any) -> Iterator[tuple[tuple[Any, ...], dict[str, Any]]]:
    """Every object in the form with its path. Every object, not only schema positions: a
    `$ref` can point anywhere in the document, and what it points at is then a schema."""
    stack: list[tuple[tuple[Any, ...], Any]] = [((), schema)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            yield path, value
            stack.extend((path + (k,), v) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend((path + (i,), v) for i, v in reversed(list(enumerate(value))))


def form_problems(schema: dict[str, Any]) -> list[tuple[str, str]]:
    """(element, message) for each part of a form CareFlow refuses, in document order.

    Call it on a form that already passed Draft202012Validator.check_schema. Messages quote
    the form's own text only (never anything a reference points at).
    """
    problems: list[tuple[str, str]] = []
    resolver = form_registry().resolver_with_root(DRAFT202012.create_resource(schema))
    uses_unevaluated: tuple[Any, ...] | None = None
    uses_pattern_properties = False
    for path, node in _walk(schema):
        for keyword in _REF_KEYWORDS:
            ref = node.get(keyword)
            if isinstance(ref, str):
                message = _reference_problem(ref, resolver)
                if message:
                    problems.append((_pointer(path + (keyword,)), message))
        if path and isinstance(node.get("$id"), str):
            problems.append(
                (
                    _pointer(path + ("$id",)),
                    "$id is allowed only at the top of a form: references inside a form "
                    "are resolved from the form itself",
                )
            )
        dialect = node.get("$schema")
        if isinstance(dialect, str) and dialect not in _DIALECTS:
            problems.append(
                (
                    _pointer(path + ("$schema",)),
                    f"forms are JSON Schema draft 2020-12: $schema must be {_shown(DIALECT)} "
                    f"or left out, not {_shown(dialect)}",
                )
            )
        pattern = node.get("pattern")
        if isinstance(pattern, str) and (reason := pattern_error(pattern)):
            problems.append((_pointer(path + ("pattern",)), _pattern_message(pattern, reason)))
        pattern_properties = node.get("patternProperties")
        if isinstance(pattern_properties, dict):
            uses_pattern_properties = uses_pattern_properties or bool(pattern_properties)
            for key in pattern_properties:
                if reason := pattern_error(key):
                    where = _pointer(path + ("patternProperties", key))
                    problems.append((where, _pattern_message(key, reason)))
        if "unevaluatedProperties" in node and uses_unevaluated is None:
            uses_unevaluated = path + ("unevaluatedProperties",)
    if not problems and (cycle := _reference_cycle(schema)) is not None:
        problems.append(
            (
                _pointer(cycle),
                "the form's references lead back here without reaching any field: "
                "validation would never end",
            )
        )
    if uses_unevaluated is not None and uses_pattern_properties:
        # jsonschema evaluates patternProperties inside unevaluatedProperties with Python's
        # backtracking `re`, and has no hook to change that.
        problems.append(
            (
                _pointer(uses_unevaluated),
                "unevaluatedProperties cannot be combined with patternProperties in a form; "
                "use additionalProperties",
            )
        )
    return problems


def _pattern_message(pattern: str, reason: str) -> str:
    return (
        f"pattern {_shown(pattern)} is refused: {reason}. Form patterns run on RE2 "
        "(linear time), which has no backreferences or look-around"
    )


def _reference_problem(ref: str, resolver: Any) -> str | None:
    if not (ref == "#" or ref.startswith("#/")):
        return (
            f"{_shown(ref)} points outside this form: a form may refer only to its own "
            'parts, with a JSON pointer such as "#/$defs/address"'
        )
    try:
        target = resolver.lookup(ref).contents
    except (Unresolvable, LookupError, ValueError, TypeError):
        return f"{_shown(ref)} does not point to any part of this form"
    if not isinstance(target, dict | bool):
        return f"{_shown(ref)} does not point to a schema"
    return None


# Keywords that apply a subschema to the same value: a cycle through them (and references)
# never reaches the end of the data, and would recurse until the stack runs out.
_IN_PLACE_ONE = ("not", "if", "then", "else")
_IN_PLACE_MANY = ("allOf", "anyOf", "oneOf")


def _pointer_segments(ref: str) -> list[str]:
    if ref == "#":
        return []
    return [s.replace("~1", "/").replace("~0", "~") for s in unquote(ref[2:]).split("/")]


def _locate(schema: Any, segments: list[Any]) -> tuple[tuple[Any, ...], Any] | None:
    """The canonical path (list indices as ints) and value at `segments`, or None."""
    node, path = schema, []
    for segment in segments:
        if isinstance(node, list) and str(segment).isdigit() and int(segment) < len(node):
            node = node[int(segment)]
            path.append(int(segment))
        elif isinstance(node, dict) and str(segment) in node:
            node = node[str(segment)]
            path.append(str(segment))
        else:
            return None
    return tuple(path), node


def _in_place_edges(node: dict[str, Any], path: tuple[Any, ...]) -> Iterator[list[Any]]:
    for keyword in _REF_KEYWORDS:
        ref = node.get(keyword)
        if isinstance(ref, str) and (ref == "#" or ref.startswith("#/")):
            yield _pointer_segments(ref)
    for keyword in _IN_PLACE_ONE:
        if keyword in node:
            yield [*path, keyword]
    for keyword in _IN_PLACE_MANY:
        if isinstance(node.get(keyword), list):
            yield from ([*path, keyword, i] for i in range(len(node[keyword])))
    if isinstance(node.get("dependentSchemas"), dict):
        yield from ([*path, "dependentSchemas", k] for k in node["dependentSchemas"])


def _reference_cycle(schema: dict[str, Any]) -> tuple[Any, ...] | None:
    """A schema whose references and in-place subschemas lead back to it without consuming
    any data (`{"$ref": "#"}`, two $defs referring to each other), if there is one."""
    state: dict[tuple[Any, ...], str] = {}  # "open" while on the current path, then "done"
    for start, node in _walk(schema):
        if start in state:
            continue
        state[start] = "open"
        stack = [(start, _in_place_edges(node, start))]
        while stack:
            path, edges = stack[-1]
            segments = next(edges, None)
            if segments is None:
                state[path] = "done"
                stack.pop()
                continue
            found = _locate(schema, segments)
            if found is None or not isinstance(found[1], dict):
                continue
            target_path, target = found
            if state.get(target_path) == "open":
                return path
            if target_path not in state:
                state[target_path] = "open"
                stack.append((target_path, _in_place_edges(target, target_path)))
    return None


def data_field(where: str) -> str:
    """The data field a form location (an `element` of form_problems) applies to, as far as
    it names one: "properties/address/properties/city/pattern" → "address/city"."""
    segments = where.split("/")
    if segments[0] in ("$defs", "definitions", "(root)"):
        return "data"
    names, i = [], 0
    while i < len(segments):
        if segments[i] == "properties" and i + 1 < len(segments):
            names.append(segments[i + 1].replace("~1", "/").replace("~0", "~"))
            i += 2
        else:
            i += 1
    return "/".join(names) or "data"
