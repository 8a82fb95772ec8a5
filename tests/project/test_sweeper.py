"""The sweeper ends or re-runs work whose worker died or whose message was lost, cleans
what that work left behind, and leaves everything else alone (deadlines are seconds in
the test settings)."""

from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from cases.models import AuditEvent, Case, ImportJob, Instance, Series
from cases.publish import publish_attempt_dirs
from cases.services import case_create
from pacs_bridge import pull
from pacs_bridge.models import PacsNode
from teachingfile import sweeper

pytestmark = pytest.mark.django_db

STALE = timedelta(seconds=settings.STUCK_AFTER_SECONDS + 30)
QUEUED_LONG = timedelta(seconds=settings.QUEUED_TOO_LONG_SECONDS + 30)
REQUEST = {"study": "1.2.3", "series": ["1.2.3.4"]}


class Queue:
    """Stands in for the broker: what the sweeper sent."""

    def __init__(self) -> None:
        self.pulls: list[int] = []
        self.uploads: list[int] = []
        self.batches: list[tuple[int, list[str]]] = []

    def sweep(self) -> sweeper.SweepReport:
        return sweeper.sweep(
            enqueue_pull=self.pulls.append,
            enqueue_upload=self.uploads.append,
            dispatch=lambda job_id, paths: self.batches.append((job_id, paths)),
        )


@pytest.fixture
def queue() -> Queue:
    return Queue()


@pytest.fixture
def make_job(author):
    node = PacsNode.objects.create(name="N", ae_title="N", host="127.0.0.1", port=1)
    case = case_create(author=author)

    def make(status: str, *, silent_for: timedelta, **fields) -> ImportJob:
        job = ImportJob.objects.create(
            case=case, author=author, source=fields.pop("source", "pacs"), pacs_node=node,
            status=status, request=fields.pop("request", dict(REQUEST)), **fields,
        )  # fmt: skip
        ImportJob.objects.filter(pk=job.pk).update(
            heartbeat_at=None if status == ImportJob.Status.QUEUED else timezone.now() - silent_for,
            updated_at=timezone.now() - silent_for,
        )
        job.refresh_from_db()
        return job

    return make


def _raw_files(job: ImportJob, n: int = 2) -> None:
    for i in range(n):
        (pull.job_dir(job.pk) / f"{i:032x}.dcm").write_bytes(b"raw")


def test_a_stale_retrieving_job_is_queued_again_then_failed_with_its_files_deleted(make_job, queue):
    job = make_job(ImportJob.Status.RETRIEVING, silent_for=STALE)
    _raw_files(job)
    for attempt in range(1, settings.STUCK_MAX_ATTEMPTS + 1):
        report = queue.sweep()
        job.refresh_from_db()
        assert report.requeued == [job.pk]
        assert (job.status, job.attempts) == (ImportJob.Status.QUEUED, attempt)
        assert "queued again" in job.message
        # The queued run starts, and its worker dies as well.
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.RETRIEVING, heartbeat_at=timezone.now() - STALE
        )
    assert queue.pulls == [job.pk] * settings.STUCK_MAX_ATTEMPTS
    report = queue.sweep()
    job.refresh_from_db()
    assert report.failed == [job.pk]
    assert job.status == ImportJob.Status.FAILED
    assert job.message.startswith(
        f"The import stopped while retrieving {settings.STUCK_MAX_ATTEMPTS + 1} times"
    )
    assert "Retry it" in job.message
    assert job.finished_at is not None
    assert not (settings.INCOMING_ROOT / "jobs" / str(job.pk)).exists()
    assert set(job.request) <= {"study", "series", "instances"}  # only what retry needs
    assert AuditEvent.objects.filter(action="import.stopped", target=f"import:{job.pk}").exists()


def test_a_job_whose_message_was_lost_is_queued_again(make_job, queue):
    job = make_job(ImportJob.Status.QUEUED, silent_for=QUEUED_LONG)
    report = queue.sweep()
    job.refresh_from_db()
    assert report.requeued == [job.pk] and queue.pulls == [job.pk]
    assert (job.status, job.attempts) == (ImportJob.Status.QUEUED, 1)
    assert queue.sweep().requeued == []  # not again until it waited that long again


def test_a_job_no_worker_ever_took_fails_with_a_reason_after_its_attempts(make_job, queue):
    job = make_job(
        ImportJob.Status.QUEUED, silent_for=QUEUED_LONG, attempts=settings.STUCK_MAX_ATTEMPTS
    )
    queue.sweep()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    assert "Check that the worker is running" in job.message
    assert queue.pulls == []


