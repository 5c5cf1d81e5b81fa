"""Where the time of a lifecycle goes: cProfile of HTTP lifecycles run in-process.

Runs the lifecycle of bench/http_lifecycle.py (start, [inbox,] complete) through Django's
full request stack with the test client (no network, no gunicorn), under cProfile, and
prints the time per lifecycle by layer (SpiffWorkflow, Django ORM, PostgreSQL round trips,
DRF, CareFlow's own code ...) and the CareFlow functions by cumulative time.
cProfile slows Python down about twofold; compare layers with each other, not with the
wall-clock figures of the other benchmarks.

Usage: uv run --frozen python bench/profile_lifecycle.py [--lifecycles N] [--top N]
       [--services-only]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
import time
from collections import defaultdict

import _common as c

LAYERS = [
    # (label, test on the file path and function name)
    ("waiting for PostgreSQL (psycopg wait)", lambda f, n: "psycopg" in f and n == "wait"),
    ("psycopg driver", lambda f, n: "/psycopg" in f),
    ("SpiffWorkflow engine", lambda f, n: "/SpiffWorkflow/" in f),
    ("Django ORM (django/db)", lambda f, n: "/django/db/" in f),
    ("Django REST framework", lambda f, n: "/rest_framework/" in f),
    ("Django (request, middleware, utils)", lambda f, n: "/django/" in f),
    ("jsonschema (form validation)", lambda f, n: "/jsonschema" in f or "/referencing/" in f),
    ("CareFlow workflows/", lambda f, n: "/workflows/" in f),
    ("CareFlow api/ and hr/", lambda f, n: "/api/" in f or "/hr/" in f),
    ("json", lambda f, n: "/json/" in f),
    ("builtins and stdlib", lambda f, n: True),
]


def layer_of(filename: str, name: str) -> str:
    for label, test in LAYERS:
        if test(filename, name):
            return label
    return "other"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lifecycles", type=int, default=200)
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument(
        "--services-only", action="store_true", help="call the services, not the HTTP API"
    )
    ap.add_argument(
        "--use-inbox",
        action="store_true",
        help="find the task in the inbox even when the start answer names it",
    )
    args = ap.parse_args()
    use_inbox = args.use_inbox

    c.setup_django("profile", fresh=True)
    c.header("Profile of a lifecycle")
    from django.test import Client

    from workflows import services
    from workflows.models import HumanTask

    c.deploy("simple_task")
    people = c.make_people(50, prefix="prof")
    token_of = c.issue_tokens(people)
    clients = [
        Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Token {token_of[p.user_id]}")
        for p in people
    ]

    def http_lifecycle(i: int) -> None:
        client = clients[i % len(clients)]
        r = client.post(
            "/api/v1/instances/start",
            json.dumps({"process": "simple_task"}),
            content_type="application/json",
        )
        started = r.json()
        if started.get("open_tasks") and not use_inbox:
            task = started["open_tasks"][0]
        else:
            r = client.get("/api/v1/tasks?process=simple_task&page_size=200")
            task = next(t for t in r.json()["results"] if t["instance"] == started["id"])
        r = client.post(
            f"/api/v1/tasks/{task['id']}/complete",
            json.dumps({"data": {"note": "done", "hours": 1}}),
            content_type="application/json",
        )
        if r.status_code != 200:
            raise AssertionError(r.content)

    def services_lifecycle(i: int) -> None:
        person = people[i % len(people)]
        instance = services.instance_start(
            process_key="simple_task", started_by=person.user, subject=person
        )
        pk = HumanTask.objects.filter(instance=instance, status="open").values_list(
            "pk", flat=True
        )[0]
        services.task_complete(human_task_id=pk, user=person.user, data={"note": "done"})

    lifecycle = services_lifecycle if args.services_only else http_lifecycle
    for i in range(50):
        lifecycle(i)
    start = time.perf_counter()
    for i in range(args.lifecycles):
        lifecycle(i)
    plain_ms = (time.perf_counter() - start) / args.lifecycles * 1000

    profiler = cProfile.Profile()
    profiler.enable()
    for i in range(args.lifecycles):
        lifecycle(i)
    profiler.disable()
    stats = pstats.Stats(profiler)
    by_layer: dict[str, float] = defaultdict(float)
    total = 0.0
    for (filename, _line, name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():
        by_layer[layer_of(filename, name)] += tottime
        total += tottime
    n = args.lifecycles
    what = "services" if args.services_only else "HTTP (start, [inbox,] complete)"
    print(
        f"\n{what} lifecycle: {plain_ms:.1f} ms without the profiler, "
        f"{total / n * 1000:.1f} ms under it"
    )
    c.print_table(
        ["layer (own time)", "ms per lifecycle", "share"],
        [
            [label, secs / n * 1000, f"{secs / total * 100:.0f}%"]
            for label, secs in sorted(by_layer.items(), key=lambda kv: -kv[1])
        ],
        title="Time by layer, under cProfile",
    )
    ours = [
        (key, value)
        for key, value in stats.stats.items()
        if any(p in key[0] for p in ("/workflows/", "/api/", "/hr/"))
    ]
    ours.sort(key=lambda kv: -kv[1][3])
    c.print_table(
        ["CareFlow function", "calls per lifecycle", "cumulative ms per lifecycle"],
        [
            [
                f"{key[0].split(str(c.ROOT) + '/')[-1]}:{key[1]} {key[2]}",
                value[1] / n,
                value[3] / n * 1000,
            ]
            for key, value in ours[: args.top]
        ],
        title="CareFlow functions by cumulative time, under cProfile",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
