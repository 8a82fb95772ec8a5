"""Reads for pulls. Authors see only their own import jobs."""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from cases.models import ImportJob


def job_get_for_author(*, user: AbstractBaseUser, job_id: int) -> ImportJob | None:
    return (
        ImportJob.objects.select_related("case", "pacs_node").filter(pk=job_id, author=user).first()
    )


def job_status(job: ImportJob) -> dict[str, Any]:
    """What the job page shows and polls (no UIDs, no patient data)."""
    missing = job.request.get("missing") or {}
    return {
        "id": job.pk,
        "status": job.status,
        "status_display": job.get_status_display(),
        "finished": job.status
        in (ImportJob.Status.DONE, ImportJob.Status.INCOMPLETE, ImportJob.Status.FAILED),
        "expected": job.expected,
        "remaining": job.remaining,
        "completed": job.completed,
        "failed": job.failed,
        "warning": job.warning,
        "received": job.received,
        "processed": job.processed,
        "quarantined": job.quarantined,
        "missing": sum(len(v) for v in missing.values()),
        "message": job.message,
        "case_url": job.case.get_absolute_url(),
    }