def test_a_processing_job_whose_batches_were_lost_gets_its_remaining_files_handed_over(
    make_job, queue
):
    job = make_job(ImportJob.Status.PROCESSING, silent_for=STALE)
    _raw_files(job, 3)
    report = queue.sweep()
    job.refresh_from_db()
    assert report.redispatched == [job.pk]
    assert [(j, len(paths)) for j, paths in queue.batches] == [(job.pk, 3)]
    assert (job.status, job.attempts) == (ImportJob.Status.PROCESSING, 1)


def test_a_processing_job_with_nothing_left_is_closed(make_job, queue):
    job = make_job(ImportJob.Status.PROCESSING, silent_for=STALE)
    report = queue.sweep()
    job.refresh_from_db()
    assert report.closed == [job.pk]
    assert (job.status, job.request) == (ImportJob.Status.DONE, {})


def test_work_in_progress_and_finished_jobs_are_left_alone(make_job, queue):
    fresh = [
        make_job(ImportJob.Status.QUEUED, silent_for=timedelta(0)),
        make_job(ImportJob.Status.RETRIEVING, silent_for=timedelta(0)),
        make_job(ImportJob.Status.PROCESSING, silent_for=timedelta(0)),
    ]
    for job in fresh[1:]:
        _raw_files(job)
    done = make_job(ImportJob.Status.DONE, silent_for=STALE * 100, request={})
    failed = make_job(ImportJob.Status.FAILED, silent_for=STALE, message="x")
    before = {j.pk: (j.status, j.attempts, j.message, j.request) for j in [*fresh, done, failed]}
    report = queue.sweep()
    assert not (report.requeued or report.redispatched or report.closed or report.failed)
    assert queue.pulls == [] and queue.batches == []
    for job in ImportJob.objects.filter(pk__in=before):
        assert (job.status, job.attempts, job.message, job.request) == before[job.pk]
    for job in fresh[1:]:
        assert len(list(pull.job_dir(job.pk).glob("*.dcm"))) == 2


def test_a_stale_upload_is_queued_again_then_failed_with_its_raw_files_deleted(make_job, queue):
    job = make_job(ImportJob.Status.PROCESSING, silent_for=STALE, source="upload", request={})
    folder = settings.INCOMING_ROOT / "uploads" / str(job.pk)
    folder.mkdir(parents=True)
    (folder / "a.dcm").write_bytes(b"raw")
    assert queue.sweep().requeued == [job.pk]
    job.refresh_from_db()
    assert (job.status, job.attempts, queue.uploads, queue.pulls) == (
        ImportJob.Status.QUEUED,
        1,
        [job.pk],
        [],
    )
    assert folder.exists()  # the next run takes the files where they are
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.PROCESSING, heartbeat_at=timezone.now() - STALE,
        attempts=settings.STUCK_MAX_ATTEMPTS,
    )  # fmt: skip
    queue.sweep()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    assert job.message == sweeper.upload_stopped(settings.STUCK_MAX_ATTEMPTS + 1)
    assert not folder.exists()


def test_raw_files_of_an_ended_job_are_deleted(make_job, queue):
    job = make_job(ImportJob.Status.FAILED, silent_for=timedelta(0))
    _raw_files(job)  # written by a run given up on, after the job ended
    assert queue.sweep().folders_removed >= 1  # (and any other test's left-overs)
    assert not (settings.INCOMING_ROOT / "jobs" / str(job.pk)).exists()


def test_original_uids_of_failed_jobs_are_kept_for_retry_only_so_long(
    make_job, queue, client, author
):
    recent = make_job(ImportJob.Status.FAILED, silent_for=timedelta(0))
    old = make_job(ImportJob.Status.INCOMPLETE, silent_for=timedelta(0))
    ImportJob.objects.filter(pk=recent.pk).update(finished_at=timezone.now())
    ImportJob.objects.filter(pk=old.pk).update(
        finished_at=timezone.now() - timedelta(seconds=settings.RETRY_KEEP_SECONDS + 1),
        request={"study": "1.2.3", "missing": {"1.2.3.4": ["5"]}},
    )
    assert queue.sweep().requests_cleared == 1
    recent.refresh_from_db(), old.refresh_from_db()
    assert recent.request == REQUEST and old.request == {}
    client.force_login(author)
    page = client.get(reverse("pacs_bridge:job", args=[old.pk])).content.decode()
    assert "ended too long ago to be retried" in page
    page = client.get(reverse("pacs_bridge:job", args=[recent.pk])).content.decode()
    assert reverse("pacs_bridge:job_retry", args=[recent.pk]) in page


# --- publishes -----------------------------------------------------------------------------


