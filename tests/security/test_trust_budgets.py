"""Issue 16 item 9: unbounded diagrams. A process owner deploys a diagram that costs without
bound (a state bomb, a huge multi-instance, a call activity calling itself, a timer cycle
firing every second, a loop past the engine's horizon) and an employee starts it. Each change
of an instance runs under a budget (workflows/budget.py): a constant over a limit is refused
at deploy (400 naming the element); at run time the change is rolled back and an incident names
the element and the limit, and the instance's row lock is released (an operator terminates it
right after). Limits are lowered through settings to keep the tests fast, except for the state
bomb, which the real defaults refuse within a second.
"""

import datetime as dt
import io
import json
import runpy
import threading
import time
from pathlib import Path

import pytest
from django.db import connection

from tests.api.conftest import client_for
from workflows import services
from workflows.models import HumanTask, Incident, ProcessInstance, ProcessVersion, Timer

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


# --- diagrams ----------------------------------------------------------------------------------


def definitions(*processes: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        ' id="budget_definitions" targetNamespace="urn:careflow:test:budget">'
        + "".join(processes)
        + "</bpmn:definitions>"
    ).encode()


def process(process_id: str, body: str, *, executable: bool = True, lane: list[str] = ()) -> str:
    lanes = ""
    if lane:
        refs = "".join(f"<bpmn:flowNodeRef>{node}</bpmn:flowNodeRef>" for node in lane)
        lanes = (
            f'<bpmn:laneSet id="{process_id}_lanes"><bpmn:lane id="{process_id}_employee"'
            f' name="Employee (员工)">{refs}</bpmn:lane></bpmn:laneSet>'
        )
    return (
        f'<bpmn:process id="{process_id}" isExecutable="{str(executable).lower()}">'
        f"{lanes}{body}</bpmn:process>"
    )


def flows(*pairs: tuple[str, str], condition: dict[str, str] | None = None) -> str:
    out = []
    for source, target in pairs:
        flow_id = f"{source}_to_{target}"
        expression = (condition or {}).get(flow_id)
        inner = (
            f"<bpmn:conditionExpression>{expression}</bpmn:conditionExpression>"
            if expression
            else ""
        )
        out.append(
            f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}">'
            f"{inner}</bpmn:sequenceFlow>"
        )
    return "".join(out)


def script(element: str, source: str) -> str:
    return (
        f'<bpmn:scriptTask id="{element}" scriptFormat="python">'
        f"<bpmn:script>{source}</bpmn:script></bpmn:scriptTask>"
    )


START_EVENT = '<bpmn:startEvent id="started" />'
END_EVENT = '<bpmn:endEvent id="finished" />'
USER_TASK = '<bpmn:userTask id="look_at_it" name="Look at it 查看" />'

STATE_BOMB = definitions(
    process(
        "state_bomb",
        START_EVENT
        + script("build_bomb", "a = [0] * 1000\nb = [a] * 1000\nc = [b] * 20")
        + END_EVENT
        + flows(("started", "build_bomb"), ("build_bomb", "finished")),
    )
)


def multi_instance(cardinality: str) -> bytes:
    return definitions(
        process(
            "review_everyone",
            START_EVENT + '<bpmn:userTask id="review_each" name="Review 审核">'
            '<bpmn:multiInstanceLoopCharacteristics isSequential="false">'
            f"<bpmn:loopCardinality>{cardinality}</bpmn:loopCardinality>"
            "</bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>"
            + END_EVENT
            + flows(("started", "review_each"), ("review_each", "finished")),
            lane=["started", "review_each", "finished"],
        )
    )


def call_chain(*levels: str, last_calls: str = "") -> bytes:
    """`levels[0]` calls `levels[1]` ... ; the last one calls `last_calls` if given."""
    processes = []
    for index, level in enumerate(levels):
        called = levels[index + 1] if index + 1 < len(levels) else last_calls
        begin, end, call = f"{level}_started", f"{level}_finished", f"{level}_calls_{called}"
        if called:
            body = (
                f'<bpmn:startEvent id="{begin}" />'
                f'<bpmn:callActivity id="{call}" calledElement="{called}" />'
                f'<bpmn:endEvent id="{end}" />' + flows((begin, call), (call, end))
            )
        else:
            body = f'<bpmn:startEvent id="{begin}" /><bpmn:endEvent id="{end}" />' + flows(
                (begin, end)
            )
        processes.append(process(level, body, executable=True))
    return definitions(*processes)


