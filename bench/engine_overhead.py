"""Item 2: what CareFlow's services layer costs over SpiffWorkflow alone.

One lifecycle = start an instance of the one-user-task process (tests/fixtures/bundles/
simple_task) and complete its task. Measured three ways in the same run:

- bare engine, SpiffWorkflow's default serializer: specs parsed once; per lifecycle a new
  workflow, engine steps, serialise to JSON, deserialise, complete the task, engine steps,
  serialise to JSON (the specs travel inside the JSON, as SpiffWorkflow does by default);
- bare engine, state without specs: the same with the specs left out of the JSON, which is
  what CareFlow stores (the stricter baseline; the ratio is taken against it);
- services layer: workflows.services.instance_start + task_complete on PostgreSQL
  (row lock, load, engine steps, dump, task projection, timers, subscriptions, history).

Usage: uv run --frozen python bench/engine_overhead.py [--lifecycles N] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from uuid import UUID

import _common as c

TARGET_RATIO = 5.0


def bare_engine_runner(with_specs: bool):
    """A function running one bare-engine lifecycle, and a check that it completed."""
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
    from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
    from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
    from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
    from SpiffWorkflow.util.task import TaskState

    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(c.BUNDLES / "simple_task" / "simple_task.bpmn"))
    spec = parser.get_spec("simple_task")
    subprocess_specs = parser.get_subprocess_specs("simple_task")

    class StateOnly(BpmnWorkflowConverter):
        def to_dict(self, workflow):
            dct = super().to_dict(workflow)
            dct.pop("spec")
            dct.pop("subprocess_specs")
            return dct

        def from_dict(self, dct, **kwargs):
            workflow = self.target_class(spec, subprocess_specs, deserializing=True)
            workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
            workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
            self.set_default_attributes(workflow, dct)
            self.subprocesses_from_dict(dict(dct["subprocesses"]), workflow)
            workflow.bpmn_events = self.registry.restore(dct.get("bpmn_events", []))
            return workflow

    config = dict(SPIFF_CONFIG)
    if not with_specs:
        config[BpmnWorkflow] = StateOnly
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))
    sizes: list[int] = []

    def lifecycle() -> None:
        workflow = BpmnWorkflow(spec, subprocess_specs)
        workflow.do_engine_steps()
        stored = serializer.serialize_json(workflow)
        workflow = serializer.deserialize_json(stored)
        task = workflow.get_tasks(state=TaskState.READY, manual=True)[0]
        task.data.update({"note": "done", "hours": 1})
        task.run()
        workflow.do_engine_steps()
        stored = serializer.serialize_json(workflow)
        sizes.append(len(stored))
        if not workflow.completed:
            raise AssertionError("the bare workflow did not complete")

    return lifecycle, sizes


def services_runner(users):
    """A function running one lifecycle through the services layer for the next user."""
    from workflows import services
    from workflows.models import HumanTask, ProcessInstance

    state = {"i": 0}
    split: dict[str, list[float]] = {"start": [], "complete": []}

    def lifecycle() -> None:
        employee = users[state["i"] % len(users)]
        state["i"] += 1
        t0 = time.perf_counter()
        instance = services.instance_start(
            process_key="simple_task", started_by=employee.user, subject=employee
        )
        t1 = time.perf_counter()
        task_pk = HumanTask.objects.filter(instance=instance, status="open").values_list(
            "pk", flat=True
        )[0]
        t2 = time.perf_counter()
        services.task_complete(
            human_task_id=task_pk, user=employee.user, data={"note": "done", "hours": 1}
        )
        t3 = time.perf_counter()
        split["start"].append(t1 - t0)
        split["complete"].append(t3 - t2)
        if ProcessInstance.objects.get(pk=instance.pk).status != "completed":
            raise AssertionError("the instance did not complete")

    return lifecycle, split


def breakdown(fn, n: int) -> dict[str, float]:
    """Seconds per lifecycle in the engine facade, in the database and in total, and the
    statement count per lifecycle."""
    with c.Spent() as spent:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        total = time.perf_counter() - start
    return {
        "engine": spent.engine_total() / n,
        "database": spent.database / n,
        "statements": spent.statements / n,
        "total": total / n,
    }


def profile(fn, n: int, top: int = 25) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(n):
        fn()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lifecycles", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--profile", action="store_true", help="print cProfile of the services layer")
    args = ap.parse_args()

    c.setup_django("overhead", fresh=True)
    c.header("Overhead of the services layer over the bare engine (item 2)")
    c.deploy("simple_task")
    users = c.make_people(50, prefix="ovh")

    runs = {}
    for name, (fn, extra) in {
        "bare engine, default serializer (specs in JSON)": bare_engine_runner(True),
        "bare engine, state without specs": bare_engine_runner(False),
        "services layer on PostgreSQL": services_runner(users),
    }.items():
        for _ in range(args.warmup):
            fn()
        if isinstance(extra, dict):
            for v in extra.values():
                v.clear()
        runs[name] = (c.timed(fn, args.lifecycles), extra)

    rows = []
    for name, (times, _extra) in runs.items():
        s = c.summary_ms(times)
        rows.append([name, s["n"], s["mean"], s["p50"], s["p95"], s["p99"]])
    c.print_table(
        ["per lifecycle (start + complete)", "n", "mean ms", "p50 ms", "p95 ms", "p99 ms"],
        rows,
        title="Time per lifecycle",
    )
    bare_sizes = runs["bare engine, default serializer (specs in JSON)"][1]
    lean_sizes = runs["bare engine, state without specs"][1]
    split = runs["services layer on PostgreSQL"][1]
    c.print_table(
        ["services layer operation", "mean ms", "p50 ms", "p95 ms"],
        [
            [k, c.summary_ms(v)["mean"], c.summary_ms(v)["p50"], c.summary_ms(v)["p95"]]
            for k, v in split.items()
        ],
        title="Services layer, per operation",
    )
    print(
        f"\nfinal state JSON: {bare_sizes[-1]:,} bytes with specs, {lean_sizes[-1]:,} bytes without"
    )
    services_fn = runs["services layer on PostgreSQL"][0] and services_runner(users)[0]
    parts = breakdown(services_fn, args.lifecycles)
    # The lifecycle's own bookkeeping (finding the task, checking the status) is not the
    # services layer: 2 statements of it are left out of the count.
    total = parts["total"]
    c.print_table(
        ["where a services-layer lifecycle spends its time", "ms", "share"],
        [
            [
                "engine facade (new/load/run/complete/snapshot/dump)",
                parts["engine"] * 1000,
                f"{parts['engine'] / total * 100:.0f}%",
            ],
            [
                f"PostgreSQL round trips ({parts['statements'] - 2:.0f} statements + 2 commits)",
                parts["database"] * 1000,
                f"{parts['database'] / total * 100:.0f}%",
            ],
            [
                "the rest: ORM, projections, history, notifications",
                (total - parts["engine"] - parts["database"]) * 1000,
                f"{(total - parts['engine'] - parts['database']) / total * 100:.0f}%",
            ],
            ["total (including 2 bookkeeping statements)", total * 1000, "100%"],
        ],
        title="Services layer breakdown (wall time per lifecycle)",
    )

    services_ms = c.summary_ms(runs["services layer on PostgreSQL"][0])["p50"]
    lean_ms = c.summary_ms(runs["bare engine, state without specs"][0])["p50"]
    fat_ms = c.summary_ms(runs["bare engine, default serializer (specs in JSON)"][0])["p50"]
    ratio = services_ms / lean_ms
    print(
        f"\nratio (median): {ratio:.1f}x the state-only bare engine, "
        f"{services_ms / fat_ms:.1f}x the default-serializer bare engine"
    )
    met = c.print_targets(
        [
            c.Target(
                "services layer time / bare engine time per lifecycle",
                f"{ratio:.1f}x ({services_ms:.1f} ms vs {lean_ms:.2f} ms)",
                f"<= {TARGET_RATIO:.0f}x",
                ratio <= TARGET_RATIO,
            )
        ]
    )
    if args.profile:
        print("\ncProfile of 100 services-layer lifecycles, by cumulative time:\n")
        print(profile(services_fn, 100))
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
