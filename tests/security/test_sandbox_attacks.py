"""Attacks on the script sandbox (workflows/scripting.py): each one is refused, at deploy
time when the source shows it, else at run time with a script error, never by exhausting
the process. A watchdog fails a test whose attack was not stopped within 2 seconds."""

import pytest

from tests.conftest import bundle_files
from tests.workflows.test_sandbox import watchdog  # noqa: F401 - a pytest fixture
from workflows import services
from workflows.exceptions import DeployRefused
from workflows.scripting import ScriptLimitExceeded, check_script, evaluate, execute

pytestmark = pytest.mark.usefixtures("watchdog")


# --- refused when compiled (deploy time) ----------------------------------------------------

REFUSED_AT_COMPILE = {
    "import": ("import os", "Imports are not allowed"),
    "from import": ("from os import system", "Imports are not allowed"),
    "__import__": ("m = __import__('os')", '"__import__" is an invalid variable name'),
    "dunder walk": (
        "s = ().__class__.__base__.__subclasses__()",
        '"__class__" is an invalid attribute name',
    ),
    "dunder globals": ("g = today.__globals__", '"__globals__" is an invalid attribute name'),
    "f-string dunder": ("s = f'{today.__globals__}'", '"__globals__" is an invalid attribute'),
    "f-string computed width": (
        "s = f'{1:>{10**9}}'",
        "Computed format specifications in f-strings are not allowed",
    ),
    "f-string huge width": ("s = f'{1:>1000000000}'", "Format widths over 1000"),
    "class definition": ("class A: pass", "Class definitions are not allowed"),
    "global": ("def f():\n    global x\n", "Global statements are not allowed"),
    "eval": ("y = eval('1')", "Eval calls are not allowed"),
    "exec": ("exec('y = 1')", "Exec calls are not allowed"),
}


@pytest.mark.parametrize("name", list(REFUSED_AT_COMPILE))
def test_attack_is_refused_when_compiled(name):
    source, reason = REFUSED_AT_COMPILE[name]

    errors = check_script(source, "exec")

    assert any(reason in e for e in errors), errors


# --- refused when run: names that do not exist, guarded attribute access --------------------

REFUSED_AT_RUN = {
    "getattr": ("y = getattr(x, '__cl' + 'ass__')", NameError, "getattr"),
    "vars": ("y = vars(x)", NameError, "vars"),
    "type": ("y = type(x)", NameError, "type"),
    "globals": ("y = globals()", NameError, "globals"),
    "open": ("y = open('/etc/passwd')", NameError, "open"),
    "str.format": ("y = '{0.__class__}'.format(x)", NotImplementedError, "format"),
    "str.format_map": (
        "y = '{a.__class__}'.format_map({'a': x})",
        NotImplementedError,
        "format",
    ),
    "format via a bound method": ("f = 'x'.format\ny = f(1)", NotImplementedError, "format"),
    "sum of lists": ("y = sum([[1], [2]], [])", TypeError, "adds numbers only"),
}


@pytest.mark.parametrize("name", list(REFUSED_AT_RUN))
def test_attack_is_refused_when_run(name):
    source, error, text = REFUSED_AT_RUN[name]
    data = {"x": 1}

    with pytest.raises(error, match=text):
        execute(source, data)

    assert "y" not in data


# --- bounded: one operation may not build a huge value ---------------------------------------

TOO_BIG = {
    "string repetition": "y = 'x' * 10**9",
    "repetition, int first": "y = 10**9 * 'x'",
    "list repetition": "y = [0] * 10**9",
    "tuple repetition": "y = (0,) * 10**9",
    "bytes repetition": "y = b'x' * 10**9",
    "power operator": "y = 10**10**8",
    "pow()": "y = pow(7, 10**7)",
    "shift": "y = 1 << 10**9",
    "big product": "y = 2**4000 * 2**4000",
    "in-place repetition": "y = 'x'\ny *= 10**9",
    "in-place power": "y = 7\ny **= 10**7",
    "doubling by concatenation": "y = 'x' * 1000\nfor i in range(40):\n    y = y + y",
    "doubling a list by extend": "y = [0] * 1000\nfor i in range(40):\n    y.extend(y)",
    "join": "y = '-'.join(['x' * 1000000] * 1000)",
    "join of repeated items": "y = ('x' * 1000).join(['a'] * 1000000)",
    "ljust": "y = 'x'.ljust(10**9)",
    "rjust": "y = 'x'.rjust(10**9)",
    "center": "y = 'x'.center(10**9)",
    "zfill": "y = '1'.zfill(10**9)",
    "expandtabs": "y = ('\\t' * 1000).expandtabs(10**6)",
    "replace": "y = ('a' * 100000).replace('a', 'a' * 100000)",
    "translate": "y = ('a' * 100000).translate({97: 'b' * 100000})",
    "to_bytes": "y = (1).to_bytes(10**9, 'big')",
    "bytes()": "y = bytes(10**9)",
    "% width": "y = '%1000000000d' % 1",
    "% star width": "y = '%*d' % (10**9, 1)",
    "round to a huge precision": "y = round(5, -10**9)",
    "big range": "y = range(10**9)",
    "repeated unpacking": "a = [0] * 1000000\ny = [*a, *a, *a]",
    "unpacking into a call": "a = [0] * 1000000\ny = max(*a, *a)",
}


