"""Celery tasks: thin wrappers that take ids and call the pull functions."""

from celery import shared_task

from pacs_bridge import pull


def _enqueue_batch(job_id: int, relative_paths: list[str]) -> None:
    first_pass_batch.delay(job_id, relative_paths)


def _unexpected(job_id: int, exc: Exception) -> None:
    # The exception's text may quote file contents: name its type only.
    pull.job_fail(
        job_id, f"The import stopped on an unexpected error ({type(exc).__name__}); retry it."
    )


@shared_task(name="pacs_bridge.pull", acks_late=True)
def pull_task(job_id: int) -> None:
    try:
        pull.pull_run(job_id, dispatch=_enqueue_batch)
    except Exception as exc:
        _unexpected(job_id, exc)
        raise


@shared_task(name="pacs_bridge.first_pass_batch", acks_late=True)
def first_pass_batch(job_id: int, relative_paths: list[str]) -> None:
    try:
        pull.batch_run(job_id, relative_paths)
    except Exception as exc:
        _unexpected(job_id, exc)
        raise
