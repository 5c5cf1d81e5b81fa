"""The script sandbox: task data in, task data out, and nothing else reachable or unbounded."""

import datetime as dt
import signal
import sys

import pytest

from workflows.scripting import (
    ScriptLimitExceeded,
    ScriptRefused,
    check_script,
    compile_script,
    evaluate,
    execute,
)

FORMAT_REFUSED = "Using the format*() methods of `str` is not safe"


class Hung(Exception):
    """The watchdog fired: the script under test did not stop by itself."""


@pytest.fixture
def watchdog():
    """Interrupt a test that runs longer than two seconds instead of hanging the suite."""

    def bark(signum, frame):
        raise Hung("the script was still running after 2 seconds")

    previous = signal.signal(signal.SIGALRM, bark)
    signal.setitimer(signal.ITIMER_REAL, 2.0)
    yield
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def tight_budget(settings):
    settings.CAREFLOW = {**settings.CAREFLOW, "SCRIPT_MAX_LINES": 1000, "SCRIPT_MAX_SECONDS": 60}


@pytest.fixture
def short_deadline(settings):
    settings.CAREFLOW = {
        **settings.CAREFLOW,
        "SCRIPT_MAX_LINES": 10**12,
        "SCRIPT_MAX_SECONDS": 0.05,
    }


# --- expressions and scripts over task data -------------------------------------------------


def test_an_expression_is_evaluated_over_task_data():
    result = evaluate(
        "hours * rate + bonus['amount']", {"hours": 3, "rate": 20, "bonus": {"amount": 5}}
    )

    assert result == 65


def test_an_expression_may_be_surrounded_by_whitespace():
    result = evaluate("\n  hours > 2  \n", {"hours": 3})

    assert result is True


def test_an_expression_leaves_task_data_alone():
    data = {"hours": 3}

    evaluate("hours + 1", data)

    assert data == {"hours": 3}


def test_a_script_sets_a_new_variable_in_task_data():
    data = {"hours": 3}

    execute("overtime = hours > 2", data)

    assert data == {"hours": 3, "overtime": True}


def test_a_script_changes_a_variable_in_task_data():
    data = {"hours": 3, "note": "ward rounds"}

    execute("hours = hours + 1\nnote = note.upper()", data)

    assert data == {"hours": 4, "note": "WARD ROUNDS"}


def test_a_script_deletes_a_variable_from_task_data():
    data = {"hours": 3, "draft": "scratch"}

    execute("del draft", data)

    assert data == {"hours": 3}


def test_a_script_may_change_the_lists_and_dicts_in_task_data():
    data = {"shifts": ["early"], "totals": {"early": 1}}

    execute(
        "shifts.append('late')\ntotals['late'] = 2\ntotals['early'] = totals['early'] + 1", data
    )

    assert data == {"shifts": ["early", "late"], "totals": {"early": 2, "late": 2}}


def test_a_script_may_use_loops_comprehensions_and_functions():
    data = {"claims": [{"hours": 2}, {"hours": 5}, {"hours": 1}]}
    script = (
        "def long_claims(limit):\n"
        "    return [c for c in claims if c['hours'] > limit]\n"
        "total = 0\n"
        "for claim in claims:\n"
        "    total += claim['hours']\n"
        "long_count = len(long_claims(1))\n"
    )

    execute(script, data)

    # The function itself is not task data; the values it computed are.
    assert data == {
        "claims": [{"hours": 2}, {"hours": 5}, {"hours": 1}],
        "total": 8,
        "claim": {"hours": 1},
        "long_count": 2,
    }


def test_helpers_are_not_written_into_task_data():
    data = {"start_date": "2025-03-01"}

    execute("end_date = add_days(start_date, 3)", data)

    assert data == {"start_date": "2025-03-01", "end_date": "2025-03-04"}


def test_days_between_counts_days_across_a_leap_day():
    assert evaluate("days_between('2024-02-27', '2024-03-01')", {}) == 3


def test_days_between_accepts_dates_and_datetimes():
    data = {"start": dt.date(2025, 1, 31), "end": dt.datetime(2025, 2, 2, 23, 59)}

    assert evaluate("days_between(start, end)", data) == 2


def test_days_between_reads_the_date_part_of_an_iso_timestamp():
    assert evaluate("days_between('2025-01-01T23:00:00+08:00', '2025-01-02')", {}) == 1


def test_add_days_returns_an_iso_date():
    assert evaluate("add_days('2024-02-28', 2)", {}) == "2024-03-01"


