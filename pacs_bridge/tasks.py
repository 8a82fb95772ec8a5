"""Celery tasks: thin wrappers that take ids and call the pull functions.

A pull failure is recorded by ``pull.pull_run`` itself (only for the run that owns the
job). A batch waits out a short database lock (``teachingfile.dbretry``); a lock that does
not clear leaves the job PROCESSING with its files, and any other error fails the job. If
even the failure cannot be written, the sweeper (teachingfile/sweeper.py) re-runs or ends
the job later: no job stays stuck.
"""

import logging

from celery import shared_task
from django.db import OperationalError

from pacs_bridge import pull
from teachingfile.dbretry import is_lock_error, retry_on_lock

log = logging.getLogger(__name__)


def _enqueue_batch(job_id: int, relative_paths: list[str]) -> None:
    first_pass_batch.delay(job_id, relative_paths)


def _unexpected(job_id: int, exc: Exception) -> None:
    if is_lock_error(exc):  # the batch is safe to run again: the sweeper hands it over
        log.warning("import %s: a batch met a database lock that did not clear", job_id)
        return
    # The exception's text may quote file contents: name its type only.
    message = f"The import stopped on an unexpected error ({type(exc).__name__}); retry it."
    try:
        pull.job_fail(job_id, message)
    except OperationalError:
        log.exception("import %s: could not record its failure; the sweeper will", job_id)


@shared_task(name="pacs_bridge.pull", acks_late=True)
def pull_task(job_id: int) -> None:
    pull.pull_run(job_id, dispatch=_enqueue_batch)


@shared_task(name="pacs_bridge.first_pass_batch", acks_late=True)
def first_pass_batch(job_id: int, relative_paths: list[str]) -> None:
    try:
        # Safe to repeat (files already recorded are gone), so it commits as it goes.
        retry_on_lock(
            lambda: pull.batch_run(job_id, relative_paths),
            what=f"import {job_id}: first-pass batch",
            atomic=False,
        )
    except Exception as exc:
        _unexpected(job_id, exc)
        raise
