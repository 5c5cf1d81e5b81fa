"""Real server processes for the reliability tests: gunicorn serving CareFlow, and (for the
fault tests) a PostgreSQL cluster and a redis-server of the test's own, on free ports in a
temporary directory, that a test may stop, kill and restart without touching the machine's
shared services."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from glob import glob
from pathlib import Path

import requests

from tests.workers.conftest import wait_until

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Process:
    """A child process with its output in a log file; stopped (or killed) on `stop()`."""

    def __init__(self, name: str, args: list[str], log_dir: Path, env: dict[str, str] | None):
        self.name = name
        self.args = args
        self.log_path = log_dir / f"{name}.log"
        self.env = env
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.args,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL: no shutdown of any kind."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class Gunicorn(Process):
    """CareFlow under gunicorn (threads, as in docker-compose), answering real HTTP."""

    def __init__(
        self,
        log_dir: Path,
        env: dict[str, str],
        workers: int = 2,
        threads: int = 8,
        app: str = "config.wsgi:application",
    ):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__(
            "gunicorn",
            [
                sys.executable,
                "-m",
                "gunicorn",
                app,
                f"--bind=127.0.0.1:{self.port}",
                f"--workers={workers}",
                f"--threads={threads}",
                "--worker-class=gthread",
                "--timeout=60",
                "--graceful-timeout=5",
            ],
            log_dir,
            {**os.environ, **env},
        )

    def start(self) -> None:
        super().start()
        try:
            wait_until(self._answers, timeout=60, what="gunicorn to answer")
        except BaseException:
            self.stop()  # the test's teardown never sees a server that failed to start
            raise

    def _answers(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{self.log()[-3000:]}")
        try:
            requests.get(f"{self.url}/api/v1/me", timeout=10)
        except requests.RequestException:
            return False
        return True


def postgres_bin(name: str) -> str:
    found = sorted(glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError(f"no {name} under /usr/lib/postgresql/*/bin")
    return found[-1]


def have_private_servers() -> bool:
    try:
        postgres_bin("initdb")
    except RuntimeError:
        return False
    return shutil.which("redis-server") is not None


def _as_postgres_user() -> list[str]:
    """initdb and postgres refuse to run as root: run them as the `postgres` account then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--"]
    return []


class PrivatePostgres:
    """A PostgreSQL cluster of this test's own (initdb in a temporary directory, a free port,
    trust authentication on 127.0.0.1), to stop and start at will."""

    def __init__(self, log_dir: Path):
        # Its own directory under /tmp: pytest's temporary directories are private to root,
        # and the server runs as `postgres`.
        self.base = Path(tempfile.mkdtemp(prefix="careflow-pg-"))
        self.dir = self.base / "data"
        self.socket_dir = self.base / "socket"
        self.port = free_port()
        self.log_path = log_dir / "postgres.log"

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        result = subprocess.run(
            [*_as_postgres_user(), *args], capture_output=True, text=True, timeout=120
        )
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {result.stdout}{result.stderr}")

    def init(self) -> None:
        for path in (self.dir, self.socket_dir):
            path.mkdir()
        if os.geteuid() == 0:
            for path in (self.base, self.dir, self.socket_dir):
                shutil.chown(path, "postgres")
        self._run(
            postgres_bin("initdb"),
            "-D",
            str(self.dir),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        )

    def start(self) -> None:
        self._run(
            postgres_bin("pg_ctl"),
            "-D",
            str(self.dir),
            "-l",
            str(self.base / "postgres.log"),
            "-w",
            "-o",
            f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run(postgres_bin("pg_ctl"), "-D", str(self.dir), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        """Stop the server if it runs, and delete its files (keeping a copy of its log)."""
        if self.is_running():
            self.stop("immediate")
        log = self.base / "postgres.log"
        if log.exists():
            shutil.copyfile(log, self.log_path)
        shutil.rmtree(self.base, ignore_errors=True)

    def is_running(self) -> bool:
        result = subprocess.run(
            [*_as_postgres_user(), postgres_bin("pg_ctl"), "-D", str(self.dir), "status"],
            capture_output=True,
        )
        return result.returncode == 0

    def create_database(self, name: str) -> None:
        self._run(
            postgres_bin("createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            name,
        )


class PrivateRedis(Process):
    """A redis-server of this test's own on a free port, no persistence."""

    def __init__(self, log_dir: Path):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        super().__init__(
            "redis",
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            log_dir,
            None,
        )

    def start(self) -> None:
        import redis

        super().start()
        client = redis.Redis.from_url(self.url)

        def pings() -> bool:
            try:
                return bool(client.ping())
            except redis.ConnectionError:
                return False

        wait_until(pings, timeout=15, what="redis-server to start")
