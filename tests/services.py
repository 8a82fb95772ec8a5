"""Real services as fixtures: a Celery worker process on the test Redis + DB, the demo
PACS and our DICOM listener on loopback. Shared by the integration and browser tests."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings

from cases.models import ImportJob
from pacs_bridge.admission import listener_admission
from pacs_bridge.dicom import scu
from pacs_bridge.dicom.demo_pacs import serve_demo_pacs
from pacs_bridge.dicom.listener import serve
from pacs_bridge.dicom.sample_data import build_demo_studies
from pacs_bridge.models import PacsNode
from pacs_bridge.pull import node_for, spool
from tests.conftest import require

ROOT = Path(__file__).resolve().parents[1]


def _redis_up() -> bool:
    try:
        return bool(redis.Redis.from_url(settings.TEST_REDIS_URL, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


def start_worker(queue: str, log: Path) -> subprocess.Popen:
    """Start a `celery worker` subprocess on ``queue`` and wait until it answers a ping."""
    from teachingfile.celery import app

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "teachingfile.test_settings",
        "TEST_DATABASE_NAME": settings.DATABASES["default"]["NAME"],
        "TEACHINGFILE_TEST_VAR_DIR": str(settings.VAR_DIR),
        "TEACHINGFILE_TEST_QUEUE": queue,
    }
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "teachingfile", "worker",
                "--pool", "solo", "--concurrency", "1", "--loglevel", "INFO",
                "--queues", queue, "--hostname", f"{queue}-{time.monotonic_ns()}@%h",
                "--without-gossip", "--without-mingle",
            ],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the Celery worker exited:\n{log.read_text()}")
        replies = app.control.ping(timeout=0.5)
        if any(queue in name for reply in replies for name in reply):
            return proc
    proc.kill()
    pytest.fail(f"the Celery worker did not answer a ping in 30 s:\n{log.read_text()}")


def stop_worker(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """A real `celery worker` subprocess consuming the test queue, using the test database."""
    require(_redis_up(), f"Redis at {settings.TEST_REDIS_URL}")
    from teachingfile.celery import app

    app.control.purge()
    proc = start_worker(
        settings.CELERY_TASK_DEFAULT_QUEUE, tmp_path_factory.mktemp("celery") / "worker.log"
    )
    yield proc
    stop_worker(proc)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("demo-pacs")
    build_demo_studies(folder, ct_slices=12, mr_slices=4, cine_frames=6, size=128)
    return folder


@pytest.fixture(scope="module")
def demo_pacs(demo_folder):
    port = free_port()
    server = serve_demo_pacs(
        demo_folder,
        ae_title="DEMOPACS",
        host="127.0.0.1",
        port=port,
        destinations={settings.DICOM_AE_TITLE: ("127.0.0.1", settings.DICOM_LISTEN_PORT)},
        block=False,
    )
    yield port
    server.shutdown()


@pytest.fixture
def listener():
    """Our listener as the ``dicom_listener`` command runs it: only configured PACS nodes
    may connect, and only instances of a retrieving import are kept."""
    server = serve(
        settings.DICOM_AE_TITLE, "127.0.0.1", settings.DICOM_LISTEN_PORT, spool(), block=False,
        admission=listener_admission(),
    )  # fmt: skip
    yield server
    server.shutdown()


@pytest.fixture
def node(demo_pacs) -> PacsNode:
    return PacsNode.objects.create(
        name="Demo", ae_title="DEMOPACS", host="127.0.0.1", port=demo_pacs
    )


def series_of(node: PacsNode, modality: str) -> tuple[str, scu.SeriesMatch]:
    for study in scu.find_studies(node_for(node), scu.StudyQuery(patient_id="DEMO-*")):
        for series in scu.find_series(node_for(node), study.study_instance_uid):
            if series.modality == modality:
                return study.study_instance_uid, series
    raise AssertionError(f"no {modality} series in the demo PACS")


def wait_for(job: ImportJob, timeout: float = 90) -> ImportJob:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status in (
            ImportJob.Status.DONE,
            ImportJob.Status.INCOMPLETE,
            ImportJob.Status.FAILED,
        ):
            return job
        time.sleep(0.2)
    raise AssertionError(f"import {job.pk} still {job.status} after {timeout} s: {job.message}")
