"""Bounded load test on loopback, set up and torn down by itself.

    python -m bench.load [--duration 180] [--users 50] [--save-baseline]

1. A fresh PostgreSQL database (``tf_load``) and Redis database (10), migrations, the
   role groups, ``--users`` trainees and one author.
2. The app as in production (no ``TEACHINGFILE_DEV``): gunicorn with ``--web-workers``
   sync workers (default 2 x CPUs + 1) trusting ``X-Forwarded-Proto`` from loopback only,
   a Celery worker, our DICOM listener, and the built-in demo PACS.
3. ``--seed-cases`` published cases, made by the real pipeline (pull from the demo PACS,
   first pass, review, second pass, verifier).
4. locust, headless, for ``--duration`` seconds: the trainees (think time 2-5 s) search
   the library, open cases and load their published images; one author pulls the chest
   CT from the demo PACS through the web pages and publishes it, round after round.
5. Prints throughput, p50/p95/p99 of pages and of images, errors by endpoint and the
   author's pull + publish wall time; writes ``bench/out/load/<time>.json`` and prints
   the ratios to ``bench/out/load/baseline.json`` when it exists (``--save-baseline``
   makes this run the baseline).

Latencies are taken over the steady part, after the last trainee signed in (the ramp,
``--spawn-rate`` a second); sign-ins (PBKDF2) and the author's requests are reported
apart. The exit status is 1 when a target is missed (any error, or page p95 >= 300 ms).
Everything it started is stopped and its database dropped at the end, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.load import report, stack

OUT = stack.ROOT / "bench" / "out" / "load"
TRAINEE_PREFIX = "load-trainee-"
AUTHOR = "load-author"
PASSWORD = "load-test-pw-4821"


def parse_args() -> argparse.Namespace:
    cpus = os.cpu_count() or 2
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--duration", type=int, default=180, help="seconds of load, ramp included (default 180)"
    )
    p.add_argument("--users", type=int, default=50, help="concurrent trainees (default 50)")
    p.add_argument("--spawn-rate", type=float, default=2.0, help="trainees started a second")
    p.add_argument("--think-min", type=float, default=2.0)
    p.add_argument("--think-max", type=float, default=5.0)
    p.add_argument("--web-workers", type=int, default=2 * cpus + 1)
    p.add_argument("--worker-concurrency", type=int, default=2, help="as in docker-compose.yml")
    p.add_argument("--seed-cases", type=int, default=4)
    p.add_argument("--author-start", type=float, default=30.0, help="seconds before the author")
    p.add_argument("--author-pause", type=float, default=20.0, help="seconds between rounds")
    p.add_argument(
        "--conn-max-age",
        type=int,
        default=0,
        help="Django's CONN_MAX_AGE through DATABASE_URL (default 0: a connection a request)",
    )
    p.add_argument("--log-level", default="WARNING", help="of the app's processes")
    p.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    p.add_argument("--database", default="tf_load")
    p.add_argument("--redis", default="redis://127.0.0.1:6379/10")
    p.add_argument("--baseline", type=Path, default=OUT / "baseline.json")
    p.add_argument("--save-baseline", action="store_true", help="make this run the baseline")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, files)")
    return p.parse_args()


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    for name in ("TEACHINGFILE_DEV", "DJANGO_DEBUG"):
        os.environ.pop(name, None)
    import django

    django.setup()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _close_database_connections() -> None:
    if "django" not in sys.modules:
        return
    from django.apps import apps

    if apps.ready:
        from django.db import connections

        connections.close_all()


def main() -> int:
    args = parse_args()
    args.load_at_start = os.getloadavg()  # other work on the machine, before ours
    signal.signal(signal.SIGTERM, _interrupt)  # tear down as on Ctrl-C
    manifest = stack.ROOT / "frontend" / "dist" / ".vite" / "manifest.json"
    if not manifest.exists():
        print("The frontend is not built: run `make frontend` first.", file=sys.stderr)
        return 2
    root = Path(tempfile.mkdtemp(prefix="tf-load-"))
    os.chmod(root, 0o700)
    ports = {name: stack.free_port() for name in ("web", "listener", "pacs")}
    database_url = stack.database_create(args.postgres, args.database)
    stack.redis_flush(args.redis)
    if args.conn_max_age:
        database_url += f"?conn_max_age={args.conn_max_age}"
    env = stack.app_environment(
        root=root, database_url=database_url, redis_url=args.redis, dicom_port=ports["listener"]
    )
    env["LOG_LEVEL"] = args.log_level
    services = stack.Stack(env=env, logs=root / "logs")
    started = time.monotonic()
    try:
        return run(args, services, ports, root, started)
    except KeyboardInterrupt:
        print("\nInterrupted: stopping everything.", file=sys.stderr)
        return 130
    finally:
        services.stop_all()
        _close_database_connections()
        stack.database_drop(args.postgres, args.database)
        stack.redis_flush(args.redis)
        logs = OUT / "last-logs"
        shutil.rmtree(logs, ignore_errors=True)
        if services.logs.exists():
            shutil.copytree(services.logs, logs)
        if args.keep:
            print(f"Kept {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)


def run(
    args: argparse.Namespace, services: stack.Stack, ports: dict[str, int], root: Path, t0: float
) -> int:
    py = sys.executable
    print(f"Setting up in {root} (logs copied to {OUT / 'last-logs'})", flush=True)
    setup_django(services.env)
    from django.core.management import call_command

    from bench.load import seed

    call_command("migrate", verbosity=0, interactive=False)
    seed.accounts_create(
        trainees=args.users, prefix=TRAINEE_PREFIX, password=PASSWORD, author=AUTHOR
    )
    services.manage("listener", "dicom_listener")
    services.manage(
        "demopacs", "demo_pacs", "--port", str(ports["pacs"]), "--folder", str(root / "demo-pacs")
    )
    services.start(
        "worker",
        [py, "-m", "celery", "-A", "teachingfile", "worker",
         "--concurrency", str(args.worker_concurrency), "--loglevel", args.log_level,
         "--without-gossip", "--without-mingle", "--hostname", f"load-{os.getpid()}@%h"],
    )  # fmt: skip
    services.start(
        "web",
        [py, "-m", "gunicorn", "teachingfile.wsgi", "--bind", f"127.0.0.1:{ports['web']}",
         "--workers", str(args.web_workers), "--forwarded-allow-ips", "127.0.0.1",
         "--log-level", "warning"],
    )  # fmt: skip
    services.wait("listener", lambda: stack.port_open(ports["listener"]), 60)
    services.wait("demopacs", lambda: stack.port_open(ports["pacs"]), 180)
    from teachingfile.celery import app

    services.wait("worker", lambda: bool(app.control.ping(timeout=0.5)), 60)
    services.wait("web", lambda: stack.http_ok(ports["web"]), 60)
    print(f"Services up in {time.monotonic() - t0:.0f} s; seeding cases", flush=True)

    seed_start = time.monotonic()
    cases = seed.cases_publish(author=AUTHOR, count=args.seed_cases)
    seed_seconds = time.monotonic() - seed_start
    print(f"{len(cases)} cases published in {seed_seconds:.0f} s; load for {args.duration} s")
    from django.db import connections

    connections.close_all()

    samples = root / "samples.json"
    if args.load_at_start[0] > 1.0:
        print(
            f"Note: the load average was {args.load_at_start[0]:.1f} before this run started:"
            " other work on this machine will show in the figures.",
            flush=True,
        )
    cpu_before, machine_before = services.group_cpu_seconds(), stack.machine_cpu()
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    locust = services.start(
        "locust",
        [py, "-m", "locust", "-f", str(Path(__file__).with_name("locustfile.py")),
         "--headless", "--only-summary", "--host", f"http://127.0.0.1:{ports['web']}",
         "--users", str(args.users + 1), "--spawn-rate", str(args.spawn_rate),
         "--run-time", f"{args.duration}s", "--stop-timeout", "5", "--loglevel", "WARNING"],
        env={
            "PYTHONPATH": str(stack.ROOT),
            "LOAD_SAMPLES": str(samples),
            "LOAD_TRAINEES": str(args.users),
            "LOAD_TRAINEE_PREFIX": TRAINEE_PREFIX,
            "LOAD_PASSWORD": PASSWORD,
            "LOAD_AUTHOR": AUTHOR,
            "LOAD_AUTHOR_START": str(args.author_start),
            "LOAD_AUTHOR_PAUSE": str(args.author_pause),
            "LOAD_THINK_MIN": str(args.think_min),
            "LOAD_THINK_MAX": str(args.think_max),
            "LOAD_SEARCH_WORDS": ",".join(seed.SEARCH_WORDS),
        },
    )  # fmt: skip
    locust.wait(timeout=args.duration + 120)
    cpu_after, machine_after = services.group_cpu_seconds(), stack.machine_cpu()
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)  # locust, now reaped
    if not samples.exists():
        print(services.log_tail("locust"), file=sys.stderr)
        raise RuntimeError("locust wrote no samples")

    result = report.summarize(json.loads(samples.read_text()))
    busy = (machine_after[0] - machine_before[0]) / max(machine_after[1] - machine_before[1], 1)
    cpu = {
        name: round(cpu_after.get(name, 0) - cpu_before.get(name, 0), 1)
        for name in ("web", "worker", "listener", "demopacs")
    }
    cpu["locust"] = round(
        children_after.ru_utime + children_after.ru_stime
        - children_before.ru_utime - children_before.ru_stime,
        1,
    )  # fmt: skip
    result.update(
        when=datetime.now(UTC).isoformat(timespec="seconds"),
        config={
            "users": args.users,
            "duration_s": args.duration,
            "spawn_rate": args.spawn_rate,
            "think_min": args.think_min,
            "think_max": args.think_max,
            "web_workers": args.web_workers,
            "worker_concurrency": args.worker_concurrency,
            "seed_cases": args.seed_cases,
            "conn_max_age": args.conn_max_age,
        },
        machine={
            "cpus": os.cpu_count(),
            "loadavg_before": [round(x, 2) for x in args.load_at_start],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
            # The whole machine, PostgreSQL and anything else running included.
            "busy_percent": round(100 * busy, 1),
        },
        seed={"cases": len(cases), "seconds": round(seed_seconds, 1)},
        cpu_seconds=cpu,
    )
    baseline = json.loads(args.baseline.read_text()) if args.baseline.exists() else None
    report.print_report(result, baseline)
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(result, indent=1))
    print(f"Written {path.relative_to(stack.ROOT)}")
    if args.save_baseline:
        args.baseline.write_text(json.dumps(result, indent=1))
        print(f"Saved as the baseline: {args.baseline}")
    return 0 if result["targets"]["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
