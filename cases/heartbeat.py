"""Signs of life of work in progress, read by the sweeper (teachingfile/sweeper.py).

A worker running an import job calls ``job_heartbeat`` as it goes (retrieve progress,
each step of a pull, each first-pass batch; an upload, each file); publishing beats per
instance (cases/publish.py). Work whose heartbeat is older than ``STUCK_AFTER_SECONDS``
has lost its worker; work nobody started within ``QUEUED_TOO_LONG_SECONDS`` lost its
message (or no worker runs).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import OperationalError
from django.utils import timezone

from cases.models import ImportJob
from teachingfile.dbretry import is_lock_error, retry_on_lock

log = logging.getLogger(__name__)

ACTIVE_JOB_STATUSES = (
    ImportJob.Status.QUEUED,
    ImportJob.Status.RETRIEVING,
    ImportJob.Status.PROCESSING,
)


def stale_before(seconds: float, *, now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(seconds=seconds)


def is_stale(at: datetime | None, seconds: float, *, now: datetime | None = None) -> bool:
    """No sign of life for ``seconds`` (never one counts as none)."""
    return at is None or at < stale_before(seconds, now=now)


def job_heartbeat(job_id: int, *, attempt: int | None = None) -> bool:
    """Record that the job's worker is alive. False when the job is no longer this
    worker's to do: it ended (the sweeper failed it) or, with ``attempt``, another run took
    it over. A database that stays locked skips the beat (the work itself matters more)."""
    jobs = ImportJob.objects.filter(pk=job_id, status__in=ACTIVE_JOB_STATUSES)
    if attempt is not None:
        jobs = jobs.filter(attempts=attempt)
    try:
        return retry_on_lock(
            lambda: jobs.update(heartbeat_at=timezone.now()) > 0, what="a job heartbeat"
        )
    except OperationalError as exc:
        if not is_lock_error(exc):
            raise
        log.warning("import %s: heartbeat skipped, the database stayed locked", job_id)
        return True
