"""Fill a PostgreSQL database with a healthcare group at scale, for bench/inbox_scale.py.

What it writes (deterministic: the same seed gives the same rows):
- 2,000 org units: 1 group > 100 clinics > 1,899 departments;
- 100,000 users and employees, spread over the departments, each managed by the
  supervisor of their department;
- role assignments: a supervisor per department, 2 clinic HR per clinic, 3 group HR,
  1 auditor;
- the one-user-task process (tests/fixtures/bundles/simple_task) deployed, and 5,000
  process instances that the task rows belong to;
- 1,000,000 HumanTask rows, created over two years: 97 % completed or cancelled, 3 % open
  (30,000); 70 % offered to a named user, 30 % to a role in an org unit (department
  supervisors, clinic HR, group HR); 5 % of the open ones claimed.

Rows go in with COPY, columns taken from the Django models, so new columns with defaults
are filled too. The database is `<BENCH_DATABASE_URL>_scale` (careflow_bench_scale by
default); an existing complete data set is kept unless --force.

Usage: uv run --frozen python bench/generate_scale_data.py [--force] [--tasks N]
       [--employees N] [--units N] [--seed N]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import _common as c

DB_SUFFIX = "scale"
OPEN_SHARE = 0.03
ROLE_SHARE = 0.30
CLAIMED_SHARE_OF_OPEN = 0.05
INSTANCES = 5000
CLINICS = 100
# Where role tasks go: (role, kind of org unit, share).
ROLE_TARGETS = [
    ("supervisor", "department", 0.60),
    ("clinic_hr", "clinic", 0.35),
    ("group_hr", "group", 0.05),
]


def copy_rows(model, rows: Iterable[dict], *, batch_note: str = "") -> int:
    """COPY rows (dicts by column name) into the model's table. Columns the dicts leave out
    get the model field's default, so the generator survives new columns with defaults."""
    from django.db import connection
    from django.db.models import JSONField
    from psycopg.types.json import Jsonb

    fields = model._meta.concrete_fields
    columns = [f.column for f in fields]
    defaults = {}
    for f in fields:
        if f.has_default() or not f.null:
            value = f.get_default()
            if isinstance(f, JSONField):
                value = Jsonb(value)
            defaults[f.column] = value
        else:
            defaults[f.column] = None
    json_columns = {f.column for f in fields if isinstance(f, JSONField)}
    table = model._meta.db_table
    count = 0
    quoted = ", ".join(f'"{col}"' for col in columns)
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg cursor under Django's wrapper
        with raw.copy(f'COPY "{table}" ({quoted}) FROM STDIN') as copy:
            for row in rows:
                values = []
                for col in columns:
                    if col in row:
                        value = row[col]
                        if col in json_columns and value is not None:
                            value = Jsonb(value)
                    else:
                        value = defaults[col]
                    values.append(value)
                copy.write_row(values)
                count += 1
    if batch_note:
        print(f"  {batch_note}: {count:,} rows")
    return count


def reset_sequence(model) -> None:
    from django.db import connection

    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
            f'(SELECT COALESCE(MAX(id), 1) FROM "{table}"))'
        )


def is_generated(tasks: int) -> bool:
    from hr.models import Employee
    from workflows.models import HumanTask

    return HumanTask.objects.count() >= tasks and Employee.objects.count() > 0


