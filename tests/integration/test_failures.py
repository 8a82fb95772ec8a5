"""A killed worker, and a corrupt file arriving: each ends in a finished job, nothing lost,
nothing doubled. A worker killed in the middle of a publish or of a pull leaves work that
the sweeper brings to a clean end."""

from __future__ import annotations

import time
import uuid

import pytest
from django.conf import settings

from cases.ingest import files_ingest
from cases.models import AuditEvent, Case, ImportJob, Instance
from cases.publish import CHECKLIST, case_publish_request
from cases.services import case_create
from pacs_bridge import services
from pacs_bridge.models import PacsNode
from pacs_bridge.pull import job_dir, spool
from teachingfile.celery import app
from teachingfile.sweeper import PUBLISH_STOPPED, sweep
from tests.anonymizer.dirty import dirty_ct, write
from tests.cases.freetext_review import accept_all_text
from tests.peers import silent_server
from tests.services import series_of, start_worker, stop_worker, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def own_queue(celery_worker):
    """Send this test's tasks to a queue that only its own workers consume."""
    queue, old = "teachingfile-kill", app.conf.task_default_queue
    app.conf.task_default_queue = queue
    yield queue
    app.conf.task_default_queue = old


def test_a_worker_killed_during_the_first_pass_leaves_a_complete_import_after_restart(
    own_queue, listener, node, author, tmp_path
):
    study, _ = series_of(node, "US")  # the cine is OCR'd: the first pass takes a while
    log = tmp_path / "worker.log"
    worker = start_worker(own_queue, log)
    job = services.import_start(
        author=author, node=node, study_instance_uid=study, series_instance_uids=[]
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status == ImportJob.Status.PROCESSING:
            break
        time.sleep(0.02)
    assert job.status == ImportJob.Status.PROCESSING, job.message
    worker.kill()  # SIGKILL mid-task: no clean-up of any kind
    worker.wait()
    time.sleep(settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] + 1)
    worker = start_worker(own_queue, log)  # the unacknowledged task comes back
    try:
        job = wait_for(job)
    finally:
        stop_worker(worker)
    assert job.status == ImportJob.Status.DONE, job.message
    instances = Instance.objects.filter(series__case=job.case)
    assert instances.count() == job.received
    assert len({i.sop_instance_uid for i in instances}) == instances.count()
    assert not list(job_dir(job.pk).iterdir())


def test_a_stray_file_in_the_series_spool_is_discarded_and_the_rest_of_the_import_goes_on(
    celery_worker, listener, node, author
):
    """A file of an instance the PACS did not list for this import (a damaged leftover, or
    one slipped in) never joins it: it is deleted and counted on the job page. Damaged
    files the PACS does list are quarantined by the first pass (tests/cases/test_ingest.py)."""
    study, mr = series_of(node, "MR")
    folder = spool().series_dir(mr.series_instance_uid)
    folder.mkdir(parents=True, exist_ok=True)
    stray = folder / ("f" * 32 + ".dcm")
    stray.write_bytes(b"\0" * 128 + b"DICM" + b"\x02\x00\x10")
    job = wait_for(services.import_start(
        author=author, node=node, study_instance_uid=study,
        series_instance_uids=[mr.series_instance_uid],
    ))  # fmt: skip
    assert job.status == ImportJob.Status.DONE, job.message
    assert "1 image(s) the PACS did not list for this import were discarded" in job.message
    assert job.quarantined == 0 and not stray.exists()
    assert Instance.objects.filter(series__case=job.case).count() == mr.number_of_instances


def test_an_image_the_pacs_fails_to_send_is_reported_missing_and_can_be_fetched_later(
    celery_worker, listener, author, demo_folder, tmp_path
):
    """C-MOVE reports success for the rest: the job checks what arrived against the
    IMAGE-level C-FIND, shows the difference, and fetches exactly what is missing."""
    import shutil

    from pacs_bridge.dicom.demo_pacs import serve_demo_pacs
    from pacs_bridge.models import PacsNode
    from tests.services import free_port

    folder = tmp_path / "pacs"
    shutil.copytree(demo_folder, folder)
    port = free_port()
    server = serve_demo_pacs(
        folder, ae_title="FLAKY", host="127.0.0.1", port=port, block=False,
        destinations={settings.DICOM_AE_TITLE: ("127.0.0.1", settings.DICOM_LISTEN_PORT)},
    )  # fmt: skip
    try:
        node = PacsNode.objects.create(name="Flaky", ae_title="FLAKY", host="127.0.0.1", port=port)
        study, ct = series_of(node, "CT")
        victim = sorted(folder.rglob("CT*.dcm"))[0]
        original = victim.read_bytes()
        victim.write_bytes(b"unreadable now")  # after the PACS indexed it
        job = wait_for(services.import_start(
            author=author, node=node, study_instance_uid=study,
            series_instance_uids=[ct.series_instance_uid],
        ))  # fmt: skip
        assert job.status == ImportJob.Status.INCOMPLETE, job.message
        assert job.message.startswith(f"1 of {ct.number_of_instances} images did not arrive")
        assert job.received == ct.number_of_instances - 1
        victim.write_bytes(original)
        again = wait_for(services.import_fetch_missing(job=job, by=author))
    finally:
        server.shutdown()
    assert again.status == ImportJob.Status.DONE, again.message
    assert again.expected == again.received == 1
    assert Instance.objects.filter(series__case=job.case).count() == ct.number_of_instances