@pytest.fixture
def publishing(author):
    """A case whose publish request was taken by a worker that then died."""
    case = case_create(author=author, title="T")
    Case.objects.filter(pk=case.pk).update(
        status=Case.Status.PUBLISHING, publish_attempt="a1",
        publish_requested_at=timezone.now() - STALE, publish_heartbeat_at=timezone.now() - STALE,
    )  # fmt: skip
    for folder in publish_attempt_dirs(case.pk, "a1"):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "x.dcm").write_bytes(b"half-published")
    return case


def test_a_stale_publish_goes_back_to_draft_with_its_files_deleted(
    publishing, queue, client, author
):
    report = queue.sweep()
    publishing.refresh_from_db()
    assert report.publishes_stopped == [publishing.pk]
    assert publishing.status == Case.Status.DRAFT
    assert publishing.publish_error == sweeper.PUBLISH_STOPPED
    assert publishing.publish_error.startswith(
        "Publishing stopped because its worker stopped"
    ) and publishing.publish_error.endswith("Publish again.")
    assert not (settings.PUBLISHED_ROOT / str(publishing.pk)).exists()
    assert not (settings.PUBLISHED_ROOT / ".staging" / str(publishing.pk)).exists()
    assert AuditEvent.objects.filter(action="case.publish.stopped", case=publishing).exists()
    # The author sees why, and can publish again.
    client.force_login(author)
    page = client.get(publishing.get_absolute_url()).content.decode()
    assert "Publishing stopped because its worker stopped" in page
    assert reverse("cases:case_publish", args=[publishing.pk]) in page


def test_a_publish_no_worker_took_goes_back_to_draft_saying_so(publishing, queue):
    Case.objects.filter(pk=publishing.pk).update(
        publish_heartbeat_at=None, publish_requested_at=timezone.now() - QUEUED_LONG
    )
    queue.sweep()
    publishing.refresh_from_db()
    assert publishing.status == Case.Status.DRAFT
    assert publishing.publish_error == sweeper.PUBLISH_NOT_STARTED


def test_a_publish_in_progress_is_left_alone(publishing, queue):
    Case.objects.filter(pk=publishing.pk).update(publish_heartbeat_at=timezone.now())
    report = queue.sweep()
    publishing.refresh_from_db()
    assert report.publishes_stopped == []
    assert publishing.status == Case.Status.PUBLISHING
    assert (publish_attempt_dirs(publishing.pk, "a1")[0] / "x.dcm").exists()


def test_a_published_case_keeps_its_files_and_loses_other_attempts_left_overs(publishing, queue):
    Case.objects.filter(pk=publishing.pk).update(status=Case.Status.PUBLISHED)
    series = Series.objects.create(case=publishing, series_instance_uid="2.25.1",
                                   study_instance_uid="2.25.2")  # fmt: skip
    Instance.objects.create(
        series=series, sop_instance_uid="2.25.3", sop_class_uid="1.2", working_file="w",
        published_file=f"{publishing.pk}/a1/x.dcm", status=Instance.Status.PUBLISHED,
    )  # fmt: skip
    stray = publish_attempt_dirs(publishing.pk, "zombie")[0]
    stray.mkdir(parents=True)
    (stray / "y.dcm").write_bytes(b"late")
    queue.sweep()
    publishing.refresh_from_db()
    assert publishing.status == Case.Status.PUBLISHED
    assert (publish_attempt_dirs(publishing.pk, "a1")[0] / "x.dcm").exists()
    assert not stray.exists()


def test_published_files_of_a_draft_are_left_overs(author, queue):
    case = case_create(author=author)
    folder = publish_attempt_dirs(case.pk, "old")[0]
    folder.mkdir(parents=True)
    (folder / "x.dcm").write_bytes(b"orphan")
    queue.sweep()
    assert not (settings.PUBLISHED_ROOT / str(case.pk)).exists()


def test_the_management_command_sweeps_and_reports(publishing):
    out = StringIO()
    call_command("sweep_stuck_work", stdout=out)
    assert "1 publish(es) stopped" in out.getvalue()
    publishing.refresh_from_db()
    assert publishing.status == Case.Status.DRAFT


def test_beat_runs_the_sweeper_on_a_schedule():
    from teachingfile.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["sweep-stuck-work"]
    assert entry["task"] == sweeper.sweep_stuck_work_task.name
    assert entry["task"] in app.tasks
    # The run command starts beat next to the worker (the embedded default).
    procfile = (settings.BASE_DIR / "Procfile").read_text().splitlines()
    assert any(line.startswith("beat:") and " beat " in line for line in procfile)