def test_add_days_goes_backwards_with_a_negative_count():
    assert evaluate("add_days(parse_date('2025-03-01'), -1)", {}) == "2025-02-28"


def test_today_is_the_local_date(settings, time_machine):
    settings.TIME_ZONE = "Asia/Shanghai"
    # 20:00 UTC is already the next day in Shanghai.
    time_machine.move_to(dt.datetime(2025, 3, 1, 20, 0, tzinfo=dt.UTC), tick=False)

    assert evaluate("today()", {}) == dt.date(2025, 3, 2)


def test_task_data_may_not_shadow_a_helper():
    data = {"today": "2025-03-01", "hours": 3}

    with pytest.raises(
        ValueError, match="task data may not use the names of script helpers: today"
    ):
        execute("hours = 4", data)

    assert data == {"today": "2025-03-01", "hours": 3}


def test_task_data_may_not_shadow_an_external_name():
    with pytest.raises(
        ValueError, match="task data may not use the names of script helpers: add_days, lookup"
    ):
        execute("x = 1", {"lookup": 1, "add_days": 2}, external={"lookup": len})


def test_external_names_are_callable_but_not_written_into_task_data():
    data = {"names": ["a", "b"]}

    execute("count = lookup(names)", data, external={"lookup": len})

    assert data == {"names": ["a", "b"], "count": 2}


# --- refused at compile time ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "errors"),
    [
        ("import os", ["Line 1: Imports are not allowed in process scripts."]),
        ("from os import path", ["Line 1: Imports are not allowed in process scripts."]),
        (
            "x = 1\nimport subprocess",
            ["Line 2: Imports are not allowed in process scripts."],
        ),
        (
            "mod = __import__('os')",
            ['Line 1: "__import__" is an invalid variable name because it starts with "_"'],
        ),
        (
            "found = ().__class__.__base__.__subclasses__()",
            [
                'Line 1: "__subclasses__" is an invalid attribute name because it starts with "_".',
                'Line 1: "__base__" is an invalid attribute name because it starts with "_".',
                'Line 1: "__class__" is an invalid attribute name because it starts with "_".',
            ],
        ),
        (
            "kind = x.__class__",
            ['Line 1: "__class__" is an invalid attribute name because it starts with "_".'],
        ),
        (
            "g = x.__globals__",
            ['Line 1: "__globals__" is an invalid attribute name because it starts with "_".'],
        ),
        (
            "_secret = 1",
            ['Line 1: "_secret" is an invalid variable name because it starts with "_"'],
        ),
        (
            "y = _private",
            ['Line 1: "_private" is an invalid variable name because it starts with "_"'],
        ),
        (
            "frame = (i for i in []).gi_frame",
            [
                'Line 1: "gi_frame" is a restricted name, that is forbidden to access in '
                "RestrictedPython."
            ],
        ),
        (
            "class Evil:\n    pass",
            ["Line 1: Class definitions are not allowed in process scripts."],
        ),
        (
            "def f():\n    global hours\n    hours = 0",
            ["Line 2: Global statements are not allowed in process scripts."],
        ),
        ("y = eval('1 + 1')", ["Line 1: Eval calls are not allowed."]),
        ("exec('y = 1')", ["Line 1: Exec calls are not allowed."]),
    ],
)
def test_scripts_reaching_outside_the_sandbox_are_refused_at_compile_time(source, errors):
    assert check_script(source, "exec") == errors

    with pytest.raises(ScriptRefused) as refused:
        compile_script(source, "exec")

    assert refused.value.errors == errors
    assert str(refused.value) == "; ".join(errors)


@pytest.mark.parametrize(
    ("source", "errors"),
    [
        (
            "x.__class__",
            ['Line 1: "__class__" is an invalid attribute name because it starts with "_".'],
        ),
        (
            "f'{x.__class__}'",
            ['Line 1: "__class__" is an invalid attribute name because it starts with "_".'],
        ),
        (
            "__import__('os')",
            ['Line 1: "__import__" is an invalid variable name because it starts with "_"'],
        ),
        ("eval('1')", ["Line 1: Eval calls are not allowed."]),
    ],
)
def test_expressions_reaching_outside_the_sandbox_are_refused_at_compile_time(source, errors):
    assert check_script(source, "eval") == errors


def test_a_statement_is_not_an_expression():
    assert check_script("x = 1", "eval") != []


def test_a_safe_script_passes_the_check():
    assert check_script("total = sum(c['hours'] for c in claims)", "exec") == []


