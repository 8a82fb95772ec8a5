"""The sweeper: work whose worker died or whose message was lost comes to an end.

Runs every ``SWEEP_EVERY_SECONDS`` from Celery beat (task ``teachingfile.sweep_stuck_work``)
and on demand as ``manage.py sweep_stuck_work`` (cron, operators). It reads only the
database and the storage folders, so it works the same with the embedded filesystem
broker, which forgets a message once a worker took it (``acks_late`` brings nothing back
after a kill), and with Redis. Each action re-reads the row locked and acts only if the
work is still as stale as it was seen, so two sweeps at once, or a sweep racing a worker
that came back, do no harm. ADR 0007 has the reasoning.

Import jobs (``cases.ImportJob``), PACS pulls:

- QUEUED for ``QUEUED_TOO_LONG_SECONDS`` (the message was lost, or no worker runs): queued
  again.
- RETRIEVING with no heartbeat for ``STUCK_AFTER_SECONDS`` (its worker died): queued again;
  the next run retrieves again (files already received are claimed with the rest).
- PROCESSING with no heartbeat (its batches were lost, or its worker died in one): the
  files still waiting are handed to the first pass again; with none left it is closed.

Uploads: a stale upload job (QUEUED or PROCESSING) is queued again; its task skips the
files an earlier run finished (cases/uploads.py).

Each time counts as an attempt; past ``STUCK_MAX_ATTEMPTS`` the job fails with a reason a
person can act on, its raw files are deleted and its request keeps only what "retry"
needs.

Publishes: a PUBLISHING case whose run stopped (no heartbeat for ``STUCK_AFTER_SECONDS``)
or never started (``QUEUED_TOO_LONG_SECONDS`` after the request) goes back to draft with
the reason and the attempt's files are deleted; the author publishes again.

Left-overs: raw files of jobs that ended; published files no published case uses (a
draft's folders, other attempts' folders of a published case, staging folders); the
original UIDs that failed or incomplete jobs keep for "retry", after
``RETRY_KEEP_SECONDS``.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from cases.heartbeat import ACTIVE_JOB_STATUSES, stale_before
from cases.models import Case, ImportJob, Instance
from cases.publish import case_publish_stop, publish_attempt_clean
from cases.services import audit_record
from cases.uploads import partials_clear
from pacs_bridge import pull
from pacs_bridge.search_tokens import search_tokens_purge_expired
from teachingfile.dbretry import retry_on_lock

log = logging.getLogger(__name__)

EnqueuePull = Callable[[int], None]

PUBLISH_STOPPED = (
    "Publishing stopped because its worker stopped (killed, out of memory or restarted); "
    "nothing was published. Publish again."
)
PUBLISH_NOT_STARTED = (
    "Publishing did not start: no worker took it. Check that the worker is running (the "
    "run command starts one), then publish again."
)


def upload_stopped(runs: int, *, started: bool = True) -> str:
    if not started:
        return (
            f"No worker started this upload ({runs} tries); its files were deleted. Check "
            "that the worker is running, then add them again on the case page."
        )
    return (
        f"The upload stopped {runs} times: its worker stopped (killed, out of memory or "
        "restarted) before every file was processed. The files not yet processed were "
        "deleted; those already in the case stay. Add them again on the case page."
    )


@dataclass
class SweepReport:
    requeued: list[int] = field(default_factory=list)
    redispatched: list[int] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    publishes_stopped: list[int] = field(default_factory=list)
    folders_removed: int = 0
    requests_cleared: int = 0
    errors: int = 0

    def summary(self) -> str:
        parts = [
            f"{len(self.requeued)} import(s) queued again",
            f"{len(self.redispatched)} handed to the first pass again",
            f"{len(self.closed)} closed",
            f"{len(self.failed)} failed",
            f"{len(self.publishes_stopped)} publish(es) stopped",
            f"{self.folders_removed} left-over folder(s) removed",
            f"{self.requests_cleared} old retry request(s) cleared",
        ]
        if self.errors:
            parts.append(f"{self.errors} error(s), see the log")
        return "; ".join(parts) + "."

    @property
    def acted(self) -> bool:
        return any(
            (self.requeued, self.redispatched, self.closed, self.failed,
             self.publishes_stopped, self.folders_removed, self.requests_cleared, self.errors)
        )  # fmt: skip


def _enqueue_pull(job_id: int) -> None:
    from pacs_bridge.tasks import pull_task

    pull_task.delay(job_id)


def _enqueue_upload(job_id: int) -> None:
    from cases.tasks import upload_task

    upload_task.delay(job_id)


def _enqueue_batch(job_id: int, relative_paths: list[str]) -> None:
    from pacs_bridge.tasks import first_pass_batch

    first_pass_batch.delay(job_id, relative_paths)


def sweep(
    *,
    now: datetime | None = None,
    enqueue_pull: EnqueuePull | None = None,
    enqueue_upload: EnqueuePull | None = None,
    dispatch: pull.Dispatch | None = None,
) -> SweepReport:
    """One pass over every kind of stuck work (see the module's docstring). The enqueue
    functions default to the Celery tasks."""
    now = now or timezone.now()
    report = SweepReport()
    queues = _Queues(
        pull=enqueue_pull or _enqueue_pull,
        upload=enqueue_upload or _enqueue_upload,
        batch=dispatch or _enqueue_batch,
    )
    for job_id in _stale_jobs(now):
        _guard(report, f"import {job_id}", lambda j=job_id: _sweep_job(j, now, report, queues))
    for case_id, attempt in _stale_publishes(now):
        _guard(report, f"case {case_id}", lambda c=case_id, a=attempt: _sweep_publish(
            c, a, now, report
        ))  # fmt: skip
    _guard(report, "raw left-overs", lambda: _sweep_raw_leftovers(now, report))
    _guard(report, "published left-overs", lambda: _sweep_published_leftovers(report))
    _guard(report, "old requests", lambda: _sweep_old_requests(now, report))
    _guard(report, "expired search tokens", search_tokens_purge_expired)
    _guard(report, "half-received uploads", partials_clear)
    if report.acted:
        log.info("sweeper: %s", report.summary())
    return report


def _guard(report: SweepReport, what: str, fn: Callable[[], Any]) -> None:
    """One item's failure (a database that stays locked) never stops the sweep."""
    try:
        fn()
    except Exception:
        report.errors += 1
        log.exception("sweeper: %s could not be handled; the next sweep tries again", what)


# --- import jobs ---------------------------------------------------------------------------


def _job_is_stale(job: ImportJob, now: datetime) -> bool:
    last = job.heartbeat_at or job.updated_at
    if job.status == ImportJob.Status.QUEUED:
        return last < stale_before(settings.QUEUED_TOO_LONG_SECONDS, now=now)
    if job.status in (ImportJob.Status.RETRIEVING, ImportJob.Status.PROCESSING):
        return last < stale_before(settings.STUCK_AFTER_SECONDS, now=now)
    return False


def _stale_jobs(now: datetime) -> list[int]:
    last = Coalesce("heartbeat_at", "updated_at")
    queued = Q(status=ImportJob.Status.QUEUED, last__lt=stale_before(
        settings.QUEUED_TOO_LONG_SECONDS, now=now
    ))  # fmt: skip
    running = Q(
        status__in=(ImportJob.Status.RETRIEVING, ImportJob.Status.PROCESSING),
        last__lt=stale_before(settings.STUCK_AFTER_SECONDS, now=now),
    )
    stale = ImportJob.objects.annotate(last=last).filter(queued | running)
    return list(stale.order_by("pk").values_list("pk", flat=True))


def _waiting_files(job_id: int) -> bool:
    return any(pull.job_dir(job_id).glob("*.dcm"))


@dataclass
class _Queues:
    pull: EnqueuePull
    upload: EnqueuePull
    batch: pull.Dispatch


def _sweep_job(job_id: int, now: datetime, report: SweepReport, queues: _Queues) -> None:
    def decide() -> str:
        job = (
            ImportJob.objects.select_for_update(of=("self",))
            .select_related("case")
            .filter(pk=job_id)
            .first()
        )
        if job is None or not _job_is_stale(job, now):
            return "skip"  # ended, or its worker came back
        # Compare-and-set on what was seen, for databases without row locks (SQLite).
        seen = ImportJob.objects.filter(
            pk=job.pk, status=job.status, attempts=job.attempts,
            heartbeat_at=job.heartbeat_at, updated_at=job.updated_at,
        )  # fmt: skip
        runs = job.attempts + 1
        upload = job.source == ImportJob.Source.UPLOAD
        pacs_processing = not upload and job.status == ImportJob.Status.PROCESSING
        if job.attempts >= settings.STUCK_MAX_ATTEMPTS:
            reason = (
                upload_stopped(runs, started=job.status != ImportJob.Status.QUEUED)
                if upload
                else pull.stopped_reason(job.status, runs)
            )
            action = "fail"
        elif pacs_processing and not _waiting_files(job.pk):
            return "close"
        else:
            action, reason = "again", ""
        if action == "fail":
            changed = seen.update(
                status=ImportJob.Status.FAILED,
                message=reason,
                request=pull.retry_request(job.request),
                finished_at=now,
                updated_at=now,
            )
        elif pacs_processing:
            changed = seen.update(attempts=F("attempts") + 1, heartbeat_at=now, updated_at=now)
            action = "redispatch"
        else:
            changed = seen.update(
                status=ImportJob.Status.QUEUED,
                attempts=F("attempts") + 1,
                heartbeat_at=now,
                updated_at=now,
                message=f"Its worker stopped or never started it: queued again "
                f"(attempt {runs + 1} of {settings.STUCK_MAX_ATTEMPTS + 1}).",
            )
            action = "requeue-upload" if upload else "requeue"
        if not changed:
            return "skip"
        audit_record(
            actor=None,
            action="import.stopped" if action == "fail" else f"import.{action.split('-')[0]}",
            case=job.case,
            target=f"import:{job.pk}",
            detail={"was": job.status, "attempts": job.attempts},
        )
        return action

    action = retry_on_lock(decide, what=f"sweeper: import {job_id}")
    if action == "fail":
        _job_raw_remove(job_id)
        report.failed.append(job_id)
    elif action in ("requeue", "requeue-upload"):
        (queues.upload if action == "requeue-upload" else queues.pull)(job_id)
        report.requeued.append(job_id)
    elif action == "redispatch":
        pull.dispatch_waiting(job_id, queues.batch)
        report.redispatched.append(job_id)
    elif action == "close":
        pull.job_close(job_id)
        report.closed.append(job_id)


def _raw_dirs(job_id: int) -> list[Path]:
    root = Path(settings.INCOMING_ROOT)
    return [root / "jobs" / str(job_id), root / "uploads" / str(job_id)]


def _job_raw_remove(job_id: int) -> bool:
    removed = False
    for folder in _raw_dirs(job_id):
        if folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)
            removed = True
    return removed


