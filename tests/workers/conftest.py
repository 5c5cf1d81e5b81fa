"""Real Redis, real Celery workers: these tests run when CELERY_BROKER_URL is set (CI sets it).

They use Redis database 15, flushed before each test, never the broker's own database.
A worker runs in a thread of the test process (celery.contrib.testing.worker) or, where a
test kills it, as a separate `celery worker` process (tests/workers/clock_worker.py).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import kombu.pools
import pytest
import redis
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.conf import settings

from config.celery import app as celery_app


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "broker: needs Redis and a Celery worker (CELERY_BROKER_URL); skipped without"
    )


def pytest_collection_modifyitems(config, items):
    if settings.CELERY_BROKER_URL:
        return
    skip = pytest.mark.skip(reason="needs a broker: set CELERY_BROKER_URL (CI does)")
    for item in items:
        if "broker" in item.keywords:
            item.add_marker(skip)


def broker_url_for_tests(base: str | None = None) -> str:
    """The broker URL with Redis database 15, kept for tests."""
    base = base or settings.CELERY_BROKER_URL
    return re.sub(r"^(rediss?://[^/]+)(/\d*)?$", r"\1/15", base.rstrip("/"))


def use_broker(url: str | None) -> None:
    """Point the app (and the producer pools it has cached) at `url`; None goes back to the
    configured broker. (Celery prefers the CELERY_BROKER_URL environment variable to
    `broker_url`, but the read and write URLs to both.)"""
    celery_app.conf.broker_read_url = url
    celery_app.conf.broker_write_url = url
    kombu.pools.reset()
    celery_app._pool = None
    amqp = celery_app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None


@pytest.fixture
def broker() -> Iterator[str]:
    """The test broker, empty, with tasks really queued (not run eagerly)."""
    url = broker_url_for_tests()
    redis.Redis.from_url(url).flushdb()
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    use_broker(url)
    yield url
    celery_app.conf.task_always_eager = eager
    use_broker(None)


class Finished:
    """Results of the tasks the worker thread has run, by task id."""

    def __init__(self) -> None:
        self.results: dict[str, tuple[str, Any]] = {}
        self.names: list[str] = []
        self._changed = threading.Condition()

    def __call__(self, sender=None, task_id=None, retval=None, state=None, **kwargs) -> None:
        with self._changed:
            self.results[task_id] = (state, retval)
            self.names.append(sender.name if sender else "")
            self._changed.notify_all()

    def wait(self, task_id: str, timeout: float = 30) -> Any:
        with self._changed:
            if not self._changed.wait_for(lambda: task_id in self.results, timeout):
                raise TimeoutError(f"task {task_id} did not finish within {timeout} s")
            state, retval = self.results[task_id]
        if state != "SUCCESS":
            raise AssertionError(f"task {task_id} ended {state}: {retval!r}")
        return retval


class Worker:
    """Sends tasks through the broker to the worker thread and waits for their results."""

    def __init__(self, finished: Finished):
        self.finished = finished

    def run(self, task, *args: Any, timeout: float = 30) -> Any:
        result = task.apply_async(args)
        return self.finished.wait(result.id, timeout)

    def ran(self, name: str) -> int:
        return self.finished.names.count(name)


@pytest.fixture
def worker(broker) -> Iterator[Worker]:
    """A real Celery worker consuming the test broker in a thread of this process."""
    finished = Finished()
    task_postrun.connect(finished, weak=False)
    try:
        with start_worker(
            celery_app,
            pool="solo",
            perform_ping_check=False,
            loglevel="WARNING",
            shutdown_timeout=30,
        ):
            yield Worker(finished)
    finally:
        task_postrun.disconnect(finished)


def wait_until(predicate: Callable[[], bool], *, timeout: float = 30, what: str = "") -> None:
    """Poll until `predicate()` holds; bounded, for effects of other threads and processes."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting {timeout} s for {what or predicate}")
        time.sleep(0.05)


def database_url_for_tests() -> str:
    """DATABASE_URL of the test database, for worker processes started by a test."""
    from django.db import connection

    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class WorkerProcess:
    """A `celery worker` process (tests/workers/clock_worker.py) with its own clock."""

    def __init__(self, name: str, clock: dt.datetime, log_dir: Path, **env: str):
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        environment = {
            **os.environ,
            "DATABASE_URL": database_url_for_tests(),
            "CELERY_BROKER_URL": broker_url_for_tests(),
            "CAREFLOW_TEST_CLOCK": clock.isoformat(),
            "CAREFLOW_TEST_WORKER": name,
            **env,
        }
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.workers.clock_worker"],
            cwd=Path(__file__).resolve().parents[2],
            env=environment,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        """SIGKILL: no shutdown, no rollback from the worker's side."""
        self.process.kill()
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def worker_processes(broker, tmp_path) -> Iterator[Callable[..., WorkerProcess]]:
    """Start worker processes; every one is stopped (or killed) when the test ends."""
    started: list[WorkerProcess] = []

    def start(name: str, clock: dt.datetime, **env: str) -> WorkerProcess:
        process = WorkerProcess(name, clock, tmp_path, **env)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()
