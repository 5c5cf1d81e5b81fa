"""Item 4: the inbox at scale (100,000 employees, 2,000 org units, 1,000,000 task rows).

Needs the data of bench/generate_scale_data.py (run first; it is kept between runs).
For users chosen from the data, measures
- "my open tasks": selectors.inbox for employees whose open tasks are offered to them by
  name (a typical one and the one with the most);
- "open tasks of my roles": selectors.inbox for role holders (a department supervisor, a
  clinic HR, a group HR with the group-wide backlog);
each as the selector's first page (50 rows, what the API lists) and as the whole
GET /api/v1/tasks request (token auth, count, page, serializer) through Django in-process.
Prints p50/p95/p99 and EXPLAIN ANALYZE of the inbox query, to show the indexes it uses.

Usage: uv run --frozen python bench/inbox_scale.py [--repeat N] [--explain]
"""

from __future__ import annotations

import argparse
import sys

import _common as c

TARGET_P95_MS = 20.0
PAGE = 50


def pick_users():
    """(label, kind, user) for the users measured, chosen from the data."""
    from django.contrib.auth import get_user_model
    from django.db.models import Count

    from hr.models import RoleAssignment
    from workflows.models import HumanTask

    User = get_user_model()
    direct = (
        HumanTask.objects.filter(status="open", candidate_user__isnull=False)
        .values("candidate_user")
        .annotate(n=Count("id"))
        .order_by("-n", "candidate_user")
    )
    counts = list(direct.values_list("candidate_user", "n"))
    top_user, top_n = counts[0]
    # A typical employee: the median among those with open tasks.
    typical_user, typical_n = counts[len(counts) // 2]

    def role_holder(role: str, busiest: bool):
        open_by_unit = (
            HumanTask.objects.filter(status="open", candidate_role=role)
            .values("candidate_org_unit")
            .annotate(n=Count("id"))
            .order_by("-n" if busiest else "n", "candidate_org_unit")
        )
        unit, n = open_by_unit.values_list("candidate_org_unit", "n")[0 if busiest else 0]
        holder = RoleAssignment.objects.filter(role=role, org_unit_id=unit).order_by("pk")[0]
        return holder.user, n

    supervisor, sup_n = role_holder("supervisor", True)
    clinic_hr, hr_n = role_holder("clinic_hr", True)
    group_hr, group_n = role_holder("group_hr", True)
    return [
        (
            f"my open tasks, typical employee ({typical_n} open)",
            "direct",
            User.objects.get(pk=typical_user),
        ),
        (
            f"my open tasks, busiest employee ({top_n} open)",
            "direct",
            User.objects.get(pk=top_user),
        ),
        (f"my roles' open tasks, department supervisor ({sup_n} open)", "roles", supervisor),
        (f"my roles' open tasks, clinic HR ({hr_n} open)", "roles", clinic_hr),
        (f"my roles' open tasks, group HR ({group_n} open)", "roles", group_hr),
    ]


def explain(user) -> str:
    from django.db import connection

    from workflows import selectors

    qs = selectors.inbox(user)[:PAGE]
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=300)
    ap.add_argument("--explain", action="store_true", help="print every plan, not only two")
    args = ap.parse_args()

    c.setup_django("scale", migrate=False)
    c.header("Inbox at scale (item 4)")
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from knox.models import AuthToken

    from hr.models import Employee, OrgUnit
    from workflows import selectors
    from workflows.models import HumanTask

    try:
        tasks = HumanTask.objects.count()
    except Exception:  # noqa: BLE001 - no tables: the generator has not run
        tasks = 0
    if tasks < 100_000:
        print("no scale data: run `uv run --frozen python bench/generate_scale_data.py` first")
        return 2
    open_tasks = HumanTask.objects.filter(status="open").count()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_total_relation_size('workflows_humantask'))")
        size = cursor.fetchone()[0]
    print(
        f"data: {OrgUnit.objects.count():,} org units, {Employee.objects.count():,} employees, "
        f"{get_user_model().objects.count():,} users, {tasks:,} task rows "
        f"({open_tasks:,} open), task table with indexes {size}"
    )

    users = pick_users()
    rows = []
    targets = []
    for label, kind, user in users:
        page = lambda u=user: list(selectors.inbox(u)[:PAGE])  # noqa: E731
        for _ in range(20):
            page()
        selector = c.summary_ms(c.timed(page, args.repeat))
        _, token = AuthToken.objects.create(user=user)
        client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Token {token}")
        api = lambda cl=client: cl.get("/api/v1/tasks")  # noqa: E731
        response = api()
        if response.status_code != 200:
            raise AssertionError(response.content)
        listed = response.json()["count"]
        for _ in range(10):
            api()
        http = c.summary_ms(c.timed(api, max(args.repeat // 3, 30)))
        rows.append(
            [
                label,
                listed,
                selector["p50"],
                selector["p95"],
                selector["p99"],
                http["p50"],
                http["p95"],
                http["p99"],
            ]
        )
        targets.append((kind, label, selector["p95"], http["p95"]))

    c.print_table(
        ["user", "inbox count", "selector p50 ms", "p95", "p99", "GET /tasks p50 ms", "p95", "p99"],
        rows,
        title=f"Inbox, first page of {PAGE} ({args.repeat} calls each)",
    )
    shown = users if args.explain else [users[1], users[4]]
    for label, _kind, user in shown:
        print(f"\nEXPLAIN ANALYZE of the inbox page, {label}:\n")
        print(explain(user))

    def worst(kind: str, index: int) -> float:
        return max(t[index] for t in targets if t[0] == kind)

    met = c.print_targets(
        [
            c.Target(
                "my open tasks, p95 (selector; whole request)",
                f"{worst('direct', 2):.1f} ms; {worst('direct', 3):.1f} ms",
                f"<= {TARGET_P95_MS:.0f} ms",
                worst("direct", 2) <= TARGET_P95_MS,
            ),
            c.Target(
                "open tasks of my roles, p95 (selector; whole request)",
                f"{worst('roles', 2):.1f} ms; {worst('roles', 3):.1f} ms",
                f"<= {TARGET_P95_MS:.0f} ms",
                worst("roles", 2) <= TARGET_P95_MS,
            ),
        ]
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