def _sweep_raw_leftovers(now: datetime, report: SweepReport) -> None:
    """Raw files of jobs that ended (a run given up on may have written after the end)."""
    root = Path(settings.INCOMING_ROOT)
    found: dict[int, list[Path]] = {}
    for kind in ("jobs", "uploads"):
        if (root / kind).is_dir():
            for folder in (root / kind).iterdir():
                if folder.is_dir() and folder.name.isdigit():
                    found.setdefault(int(folder.name), []).append(folder)
    if not found:
        return
    active = set(
        ImportJob.objects.filter(pk__in=found, status__in=ACTIVE_JOB_STATUSES).values_list(
            "pk", flat=True
        )
    )
    known = set(ImportJob.objects.filter(pk__in=found).values_list("pk", flat=True))
    old = stale_before(settings.STUCK_AFTER_SECONDS, now=now).timestamp()
    for job_id, folders in found.items():
        if job_id in active:
            continue
        for folder in folders:
            # A folder without a job row yet may belong to a job being created.
            if job_id in known or folder.stat().st_mtime < old:
                shutil.rmtree(folder, ignore_errors=True)
                report.folders_removed += 1


def _sweep_old_requests(now: datetime, report: SweepReport) -> None:
    """Failed or incomplete jobs keep their original UIDs for "retry" only so long."""
    cutoff = stale_before(settings.RETRY_KEEP_SECONDS, now=now)
    old = ImportJob.objects.filter(
        status__in=(ImportJob.Status.FAILED, ImportJob.Status.INCOMPLETE),
        finished_at__lt=cutoff,
    ).exclude(request={})
    report.requests_cleared += retry_on_lock(
        lambda: old.update(request={}), what="sweeper: old requests"
    )


