"""Item 6: instance size. State bytes and time per step against the number of tasks.

Process: bench/bundles/training_campaign, one parallel multi-instance user task over a
list of N items (one training campaign for a whole clinic), each item completed with a
small form. For N = 10, 100, 1000, through the services layer on PostgreSQL:
- starting the campaign (N user tasks projected, N notifications);
- the state: tasks in the workflow, JSON bytes, bytes PostgreSQL stores (TOAST-compressed);
- engine load and dump of that state alone (what every step pays);
- completing one item (workflows.services.task_complete), repeated on several items, with
  the time split into engine, database and the rest;
- the lists the campaign's holder opens while it runs: GET /api/v1/tasks (first page of 50
  of the open items) and GET /api/v1/instances, whole requests with token auth.

Usage: uv run --frozen python bench/instance_size.py [--sizes 10,100,1000] [--items N]
"""

from __future__ import annotations

import argparse
import sys
import time

import _common as c

TARGET_COMPLETE_MS = 15.0
PROCESS_KEY = "bench_training_campaign"


def state_figures(instance) -> dict[str, float]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_column_size(state), octet_length(state::text) "
            "FROM workflows_processinstance WHERE id = %s",
            [instance.pk],
        )
        stored, text = cursor.fetchone()
    return {"tasks": len(instance.state.get("tasks", {})), "json": text, "stored": stored}


def load_dump_ms(instance, repeat: int) -> tuple[float, float]:
    from workflows.engine import engine
    from workflows.services import version_bundle

    bundle = version_bundle(instance.version)
    loads, dumps = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        workflow = engine.load(bundle, instance.state, instance.serializer_version)
        loads.append(time.perf_counter() - start)
        start = time.perf_counter()
        engine.dump(workflow)
        dumps.append(time.perf_counter() - start)
    return c.percentile(loads, 50) * 1000, c.percentile(dumps, 50) * 1000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="10,100,1000")
    ap.add_argument("--items", type=int, default=20, help="items completed per size")
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",") if x.strip()]

    c.setup_django("size", fresh=True)
    c.header("Instance size: a parallel multi-instance user task over N items (item 6)")
    from django.test import Client

    from workflows import services
    from workflows.models import HumanTask, ProcessInstance

    c.deploy("training_campaign", c.BENCH_BUNDLES)
    person = c.make_people(1, prefix="size")[0]
    token = c.issue_tokens([person])[person.user_id]
    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Token {token}")

    def list_ms(url: str) -> dict[str, float]:
        def get():
            response = client.get(url)
            if response.status_code != 200:
                raise AssertionError(f"{url}: {response.status_code}")

        for _ in range(3):
            get()
        return c.summary_ms(c.timed(get, 20))

    size_rows, step_rows, split_rows, list_rows = [], [], [], []
    complete_at_max = None
    for n in sizes:
        items = [f"S{i:05d}" for i in range(n)]
        with c.Spent() as start_spent:
            start = time.perf_counter()
            instance = services.instance_start(
                process_key=PROCESS_KEY,
                started_by=person.user,
                subject=person,
                data={"items": items},
            )
            start_ms = (time.perf_counter() - start) * 1000
        open_ids = list(
            HumanTask.objects.filter(instance=instance, status="open")
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if len(open_ids) != n:
            raise AssertionError(f"{len(open_ids)} open tasks for {n} items")
        before = state_figures(ProcessInstance.objects.get(pk=instance.pk))
        load_ms, dump_ms = load_dump_ms(ProcessInstance.objects.get(pk=instance.pk), 5)

        times = []
        with c.Spent() as spent:
            for pk in open_ids[: min(args.items, n)]:
                start = time.perf_counter()
                services.task_complete(
                    human_task_id=pk,
                    user=person.user,
                    data={"result": {"passed": True, "score": 90}},
                )
                times.append(time.perf_counter() - start)
        done = len(times)
        s = c.summary_ms(times)
        if n == max(sizes):
            complete_at_max = s["p50"]
        size_rows.append(
            [
                n,
                before["tasks"],
                f"{before['json']:,}",
                f"{before['stored']:,}",
                f"{before['json'] / max(before['tasks'], 1):.0f}",
                start_ms,
                start_spent.statements,
            ]
        )
        step_rows.append(
            [n, load_ms, dump_ms, done, s["p50"], s["p95"], s["max"], spent.statements / done]
        )
        engine_ms = spent.engine_total() / done * 1000
        db_ms = spent.database / done * 1000
        total_ms = sum(times) / done * 1000
        split_rows.append(
            [
                n,
                total_ms,
                *(
                    spent.engine.get(k, 0.0) / done * 1000
                    for k in ("load", "complete_user_task", "snapshot", "dump")
                ),
                db_ms,
                total_ms - engine_ms - db_ms,
            ]
        )
        tasks_ms, instances_ms = list_ms("/api/v1/tasks"), list_ms("/api/v1/instances")
        list_rows.append(
            [
                n,
                n - done,
                tasks_ms["p50"],
                tasks_ms["p95"],
                instances_ms["p50"],
                instances_ms["p95"],
            ]
        )
        if n <= 100:
            # Finish the campaign: the last item ends the multi-instance task and the process.
            for pk in open_ids[done:]:
                services.task_complete(
                    human_task_id=pk, user=person.user, data={"result": {"passed": True}}
                )
            final = ProcessInstance.objects.get(pk=instance.pk)
            if final.status != "completed" or len(final.state["data"]["results"]) != n:
                raise AssertionError("the campaign did not complete with every result")

    c.print_table(
        [
            "items",
            "tasks in state",
            "state JSON bytes",
            "stored bytes (TOAST)",
            "bytes per task",
            "start ms",
            "start statements",
        ],
        size_rows,
        title="State size after the start",
    )
    c.print_table(
        [
            "items",
            "engine load ms",
            "engine dump ms",
            "items completed",
            "complete p50 ms",
            "p95 ms",
            "max ms",
            "statements per completion",
        ],
        step_rows,
        title="Completing one item",
    )
    c.print_table(
        ["items", "complete ms", "load", "run", "snapshot", "dump", "database", "rest"],
        split_rows,
        title="Completing one item, mean ms by part",
    )
    c.print_table(
        [
            "items",
            "items open",
            "GET /tasks p50 ms",
            "p95",
            "GET /instances p50 ms",
            "p95",
        ],
        list_rows,
        title="The holder's lists while the campaign runs (whole requests, 20 calls each)",
    )
    print("\nengine load / dump: the engine facade alone on the state after the start, median of 5")
    met = c.print_targets(
        [
            c.Target(
                f"completing one item of {max(sizes):,} (p50)",
                f"{complete_at_max:.1f} ms",
                f"<= {TARGET_COMPLETE_MS:.0f} ms",
                complete_at_max is not None and complete_at_max <= TARGET_COMPLETE_MS,
            )
        ]
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
