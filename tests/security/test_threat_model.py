"""docs/security.md is a claim about the code: every line of its threat model names the test
that proves it, and every test it names exists. A renamed or deleted test fails here instead
of leaving the document promising something nothing checks."""

import ast
import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "security.md"
REFERENCE = re.compile(r"(tests/[\w/]+\.py)(?:::(test_\w+))?")
BARE_TEST_NAME = re.compile(r"`(test_\w+)`")


@cache
def _test_names(path: Path) -> frozenset[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return frozenset(
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    )


@cache
def _every_test_name() -> frozenset[str]:
    names: set[str] = set()
    for path in (ROOT / "tests").rglob("*.py"):
        names |= _test_names(path)
    return frozenset(names)


def _threat_model_rows() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Threat model", 1)[1].split("\n## ", 1)[0]
    who = section.split("### Who may do what", 1)[1].split("\n### ", 1)[0]
    return [
        line
        for line in who.splitlines()
        if line.startswith("|") and not line.startswith("|---") and not line.startswith("| role")
    ]


def test_every_line_of_the_threat_model_names_a_test():
    rows = _threat_model_rows()

    unproved = [row for row in rows if not REFERENCE.search(row)]

    assert len(rows) > 60
    assert unproved == []


def test_every_test_the_document_names_exists():
    text = DOC.read_text(encoding="utf-8")
    missing = []
    for path, name in REFERENCE.findall(text):
        file = ROOT / path
        if not file.is_file():
            missing.append(path)
        elif name and name not in _test_names(file):
            missing.append(f"{path}::{name}")
    for name in BARE_TEST_NAME.findall(text):
        if name not in _every_test_name():
            missing.append(name)

    assert missing == []