def generate(*, tasks: int, employees: int, units: int, seed: int) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from hr.models import Employee, OrgUnit, RoleAssignment
    from workflows.models import HumanTask, ProcessInstance

    User = get_user_model()
    rng = random.Random(seed)
    now = datetime(2026, 6, 1, tzinfo=UTC)
    two_years = timedelta(days=730)

    version = c.deploy("simple_task")
    started = time.perf_counter()
    with transaction.atomic():
        # --- org units: group (id 1) > clinics > departments, ids chosen here -------------
        clinic_ids = list(range(2, 2 + CLINICS))
        dept_ids = list(range(2 + CLINICS, units + 1))
        dept_clinic = {d: clinic_ids[(d - dept_ids[0]) % CLINICS] for d in dept_ids}
        unit_rows = [
            {
                "id": 1,
                "code": "grp",
                "name": "Scale group 规模测试集团",
                "kind": "group",
                "parent_id": None,
                "path": "/1/",
            }
        ]
        unit_rows += [
            {
                "id": u,
                "code": f"c{u:04d}",
                "name": f"Clinic {u} 门店",
                "kind": "clinic",
                "parent_id": 1,
                "path": f"/1/{u}/",
            }
            for u in clinic_ids
        ]
        unit_rows += [
            {
                "id": d,
                "code": f"d{d:04d}",
                "name": f"Department {d} 科室",
                "kind": "department",
                "parent_id": dept_clinic[d],
                "path": f"/1/{dept_clinic[d]}/{d}/",
            }
            for d in dept_ids
        ]
        copy_rows(OrgUnit, unit_rows, batch_note="org units")

        # --- users and employees: employee i signs in as user i ------------------------------
        # The first employee of each department is its supervisor; the others are spread
        # unevenly (a small clinic department to a big hospital ward).
        weights = [rng.paretovariate(1.5) for _ in dept_ids]
        dept_of = dept_ids + rng.choices(dept_ids, weights=weights, k=employees - len(dept_ids))
        first_in_dept = {d: i for i, d in enumerate(dept_ids, start=1)}
        joined = now - two_years
        copy_rows(
            User,
            (
                {
                    "id": i,
                    "username": f"s{i:06d}",
                    "password": "!",
                    "is_superuser": False,
                    "first_name": "",
                    "last_name": "",
                    "email": "",
                    "is_staff": False,
                    "is_active": True,
                    "date_joined": joined,
                    "last_login": None,
                }
                for i in range(1, employees + 1)
            ),
            batch_note="users",
        )
        copy_rows(
            Employee,
            (
                {
                    "id": i,
                    "user_id": i,
                    "employee_no": f"S{i:06d}",
                    "name": f"员工 {i}",
                    "org_unit_id": dept_of[i - 1],
                    "manager_id": None
                    if first_in_dept[dept_of[i - 1]] == i
                    else first_in_dept[dept_of[i - 1]],
                    "position": "",
                    "role_family": "nurse",
                    "is_active": True,
                }
                for i in range(1, employees + 1)
            ),
            batch_note="employees",
        )

        # --- roles ------------------------------------------------------------------------------
        roles = [("supervisor", first_in_dept[d], d) for d in dept_ids]
        picks = rng.sample(range(1, employees + 1), CLINICS * 2 + 4)
        for n, clinic in enumerate(clinic_ids):
            roles += [("clinic_hr", picks[2 * n], clinic), ("clinic_hr", picks[2 * n + 1], clinic)]
        roles += [("group_hr", p, 1) for p in picks[CLINICS * 2 : CLINICS * 2 + 3]]
        roles += [("auditor", picks[-1], 1)]
        copy_rows(
            RoleAssignment,
            (
                {"id": n, "role": r, "user_id": u, "org_unit_id": o}
                for n, (r, u, o) in enumerate(roles, start=1)
            ),
            batch_note="role assignments",
        )

        # --- instances: the task rows' parents ---------------------------------------------------
        copy_rows(
            ProcessInstance,
            (
                {
                    "id": n,
                    "definition_id": version.definition_id,
                    "version_id": version.pk,
                    "business_key": "",
                    "subject_id": (s := rng.randint(1, employees)),
                    "org_unit_id": dept_of[s - 1],
                    "started_by_id": s,
                    "status": "waiting" if n % 5 == 0 else "completed",
                    "status_before_suspend": "",
                    "state": {},
                    "serializer_version": "1.5",
                    "started_at": now - two_years,
                    "updated_at": now,
                    "ended_at": None if n % 5 == 0 else now,
                }
                for n in range(1, INSTANCES + 1)
            ),
            batch_note="process instances",
        )

        # --- tasks ----------------------------------------------------------------------------
        role_units = {
            "department": dept_ids,
            "clinic": clinic_ids,
            "group": [1],
        }
        role_choice = [(r, k) for r, k, _ in ROLE_TARGETS]
        role_weights = [w for _, _, w in ROLE_TARGETS]
        waiting_instances = list(range(5, INSTANCES + 1, 5))
        done_instances = [n for n in range(1, INSTANCES + 1) if n % 5]
        holders = {(r, o): u for r, u, o in roles}

        def task_rows():
            getrandbits = rng.getrandbits
            for n in range(1, tasks + 1):
                is_open = rng.random() < OPEN_SHARE
                created = now - timedelta(seconds=rng.random() * two_years.total_seconds())
                row = {
                    "id": n,
                    "instance_id": rng.choice(waiting_instances if is_open else done_instances),
                    "task_id": uuid.UUID(int=getrandbits(128), version=4),
                    "element_id": "do_the_work",
                    "name": "Do the work 完成工作",
                    "documentation": "",
                    "lane": "Employee (员工)",
                    "form": "simple_form.json",
                    "ui_form": "",
                    "created_at": created,
                    "due_at": created + timedelta(days=7),
                    "candidate_user_id": None,
                    "candidate_role": "",
                    "candidate_org_unit_id": None,
                    "assignee_id": None,
                    "claimed_at": None,
                    "completed_at": None,
                    "completed_by_id": None,
                }
                if rng.random() < ROLE_SHARE:
                    role, kind = rng.choices(role_choice, weights=role_weights)[0]
                    unit = rng.choice(role_units[kind])
                    row["candidate_role"] = role
                    row["candidate_org_unit_id"] = unit
                    worker = holders.get((role, unit))
                    row["lane"] = role
                else:
                    worker = rng.randint(1, employees)
                    row["candidate_user_id"] = worker
                if is_open:
                    row["status"] = "open"
                    if worker and rng.random() < CLAIMED_SHARE_OF_OPEN:
                        row["assignee_id"] = worker
                        row["claimed_at"] = created + timedelta(hours=1)
                else:
                    row["status"] = "completed" if rng.random() < 0.95 else "cancelled"
                    row["completed_at"] = created + timedelta(days=rng.random() * 10)
                    if row["status"] == "completed":
                        row["completed_by_id"] = worker
                yield row

        copy_rows(HumanTask, task_rows(), batch_note="human tasks")
        for model in (OrgUnit, User, Employee, RoleAssignment, ProcessInstance, HumanTask):
            reset_sequence(model)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"generated in {time.perf_counter() - started:.0f} s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--force", action="store_true", help="drop and generate again")
    ap.add_argument("--tasks", type=int, default=1_000_000)
    ap.add_argument("--employees", type=int, default=100_000)
    ap.add_argument("--units", type=int, default=2_000)
    ap.add_argument("--seed", type=int, default=20260601)
    args = ap.parse_args()

    c.setup_django(DB_SUFFIX, fresh=args.force, migrate=True)
    if is_generated(args.tasks):
        print(f"{c.database_url(DB_SUFFIX)} already holds the data set; --force to redo it")
        return 0
    if not args.force:
        # A half-written or older data set: start from an empty database.
        from django.db import connections

        connections.close_all()
        c.setup_django(DB_SUFFIX, fresh=True, migrate=True)
    print(f"generating into {c.database_url(DB_SUFFIX)}")
    generate(tasks=args.tasks, employees=args.employees, units=args.units, seed=args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
