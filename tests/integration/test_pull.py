"""The whole pull: PACS → our listener → Celery worker → first pass → instances.

The demo PACS and our listener run in this process on loopback; the pull and the first
pass run in a real Celery worker process against the test PostgreSQL.
"""

from __future__ import annotations

import pytest
from django.conf import settings

from cases.models import ImportJob, Instance, QuarantineItem
from pacs_bridge import services
from pacs_bridge.dicom.listener import serve
from pacs_bridge.models import PacsNode
from pacs_bridge.pull import job_dir, spool
from tests.services import free_port, series_of, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_pulled_series_becomes_de_identified_instances_and_no_raw_file_is_left(
    celery_worker, listener, node, author
):
    study, ct = series_of(node, "CT")
    job = services.import_start(
        author=author, node=node, study_instance_uid=study,
        series_instance_uids=[ct.series_instance_uid],
    )  # fmt: skip
    job = wait_for(job)
    assert job.status == ImportJob.Status.DONE, job.message
    assert job.expected == job.received == job.processed == ct.number_of_instances
    assert job.request == {}  # original UIDs are not kept once the job is done
    instances = Instance.objects.filter(series__case=job.case)
    assert instances.count() == ct.number_of_instances
    assert not list(job_dir(job.pk).iterdir())
    assert not spool().files_for_series(ct.series_instance_uid)
    for instance in instances:
        data = (settings.WORKING_ROOT / instance.working_file).read_bytes()
        assert b"DEMO^CHEST" not in data and b"DEMO-0001" not in data
        assert ct.series_instance_uid.encode() not in data


def test_pulling_the_same_series_again_adds_no_duplicate(celery_worker, listener, node, author):
    study, mr = series_of(node, "MR")
    first = wait_for(services.import_start(
        author=author, node=node, study_instance_uid=study,
        series_instance_uids=[mr.series_instance_uid],
    ))  # fmt: skip
    again = wait_for(services.import_start(
        author=author, node=node, study_instance_uid=study,
        series_instance_uids=[mr.series_instance_uid], case=first.case,
    ))  # fmt: skip
    assert again.status == ImportJob.Status.DONE
    assert Instance.objects.filter(series__case=first.case).count() == mr.number_of_instances


def test_the_ultrasound_with_a_burned_in_header_is_flagged_with_boxes(
    celery_worker, listener, node, author
):
    study, _ = series_of(node, "US")
    job = wait_for(services.import_start(
        author=author, node=node, study_instance_uid=study, series_instance_uids=[],
    ))  # fmt: skip
    assert job.status == ImportJob.Status.DONE, job.message
    flagged = Instance.objects.filter(series__case=job.case, status="needs-review")
    assert flagged.exists()
    boxes = [r for i in flagged for r in i.proposed_regions]
    assert any(r["matches"] == "PatientName" for r in boxes), boxes


def test_c_get_pulls_the_series_without_our_listener(celery_worker, node, author):
    node.retrieve_method = PacsNode.RetrieveMethod.C_GET
    node.save()
    study, mr = series_of(node, "MR")
    job = wait_for(services.import_start(
        author=author, node=node, study_instance_uid=study,
        series_instance_uids=[mr.series_instance_uid],
    ))  # fmt: skip
    assert job.status == ImportJob.Status.DONE, job.message
    assert Instance.objects.filter(series__case=job.case).count() == mr.number_of_instances


def test_a_pull_without_our_listener_fails_with_a_clear_message_and_can_be_retried(
    celery_worker, node, author
):
    study, mr = series_of(node, "MR")
    job = wait_for(services.import_start(
        author=author, node=node, study_instance_uid=study,
        series_instance_uids=[mr.series_instance_uid],
    ))  # fmt: skip
    assert job.status == ImportJob.Status.FAILED
    assert "listener" in job.message and "not running" in job.message
    assert not Instance.objects.filter(series__case=job.case).exists()
    server = serve(
        settings.DICOM_AE_TITLE, "127.0.0.1", settings.DICOM_LISTEN_PORT, spool(), block=False
    )
    try:
        retried = wait_for(services.import_retry(job=job, by=author))
    finally:
        server.shutdown()
    assert retried.status == ImportJob.Status.DONE


def test_an_unknown_pacs_is_reported_in_plain_words(celery_worker, listener, author):
    nowhere = PacsNode.objects.create(
        name="Gone", ae_title="GONE", host="127.0.0.1", port=free_port()
    )
    job = wait_for(services.import_start(
        author=author, node=nowhere, study_instance_uid="1.2.3", series_instance_uids=["1.2.3.4"],
    ))  # fmt: skip
    assert job.status == ImportJob.Status.FAILED
    assert "did not answer" in job.message
    assert not QuarantineItem.objects.exists()