def test_augmented_assignment_to_an_item_is_refused():
    assert check_script("totals['early'] += 1", "exec") == [
        "Line 1: Augmented assignment of object items and slices is not allowed."
    ]


def test_a_refused_script_is_refused_when_run():
    data = {"x": 1}

    with pytest.raises(ScriptRefused):
        execute("import os\nx = 2", data)

    assert data == {"x": 1}


# --- refused at run time --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "exception", "message"),
    [
        ("getattr(x, '__class__')", NameError, "name 'getattr' is not defined"),
        ("vars(x)", NameError, "name 'vars' is not defined"),
        ("type(x)", NameError, "name 'type' is not defined"),
        ("open('/etc/passwd')", NameError, "name 'open' is not defined"),
        ("compile('1', 'f', 'eval')", NameError, "name 'compile' is not defined"),
        ("globals()", NameError, "name 'globals' is not defined"),
        ("'{0.__class__}'.format(x)", NotImplementedError, FORMAT_REFUSED),
        ("'{x.__class__}'.format_map({'x': x})", NotImplementedError, FORMAT_REFUSED),
        ("'{}'.format_map", NotImplementedError, FORMAT_REFUSED),
        ("str.format('{0.__class__}', x)", NotImplementedError, FORMAT_REFUSED),
    ],
)
def test_expressions_reaching_outside_the_sandbox_fail_at_run_time(source, exception, message):
    assert check_script(source, "eval") == []

    with pytest.raises(exception) as failure:
        evaluate(source, {"x": 1})

    assert str(failure.value) == message


def test_setattr_cannot_reach_private_attributes_by_name():
    script = "def f():\n    return 1\nsetattr(f, '__defaults__', (2,))"

    with pytest.raises(TypeError, match="attribute-less object"):
        execute(script, {})


def test_scripts_may_not_modify_objects_other_than_lists_and_dicts():
    with pytest.raises(TypeError, match="attribute-less object"):
        execute("delattr(note, 'upper')", {"note": "text"})


# --- bounded --------------------------------------------------------------------------------


def test_a_loop_stops_after_the_line_limit(tight_budget, watchdog):
    with pytest.raises(ScriptLimitExceeded, match="script ran more than 1000 lines"):
        execute("while True:\n    pass", {})


def test_a_loop_stops_at_the_deadline(short_deadline, watchdog):
    with pytest.raises(ScriptLimitExceeded, match="script ran out of time"):
        execute("n = 0\nwhile True:\n    n += 1", {})


def test_a_comprehension_counts_against_the_line_limit(tight_budget, watchdog):
    with pytest.raises(ScriptLimitExceeded, match="script ran more than 1000 lines"):
        execute("squares = [i * i for i in range(100000)]", {})


def test_runaway_recursion_stops(watchdog):
    with pytest.raises(RecursionError):
        execute("def f(n):\n    return f(n + 1)\nf(0)", {})


@pytest.mark.parametrize(
    "source",
    [
        "while True: pass",
        "while 1: pass",
        "while True: continue",
        "for x in [1]:\n    while 1: pass",
    ],
)
def test_a_one_line_infinite_loop_stops(tight_budget, watchdog, source):
    with pytest.raises(ScriptLimitExceeded, match="script ran more than 1000 lines"):
        execute(source, {})


def test_task_data_cannot_replace_the_sandbox_guards():
    context = {"x": {}, "_write_": 1}

    execute("x['a'] = 1", context)

    assert context == {"x": {"a": 1}}


def test_expressions_refuse_task_data_named_like_a_helper():
    with pytest.raises(ValueError, match="today"):
        evaluate("today", {"today": 1})


def test_a_huge_range_is_refused():
    with pytest.raises(ScriptLimitExceeded, match="range\\(\\) of more than 100000 items"):
        evaluate("range(10**9)", {})


def test_a_loop_over_a_huge_range_is_refused_before_it_starts():
    data = {"n": 0}

    with pytest.raises(ScriptLimitExceeded, match="range\\(\\) of more than 100000 items"):
        execute("for i in range(10**9):\n    n += 1", data)

    assert data == {"n": 0}


def test_a_range_at_the_limit_is_allowed():
    assert evaluate("len(range(100000))", {}) == 100000


def test_the_tracer_is_removed_after_a_script(tight_budget):
    before = sys.gettrace()

    with pytest.raises(ScriptLimitExceeded):
        execute("while True:\n    pass", {})

    assert sys.gettrace() is before
