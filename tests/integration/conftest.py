"""Real services for integration tests: a Celery worker process on the test Redis + DB."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings

from tests.conftest import require

ROOT = Path(__file__).resolve().parents[2]


def _redis_up() -> bool:
    try:
        return bool(redis.Redis.from_url(settings.TEST_REDIS_URL, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """A real `celery worker` subprocess consuming the test queue, using the test database."""
    require(_redis_up(), f"Redis at {settings.TEST_REDIS_URL}")
    from teachingfile.celery import app

    app.control.purge()
    log = tmp_path_factory.mktemp("celery") / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "teachingfile.test_settings",
        "TEST_DATABASE_NAME": settings.DATABASES["default"]["NAME"],
        "TEACHINGFILE_TEST_VAR_DIR": str(settings.VAR_DIR),
    }
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "teachingfile",
                "worker",
                "--pool",
                "solo",
                "--concurrency",
                "1",
                "--loglevel",
                "INFO",
                "--queues",
                settings.CELERY_TASK_DEFAULT_QUEUE,
                "--hostname",
                f"test-{os.getpid()}@%h",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the Celery worker exited:\n{log.read_text()}")
        if app.control.ping(timeout=0.5):
            break
    else:
        proc.kill()
        pytest.fail(f"the Celery worker did not answer a ping in 30 s:\n{log.read_text()}")
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
