"""Celery tasks of cases: thin wrappers that take ids and call a service."""

from celery import shared_task

from cases.models import Case
from cases.publish import case_publish_run


@shared_task(name="cases.publish", acks_late=True)
def publish_task(case_id: int) -> None:
    try:
        case_publish_run(case_id)
    except Exception as exc:
        # The exception's text may quote file contents: name its type only.
        Case.objects.filter(pk=case_id, status=Case.Status.PUBLISHING).update(
            status=Case.Status.DRAFT,
            publish_error=f"Publishing stopped on an unexpected error ({type(exc).__name__}).",
        )
        raise
