"""What the API accepts as text: one set of rules for JSON bodies, query strings, paths and
uploaded file names, so hostile or broken input is refused at the door with a 400 naming the
field, before any service or database sees it (PostgreSQL cannot store NUL or lone
surrogates; bidi overrides and invisible characters let one name pass for another)."""

import codecs
import functools
import html
import json
import re
import unicodedata
from typing import Any

from django.conf import settings
from django.http.multipartparser import MultiPartParser as DjangoMultiPartParser
from django.http.multipartparser import MultiPartParserError
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.settings import api_settings
from rest_framework.utils.json import strict_constant

from workflows.exceptions import InvalidInput

# Control characters (tab, newline and carriage return allowed) and lone surrogates.
_CONTROLS = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
_SURROGATES = "\ud800-\udfff"
# Embeddings, overrides and isolates: they reorder what is displayed ("Trojan Source").
_BIDI_CONTROLS = "\u202a-\u202e\u2066-\u2069"
# Invisible characters that make two different strings look the same. The zero-width joiner
# (U+200D) is allowed between two emoji (👩‍⚕️ is one), nowhere else.
_ZERO_WIDTH = "\u180e\u200b\u200c\u200d\u2060\ufeff"
_BIDI = re.compile(f"[{_BIDI_CONTROLS}]")
_REFUSED = re.compile(f"[{_CONTROLS}{_SURROGATES}{_BIDI_CONTROLS}{_ZERO_WIDTH}]")
_ZWJ = "\u200d"


def _is_emoji_part(char: str) -> bool:
    point = ord(char)
    return point >= 0x1F000 or 0x2600 <= point <= 0x27BF or point == 0xFE0F


@functools.cache
def _combining_runs() -> re.Pattern:
    """Runs of combining marks (Unicode categories Mn, Mc, Me), built once on first use."""
    ranges: list[list[int]] = []
    for point in range(0x300, 0x110000):
        if unicodedata.category(chr(point))[0] == "M":
            if ranges and ranges[-1][1] == point - 1:
                ranges[-1][1] = point
            else:
                ranges.append([point, point])
    return re.compile("[" + "".join(f"{chr(a)}-{chr(b)}" for a, b in ranges) + "]+")


def _refused_character(text: str, index: int) -> str | None:
    char = text[index]
    code = f"U+{ord(char):04X}"
    between_emoji = 0 < index < len(text) - 1 and (
        _is_emoji_part(text[index - 1]) and _is_emoji_part(text[index + 1])
    )
    if char == _ZWJ and between_emoji:
        return None
    if unicodedata.category(char) == "Cc":
        return f"contains a NUL or control character ({code})"
    if unicodedata.category(char) == "Cs":
        return f"contains a lone surrogate ({code}), not valid Unicode text"
    if _BIDI.match(char):
        return f"contains a bidirectional override character ({code})"
    return f"contains an invisible zero-width character ({code})"


def text_problem(text: str) -> str | None:
    """Why `text` is refused, or None when it is acceptable. Regular expressions, not a
    Python loop per character: a 1 MiB body of text is checked in milliseconds."""
    limit = settings.CAREFLOW["TEXT_MAX_CHARS"]
    if len(text) > limit:
        return f"is longer than {limit} characters"
    for match in _REFUSED.finditer(text):
        problem = _refused_character(text, match.start())
        if problem:
            return problem
    if text.isascii():
        return None
    most = settings.CAREFLOW["TEXT_MAX_COMBINING_MARKS"]
    for run in _combining_runs().finditer(text):
        if run.start() == 0 or text[run.start() - 1].isspace():
            return f"has a combining mark without a base character (U+{ord(run.group()[0]):04X})"
        if len(run.group()) > most:
            return f"stacks more than {most} combining marks on one character"
    return None


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def check_tree(data: Any) -> None:
    """Refuse a parsed JSON value nested too deeply or holding unacceptable text; every
    problem is reported with its dotted path. Iterative, so depth cannot exhaust the stack."""
    max_depth = settings.CAREFLOW["JSON_MAX_DEPTH"]
    errors: list[dict[str, str]] = []
    stack: list[tuple[Any, str, int]] = [(data, "", 1)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, str):
            problem = text_problem(value)
            if problem:
                errors.append({"field": path or "non_field_errors", "message": problem})
            continue
        if not isinstance(value, dict | list):
            continue
        if depth > max_depth:
            errors.append(
                {
                    "field": path or "non_field_errors",
                    "message": f"nested deeper than {max_depth} levels",
                }
            )
            continue
        if isinstance(value, dict):
            for key, item in value.items():
                problem = text_problem(key)
                if problem:
                    errors.append({"field": _join(path, "<key>"), "message": f"key {problem}"})
                    continue
                stack.append((item, _join(path, key), depth + 1))
        else:
            stack.extend((item, _join(path, i), depth + 1) for i, item in enumerate(value))
    if errors:
        raise InvalidInput(sorted(errors, key=lambda e: e["field"]))


class _DuplicateKey(Exception):
    def __init__(self, key: str):
        self.key = key


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """json's object_pairs_hook: the object as a dict, unless a key appears twice (which
    Python would silently resolve to the last value, and another reader to the first)."""
    data = dict(pairs)
    if len(data) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return data


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing bodies nested too deeply for the decoder (a RecursionError
    would be a 500), objects that name a key twice (`{"is_anonymous": true, "is_anonymous":
    false}`), and text that `text_problem` refuses."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        try:
            data = json.load(
                codecs.getreader(encoding)(stream),
                parse_constant=strict_constant if api_settings.STRICT_JSON else None,
                object_pairs_hook=_object_without_duplicates,
            )
        except _DuplicateKey as exc:
            field = exc.key[:200] if not text_problem(exc.key) else "<key>"
            raise InvalidInput(
                [{"field": field, "message": "appears more than once in the JSON object"}]
            ) from None
        except RecursionError:
            raise InvalidInput(
                [
                    {
                        "field": "non_field_errors",
                        "message": "nested deeper than "
                        f"{settings.CAREFLOW['JSON_MAX_DEPTH']} levels",
                    }
                ]
            ) from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        check_tree(data)
        return data


class _NameCheckingMultiPartParser(DjangoMultiPartParser):
    def sanitize_file_name(self, file_name):
        # Django silently drops unprintable characters from upload names, so "a\u202egpj.bpmn"
        # would arrive as a different, harmless-looking name: refuse it instead.
        problem = text_problem(html.unescape(file_name))
        if problem:
            raise InvalidInput([{"field": "files", "message": f"a file name {problem}"}])
        return super().sanitize_file_name(file_name)


class MultiPartParser(parsers.MultiPartParser):
    """DRF's multipart parser, refusing upload file names that `text_problem` refuses."""

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        request = parser_context["request"]
        meta = request.META.copy()
        meta["CONTENT_TYPE"] = media_type
        try:
            parser = _NameCheckingMultiPartParser(
                meta, stream, request.upload_handlers, parsers.get_encoding(parser_context)
            )
            data, files = parser.parse()
        except MultiPartParserError as exc:
            raise ParseError(f"Multipart form parse error - {exc}") from None
        return parsers.DataAndFiles(data, files)