# --- publishes -------------------------------------------------------------------------


def _publish_is_stale(case: Case, now: datetime) -> bool:
    if case.status != Case.Status.PUBLISHING:
        return False
    if case.publish_heartbeat_at is not None:
        return case.publish_heartbeat_at < stale_before(settings.STUCK_AFTER_SECONDS, now=now)
    requested = case.publish_requested_at or case.updated_at
    return requested < stale_before(settings.QUEUED_TOO_LONG_SECONDS, now=now)


def _stale_publishes(now: datetime) -> list[tuple[int, str]]:
    stopped = Q(publish_heartbeat_at__lt=stale_before(settings.STUCK_AFTER_SECONDS, now=now))
    never = Q(
        publish_heartbeat_at__isnull=True,
        requested__lt=stale_before(settings.QUEUED_TOO_LONG_SECONDS, now=now),
    )
    stale = (
        Case.objects.filter(status=Case.Status.PUBLISHING)
        .annotate(requested=Coalesce("publish_requested_at", "updated_at"))
        .filter(stopped | never)
        .order_by("pk")
    )
    return list(stale.values_list("pk", "publish_attempt"))


def _sweep_publish(case_id: int, attempt: str, now: datetime, report: SweepReport) -> None:
    started = Case.objects.filter(pk=case_id, publish_heartbeat_at__isnull=False).exists()
    stopped = case_publish_stop(
        case_id=case_id,
        attempt=attempt,
        reason=PUBLISH_STOPPED if started else PUBLISH_NOT_STARTED,
        only_if=lambda case: (
            _publish_is_stale(case, now) and (case.publish_heartbeat_at is not None) == started
        ),
    )
    if stopped:
        publish_attempt_clean(case_id=case_id, attempt=attempt)
        report.publishes_stopped.append(case_id)