def reminder_cycle(cycle_expression: str) -> bytes:
    """A user task with a non-interrupting reminder on a timer cycle."""
    return definitions(
        process(
            "cycle_reminder",
            START_EVENT
            + USER_TASK
            + '<bpmn:boundaryEvent id="remind_again" attachedToRef="look_at_it"'
            ' cancelActivity="false"><bpmn:timerEventDefinition>'
            f'<bpmn:timeCycle xsi:type="bpmn:tFormalExpression">{cycle_expression}'
            "</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:boundaryEvent>"
            + '<bpmn:endEvent id="reminded" />'
            + END_EVENT
            + flows(
                ("started", "look_at_it"),
                ("look_at_it", "finished"),
                ("remind_again", "reminded"),
            ),
            lane=["started", "look_at_it", "remind_again", "reminded", "finished"],
        )
    )


def loop(condition: str, body_source: str = "i = i + 1") -> bytes:
    """i = 0, then `body_source` again while `condition` holds."""
    return definitions(
        process(
            "looping",
            START_EVENT
            + script("set_up", "i = 0")
            + '<bpmn:exclusiveGateway id="loop_back" />'
            + script("go_round", body_source)
            + '<bpmn:exclusiveGateway id="again" default="again_to_finished" />'
            + END_EVENT
            + flows(
                ("started", "set_up"),
                ("set_up", "loop_back"),
                ("loop_back", "go_round"),
                ("go_round", "again"),
                ("again", "loop_back"),
                ("again", "finished"),
                condition={"again_to_loop_back": condition},
            ),
        )
    )


# --- the API, as the people who tried it ---------------------------------------------------------


def deploy(owner, content: bytes, name: str = "diagram.bpmn"):
    part = io.BytesIO(content)
    part.name = name
    return client_for(owner).post("/api/v1/deployments", {"files": [part]}, format="multipart")


def start(employee, process_key: str, data: dict | None = None):
    return client_for(employee).post(
        "/api/v1/instances/start", {"process": process_key, "data": data or {}}, format="json"
    )


def terminate(operator, instance_id: int):
    return client_for(operator).post(
        f"/api/v1/instances/{instance_id}/terminate", {"reason": "runaway"}, format="json"
    )


def open_incidents(reader, instance_id: int) -> list[tuple[str, str]]:
    listed = client_for(reader).get("/api/v1/incidents", {"status": "open"})
    assert listed.status_code == 200
    return [
        (i["element_id"], i["message"])
        for i in listed.json()["results"]
        if i["instance"] == instance_id
    ]


def incident_limit(instance_id: int) -> tuple[str, str]:
    (incident,) = Incident.objects.filter(instance_id=instance_id, status=Incident.Status.OPEN)
    return incident.element_id, incident.details["limit"]


def problems(response) -> list[tuple[str, str]]:
    return [(p["element"], p["message"]) for p in response.json()["errors"]]


# --- deploy time: constants over a limit -------------------------------------------------------


def test_a_literal_multi_instance_cardinality_over_the_limit_is_refused_at_deploy(personas):
    refused = deploy(personas.process_owner, multi_instance("10**7"))

    assert refused.status_code == 400
    assert problems(refused) == [
        (
            "review_each",
            "multi-instance cardinality 10000000 is over the limit "
            "CAREFLOW_BUDGET_MI_CARDINALITY = 2000",
        )
    ]
    assert not ProcessVersion.objects.exists()


@pytest.mark.parametrize("cycle", ['"R/PT1S"', '"R/PT0.01S"', '"R5/PT" + "1S"'])
def test_a_timer_cycle_faster_than_the_minimum_is_refused_at_deploy(personas, cycle):
    refused = deploy(personas.process_owner, reminder_cycle(cycle))

    assert refused.status_code == 400
    ((element, message),) = problems(refused)
    assert element == "remind_again"
    assert "CAREFLOW_BUDGET_TIMER_CYCLE_MIN_SECONDS = 900" in message
    assert not ProcessVersion.objects.exists()


def test_a_timer_cycle_repeating_more_than_the_maximum_is_refused_at_deploy(personas):
    refused = deploy(personas.process_owner, reminder_cycle('"R5000/PT1H"'))

    assert refused.status_code == 400
    assert problems(refused) == [
        (
            "remind_again",
            "timer cycle 'R5000/PT1H' repeats 5000 times, more than "
            "CAREFLOW_BUDGET_TIMER_CYCLE_MAX_REPETITIONS = 1000",
        )
    ]


def test_a_call_activity_that_calls_its_own_process_is_refused_at_deploy(personas):
    # main calls helper; helper calls helper
    refused = deploy(
        personas.process_owner, call_chain("main_process", "helper", last_calls="helper")
    )

    assert refused.status_code == 400
    assert problems(refused) == [
        (
            "helper_calls_helper",
            "call activity calls 'helper', which leads back to 'helper': a process may not "
            "call itself (recursion)",
        )
    ]


