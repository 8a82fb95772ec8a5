"""A killed worker, and a corrupt file arriving: each ends in a finished job, nothing lost,
nothing doubled."""

from __future__ import annotations

import time

import pytest
from django.conf import settings

from cases.models import ImportJob, Instance, QuarantineItem
from pacs_bridge import services
from pacs_bridge.pull import job_dir, spool
from teachingfile.celery import app
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


def test_a_corrupt_file_is_quarantined_and_the_rest_of_the_import_goes_on(
    celery_worker, listener, node, author
):
    study, mr = series_of(node, "MR")
    # As if the listener had received a damaged object for this series.
    folder = spool().series_dir(mr.series_instance_uid)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ("f" * 32 + ".dcm")).write_bytes(b"\0" * 128 + b"DICM" + b"\x02\x00\x10")
    job = wait_for(services.import_start(
        author=author, node=node, study_instance_uid=study,
        series_instance_uids=[mr.series_instance_uid],
    ))  # fmt: skip
    assert job.status == ImportJob.Status.DONE, job.message
    assert job.quarantined == 1
    assert Instance.objects.filter(series__case=job.case).count() == mr.number_of_instances
    item = QuarantineItem.objects.get(job=job)
    assert item.reason.startswith("unreadable")


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
