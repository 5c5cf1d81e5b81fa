"""Faults under load, against a whole CareFlow of this test's own: a private PostgreSQL cluster
(initdb + pg_ctl on a free port, in a temporary directory) and a private redis-server, with
real processes in front: gunicorn (the API), a Celery worker and Celery beat. The test kills,
stops and restarts only those, never the machine's shared PostgreSQL or Redis.

Marked `faults`: not part of `make test`; run with `uv run --frozen pytest -m faults`
(.ci/run does, as a second step). What each test proves is in docs/reliability.md.

Timers: workers run with a clock one day ahead (tests/workers/clock_worker.py), so the
one-day timers of the `blocking_timer` fixture process are due for them at once, while the
API's clock is the real one. The outage lasts CAREFLOW_FAULT_OUTAGE_SECONDS (default 15 s;
production runbooks talk of a minute, and nothing here depends on the length: the broker
is gone the moment it is killed).
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
import requests

from tests.reliability.servers import (
    ROOT,
    Gunicorn,
    PrivatePostgres,
    PrivateRedis,
    Process,
    have_private_servers,
)
from tests.workers.conftest import wait_until

pytestmark = [
    pytest.mark.faults,
    pytest.mark.skipif(
        not have_private_servers(), reason="needs PostgreSQL server binaries and redis-server"
    ),
]

OUTAGE_SECONDS = float(os.environ.get("CAREFLOW_FAULT_OUTAGE_SECONDS", "15"))
DEMO_PASSWORD = "careflow-demo"
BUNDLES = ROOT / "tests" / "fixtures" / "bundles"


@dataclass
class Stack:
    """The private CareFlow: servers, processes, tokens, and ways to look at it."""

    base: Path
    postgres: PrivatePostgres
    redis: PrivateRedis
    env: dict[str, str]
    gunicorn: Gunicorn | None = None
    beat: Process | None = None
    tokens: dict[str, str] = field(default_factory=dict)
    workers: list[Process] = field(default_factory=list)

    @property
    def database_url(self) -> str:
        return self.postgres.url("careflow")

    def manage(self, *args: str) -> None:
        import subprocess

        subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
            timeout=300,
        )

    def api(self, method: str, path: str, user: str | None, **kwargs) -> requests.Response:
        headers = {"Authorization": f"Token {self.tokens[user]}"} if user else {}
        assert self.gunicorn is not None
        return requests.request(
            method, f"{self.gunicorn.url}/api/v1/{path}", headers=headers, timeout=60, **kwargs
        )

    def sql(self, query: str, *params) -> list[tuple]:
        with psycopg.connect(self.database_url, connect_timeout=5) as db:
            return db.execute(query, params).fetchall()

    def start_worker(self, name: str, ahead: dt.timedelta, **env: str) -> Process:
        clock = dt.datetime.now(dt.UTC) + ahead
        worker = Process(
            name,
            [sys.executable, "-m", "tests.workers.clock_worker"],
            self.base,
            {
                **self.env,
                "CAREFLOW_TEST_CLOCK": clock.isoformat(),
                "CAREFLOW_TEST_WORKER": name,
                **env,
            },
        )
        worker.start()
        self.workers.append(worker)
        return worker

    def stop_workers(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.workers.clear()

    def start_timer_instance(self) -> int:
        response = self.api(
            "post", "instances/start", "hr_group", json={"process": "blocking_timer"}
        )
        assert response.status_code == 201, response.content[:300]
        return response.json()["id"]

    def status(self, instance_id: int) -> str:
        return self.sql("SELECT status FROM workflows_processinstance WHERE id = %s", instance_id)[
            0
        ][0]

    def event_kinds(self, instance_id: int) -> list[str]:
        rows = self.sql(
            "SELECT kind FROM workflows_workflowevent WHERE instance_id = %s ORDER BY seq",
            instance_id,
        )
        return [kind for (kind,) in rows]

    def wait_completed(self, instance_ids: list[int], what: str, timeout: float = 120) -> None:
        wait_until(
            lambda: all(self.status(i) == "completed" for i in instance_ids),
            timeout=timeout,
            what=what,
        )

    def history_is_valid(self, instance_id: int) -> bool:
        response = self.api("get", f"instances/{instance_id}/history/verify", "auditor")
        assert response.status_code == 200, response.content[:300]
        return response.json()["is_valid"]


def _deploy(stack: Stack, bundle: str) -> None:
    files = [("files", (p.name, p.read_bytes())) for p in sorted((BUNDLES / bundle).iterdir())]
    response = stack.api("post", "deployments", "owner", files=files)
    assert response.status_code in (200, 201), response.content[:300]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    base = tmp_path_factory.mktemp("faults")
    postgres = PrivatePostgres(base)
    postgres.init()
    postgres.start()
    postgres.create_database("careflow")
    redis = PrivateRedis(base)
    redis.start()
    env = {
        **os.environ,
        "DATABASE_URL": postgres.url("careflow"),
        "CELERY_BROKER_URL": redis.url,
        # Persistent connections, so the restart test shows they are replaced by themselves.
        "DB_CONN_MAX_AGE": "60",
        "CAREFLOW_TIMER_SWEEP_SECONDS": "1",
        "CAREFLOW_TIMER_LEASE_SECONDS": "5",
        "CAREFLOW_TIMER_RETRY_BASE_SECONDS": "1",
        "CAREFLOW_NOTIFY_EMAIL": "false",
    }
    stack = Stack(base=base, postgres=postgres, redis=redis, env=env)
    try:
        stack.manage("migrate", "--noinput")
        stack.manage("seed_demo")
        stack.gunicorn = Gunicorn(base, env, app="tests.reliability.wsgi_app:application")
        stack.gunicorn.start()
        for user in ("hr_group", "owner", "auditor", "east_nurse"):
            response = requests.post(
                f"{stack.gunicorn.url}/api/v1/auth/token",
                json={"username": user, "password": DEMO_PASSWORD},
                timeout=30,
            )
            stack.tokens[user] = response.json()["token"]
        _deploy(stack, "blocking_timer")
        _deploy(stack, "simple_task")
        stack.beat = Process(
            "beat",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "beat",
                "--loglevel=INFO",
                f"--schedule={base / 'beat-schedule'}",
            ],
            base,
            env,
        )
        stack.beat.start()
        yield stack
    finally:
        stack.stop_workers()
        for process in (stack.beat, stack.gunicorn):
            if process is not None:
                process.stop()
        redis.stop()
        postgres.remove()


@pytest.fixture
def fresh_workers(stack):
    yield stack
    stack.stop_workers()


def test_a_worker_killed_mid_timer_leaves_nothing_half_done_and_another_fires_it_once(
    fresh_workers, tmp_path
):
    stack = fresh_workers
    instance_id = stack.start_timer_instance()
    marker = tmp_path / "inside-the-step"
    # The first worker fires the timer and blocks inside the service task that follows it,
    # its transaction open, until it is killed.
    first = stack.start_worker(
        "first", dt.timedelta(days=1, seconds=10), CAREFLOW_TEST_BLOCK_FILE=str(marker)
    )
    wait_until(marker.exists, timeout=90, what="the first worker to be inside the step")

    first.kill()

    after_kill = (
        stack.status(instance_id),
        stack.event_kinds(instance_id),
        stack.sql(
            "SELECT status, attempts FROM workflows_timer WHERE instance_id = %s", instance_id
        ),
    )
    # Past the dead worker's lease (5 s) on its own clock.
    stack.start_worker(
        "second", dt.timedelta(days=1, minutes=2), CAREFLOW_TEST_BLOCK_FILE=str(marker)
    )
    stack.wait_completed([instance_id], "the second worker to fire the timer", timeout=90)

    assert marker.read_text() == str(first.pid)
    assert after_kill == ("waiting", ["instance_started"], [("waiting", 1)])
    assert stack.event_kinds(instance_id) == [
        "instance_started",
        "timer_fired",
        "instance_completed",
    ]
    assert stack.sql(
        "SELECT status, attempts FROM workflows_timer WHERE instance_id = %s", instance_id
    ) == [("fired", 2)]
    assert stack.history_is_valid(instance_id)


class Load:
    """Clients starting and completing `simple_task` as the east nurse in a loop until the
    `with` block ends (so the load spans the whole outage, however fast rounds are), retrying
    what the server says to retry (503, or no answer at all) and recording every answer."""

    def __init__(self, stack: Stack, clients: int):
        self.stack = stack
        self.stopping = threading.Event()
        self.statuses: Counter[str] = Counter()
        self.instances: list[int] = []
        self.completed: list[int] = []
        self.retry_afters: set[str] = set()
        self._lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run) for _ in range(clients)]

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        # A round under way is finished (started and completed), then the clients stop.
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=300)

    def _call(self, method: str, path: str, **kwargs) -> requests.Response:
        deadline = time.monotonic() + 180
        while True:
            try:
                response = self.stack.api(method, path, "east_nurse", **kwargs)
            except requests.RequestException:
                with self._lock:
                    self.statuses["no answer"] += 1
            else:
                with self._lock:
                    self.statuses[f"{method} {path.split('/')[0]} {response.status_code}"] += 1
                if response.status_code != 503:
                    return response
                with self._lock:
                    self.retry_afters.add(response.headers.get("Retry-After", ""))
            assert time.monotonic() < deadline, "the API did not come back within 180 s"
            time.sleep(0.5)

    def _run(self) -> None:
        while not self.stopping.is_set():
            started = self._call(
                "post", "instances/start", json={"process": "simple_task", "data": {}}
            )
            if started.status_code != 201:
                continue
            instance_id = started.json()["id"]
            task_id = self._call("get", "tasks?process=simple_task&page_size=200").json()
            task = next(t for t in task_id["results"] if t["instance"] == instance_id)
            done = self._call(
                "post", f"tasks/{task['id']}/complete", json={"data": {"note": "done", "hours": 1}}
            )
            with self._lock:
                self.instances.append(instance_id)
                if done.status_code in (200, 409):
                    self.completed.append(instance_id)
            time.sleep(0.2)


def completions(stack: Stack, instance_ids: list[int]) -> dict[int, int]:
    rows = stack.sql(
        "SELECT instance_id, count(*) FROM workflows_workflowevent "
        "WHERE kind = 'task_completed' AND instance_id = ANY(%s) GROUP BY instance_id",
        instance_ids,
    )
    return {**dict.fromkeys(instance_ids, 0), **dict(rows)}


def timer_effects(stack: Stack, instance_ids: list[int]) -> list[tuple[str, int]]:
    return [(stack.status(i), stack.event_kinds(i).count("timer_fired")) for i in instance_ids]


def test_with_redis_stopped_under_load_the_api_works_and_timers_fire_once_it_is_back(
    fresh_workers,
):
    stack = fresh_workers
    stack.start_worker("steady", dt.timedelta(days=1, minutes=5))
    before = [stack.start_timer_instance() for _ in range(2)]
    stack.wait_completed(before, "timers to fire before the outage", timeout=90)

    with Load(stack, clients=3) as load:
        time.sleep(1)
        stack.redis.kill()
        outage_began = time.monotonic()
        during = [stack.start_timer_instance() for _ in range(3)]
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - outage_began)))
        statuses_during = timer_effects(stack, during)
        stack.redis.start()
        time.sleep(3)  # the load goes on after the broker is back
    stack.wait_completed(during, "the worker and beat to reconnect and fire the timers")

    assert statuses_during == [("waiting", 0)] * 3  # no broker: nothing could fire them
    assert timer_effects(stack, during) == [("completed", 1)] * 3
    assert all(stack.history_is_valid(i) for i in during)
    # Every answer during the outage was a success: no 5xx, no 4xx, no dropped connection.
    assert {key.rsplit(" ", 1)[1] for key in load.statuses} == {"200", "201"}
    assert len(load.completed) == len(load.instances) >= 3 * 2
    assert set(completions(stack, load.instances).values()) == {1}


def test_with_postgres_restarted_under_load_the_api_answers_503_and_resumes_by_itself(
    fresh_workers,
):
    stack = fresh_workers
    stack.start_worker("steady", dt.timedelta(days=1, minutes=10))

    with Load(stack, clients=3) as load:
        time.sleep(2)
        timers = [stack.start_timer_instance() for _ in range(3)]
        stack.postgres.stop("fast")
        while_down = stack.api("get", "tasks", "east_nurse")
        admin_while_down = requests.get(
            f"{stack.gunicorn.url}/admin/", cookies={"sessionid": "x" * 32}, timeout=30
        )
        time.sleep(OUTAGE_SECONDS / 2)
        stack.postgres.start()
        time.sleep(3)  # the load goes on after the database is back
    stack.wait_completed(timers, "the worker to reconnect and fire the timers")
    after = stack.api("get", "tasks", "east_nurse")

    assert while_down.status_code == 503
    assert while_down.headers["Retry-After"] == "5"
    assert while_down.json()["detail"].startswith("the database is unavailable for a moment")
    assert admin_while_down.status_code == 503
    assert admin_while_down.headers["Retry-After"] == "5"
    assert after.status_code == 200
    assert [key for key in load.statuses if key.endswith(("500", "502", "504"))] == []
    # The clients met the outage (503s they retried), and were told when to come back.
    assert sum(n for key, n in load.statuses.items() if key.endswith(" 503")) > 0
    assert load.retry_afters == {"5"}
    # Every task a client started was completed exactly once, whatever it met on the way.
    assert len(load.completed) == len(load.instances) >= 3 * 2
    assert set(completions(stack, load.instances).values()) == {1}
    assert timer_effects(stack, timers) == [("completed", 1)] * 3
    assert all(stack.history_is_valid(i) for i in timers)