def test_a_process_calling_itself_directly_is_refused_naming_the_call(personas):
    refused = deploy(personas.process_owner, call_chain("main_process", last_calls="main_process"))

    assert refused.status_code == 400
    assert [element for element, _ in problems(refused)] == ["main_process_calls_main_process"]


# --- run time: the change is rolled back, an incident names the element and the limit ----------


def test_the_state_bomb_is_refused_fast_with_the_default_limits(personas):
    assert deploy(personas.process_owner, STATE_BOMB).status_code == 201

    began = time.perf_counter()
    started = start(personas.employee, "state_bomb")
    spent = time.perf_counter() - began

    assert started.status_code == 201
    assert started.json()["status"] == "error"
    assert spent < 3
    instance = ProcessInstance.objects.get(pk=started.json()["id"])
    assert len(json.dumps(instance.state)) < 20_000
    assert '"c": [' not in json.dumps(instance.state)
    ((element, message),) = open_incidents(personas.group_hr, instance.pk)
    assert element == "build_bomb"
    assert "CAREFLOW_BUDGET_STATE_BYTES = 5242880" in message
    assert terminate(personas.group_hr, instance.pk).json()["status"] == "terminated"


def test_a_multi_instance_cardinality_from_data_becomes_an_incident(personas, settings):
    settings.CAREFLOW_BUDGET_MI_CARDINALITY = 5
    assert deploy(personas.process_owner, multi_instance("size")).status_code == 201

    started = start(personas.employee, "review_everyone", {"size": 50})

    assert started.status_code == 201
    assert started.json()["status"] == "error"
    instance_id = started.json()["id"]
    assert incident_limit(instance_id) == ("review_each", "CAREFLOW_BUDGET_MI_CARDINALITY")
    assert not HumanTask.objects.filter(instance_id=instance_id).exists()
    assert terminate(personas.group_hr, instance_id).json()["status"] == "terminated"


def test_calls_nested_deeper_than_the_limit_become_an_incident(personas, settings):
    settings.CAREFLOW_BUDGET_CALL_DEPTH = 2
    assert deploy(personas.process_owner, call_chain("level0", "level1", "level2", "level3"))

    started = start(personas.employee, "level0")

    assert started.json()["status"] == "error"
    assert incident_limit(started.json()["id"]) == (
        "level2_calls_level3",
        "CAREFLOW_BUDGET_CALL_DEPTH",
    )
    assert terminate(personas.group_hr, started.json()["id"]).json()["status"] == "terminated"


def test_a_change_with_too_many_engine_steps_becomes_an_incident(personas, settings):
    settings.CAREFLOW_BUDGET_ENGINE_STEPS = 40
    assert deploy(personas.process_owner, loop("i &lt; 100")).status_code == 201

    started = start(personas.employee, "looping")

    assert started.json()["status"] == "error"
    element, limit = incident_limit(started.json()["id"])
    assert limit == "CAREFLOW_BUDGET_ENGINE_STEPS"
    assert element in {"loop_back", "go_round", "again"}
    instance = ProcessInstance.objects.get(pk=started.json()["id"])
    # rolled back to the instance as it was created: not one script has run
    assert '"i": ' not in json.dumps(instance.state)


def test_a_loop_past_the_engines_horizon_is_an_incident_not_silently_running(personas):
    # SpiffWorkflow looks no deeper than 1,000 tasks into the tree: a loop of 3 elements
    # stopped at iteration 333 and the instance stayed "running" with nothing to wait on.
    assert deploy(personas.process_owner, loop("i &lt; 600")).status_code == 201

    started = start(personas.employee, "looping")

    assert started.json()["status"] == "error"
    element, limit = incident_limit(started.json()["id"])
    assert limit == "CAREFLOW_BUDGET_TASK_DEPTH"
    assert element in {"loop_back", "go_round", "again"}


def test_an_honest_loop_completes(personas):
    assert deploy(personas.process_owner, loop("i &lt; 100")).status_code == 201

    started = start(personas.employee, "looping")

    assert started.json()["status"] == "completed"


def test_a_timer_cycle_interval_from_data_below_the_minimum_becomes_an_incident(personas):
    assert deploy(personas.process_owner, reminder_cycle('"R/PT" + every + "S"')).status_code == 201

    started = start(personas.employee, "cycle_reminder", {"every": "0.01"})

    assert started.json()["status"] == "error"
    instance_id = started.json()["id"]
    assert incident_limit(instance_id) == (
        "remind_again",
        "CAREFLOW_BUDGET_TIMER_CYCLE_MIN_SECONDS",
    )
    assert not Timer.objects.filter(instance_id=instance_id).exists()
    assert terminate(personas.group_hr, instance_id).json()["status"] == "terminated"


