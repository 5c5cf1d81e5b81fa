"""Item 3: database work per operation: SQL statements, commits and savepoints.

Counts, for the one-user-task process (tests/fixtures/bundles/simple_task):
- the service call alone (workflows.services.instance_start / task_complete), and
- the whole HTTP request through Django (token auth, view checks, serializers), in-process
  with Django's test client,
with django.test.utils.CaptureQueriesContext for statements and a wrapper around the
connection's commit for commits. Statements run outside a transaction (autocommit) are
counted apart: each is a transaction of its own on the server.

Usage: uv run --frozen python bench/db_work.py [--samples N] [--show-sql]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field

import _common as c

TARGET_COMMITS = 1
TARGET_COMPLETE_STATEMENTS = 12


@dataclass
class Work:
    statements: int = 0
    commits: int = 0
    savepoints: int = 0
    autocommit_statements: int = 0
    sql: list[tuple[bool, str]] = field(default_factory=list)  # (in transaction, sql)


@contextmanager
def counting():
    """Count statements (by kind), commits and savepoints on the default connection."""
    from django.core.signals import request_started
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    work = Work()
    in_tx: list[bool] = []

    def wrapper(execute, sql, params, many, context):
        in_tx.append(not connection.get_autocommit())
        return execute(sql, params, many, context)

    original_commit = connection._commit

    def counted_commit():
        work.commits += 1
        return original_commit()

    connection._commit = counted_commit
    # Django empties the query log when a request starts; keep it for the whole capture.
    request_started.disconnect(reset_queries)
    try:
        with CaptureQueriesContext(connection) as ctx, connection.execute_wrapper(wrapper):
            yield work
    finally:
        del connection._commit
        request_started.connect(reset_queries)
    # The log also holds BEGIN/COMMIT/ROLLBACK lines (transaction control, counted as commits
    # above); the execute wrapper saw the other statements, in the same order.
    statements = [
        q["sql"]
        for q in ctx.captured_queries
        if not re.fullmatch(r"\s*(BEGIN|COMMIT|ROLLBACK)\s*;?\s*", q["sql"], re.IGNORECASE)
    ]
    if len(statements) != len(in_tx):
        raise AssertionError(f"{len(statements)} statements logged, {len(in_tx)} executed")
    for inside, sql in zip(in_tx, statements, strict=True):
        if re.match(r"\s*(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT)", sql):
            work.savepoints += 1
            continue
        work.statements += 1
        if not inside:
            work.autocommit_statements += 1
        work.sql.append((inside, sql))


def classify(sql: str) -> str:
    head = sql.lstrip().split(None, 1)[0].upper()
    table = re.search(r'(?:FROM|INTO|UPDATE)\s+"(\w+)"', sql)
    lock = " FOR UPDATE" if "FOR UPDATE" in sql else ""
    return f"{head} {table.group(1) if table else '?'}{lock}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samples", type=int, default=20)
    ap.add_argument("--show-sql", action="store_true", help="print every statement of one sample")
    args = ap.parse_args()

    c.setup_django("dbwork", fresh=True)
    c.header("Database work per operation (item 3)")
    from django.test import Client

    from workflows import services
    from workflows.models import HumanTask

    c.deploy("simple_task")
    people = c.make_people(args.samples * 2 + 2, prefix="dbw")
    tokens = c.issue_tokens(people)

    # Warm caches (parsed specs, content types) so the figures are those of a running server.
    warm = people[-1]
    instance = services.instance_start(
        process_key="simple_task", started_by=warm.user, subject=warm
    )
    pk = HumanTask.objects.get(instance=instance, status="open").pk
    services.task_complete(human_task_id=pk, user=warm.user, data={"note": "warm"})

    results: dict[str, list[Work]] = {
        k: [] for k in ("svc start", "svc complete", "http start", "http complete")
    }
    for i in range(args.samples):
        person = people[i]
        with counting() as work:
            instance = services.instance_start(
                process_key="simple_task", started_by=person.user, subject=person
            )
        results["svc start"].append(work)
        pk = HumanTask.objects.get(instance=instance, status="open").pk
        with counting() as work:
            services.task_complete(human_task_id=pk, user=person.user, data={"note": "done"})
        results["svc complete"].append(work)

        person = people[args.samples + i]
        client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Token {tokens[person.user_id]}")
        with counting() as work:
            response = client.post(
                "/api/v1/instances/start",
                json.dumps({"process": "simple_task"}),
                content_type="application/json",
            )
        assert response.status_code == 201, response.content
        results["http start"].append(work)
        pk = HumanTask.objects.get(instance_id=response.json()["id"], status="open").pk
        with counting() as work:
            response = client.post(
                f"/api/v1/tasks/{pk}/complete",
                json.dumps({"data": {"note": "done"}}),
                content_type="application/json",
            )
        assert response.status_code == 200, response.content
        results["http complete"].append(work)

    rows = []
    for name, works in results.items():
        rows.append(
            [
                name,
                max(w.statements for w in works),
                min(w.statements for w in works),
                max(w.autocommit_statements for w in works),
                max(w.commits for w in works),
                max(w.savepoints for w in works),
            ]
        )
    c.print_table(
        [
            "operation",
            "statements (max)",
            "(min)",
            "of them autocommit",
            "commits",
            "savepoint stmts",
        ],
        rows,
        title=f"Per operation ({args.samples} samples each, one-user-task process)",
    )

    for name in ("svc start", "svc complete"):
        counts = Counter(classify(sql) for _, sql in results[name][-1].sql)
        c.print_table(
            ["statement", "count"],
            [[k, v] for k, v in counts.most_common()],
            title=f"Statements of one {name}",
        )
    if args.show_sql:
        for name, works in results.items():
            print(f"\n## {name}\n")
            for inside, sql in works[-1].sql:
                print(("  tx " if inside else "auto ") + sql[:300])

    worst_commits = max(max(w.commits for w in results[k]) for k in ("svc start", "svc complete"))
    complete_statements = max(w.statements for w in results["svc complete"])
    autocommits = max(
        max(w.autocommit_statements for w in results[k]) for k in ("svc start", "svc complete")
    )
    met = c.print_targets(
        [
            c.Target(
                "commits per start / per completion (service)",
                f"{max(w.commits for w in results['svc start'])} / "
                f"{max(w.commits for w in results['svc complete'])}"
                + (f" (+{autocommits} autocommit reads)" if autocommits else ""),
                f"{TARGET_COMMITS}",
                worst_commits <= TARGET_COMMITS,
            ),
            c.Target(
                "statements per task completion (service)",
                str(complete_statements),
                f"<= {TARGET_COMPLETE_STATEMENTS}",
                complete_statements <= TARGET_COMPLETE_STATEMENTS,
            ),
        ]
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