@pytest.fixture
def fresh_queue(celery_worker):
    """A queue of this test's own, so that a message its killed worker left behind is
    never taken by another test's worker."""
    queue, old = f"teachingfile-kill-{uuid.uuid4().hex[:8]}", app.conf.task_default_queue
    app.conf.task_default_queue = queue
    yield queue
    app.conf.task_default_queue = old


def _kill(worker) -> None:
    worker.kill()  # SIGKILL: no clean-up of any kind
    worker.wait()


def _until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"{what} did not happen within {timeout} s")


def test_a_publish_whose_worker_was_killed_goes_back_to_draft_and_can_be_published_again(
    fresh_queue, author, tmp_path
):
    case = case_create(author=author, title="Chest CT")
    root = settings.INCOMING_ROOT / f"kill-{tmp_path.name}"
    files_ingest(case=case, paths=[write(dirty_ct(i), root / f"{i}.dcm") for i in range(1, 25)])
    accept_all_text(case, author)
    log = tmp_path / "worker.log"
    worker = start_worker(fresh_queue, log)
    case_publish_request(case=case, by=author, checklist=dict.fromkeys(CHECKLIST, True))

    def some_files_written() -> bool:
        case.refresh_from_db()
        folder = settings.PUBLISHED_ROOT / str(case.pk)
        return case.publish_heartbeat_at is not None and any(folder.rglob("*.dcm"))

    try:
        _until(some_files_written, 60, "the publish writing its first files")
    finally:
        _kill(worker)
    case.refresh_from_db()
    assert case.status == Case.Status.PUBLISHING  # stuck: nobody will finish it
    time.sleep(settings.STUCK_AFTER_SECONDS + 1)

    report = sweep()
    case.refresh_from_db()
    assert report.publishes_stopped == [case.pk]
    assert (case.status, case.publish_error) == (Case.Status.DRAFT, PUBLISH_STOPPED)
    assert not (settings.PUBLISHED_ROOT / str(case.pk)).exists()
    assert not (settings.PUBLISHED_ROOT / ".staging" / str(case.pk)).exists()

    # The killed worker's task comes back to a new worker and does nothing; the author
    # publishes again and it goes through.
    time.sleep(max(0.0, settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] - 3))
    worker = start_worker(fresh_queue, log)
    try:
        time.sleep(2)
        case.refresh_from_db()
        assert case.status == Case.Status.DRAFT
        case_publish_request(case=case, by=author, checklist=dict.fromkeys(CHECKLIST, True))
        _until(
            lambda: Case.objects.get(pk=case.pk).status != Case.Status.PUBLISHING,
            120,
            "the second publish",
        )
    finally:
        stop_worker(worker)
    case.refresh_from_db()
    assert case.status == Case.Status.PUBLISHED, case.publish_error
    assert AuditEvent.objects.filter(action="case.publish", case=case).count() == 1
    published = Instance.objects.filter(series__case=case, status="published")
    assert published.count() == 24
    assert all((settings.PUBLISHED_ROOT / i.published_file).is_file() for i in published)


@pytest.fixture
def silent_pacs():
    """A PACS that accepts the connection and then says nothing (a hung server): the
    worker waits in the middle of the pull for as long as the test likes."""
    with silent_server() as port:
        yield port


def test_a_pull_whose_worker_was_killed_is_started_again_by_the_sweeper_and_completes(
    fresh_queue, listener, node, author, silent_pacs, tmp_path
):
    study, mr = series_of(node, "MR")
    hung = PacsNode.objects.create(
        name="Hung", ae_title=node.ae_title, host="127.0.0.1", port=silent_pacs,
        timeout_seconds=120,
    )  # fmt: skip
    log = tmp_path / "worker.log"
    worker = start_worker(fresh_queue, log)
    job = services.import_start(
        author=author, node=hung, study_instance_uid=study,
        series_instance_uids=[mr.series_instance_uid],
    )  # fmt: skip
    try:
        _until(
            lambda: ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.RETRIEVING,
            30,
            "the pull starting",
        )
        time.sleep(0.5)  # in the middle of its C-FIND
    finally:
        _kill(worker)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.RETRIEVING  # stuck: nobody will finish it
    assert job.request["study"] == study
    time.sleep(settings.STUCK_AFTER_SECONDS + 1)

    report = sweep()
    job.refresh_from_db()
    assert report.requeued == [job.pk]
    assert (job.status, job.attempts) == (ImportJob.Status.QUEUED, 1)

    PacsNode.objects.filter(pk=hung.pk).update(port=node.port)  # the PACS is back
    worker = start_worker(fresh_queue, log)
    try:
        job = wait_for(job, timeout=120)
    finally:
        stop_worker(worker)
    assert job.status == ImportJob.Status.DONE, job.message
    assert job.request == {}  # no original UIDs left behind
    assert Instance.objects.filter(series__case=job.case).count() == mr.number_of_instances
    assert not job_dir(job.pk).exists() or not list(job_dir(job.pk).iterdir())
