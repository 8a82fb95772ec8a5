"""A pull task delivered again (its worker died) picks up where the job stands; a run
that was given up on can no longer move the job on."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from cases.models import Case, ImportJob
from cases.services import case_create
from pacs_bridge import pull
from pacs_bridge.models import PacsNode
from pacs_bridge.services import import_fetch_missing, import_retry

pytestmark = pytest.mark.django_db

LONG_AGO = timedelta(seconds=settings.STUCK_AFTER_SECONDS + 60)


@pytest.fixture
def job(author):
    """A job whose worker died while it was de-identifying (its heartbeat is stale)."""
    node = PacsNode.objects.create(name="N", ae_title="N", host="127.0.0.1", port=1)
    return ImportJob.objects.create(
        case=case_create(author=author), author=author, source="pacs", pacs_node=node,
        status=ImportJob.Status.PROCESSING, request={"study": "1.2.3", "series": ["1.2.3.4"]},
        heartbeat_at=timezone.now() - LONG_AGO,
    )  # fmt: skip


def _waiting(job, names=("a", "b")) -> None:
    for name in names:
        (pull.job_dir(job.pk) / f"{name * 32}.dcm").write_bytes(b"x")


def test_a_redelivered_pull_hands_over_the_files_still_waiting(job):
    _waiting(job)
    batches = []
    pull.pull_run(job.pk, dispatch=lambda job_id, paths: batches.append(paths))
    assert [len(b) for b in batches] == [2]
    assert all(p.startswith(f"jobs/{job.pk}/") for p in batches[0])
    job.refresh_from_db()
    assert job.attempts == 1  # taking over a stalled job counts as an attempt


def test_a_redelivered_pull_with_nothing_waiting_closes_the_job(job):
    pull.pull_run(job.pk, dispatch=lambda *a: pytest.fail("nothing to dispatch"))
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE
    assert job.request == {}


def test_a_redelivered_pull_leaves_a_job_whose_worker_is_alive_to_that_worker(job):
    _waiting(job)
    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now())
    pull.pull_run(job.pk, dispatch=lambda *a: pytest.fail("another worker is on it"))
    job.refresh_from_db()
    assert (job.status, job.attempts) == (ImportJob.Status.PROCESSING, 0)


def test_a_redelivered_pull_of_a_job_that_stopped_too_often_fails_it_and_deletes_its_files(job):
    _waiting(job)
    ImportJob.objects.filter(pk=job.pk).update(attempts=settings.STUCK_MAX_ATTEMPTS)
    pull.pull_run(job.pk, dispatch=lambda *a: pytest.fail("no more tries"))
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    assert job.message.startswith(
        f"The import stopped while de-identifying {settings.STUCK_MAX_ATTEMPTS + 1} times"
    )
    assert "Retry it" in job.message
    assert not list(pull.job_dir(job.pk).glob("*.dcm"))


def test_a_finished_job_is_left_alone(job):
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.FAILED, message="x")
    pull.pull_run(job.pk, dispatch=lambda *a: pytest.fail("nothing to dispatch"))
    job.refresh_from_db()
    assert (job.status, job.message) == (ImportJob.Status.FAILED, "x")


def test_a_run_given_up_on_can_neither_move_nor_fail_the_job(job):
    """The sweeper started the job again (attempt 1): the first run (attempt 0) that comes
    back to life writes nothing."""
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RETRIEVING, attempts=1)
    _waiting(job)
    assert not pull._update_owned(job.pk, 0, status=ImportJob.Status.PROCESSING)
    assert not pull.job_fail(job.pk, "late failure", attempt=0)
    job.refresh_from_db()
    assert (job.status, job.message) == (ImportJob.Status.RETRIEVING, "")
    assert len(list(pull.job_dir(job.pk).glob("*.dcm"))) == 2  # the new run's to claim
    assert pull._update_owned(job.pk, 1, remaining=3)


def test_a_failed_job_keeps_only_what_a_retry_needs(job):
    ImportJob.objects.filter(pk=job.pk).update(
        request={"study": "1.2.3", "series": ["1.2.3.4"], "missing": {"1.2.3.4": ["9"]}}
    )
    assert pull.job_fail(job.pk, "The PACS did not answer.")
    job.refresh_from_db()
    assert job.request == {"study": "1.2.3", "series": ["1.2.3.4"]}
    assert not pull.job_fail(job.pk, "again")  # a finished job stays as it is
    job.refresh_from_db()
    assert job.message == "The PACS did not answer."


def test_a_retry_needs_the_pacs_node_and_a_draft_case(job, author):
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.FAILED)
    Case.objects.filter(pk=job.case_id).update(status=Case.Status.PUBLISHED)
    job.refresh_from_db()
    with pytest.raises(ValueError, match="no longer a draft"):
        import_retry(job=job, by=author)
    job.pacs_node.delete()
    job.refresh_from_db()
    with pytest.raises(ValueError, match="no longer exists"):
        import_retry(job=job, by=author)


def test_an_import_whose_request_was_cleared_says_it_is_too_old_to_retry(job, author):
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.FAILED, request={})
    job.refresh_from_db()
    with pytest.raises(ValueError, match="too long ago"):
        import_retry(job=job, by=author)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.INCOMPLETE)
    job.refresh_from_db()
    with pytest.raises(ValueError, match="too long ago"):
        import_fetch_missing(job=job, by=author)


def test_a_claim_takes_only_the_instances_the_pacs_listed_and_discards_the_rest(job):
    incoming = pull.spool()
    for sop in ("1.2.3.4.1", "1.2.3.4.2", "9.9.9.INJECTED"):
        path = incoming.path_for("1.2.3.4", sop)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    files, discarded = pull._claim(job.pk, ["1.2.3.4"], {"1.2.3.4": {"1.2.3.4.1", "1.2.3.4.2"}})
    assert discarded == 1
    assert sorted(p.stem for p in files) == sorted(
        incoming.instance_key(s) for s in ("1.2.3.4.1", "1.2.3.4.2")
    )
    assert incoming.files_for_series("1.2.3.4") == []  # the stray file is gone, not waiting
