"""What every benchmark shares: the environment, a database of its own, people, the fixture
processes, statistics and the table it prints.

Benchmarks run against PostgreSQL and Redis, never SQLite: set BENCH_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/careflow_bench) and BENCH_REDIS_URL (default
redis://127.0.0.1:6379/14). Each script uses its own database named after the base one
(careflow_bench_http, careflow_bench_scale, ...) and creates it when missing.
"""

from __future__ import annotations

import base64
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"
BUNDLES = ROOT / "tests" / "fixtures" / "bundles"

BASE_DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/careflow_bench"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
SECRET_KEY = "careflow-bench-not-a-real-secret-0123456789abcdef"
# A field-encryption key of the benchmarks' own (32 bytes of base64), never the public dev key.
BENCH_FIELD_KEYS = "bench1:" + base64.b64encode(b"careflow-bench-field-key-32bytes").decode()


def database_url(suffix: str) -> str:
    """The URL of the benchmark database `<base>_<suffix>` on the same server."""
    parts = urlsplit(BASE_DATABASE_URL)
    name = parts.path.lstrip("/") or "careflow_bench"
    return urlunsplit(parts._replace(path=f"/{name}_{suffix}" if suffix else f"/{name}"))


def server_env(db_url: str) -> dict[str, str]:
    """Environment of a production-like CareFlow process (DEBUG off, persistent connections)."""
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": db_url,
            "DEBUG": "false",
            "SECRET_KEY": SECRET_KEY,
            # A key of the benchmark's own, so the servers encrypt as production ones do.
            "CAREFLOW_FIELD_KEYS": BENCH_FIELD_KEYS,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DB_CONN_MAX_AGE": "600",
            "CELERY_BROKER_URL": REDIS_URL,
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "config.settings",
        }
    )
    return env


def ensure_database(db_url: str, *, fresh: bool = False) -> None:
    """Create the database when missing (dropped first with `fresh`)."""
    import psycopg

    parts = urlsplit(db_url)
    name = parts.path.lstrip("/")
    if name in {"postgres", "test", "template0", "template1"}:
        raise SystemExit(f"refusing to use the shared database {name!r} for benchmarks")
    # CREATE/DROP DATABASE need a connection to another database; template1 always exists.
    admin = urlunsplit(parts._replace(path="/template1"))
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and fresh:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(
    db_suffix: str,
    *,
    fresh: bool = False,
    migrate: bool = True,
    env: dict[str, str] | None = None,
) -> str:
    """Point Django at the benchmark database `<base>_<db_suffix>`, migrate it, set Django up.

    `env` overrides the production-like environment (e.g. CAREFLOW_* settings)."""
    db_url = database_url(db_suffix)
    ensure_database(db_url, fresh=fresh)
    os.environ.update(server_env(db_url))
    os.environ.update(env or {})
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
    return db_url


BENCH_BUNDLES = BENCH_DIR / "bundles"


def flush_redis() -> None:
    """Empty the benchmarks' own Redis database (never database 0, the default one)."""
    import redis

    parts = urlsplit(REDIS_URL)
    if parts.path.strip("/") in {"", "0"}:
        raise SystemExit("BENCH_REDIS_URL must name a Redis database of its own, e.g. /14")
    redis.Redis.from_url(REDIS_URL).flushdb()


def bundle_files(name: str, folder: Path = BUNDLES) -> dict[str, bytes]:
    """The files of a bundle folder (tests/fixtures/bundles/<name> by default)."""
    return {p.name: p.read_bytes() for p in sorted((folder / name).iterdir()) if p.is_file()}


def deploy(name: str, folder: Path = BUNDLES):
    """Deploy a bundle folder through the services layer (idempotent)."""
    from workflows import services

    return services.version_deploy(files=bundle_files(name, folder)).version


def make_people(count: int, *, prefix: str = "bench"):
    """A group > clinic > department with `count` employees who each sign in (idempotent).

    Returns the employees in order; their usernames are `<prefix>NNNNN`.
    """
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from hr.models import Employee, OrgUnit

    User = get_user_model()
    with transaction.atomic():
        group = OrgUnit.objects.filter(kind=OrgUnit.Kind.GROUP).order_by("pk").first()
        if group is None:
            group = OrgUnit(code="bench-group", name="Bench group", kind=OrgUnit.Kind.GROUP)
            group.save()
        clinic, _ = OrgUnit.objects.get_or_create(
            code=f"{prefix}-clinic",
            defaults={"name": "Bench clinic", "kind": OrgUnit.Kind.CLINIC, "parent": group},
        )
        if not clinic.path:
            clinic.save()
        dept, _ = OrgUnit.objects.get_or_create(
            code=f"{prefix}-dept",
            defaults={
                "name": "Bench department",
                "kind": OrgUnit.Kind.DEPARTMENT,
                "parent": clinic,
            },
        )
        if not dept.path:
            dept.save()
        names = [f"{prefix}{i:05d}" for i in range(count)]
        existing = set(User.objects.filter(username__in=names).values_list("username", flat=True))
        User.objects.bulk_create([User(username=n) for n in names if n not in existing])
        users = {u.username: u for u in User.objects.filter(username__in=names)}
        have = set(
            Employee.objects.filter(employee_no__in=names).values_list("employee_no", flat=True)
        )
        Employee.objects.bulk_create(
            [
                Employee(user=users[n], employee_no=n, name=f"Bench {n}", org_unit=dept)
                for n in names
                if n not in have
            ]
        )
    return list(
        Employee.objects.filter(employee_no__in=names)
        .select_related("user")
        .order_by("employee_no")
    )