def test_an_unbounded_timer_cycle_fires_at_most_the_cap_then_becomes_an_incident(
    personas, settings, time_machine
):
    settings.CAREFLOW_BUDGET_TIMER_CYCLE_MAX_REPETITIONS = 3
    time_machine.move_to(START, tick=False)
    assert deploy(personas.process_owner, reminder_cycle('"R/PT1H"')).status_code == 201
    started = start(personas.employee, "cycle_reminder")
    instance_id = started.json()["id"]
    assert started.json()["status"] == "waiting"

    for hour in range(1, 6):
        time_machine.move_to(START + dt.timedelta(hours=hour, seconds=1), tick=False)
        services.timer_fire_due()

    instance = ProcessInstance.objects.get(pk=instance_id)
    assert instance.status == ProcessInstance.Status.ERROR
    assert instance.events.filter(kind="timer_fired").count() == 3
    assert incident_limit(instance_id) == (
        "remind_again",
        "CAREFLOW_BUDGET_TIMER_CYCLE_MAX_REPETITIONS",
    )
    assert not Timer.objects.filter(instance_id=instance_id, status=Timer.Status.WAITING).exists()
    assert terminate(personas.group_hr, instance_id).json()["status"] == "terminated"


def test_a_completion_over_budget_leaves_the_task_open(personas, settings):
    # the employee's completion starts the runaway loop: it is rolled back, the task stays open
    settings.CAREFLOW_BUDGET_ENGINE_STEPS = 40
    content = loop("i &lt; 100").replace(
        b'<bpmn:sequenceFlow id="set_up_to_loop_back" sourceRef="set_up" targetRef="loop_back">',
        b'<bpmn:sequenceFlow id="set_up_to_look_at_it" sourceRef="set_up" '
        b'targetRef="look_at_it"></bpmn:sequenceFlow>'
        + USER_TASK.encode()
        + b'<bpmn:sequenceFlow id="look_at_it_to_loop_back" sourceRef="look_at_it" '
        b'targetRef="loop_back">',
    )
    assert deploy(personas.process_owner, content).status_code == 201
    instance_id = start(personas.employee, "looping").json()["id"]
    (task,) = HumanTask.objects.filter(instance_id=instance_id)

    completed = client_for(personas.employee).post(
        f"/api/v1/tasks/{task.pk}/complete", {"data": {}}, format="json"
    )

    assert completed.status_code == 409
    assert "CAREFLOW_BUDGET_ENGINE_STEPS = 40" in completed.json()["detail"]
    task.refresh_from_db()
    assert task.status == HumanTask.Status.OPEN
    assert ProcessInstance.objects.get(pk=instance_id).status == ProcessInstance.Status.ERROR
    assert incident_limit(instance_id)[1] == "CAREFLOW_BUDGET_ENGINE_STEPS"


# --- an honest large case stays well inside the defaults ------------------------------------------


def test_the_thousand_person_training_campaign_starts_under_the_default_limits(org):
    folder = Path(__file__).resolve().parents[2] / "bench" / "bundles" / "training_campaign"
    services.version_deploy(files={p.name: p.read_bytes() for p in folder.iterdir()})

    instance = services.instance_start(
        process_key="bench_training_campaign",
        started_by=org.nurse.user,
        subject=org.nurse,
        data={"items": [f"S{i:05d}" for i in range(1000)]},
    )

    assert instance.status == ProcessInstance.Status.WAITING
    assert HumanTask.objects.filter(instance=instance).count() == 1000
    assert len(json.dumps(instance.state)) < 1024 * 1024
    assert not instance.incidents.exists()