@pytest.mark.parametrize("name", list(TOO_BIG))
def test_operation_building_a_huge_value_is_refused(name):
    data: dict = {}

    with pytest.raises(ScriptLimitExceeded):
        execute(TOO_BIG[name], data)

    assert "y" not in data


@pytest.mark.parametrize(
    "source",
    [
        "y = []\nwhile True:\n    y.append([0] * 1000000)",
        "y = [[0] * 1000000 for i in range(100000)]",
    ],
    ids=["loop", "comprehension"],
)
def test_many_bounded_steps_stop_at_the_memory_allowance(settings, source):
    # Each list is within the size limit; together they would fill the machine.
    settings.CAREFLOW = {
        **settings.CAREFLOW,
        "SCRIPT_MAX_MEMORY_MB": 64,
        "SCRIPT_MAX_SECONDS": 60,
        "SCRIPT_MAX_LINES": 10**9,
    }

    with pytest.raises(ScriptLimitExceeded, match="too much memory"):
        execute(source, {})


def test_an_endless_loop_runs_out_of_time(settings):
    settings.CAREFLOW = {**settings.CAREFLOW, "SCRIPT_MAX_LINES": 10**12, "SCRIPT_MAX_SECONDS": 0.2}

    with pytest.raises(ScriptLimitExceeded, match="out of time"):
        execute("while True:\n    pass", {})


def test_values_within_the_limits_are_computed():
    data = {"name": "Li", "days": 3}

    execute(
        "line = '-' * 20\n"
        "padded = name.ljust(6) + '|'\n"
        "square = days ** 2\n"
        "big = 2 ** 64\n"
        "shifted = 1 << 10\n"
        "label = '%s: %3d days' % (name, days)\n"
        "width = f'{days:>4}'\n"
        "joined = ', '.join(['a', 'b'])\n"
        "total = sum([1, 2, 3])\n"
        "rounded = round(2.675, 2)\n"
        "items = [0] * 3\n"
        "items.extend([1])\n"
        "modulo = pow(7, 100, 13)\n"
        "merged = [*items, *[9]]\n"
        "first, *rest = merged\n",
        data,
    )

    assert data["line"] == "-" * 20
    assert data["padded"] == "Li    |"
    assert data["square"] == 9
    assert data["big"] == 18446744073709551616
    assert data["shifted"] == 1024
    assert data["label"] == "Li:   3 days"
    assert data["width"] == "   3"
    assert data["joined"] == "a, b"
    assert data["total"] == 6
    assert data["rounded"] == 2.67
    assert data["items"] == [0, 0, 0, 1]
    assert data["modulo"] == pow(7, 100, 13)
    assert data["merged"] == [0, 0, 0, 1, 9]
    assert data["rest"] == [0, 0, 1, 9]


def test_an_expression_is_bounded_too():
    with pytest.raises(ScriptLimitExceeded):
        evaluate("len('x' * 10**9) > 0", {})


# --- through the engine: deploy refuses, a running instance gets an incident ----------------


def _script_bundle(script: str) -> dict[str, bytes]:
    files = bundle_files("script_loop")
    bpmn = files["script_loop.bpmn"].decode()
    start = bpmn.index("<bpmn:script>") + len("<bpmn:script>")
    end = bpmn.index("</bpmn:script>")
    files["script_loop.bpmn"] = (bpmn[:start] + script + bpmn[end:]).encode()
    return files


def test_a_diagram_that_imports_is_refused_at_deploy(db):
    with pytest.raises(DeployRefused) as refused:
        services.version_deploy(files=_script_bundle("import os\nos.system('id')"))

    assert any("Imports are not allowed" in p["message"] for p in refused.value.problems)


def test_a_huge_allocation_in_a_diagram_opens_an_incident(org):
    services.version_deploy(files=_script_bundle("blob = 'x' * 10**9"))

    instance = services.instance_start(
        process_key="script_loop", started_by=org.nurse.user, subject=org.nurse
    )

    incident = instance.incidents.get()
    assert incident.element_id == "spin_forever"
    assert incident.message.startswith("script limit exceeded: a repetition would have")