def issue_tokens(people) -> dict[int, str]:
    """A new API token for each employee's user: {user_id: token}. Only a digest is stored
    (django-rest-knox), so the tokens exist only in what this returns."""
    from knox.models import AuthToken

    return {p.user_id: AuthToken.objects.create(user=p.user)[1] for p in people}


# --- statistics --------------------------------------------------------------------------


def percentile(values: Iterable[float], p: float) -> float:
    """The p-th percentile (0..100) by linear interpolation between closest ranks."""
    data = sorted(values)
    if not data:
        return float("nan")
    if len(data) == 1:
        return data[0]
    k = (len(data) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (k - lo)


def summary_ms(seconds: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "mean": statistics.fmean(ms) if ms else float("nan"),
        "p50": percentile(ms, 50),
        "p95": percentile(ms, 95),
        "p99": percentile(ms, 99),
        "max": max(ms) if ms else float("nan"),
    }


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    """Seconds taken by each of `repeat` calls of `fn`."""
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


class Spent:
    """Where time goes while it is active: in the engine facade (per method) and in the
    database (statements and commits, as the client waits for them), with a statement count.
    Wraps workflows.engine.engine's methods and the default connection."""

    ENGINE_METHODS = ("new_workflow", "load", "dump", "run", "snapshot", "complete_user_task")

    def __init__(self) -> None:
        self.engine: dict[str, float] = {}
        self.database = 0.0
        self.statements = 0
        self.commits = 0
        self._depth = 0

    def engine_total(self) -> float:
        return sum(self.engine.values())

    def __enter__(self) -> Spent:
        from django.db import connection

        from workflows.engine import engine

        self._engine = engine
        self._connection = connection
        for name in self.ENGINE_METHODS:
            setattr(engine, name, self._timed_method(name, getattr(engine, name)))
        original_commit = connection._commit

        def timed_commit():
            start = time.perf_counter()
            try:
                return original_commit()
            finally:
                self.database += time.perf_counter() - start
                self.commits += 1

        connection._commit = timed_commit
        self._wrapper = connection.execute_wrapper(self._timed_sql)
        self._wrapper.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._wrapper.__exit__(*exc)
        for name in self.ENGINE_METHODS:
            delattr(self._engine, name)
        del self._connection._commit

    def _timed_method(self, name: str, method):
        def wrapper(*args, **kwargs):
            self._depth += 1
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self._depth -= 1
                if self._depth == 0:  # run() inside complete_user_task counts once
                    self.engine[name] = self.engine.get(name, 0.0) + time.perf_counter() - start

        return wrapper

    def _timed_sql(self, execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.database += time.perf_counter() - start
            self.statements += 1


# --- output --------------------------------------------------------------------------------


def print_table(headers: list[str], rows: list[list[object]], title: str = "") -> None:
    """A Markdown table, so the output pastes straight into docs/benchmarks.md."""

    def cell(v: object) -> str:
        if isinstance(v, float):
            if v != v:  # NaN
                return "-"
            if abs(v) >= 100:
                return f"{v:,.0f}"
            if abs(v) >= 10:
                return f"{v:.1f}"
            return f"{v:.2f}"
        return str(v)

    text = [[cell(v) for v in row] for row in rows]
    widths = [
        max(len(h), *(len(r[i]) for r in text)) if text else len(h) for i, h in enumerate(headers)
    ]
    if title:
        print(f"\n{title}\n")
    print("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in text:
        print("| " + " | ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) + " |")
    sys.stdout.flush()


@dataclass
class Target:
    """One target of the benchmarks issue and whether this run met it."""

    name: str
    measured: str
    target: str
    is_met: bool


def print_targets(targets: list[Target]) -> bool:
    print_table(
        ["target", "measured", "wanted", "met"],
        [[t.name, t.measured, t.target, "yes" if t.is_met else "**NO**"] for t in targets],
        title="Targets",
    )
    return all(t.is_met for t in targets)


def _proc_field(path: str, prefix: str) -> str:
    """The value after the first `prefix...:` line of a /proc file, or ''."""
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(prefix):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def machine() -> str:
    """One line about the machine the figures come from."""
    mem_kb = _proc_field("/proc/meminfo", "MemTotal").split()
    mem = f"{int(mem_kb[0]) / 1024 / 1024:.0f} GiB" if mem_kb else "?"
    cpu = _proc_field("/proc/cpuinfo", "model name") or platform.processor()
    pg = "?"
    try:
        import psycopg

        admin = urlunsplit(urlsplit(BASE_DATABASE_URL)._replace(path="/template1"))
        with psycopg.connect(admin, autocommit=True) as conn:
            pg = conn.execute("SHOW server_version").fetchone()[0].split()[0]
    except Exception:  # noqa: BLE001 - the header line is informational
        pass
    return (
        f"{os.cpu_count()} CPUs ({cpu}), {mem} RAM, Python {platform.python_version()}, "
        f"PostgreSQL {pg}, {platform.system()} {platform.release()}"
    )


def cpu_busy(seconds: float = 1.0) -> float:
    """Share of all CPUs busy over `seconds` (from /proc/stat), whoever keeps them busy."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:9]]
        return sum(values), values[3] + values[4]  # total, idle + iowait

    try:
        total0, idle0 = sample()
        time.sleep(seconds)
        total1, idle1 = sample()
    except OSError:
        return float("nan")
    return 100.0 * (1 - (idle1 - idle0) / max(total1 - total0, 1))


def header(title: str) -> None:
    print(f"# {title}\n")
    print(f"machine: {machine()}")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
    print(f"CPUs busy before the run (anything on the machine): {cpu_busy():.0f}%")
    sys.stdout.flush()
