"""Make sure the PostgreSQL and Redis the tests use are reachable; start them if stopped.

URLs come from TEST_DATABASE_URL and TEST_REDIS_URL (the defaults are the services of a
development machine). Exits non-zero with a plain message when a service can't be had.
"""

import glob
import os
import shutil
import subprocess
import sys
import time
from urllib.parse import urlparse

import psycopg
import redis

DB_URL = os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/teachingfile")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV_FILE = os.path.join(ROOT, "var", "test-services.env")
THROWAWAY_PORT = 54329


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


def throwaway_postgres() -> str | None:
    """A private cluster with trust authentication under var/, for machines whose own
    PostgreSQL wants a password: initdb and pg_ctl run as the postgres user."""
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    if not bins or os.geteuid() != 0 or shutil.which("su") is None:
        return None
    bindir, data = bins[-1], os.path.join(ROOT, "var", "test-pg")
    sockets = os.path.join(data, "sockets")
    url = f"postgres://app@127.0.0.1:{THROWAWAY_PORT}/teachingfile"
    if not os.path.exists(os.path.join(data, "PG_VERSION")):
        os.makedirs(data, exist_ok=True)
        subprocess.run(["chown", "postgres", data], check=True)
        subprocess.run(
            [
                "su",
                "postgres",
                "-c",
                f"{bindir}/initdb -D {data} -U app --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    os.makedirs(sockets, exist_ok=True)
    subprocess.run(["chown", "postgres", sockets], check=True)
    options = (
        f"-p {THROWAWAY_PORT} -k {sockets} -c listen_addresses=127.0.0.1 "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    )
    subprocess.run(
        [
            "su",
            "postgres",
            "-c",
            f"{bindir}/pg_ctl -D {data} -l {data}/log -w -o '{options}' start",
        ],
        check=False,
        stdout=subprocess.DEVNULL,
    )
    return url


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


def main() -> int:
    if os.path.exists(ENV_FILE):
        os.remove(ENV_FILE)
    pg = ensure("PostgreSQL", postgres_ok, start_postgres)
    if not pg and "TEST_DATABASE_URL" not in os.environ:
        url = throwaway_postgres()
        global DB_URL
        if url:
            DB_URL = url
            pg = postgres_ok() is None
            if pg:
                with open(ENV_FILE, "w") as fh:
                    fh.write(f"TEST_DATABASE_URL={url}\n")
                print(f"Using a throwaway PostgreSQL cluster: {url}")
    ok = pg & ensure("Redis", redis_ok, start_redis)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
