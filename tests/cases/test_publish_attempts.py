"""Publishing holds the case and checks its state at every transition: a publish request
runs once, a task delivered again does nothing, and a run that was given up on (or that
fails) never moves a case it no longer owns."""

import pytest
from django.conf import settings

import cases.publish as publish
from cases.ingest import files_ingest
from cases.models import AuditEvent, Case, Instance
from cases.publish import (
    CHECKLIST,
    case_publish_request,
    case_publish_run,
    case_publish_stop,
    publish_attempt_dirs,
)
from cases.services import case_create
from cases.tasks import publish_task
from tests.anonymizer.dirty import dirty_ct, write
from tests.cases.freetext_review import accept_all_text

pytestmark = pytest.mark.django_db
CONFIRMED = dict.fromkeys(CHECKLIST, True)


@pytest.fixture
def case(author, tmp_path):
    case = case_create(author=author, title="Chest CT")
    root = settings.INCOMING_ROOT / f"att-{tmp_path.name}"
    files_ingest(case=case, paths=[write(dirty_ct(i), root / f"{i}.dcm") for i in (1, 2)])
    accept_all_text(case, author)
    return case_publish_request(case=case, by=author, checklist=CONFIRMED, enqueue=False)


def _published_bytes(case) -> dict[str, bytes]:
    return {
        i.published_file: (settings.PUBLISHED_ROOT / i.published_file).read_bytes()
        for i in Instance.objects.filter(series__case=case)
    }


def test_each_request_publishes_under_its_own_attempt(case):
    attempt = case.publish_attempt
    assert attempt and case.publish_requested_at and case.publish_heartbeat_at is None
    case = case_publish_run(case.pk)
    assert case.status == Case.Status.PUBLISHED, case.publish_error
    for name in _published_bytes(case):
        assert name.startswith(f"{case.pk}/{attempt}/")
    assert not (settings.PUBLISHED_ROOT / ".staging" / str(case.pk) / attempt).exists()


def test_a_redelivered_publish_of_a_published_case_does_nothing(case):
    case = case_publish_run(case.pk)
    files = _published_bytes(case)
    published_at = case.published_at
    publish_task(case.pk)  # the broker delivers the task again
    case.refresh_from_db()
    assert (case.status, case.published_at) == (Case.Status.PUBLISHED, published_at)
    assert _published_bytes(case) == files
    assert AuditEvent.objects.filter(action="case.publish", case=case).count() == 1


def test_a_second_delivery_while_the_run_is_going_does_nothing(case, monkeypatch):
    """The first run claimed the request; a second delivery must not run it twice (it
    would write the same files, and its failure could demote the first run's case)."""
    Case.objects.filter(pk=case.pk).update(publish_heartbeat_at=case.publish_requested_at)
    monkeypatch.setattr(publish, "second_pass", lambda *a, **k: pytest.fail("ran twice"))
    case = case_publish_run(case.pk)
    assert case.status == Case.Status.PUBLISHING


def test_the_failure_handler_never_demotes_a_published_case(case):
    attempt = case.publish_attempt
    case = case_publish_run(case.pk)
    assert not case_publish_stop(case_id=case.pk, attempt=attempt, reason="late failure")
    case.refresh_from_db()
    assert (case.status, case.publish_error) == (Case.Status.PUBLISHED, "")


def test_an_unexpected_error_puts_the_case_back_to_draft_and_deletes_the_attempts_files(
    case, monkeypatch
):
    real, calls = publish.second_pass, []

    def second_pass_then_crash(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise MemoryError
        return real(*args, **kwargs)

    monkeypatch.setattr(publish, "second_pass", second_pass_then_crash)
    with pytest.raises(MemoryError):
        publish_task(case.pk)
    case.refresh_from_db()
    assert case.status == Case.Status.DRAFT
    assert case.publish_error == (
        "Publishing stopped on an unexpected error (MemoryError); publish again."
    )
    assert not (settings.PUBLISHED_ROOT / str(case.pk)).exists() or not any(
        (settings.PUBLISHED_ROOT / str(case.pk)).rglob("*.dcm")
    )
    assert not Instance.objects.filter(series__case=case, status="published").exists()


def test_a_run_the_sweeper_gave_up_on_neither_publishes_nor_demotes(case, monkeypatch, author):
    """While the run works, the sweeper puts the case back to draft and the author asks
    again (a new attempt): the old run stops at its next heartbeat, deletes its own
    files and leaves the new request alone."""
    old = case.publish_attempt
    real = publish.second_pass

    def second_pass_then_swept(*args, **kwargs):
        result = real(*args, **kwargs)
        if Case.objects.get(pk=case.pk).publish_attempt == old:
            assert case_publish_stop(case_id=case.pk, attempt=old, reason="swept")
            case_publish_request(case=case, by=author, checklist=CONFIRMED, enqueue=False)
        return result

    monkeypatch.setattr(publish, "second_pass", second_pass_then_swept)
    result = case_publish_run(case.pk)
    assert result.status == Case.Status.PUBLISHING
    assert result.publish_attempt != old and result.publish_heartbeat_at is None
    assert not publish_attempt_dirs(case.pk, old)[0].exists()
    assert not Instance.objects.filter(series__case=case, status="published").exists()
    # The new request runs normally.
    monkeypatch.setattr(publish, "second_pass", real)
    assert case_publish_run(case.pk).status == Case.Status.PUBLISHED


def test_the_last_transition_checks_the_attempt_under_the_lock(case, monkeypatch):
    """Swept after the last instance (no heartbeat left to notice): the switch to
    PUBLISHED, made with the case locked, still refuses."""
    old = case.publish_attempt
    real_retry, swept = publish.retry_on_lock, []

    def sweep_just_before_the_switch(fn, **kwargs):
        if kwargs.get("what") == f"case {case.pk}: publish" and not swept:
            swept.append(case_publish_stop(case_id=case.pk, attempt=old, reason="swept"))
        return real_retry(fn, **kwargs)

    monkeypatch.setattr(publish, "retry_on_lock", sweep_just_before_the_switch)
    result = case_publish_run(case.pk)
    assert swept == [True]
    assert (result.status, result.publish_error) == (Case.Status.DRAFT, "swept")
    assert not publish_attempt_dirs(case.pk, old)[0].exists()
    assert not Instance.objects.filter(series__case=case, status="published").exists()
