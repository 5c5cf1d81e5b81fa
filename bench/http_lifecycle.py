"""Item 1: HTTP lifecycle throughput and latency (gunicorn + PostgreSQL).

A lifecycle is what an employee does with the one-user-task process
(tests/fixtures/bundles/simple_task) over the REST API, with a token:
  POST /api/v1/instances/start {"process": "simple_task"}   (about themself)
  GET  /api/v1/tasks?process=simple_task                     (find the new task)
  POST /api/v1/tasks/{id}/complete {"data": {...}}
The inbox request is skipped when the start answer already names the open tasks
(`open_tasks`, if the API offers it; --use-inbox keeps it). Every client thread is its own
user, runs lifecycles back to back for a fixed time, and records the latency of each
request. gunicorn runs as a subprocess on a free port with DEBUG off and persistent database
connections; the clients run in this process, so they share the machine's CPUs with
gunicorn and PostgreSQL. CPU time per lifecycle is read from /proc for gunicorn, the
PostgreSQL backends serving it and the clients, and for the whole machine (to show when
something else was running).

Usage: uv run --frozen python bench/http_lifecycle.py [--clients 1,4,16] [--seconds 20]
       [--workers N] [--worker-class sync|gthread] [--threads N] [--use-inbox]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import _common as c

TARGET_LIFECYCLES_PER_S = 120.0
TARGET_COMPLETE_P99_MS = 100.0


CLK_TCK = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used, from /proc; 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def child_pids(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def postgres_backends(db_url: str) -> list[int]:
    """Server processes serving the benchmark database (gunicorn's persistent connections)."""
    import psycopg

    with psycopg.connect(db_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        ).fetchall()
    return [r[0] for r in rows]


def machine_cpu() -> float:
    """CPU seconds the whole machine has spent busy (all processes), from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:9]]
    return (sum(values) - values[3] - values[4]) / CLK_TCK


def cpu_snapshot(gunicorn_pid: int, backends: list[int]) -> dict[str, float]:
    own = os.times()
    return {
        "machine": machine_cpu(),
        "gunicorn": process_cpu(gunicorn_pid)
        + sum(process_cpu(p) for p in child_pids(gunicorn_pid)),
        "postgres": sum(process_cpu(p) for p in backends),
        "client": own.user + own.system,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class ClientStats:
    lifecycles: int = 0
    requests: int = 0
    errors: list[str] = field(default_factory=list)
    latency: dict[str, list[float]] = field(
        default_factory=lambda: {"start": [], "inbox": [], "complete": [], "lifecycle": []}
    )


class Api:
    """A tiny keep-alive HTTP client for one user (reconnects when the server closes)."""

    def __init__(self, port: int, token: str):
        self.port = port
        self.headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        self.conn: http.client.HTTPConnection | None = None

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        payload = json.dumps(body).encode() if body is not None else None
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                self.conn.request(method, path, body=payload, headers=self.headers)
                response = self.conn.getresponse()
                data = response.read()
                if response.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return response.status, (json.loads(data) if data else {})
            except (ConnectionError, http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def lifecycle(api: Api, stats: ClientStats, use_inbox: bool) -> None:
    t0 = time.perf_counter()
    status, body = api.call("POST", "/api/v1/instances/start", {"process": "simple_task"})
    t1 = time.perf_counter()
    if status != 201:
        stats.errors.append(f"start {status} {str(body)[:200]}")
        return
    instance_id = body["id"]
    # The start answer names the open tasks when the API offers it (`open_tasks`); else the
    # client finds its task in the inbox, as the web page does.
    offered = body.get("open_tasks")
    if offered and not use_inbox:
        task = offered[0]
        t2 = t1
    else:
        status, page = api.call("GET", "/api/v1/tasks?process=simple_task&page_size=200")
        t2 = time.perf_counter()
        task = next((t for t in page.get("results", []) if t["instance"] == instance_id), None)
        if status != 200 or task is None:
            stats.errors.append(f"inbox {status}: task of instance {instance_id} not found")
            return
        stats.latency["inbox"].append(t2 - t1)
    status, body = api.call(
        "POST", f"/api/v1/tasks/{task['id']}/complete", {"data": {"note": "done", "hours": 1}}
    )
    t3 = time.perf_counter()
    if status != 200:
        stats.errors.append(f"complete {status} {str(body)[:200]}")
        return
    stats.latency["start"].append(t1 - t0)
    stats.latency["complete"].append(t3 - t2)
    stats.latency["lifecycle"].append(t3 - t0)
    stats.lifecycles += 1
    stats.requests += 3 if t2 != t1 else 2


def run_level(
    port: int,
    tokens: list[str],
    clients: int,
    seconds: float,
    max_lifecycles: int,
    cpu: Callable[[], dict[str, float]] | None = None,
    use_inbox: bool = False,
):
    """`clients` threads doing lifecycles until `seconds` pass or `max_lifecycles` are done.

    Returns the clients' stats, the elapsed seconds and the CPU seconds used meanwhile by
    each component (from `cpu`, a snapshot function)."""
    stop = threading.Event()
    done = {"n": 0}
    lock = threading.Lock()
    all_stats = [ClientStats() for _ in range(clients)]

    def work(i: int) -> None:
        api = Api(port, tokens[i])
        try:
            while not stop.is_set():
                lifecycle(api, all_stats[i], use_inbox)
                with lock:
                    done["n"] += 1
                    if done["n"] >= max_lifecycles:
                        stop.set()
        except Exception as exc:  # noqa: BLE001 - reported, and the level goes on
            all_stats[i].errors.append(f"client crashed: {exc!r}")
        finally:
            api.close()

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(clients)]
    cpu0 = cpu() if cpu else {}
    start = time.perf_counter()
    for t in threads:
        t.start()
    stop.wait(seconds)
    stop.set()
    for t in threads:
        t.join(timeout=60)
    elapsed = time.perf_counter() - start
    cpu1 = cpu() if cpu else {}
    return all_stats, elapsed, {k: cpu1[k] - cpu0[k] for k in cpu0}


def start_gunicorn(db_url: str, port: int, args) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        "config/gunicorn.conf.py",
        "config.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(args.workers),
        "--worker-class",
        args.worker_class,
        "--threads",
        str(args.threads),
        "--backlog",
        "256",
        "--timeout",
        "60",
        "--log-level",
        "warning",
    ]
    proc = subprocess.Popen(cmd, cwd=c.ROOT, env=c.server_env(db_url), start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc
        except OSError:
            time.sleep(0.2)
    stop_gunicorn(proc)
    raise SystemExit("gunicorn did not start listening within 30 s")


def stop_gunicorn(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", default="1,4,16", help="concurrency levels, comma-separated")
    ap.add_argument("--seconds", type=float, default=20.0, help="measured time per level")
    ap.add_argument("--warmup", type=float, default=3.0, help="unmeasured time per level")
    ap.add_argument("--max-lifecycles", type=int, default=20000, help="cap per level")
    # Measure what is deployed: config/gunicorn.conf.py (one sync worker per CPU, GC tuning).
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--worker-class", default="sync", choices=["sync", "gthread"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument(
        "--use-inbox",
        action="store_true",
        help="find the task in the inbox even when the start answer names it",
    )
    args = ap.parse_args()
    levels = [int(x) for x in args.clients.split(",") if x.strip()]

    db_url = c.setup_django("http", fresh=True)
    c.header("HTTP lifecycle throughput (item 1)")
    print(
        f"gunicorn (config/gunicorn.conf.py): {args.workers} workers, "
        f"worker class {args.worker_class}, "
        f"{args.threads} thread(s) each; DEBUG off, DB_CONN_MAX_AGE=600"
    )
    from django.db import connections

    c.deploy("simple_task")
    people = c.make_people(max(levels), prefix="http")
    token_of = c.issue_tokens(people)
    tokens = [token_of[p.user_id] for p in people]
    connections.close_all()

    port = free_port()
    proc = start_gunicorn(db_url, port, args)
    rows, lat_rows, cpu_rows, results = [], [], [], {}
    try:
        # Every worker parses the process once and opens its connection: not measured.
        run_level(port, tokens, max(levels), args.warmup, args.max_lifecycles, None, True)
        backends = postgres_backends(db_url)
        snapshot = lambda: cpu_snapshot(proc.pid, backends)  # noqa: E731
        for clients in levels:
            run_level(port, tokens, clients, args.warmup, args.max_lifecycles, None, args.use_inbox)
            stats, elapsed, used = run_level(
                port, tokens, clients, args.seconds, args.max_lifecycles, snapshot, args.use_inbox
            )
            merged = ClientStats()
            for s in stats:
                merged.lifecycles += s.lifecycles
                merged.requests += s.requests
                merged.errors.extend(s.errors)
                for k, v in s.latency.items():
                    merged.latency[k].extend(v)
            rate = merged.lifecycles / elapsed
            results[clients] = (rate, merged)
            rows.append(
                [
                    clients,
                    merged.lifecycles,
                    f"{elapsed:.1f}",
                    rate,
                    merged.requests / elapsed,
                    len(merged.errors),
                ]
            )
            n = max(merged.lifecycles, 1)
            ours = used["gunicorn"] + used["postgres"] + used["client"]
            cpus = os.cpu_count() or 1
            cpu_rows.append(
                [
                    clients,
                    used["gunicorn"] / n * 1000,
                    used["postgres"] / n * 1000,
                    used["client"] / n * 1000,
                    ours / n * 1000,
                    f"{ours / elapsed / cpus * 100:.0f}%",
                    f"{max(used['machine'] - ours, 0) / elapsed / cpus * 100:.0f}%",
                ]
            )
            for kind in ("start", "inbox", "complete", "lifecycle"):
                if not merged.latency[kind]:
                    continue
                s = c.summary_ms(merged.latency[kind])
                lat_rows.append([clients, kind, s["p50"], s["p95"], s["p99"], s["max"]])
            for e in merged.errors[:5]:
                print(f"  error at {clients} clients: {e}")
    finally:
        stop_gunicorn(proc)

    c.print_table(
        ["clients", "lifecycles", "seconds", "lifecycles/s", "requests/s", "errors"],
        rows,
        title="Throughput",
    )
    c.print_table(
        [
            "clients",
            "gunicorn CPU ms",
            "PostgreSQL CPU ms",
            "client CPU ms",
            "total CPU ms",
            "CPUs busy (benchmark)",
            "CPUs busy (anything else)",
        ],
        cpu_rows,
        title="CPU time per lifecycle, by process",
    )
    c.print_table(
        ["clients", "request", "p50 ms", "p95 ms", "p99 ms", "max ms"],
        lat_rows,
        title="Latency",
    )
    targets = []
    if 4 in results:
        rate, merged = results[4]
        p99 = c.summary_ms(merged.latency["complete"])["p99"]
        targets = [
            c.Target(
                "lifecycles per second at 4 clients",
                f"{rate:.1f}",
                f">= {TARGET_LIFECYCLES_PER_S:.0f}",
                rate >= TARGET_LIFECYCLES_PER_S,
            ),
            c.Target(
                "p99 latency of a task completion at 4 clients",
                f"{p99:.1f} ms",
                f"<= {TARGET_COMPLETE_P99_MS:.0f} ms",
                p99 <= TARGET_COMPLETE_P99_MS,
            ),
        ]
    errors = sum(len(m.errors) for _, m in results.values())
    targets.append(c.Target("failed requests", str(errors), "0", errors == 0))
    met = c.print_targets(targets)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
