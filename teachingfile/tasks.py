"""Project-level Celery tasks."""

from typing import Any

from celery import shared_task

from teachingfile.health import check_database, check_storage


@shared_task(name="teachingfile.worker_health")
def worker_health() -> dict[str, Any]:
    """The worker's own view of the database and storage (proves a worker is consuming)."""
    return {"database": check_database(), "storage": check_storage()}
