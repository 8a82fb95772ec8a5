"""The services of the load test, on loopback: a database of its own on the PostgreSQL
server, a Redis database, and the app's processes as in production (gunicorn, a Celery
worker, our DICOM listener) plus the built-in demo PACS.

Every process is started in its own session and stopped through its own process group
(gunicorn's and Celery's children with it); nothing else is touched. No Django here: the
runner sets the environment and imports Django after ``database_create``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def database_create(server_url: str, name: str) -> str:
    """A fresh, empty database ``name`` (dropped first if a run left it); its URL."""
    import psycopg

    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{server_url}/{name}"


def database_drop(server_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def redis_flush(url: str) -> None:
    """Empty the one Redis database of the run (its broker queue and results)."""
    import redis

    redis.Redis.from_url(url, socket_connect_timeout=2).flushdb()


def app_environment(
    *, root: Path, database_url: str, redis_url: str, dicom_port: int
) -> dict[str, str]:
    """Production settings (no ``TEACHINGFILE_DEV``), every secret invented for this run."""
    from cryptography.fernet import Fernet

    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TEACHINGFILE_", "DJANGO_", "TEST_", "CELERY_"))
        and k not in ("DATABASE_URL", "REDIS_URL")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="teachingfile.settings",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        # The load test plays the TLS proxy, on loopback (gunicorn: --forwarded-allow-ips).
        TEACHINGFILE_TRUSTED_PROXIES="127.0.0.1",
        TEACHINGFILE_DEID_SECRET=secrets.token_urlsafe(32),
        TEACHINGFILE_REID_KEY=Fernet.generate_key().decode(),
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        TEACHINGFILE_VAR_DIR=str(root / "var"),
        TEACHINGFILE_INCOMING_ROOT=str(root / "incoming"),
        TEACHINGFILE_QUARANTINE_ROOT=str(root / "quarantine"),
        TEACHINGFILE_WORKING_ROOT=str(root / "working"),
        TEACHINGFILE_PUBLISHED_ROOT=str(root / "published"),
        TEACHINGFILE_DICOM_HOST="127.0.0.1",
        TEACHINGFILE_DICOM_PORT=str(dicom_port),
        TCP_NODELAY="1",
        OMP_THREAD_LIMIT="1",
        PYTHONUNBUFFERED="1",
        LOG_LEVEL="WARNING",
    )
    (root / "var").mkdir(parents=True, exist_ok=True)
    return env


@dataclass
class Stack:
    """The processes started for one run, with their logs."""

    env: dict[str, str]
    logs: Path
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(
        self, name: str, args: list[str], env: dict[str, str] | None = None
    ) -> subprocess.Popen:
        self.logs.mkdir(parents=True, exist_ok=True)
        with (self.logs / f"{name}.log").open("ab") as out:
            proc = subprocess.Popen(
                args, cwd=ROOT, env={**self.env, **(env or {})}, stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        self.procs[name] = proc
        return proc

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.logs / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def wait(self, name: str, ready: Callable[[], bool], timeout: float) -> None:
        """Until ``ready()`` is true; the process must stay alive meanwhile."""
        proc = self.procs[name]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited ({proc.returncode}):\n{self.log_tail(name)}")
            if ready():
                return
            time.sleep(0.2)
        raise RuntimeError(f"{name} was not ready in {timeout:.0f} s:\n{self.log_tail(name)}")

    def manage(self, name: str, *args: str) -> subprocess.Popen:
        return self.start(name, [sys.executable, "manage.py", *args])

    def stop_all(self) -> None:
        """SIGTERM to each process group started here, SIGKILL after 10 s."""
        for proc in self.procs.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in self.procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            with contextlib.suppress(ProcessLookupError):  # children may outlive the leader
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def group_cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system) so far of each started process group."""
        groups = {proc.pid: name for name, proc in self.procs.items()}
        ticks = os.sysconf("SC_CLK_TCK")
        used = dict.fromkeys(self.procs, 0.0)
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            name = groups.get(int(fields[2]))  # the process group id
            if name is not None:
                used[name] += (int(fields[11]) + int(fields[12])) / ticks
        return used


def http_ok(port: int, path: str = "/login/") -> bool:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"X-Forwarded-Proto": "https"}
    )
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine so far, from /proc/stat."""
    values = [float(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)
