"""Make sure the PostgreSQL and Redis the tests use are reachable; start them if stopped.

URLs come from TEST_DATABASE_URL and TEST_REDIS_URL (the defaults are the services of a
development machine). Exits non-zero with a plain message when a service can't be had.
"""

import glob
import os
import subprocess
import sys
import time
from urllib.parse import urlparse

import psycopg
import redis

DB_URL = os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/teachingfile")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def postgres_ok() -> str | None:
    u = urlparse(DB_URL)
    try:
        # Connect to the maintenance database: the test database is created by the tests.
        psycopg.connect(
            host=u.hostname,
            port=u.port or 5432,
            user=u.username,
            password=u.password,
            dbname="postgres",
            connect_timeout=3,
        ).close()
    except psycopg.Error as exc:
        return str(exc).strip()
    return None


def redis_ok() -> str | None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        return str(exc)
    return None


def start_postgres() -> None:
    for conf in glob.glob("/etc/postgresql/*/main"):
        version = conf.split("/")[3]
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"], check=False
        )


def start_redis() -> None:
    u = urlparse(REDIS_URL)
    subprocess.run(
        [
            "redis-server",
            "--daemonize",
            "yes",
            "--bind",
            u.hostname or "127.0.0.1",
            "--port",
            str(u.port or 6379),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        check=False,
    )


def ensure(name: str, check, start) -> bool:
    problem = check()
    if problem is None:
        return True
    print(f"{name} is not reachable ({problem}); trying to start it", flush=True)
    start()
    for _ in range(30):
        time.sleep(0.5)
        if check() is None:
            return True
    print(f"ERROR: {name} is still not reachable: {check()}", file=sys.stderr)
    return False


if __name__ == "__main__":
    ok = ensure("PostgreSQL", postgres_ok, start_postgres) & ensure("Redis", redis_ok, start_redis)
    sys.exit(0 if ok else 1)