def _sweep_published_leftovers(report: SweepReport) -> None:
    """Published files that no published case uses: a draft was never published (a case
    never goes back to draft once published), so its folders are left-overs of attempts
    that failed; a published case keeps the attempt folder its instances point at; a
    publishing case keeps its current attempt's."""
    root = Path(settings.PUBLISHED_ROOT)
    if not root.is_dir():
        return
    staging = root / ".staging"
    folders: dict[int, list[Path]] = {}
    for parent in (root, staging):
        if parent.is_dir():
            for folder in parent.iterdir():
                if folder.is_dir() and folder.name.isdigit():
                    folders.setdefault(int(folder.name), []).append(folder)
    if not folders:
        return
    statuses = dict(Case.objects.filter(pk__in=folders).values_list("pk", "status"))
    for case_id, case_folders in folders.items():
        status = statuses.get(case_id)
        if status is None:
            continue  # not ours to judge
        subfolders = [f for folder in case_folders for f in folder.iterdir() if f.is_dir()]
        if status != Case.Status.DRAFT and len(subfolders) <= 1:
            continue  # the usual published (or publishing) case: its one attempt
        report.folders_removed += retry_on_lock(
            lambda c=case_id, f=case_folders: _published_leftovers_remove(c, f),
            what=f"sweeper: case {case_id} files",
        )


def _published_leftovers_remove(case_id: int, folders: list[Path]) -> int:
    """With the case locked (a publish request waits), remove what it does not use."""
    case = Case.objects.select_for_update().filter(pk=case_id).first()
    if case is None:
        return 0
    removed = 0
    if case.status == Case.Status.DRAFT:
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
        return removed
    keep: set[str] = set()
    if case.status == Case.Status.PUBLISHING:
        keep.add(case.publish_attempt)
    else:  # published or withdrawn: the folders its instances point at
        for name in Instance.objects.filter(series__case=case).values_list(
            "published_file", flat=True
        ):
            parts = Path(name).parts
            if len(parts) == 3:  # <case>/<attempt>/<file>; older cases: <case>/<file>
                keep.add(parts[1])
    for folder in folders:
        for attempt in folder.iterdir():
            if attempt.is_dir() and attempt.name not in keep:
                shutil.rmtree(attempt, ignore_errors=True)
                removed += 1
    return removed


@shared_task(name="teachingfile.sweep_stuck_work", ignore_result=True)
def sweep_stuck_work_task() -> str:
    return sweep().summary()
