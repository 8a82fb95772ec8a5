"""Celery tasks of cases: thin wrappers that take ids and call a service."""

from celery import shared_task

from cases.publish import case_publish_run


@shared_task(name="cases.publish", acks_late=True)
def publish_task(case_id: int) -> None:
    # The run records its own failure, for its own attempt only and only while the case
    # is still publishing (case_publish_run); a task delivered again for a published case,
    # or for a request whose run already started, does nothing. A run whose worker died,
    # or a failure that could not be written, is ended by the sweeper.
    case_publish_run(case_id)


@shared_task(name="cases.upload", acks_late=True)
def upload_task(job_id: int) -> None:
    # Each file on its own, and the job always ends (cases/uploads.py); a re-delivered
    # task skips the files an earlier run finished and a job that ended.
    from cases.uploads import upload_job_run

    upload_job_run(job_id)
