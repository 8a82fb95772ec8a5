"""A database lock during a pull is waited out, by the pull and by its failure handler; a
lock that does not clear leaves the job to the sweeper, never stuck.

The lock is real: another PostgreSQL connection holds the job's row (as a long write of
another process would) while this one runs with a short ``lock_timeout``.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import psycopg
import pytest
from django.conf import settings
from django.db import IntegrityError, OperationalError, connection
from django.utils import timezone

from cases.models import Case, ImportJob
from cases.publish import case_publish_stop
from cases.services import case_create
from pacs_bridge import pull, tasks
from pacs_bridge.models import PacsNode
from teachingfile.dbretry import is_lock_error
from teachingfile.sweeper import sweep

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def job(author):
    node = PacsNode.objects.create(name="N", ae_title="N", host="127.0.0.1", port=1)
    return ImportJob.objects.create(
        case=case_create(author=author), author=author, source="pacs", pacs_node=node,
        status=ImportJob.Status.RETRIEVING, request={"study": "1.2.3", "series": ["1.2.3.4"]},
        heartbeat_at=timezone.now(),
    )  # fmt: skip


@pytest.fixture(autouse=True)
def short_lock_timeout():
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '100ms'")
    yield
    with connection.cursor() as cursor:
        cursor.execute("RESET lock_timeout")


@contextmanager
def row_locked(table: str, pk: int, *, release_after: float | None = None) -> Iterator[None]:
    """Another connection holds the row's lock (for ``release_after`` seconds, or on)."""
    db = connection.settings_dict
    other = psycopg.connect(
        dbname=db["NAME"], user=db["USER"], password=db["PASSWORD"] or None,
        host=db["HOST"] or None, port=db["PORT"] or None,
    )  # fmt: skip
    other.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR UPDATE", [pk])  # opens a transaction
    timer = threading.Timer(release_after, other.rollback) if release_after else None
    if timer:
        timer.start()
    try:
        yield
    finally:
        if timer:
            timer.join()
        other.rollback()
        other.close()


def test_the_failure_handler_waits_out_a_short_row_lock(job):
    with row_locked("cases_importjob", job.pk, release_after=0.3):
        assert pull.job_fail(job.pk, "The PACS did not answer.")
    job.refresh_from_db()
    assert (job.status, job.message) == (ImportJob.Status.FAILED, "The PACS did not answer.")


def test_a_pull_waits_out_a_short_row_lock(job):
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.QUEUED)
    PacsNode.objects.all().delete()  # the run ends right after it took the job
    with row_locked("cases_importjob", job.pk, release_after=0.3):
        tasks.pull_task(job.pk)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    assert job.message == "The PACS node of this import no longer exists."


def test_a_lock_that_does_not_clear_leaves_the_job_to_the_sweeper(job, monkeypatch):
    monkeypatch.setattr(settings, "DB_LOCK_TRIES", 3)
    with row_locked("cases_importjob", job.pk):
        with pytest.raises(OperationalError) as raised:
            pull.job_fail(job.pk, "x")
        assert is_lock_error(raised.value)
        tasks._unexpected(job.pk, RuntimeError())  # logs, never raises over the real error
    job.refresh_from_db()
    assert job.status == ImportJob.Status.RETRIEVING
    ImportJob.objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=settings.STUCK_AFTER_SECONDS + 1)
    )
    report = sweep(enqueue_pull=lambda job_id: None)
    job.refresh_from_db()
    assert report.requeued == [job.pk]
    assert job.status == ImportJob.Status.QUEUED


def test_a_publish_failure_waits_out_a_short_row_lock(author):
    case = case_create(author=author)
    Case.objects.filter(pk=case.pk).update(status=Case.Status.PUBLISHING, publish_attempt="a1")
    with row_locked("cases_case", case.pk, release_after=0.3):
        assert case_publish_stop(case_id=case.pk, attempt="a1", reason="stopped")
    case.refresh_from_db()
    assert (case.status, case.publish_error) == (Case.Status.DRAFT, "stopped")


def test_only_lock_errors_are_tried_again():
    assert is_lock_error(OperationalError("database is locked"))  # SQLite
    assert is_lock_error(OperationalError("database table is locked"))
    assert not is_lock_error(OperationalError("no such table: cases_case"))
    assert not is_lock_error(IntegrityError("duplicate key"))