# --- the row lock is released by the budget (PostgreSQL) -----------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_terminate_gets_the_lock_while_a_timer_runs_away(
    personas, settings, monkeypatch, time_machine
):
    """A timer starts an endless loop in the sweep; an operator's terminate waits for the row
    lock only until the sweep's wall-time budget rolls the firing back."""
    settings.CAREFLOW_BUDGET_WALL_SECONDS = 1.0
    spin = "n = 0\nwhile n &lt; 40000:\n    n = n + 1"
    content = loop("True", spin).replace(
        b'<bpmn:sequenceFlow id="started_to_set_up" sourceRef="started" targetRef="set_up">',
        b'<bpmn:intermediateCatchEvent id="wait_an_hour"><bpmn:timerEventDefinition>'
        b'<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"PT1H"</bpmn:timeDuration>'
        b"</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"
        b'<bpmn:sequenceFlow id="started_to_wait_an_hour" sourceRef="started" '
        b'targetRef="wait_an_hour"></bpmn:sequenceFlow>'
        b'<bpmn:sequenceFlow id="wait_an_hour_to_set_up" sourceRef="wait_an_hour" '
        b'targetRef="set_up">',
    )
    assert deploy(personas.process_owner, content).status_code == 201
    instance_id = start(personas.employee, "looping").json()["id"]
    time_machine.move_to(dt.datetime.now(dt.UTC) + dt.timedelta(hours=2))
    locked = threading.Event()
    real_lock = services._lock

    def lock_and_tell(pk):
        row = real_lock(pk)
        locked.set()
        return row

    monkeypatch.setattr(services, "_lock", lock_and_tell)

    def sweep():
        try:
            services.timer_fire_due()
        finally:
            connection.close()

    sweeper = threading.Thread(target=sweep)
    sweeper.start()
    assert locked.wait(timeout=30)
    began = time.perf_counter()
    terminated = terminate(personas.group_hr, instance_id)
    waited = time.perf_counter() - began
    sweeper.join(timeout=60)

    assert terminated.status_code == 200
    assert terminated.json()["status"] == "terminated"
    assert waited < 6
    assert Incident.objects.get(instance_id=instance_id).details["limit"] == (
        "CAREFLOW_BUDGET_WALL_SECONDS"
    )


# --- the budget, the servers and the sweep ----------------------------------------------------


def test_start_data_larger_than_the_state_budget_is_refused_naming_the_field(personas, settings):
    settings.CAREFLOW_BUDGET_STATE_BYTES = 1000
    assert deploy(personas.process_owner, loop("i &lt; 1")).status_code == 201

    refused = start(personas.employee, "looping", {"notes": "x" * 2000})

    assert refused.status_code == 400
    assert refused.json()["errors"] == [
        {"field": "data", "message": "larger than CAREFLOW_BUDGET_STATE_BYTES = 1000"}
    ]
    assert not ProcessInstance.objects.exists()


def test_the_servers_and_workers_stop_later_than_the_budget(settings):
    """The budget releases the row lock first; gunicorn's worker timeout and Celery's time
    limits on the timer tasks are the backstops behind it."""
    from config.celery import app
    from workers import tasks  # noqa: F401 - registers the tasks

    gunicorn = runpy.run_path(str(Path(settings.BASE_DIR) / "config" / "gunicorn.conf.py"))
    wall = settings.CAREFLOW_BUDGET_WALL_SECONDS
    sweep = app.tasks["workers.fire_due_timers"]
    one_timer = app.tasks["workers.fire_timer"]

    assert gunicorn["timeout"] > wall
    assert settings.CAREFLOW_BUDGET_SWEEP_SECONDS + wall < sweep.soft_time_limit
    assert sweep.soft_time_limit < sweep.time_limit
    assert wall < one_timer.soft_time_limit < one_timer.time_limit


def test_a_sweep_out_of_time_hands_its_claimed_timers_back(personas, settings, time_machine):
    settings.CAREFLOW_BUDGET_SWEEP_SECONDS = -1
    time_machine.move_to(START, tick=False)
    assert deploy(personas.process_owner, reminder_cycle('"R3/PT1H"')).status_code == 201
    instance_id = start(personas.employee, "cycle_reminder").json()["id"]
    time_machine.move_to(START + dt.timedelta(hours=1, seconds=1), tick=False)

    moved = services.timer_fire_due()

    assert moved == 0
    (timer,) = Timer.objects.filter(instance_id=instance_id)
    assert (timer.status, timer.leased_until, timer.attempts) == (Timer.Status.WAITING, None, 0)


@pytest.mark.parametrize(
    "value",
    [
        {"items": [f"S{i:05d}" for i in range(1000)], "note": "训练" * 10, "n": 12345},
        [[{"passed": True, "score": 87.5, "by": None}] * 50] * 20,
        {"deep": [[[["x" * 100]]]] * 30, "when": "2026-03-02T09:00:00+00:00"},
    ],
)
def test_the_size_estimate_is_close_to_the_json_it_stands_for(value):
    from workflows.budget import json_size

    exact = len(json.dumps(value, ensure_ascii=False))

    assert 0.7 * exact <= json_size(value, stop_above=10**9) <= 1.3 * exact


def test_a_value_that_contains_itself_is_too_big_to_store():
    from workflows.budget import json_size

    looped = []
    looped.append(looped)

    assert json_size(looped, stop_above=1000) == 1001
