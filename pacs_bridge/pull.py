"""A pull, from the PACS to first-pass instances of the author's draft case.

1. Check our side (the listener answers a C-ECHO, for C-MOVE) and ask the PACS what the
   series hold (IMAGE-level C-FIND; series counts when a PACS answers no IMAGE level).
2. Retrieve (C-MOVE to our listener, or C-GET), recording progress from the pending
   responses on the job.
3. Claim the received files: move them from the listener's spool into the job's own
   folder of the raw store, and compare what arrived with what the PACS said it holds.
4. Hand the files to the first pass in batches (``dispatch``: Celery tasks, or inline for
   the ``pacs_pull`` command). The last batch to finish closes the job.

Original UIDs live in ``job.request`` only while the job needs them (to retrieve, to
fetch missing instances, to retry a failed job for ``RETRY_KEEP_SECONDS``); the job page
never shows them.

Nothing stays stuck (ADR 0007): the worker writes a heartbeat as it goes; a task delivered
again, or started again by the sweeper (teachingfile/sweeper.py), takes the job over only
when its heartbeat is stale, and the run that retrieves owns the job by its ``attempts``
number, so a run that was given up on can no longer move the job on. Short database
locks are waited out (teachingfile/dbretry.py).
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from django.conf import settings
from django.db import OperationalError
from django.utils import timezone

from cases import storage
from cases.heartbeat import ACTIVE_JOB_STATUSES, is_stale, job_heartbeat
from cases.ingest import files_ingest
from cases.models import ImportJob
from pacs_bridge.dicom import scu
from pacs_bridge.dicom.errors import AssociationRejected, PacsError
from pacs_bridge.dicom.spool import Spool
from pacs_bridge.models import PacsNode
from teachingfile.dbretry import is_lock_error, retry_on_lock

log = logging.getLogger(__name__)

BATCH_SIZE = 25
PROGRESS_EVERY_SECONDS = 0.5
SPOOL_MAX_AGE_SECONDS = 24 * 3600

Dispatch = Callable[[int, list[str]], None]


def spool() -> Spool:
    return Spool(storage.ensure_root(settings.INCOMING_ROOT) / "spool")


def job_dir(job_id: int) -> Path:
    path = storage.ensure_root(settings.INCOMING_ROOT) / "jobs" / str(job_id)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def node_for(pacs_node: PacsNode) -> scu.Node:
    return scu.Node(
        ae_title=pacs_node.ae_title,
        host=pacs_node.host,
        port=pacs_node.port,
        calling_ae_title=pacs_node.calling_ae_title,
        timeout=pacs_node.timeout_seconds,
    )


def listener_node(calling_ae_title: str) -> scu.Node:
    return scu.Node(
        ae_title=settings.DICOM_AE_TITLE,
        host=settings.DICOM_LISTEN_HOST if settings.DICOM_LISTEN_HOST != "0.0.0.0" else "127.0.0.1",
        port=settings.DICOM_LISTEN_PORT,
        calling_ae_title=calling_ae_title,
        timeout=5,
    )


class ListenerDown(PacsError):
    pass


def _update_owned(job_id: int, attempt: int, **fields: object) -> bool:
    """Write to a retrieving job only while this run (``attempt``) still owns it."""
    now = timezone.now()
    return retry_on_lock(
        lambda: (
            ImportJob.objects.filter(
                pk=job_id, status=ImportJob.Status.RETRIEVING, attempts=attempt
            ).update(updated_at=now, heartbeat_at=now, **fields)
            > 0
        ),
        what=f"import {job_id}",
    )


def retry_request(request: dict[str, object]) -> dict[str, object]:
    """What "retry" needs of a failed job's request (and nothing else)."""
    return {k: request[k] for k in ("study", "series", "instances") if k in request}


def job_files_remove(job_id: int) -> None:
    """Delete the raw files of a job that ended: nothing with PHI waits for nobody."""
    folder = storage.ensure_root(settings.INCOMING_ROOT) / "jobs" / str(job_id)
    if not folder.is_dir():
        return
    for path in folder.glob("*"):
        path.unlink(missing_ok=True)
    # Not empty: a run that was given up on still writes into it (the sweeper's next go).
    with contextlib.suppress(OSError):
        folder.rmdir()


def job_fail(job_id: int, message: str, *, attempt: int | None = None) -> bool:
    """End a job that is still running as failed with ``message`` (a sentence a person
    can act on), delete its raw files and keep of its request only what a retry needs
    (a retry pulls the files again). With ``attempt``, only while that run owns the job.
    A finished job stays as it is. True when this call failed the job."""

    def fail() -> bool:
        job = ImportJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status not in ACTIVE_JOB_STATUSES:
            return False
        if attempt is not None and job.attempts != attempt:
            return False
        job.status = ImportJob.Status.FAILED
        job.message = message
        job.request = retry_request(job.request)
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "message", "request", "finished_at", "updated_at"])
        return True

    failed = retry_on_lock(fail, what=f"import {job_id}: fail")
    if failed or not ImportJob.objects.filter(pk=job_id, status__in=ACTIVE_JOB_STATUSES).exists():
        job_files_remove(job_id)
    return failed


def stopped_reason(stage: str, runs: int) -> str:
    """Why the sweeper (or a task delivered again) ended a job whose worker kept stopping."""
    if stage == ImportJob.Status.QUEUED:
        return (
            f"No worker started this import ({runs} tries). Check that the worker is "
            "running (the run command starts one), then retry."
        )
    done = (
        "The images received so far were deleted"
        if stage == ImportJob.Status.RETRIEVING
        else "The images not yet de-identified were deleted; those already in the case stay"
    )
    doing = "retrieving" if stage == ImportJob.Status.RETRIEVING else "de-identifying"
    return (
        f"The import stopped while {doing} {runs} times: its worker stopped (killed, out of "
        f"memory or restarted). {done}. Retry it; if it stops again, ask an admin to look "
        "at the worker's log."
    )


class _ProgressWriter:
    """Writes C-MOVE/C-GET progress (and so the heartbeat) to the job, at most twice a
    second, while this run owns the job. A locked database skips a write: progress is
    never worth holding up the association."""

    def __init__(self, job_id: int, attempt: int) -> None:
        self.job_id = job_id
        self.attempt = attempt
        self.last = 0.0

    def __call__(self, progress: scu.Progress) -> None:
        now = time.monotonic()
        if now - self.last < PROGRESS_EVERY_SECONDS:
            return
        self.last = now
        try:
            ImportJob.objects.filter(
                pk=self.job_id, status=ImportJob.Status.RETRIEVING, attempts=self.attempt
            ).update(
                remaining=progress.remaining or 0,
                completed=progress.completed,
                failed=progress.failed,
                warning=progress.warning,
                heartbeat_at=timezone.now(),
                updated_at=timezone.now(),
            )
        except OperationalError as exc:
            if not is_lock_error(exc):
                raise
            log.warning("import %s: progress not written, the database is locked", self.job_id)


def _expected(
    node: scu.Node, study: str, series: list[str], beat: Callable[[], object]
) -> dict[str, set[str] | int | None]:
    """What each series should hold: its SOP Instance UIDs, else a count, else None.

    Some PACS answer no IMAGE-level C-FIND, or leave the counts out: cope with both.
    """
    counts = {m.series_instance_uid: m.number_of_instances for m in scu.find_series(node, study)}
    expected: dict[str, set[str] | int | None] = {}
    for uid in series:
        beat()
        try:
            instances = scu.find_instances(node, study, uid)
        except PacsError:
            instances = []
        expected[uid] = set(instances) if instances else counts.get(uid)
    return expected


def _retrieve(
    job: ImportJob, node: scu.Node, study: str, series: list[str], instances: dict[str, list[str]]
) -> scu.RetrieveResult:
    """One C-MOVE/C-GET for the series, or one per series for single instances."""
    progress = _ProgressWriter(job.pk, job.attempts)
    use_get = job.pacs_node is not None and job.pacs_node.retrieve_method == "c-get"
    if not use_get:
        try:
            scu.echo(listener_node(node.calling_ae_title))
        except AssociationRejected:
            pass  # it runs, and is busy with other peers: the PACS gets its own place
        except PacsError as exc:
            raise ListenerDown(
                f"Our DICOM listener ({settings.DICOM_AE_TITLE} on port "
                f"{settings.DICOM_LISTEN_PORT}) is not running or did not answer a C-ECHO "
                f"({exc.message}), so the PACS has nowhere to send the images. Start it (the "
                "run command does) and retry."
            ) from None
    calls = [(list(series), [])] if not instances else [([s], u) for s, u in instances.items()]
    total = scu.RetrieveResult(
        status=0, completed=0, failed=0, warning=0, failed_sop_instance_uids=[]
    )
    for series_uids, sop_uids in calls:
        job_heartbeat(job.pk, attempt=job.attempts)
        if use_get:
            result = scu.get(node, spool=spool(), study_instance_uid=study,
                             series_instance_uids=series_uids, sop_instance_uids=sop_uids,
                             on_progress=progress)  # fmt: skip
        else:
            result = scu.move(node, destination_ae=settings.DICOM_AE_TITLE,
                              study_instance_uid=study, series_instance_uids=series_uids,
                              sop_instance_uids=sop_uids, on_progress=progress)  # fmt: skip
        total.status = result.status if result.status else total.status
        total.completed += result.completed
        total.failed += result.failed
        total.warning += result.warning
        total.failed_sop_instance_uids += result.failed_sop_instance_uids
    return total


def _claim(
    job_id: int, series: Iterable[str], expected: dict[str, set[str] | int | None] | None = None
) -> tuple[list[Path], int]:
    """Move the series' received files into the job's folder (a file goes to one job).

    Where the PACS named the series' instances (``expected``), a file of any other
    instance is not this job's: it is deleted, never imported, and counted. Returns the
    job's files and how many were discarded."""
    target, source, claimed, discarded = job_dir(job_id), spool(), [], 0
    for uid in series:
        wanted = (expected or {}).get(uid)
        keys = {Spool.instance_key(sop) for sop in wanted} if isinstance(wanted, set) else None
        for path in source.files_for_series(uid):
            if keys is not None and path.stem not in keys:
                path.unlink(missing_ok=True)
                discarded += 1
                continue
            destination = target / path.name
            try:
                os.replace(path, destination)
            except FileNotFoundError:  # another job claimed it first
                continue
            claimed.append(destination)
    return sorted(set(claimed) | set(target.glob("*.dcm"))), discarded


def _job_claim(job_id: int) -> tuple[str, ImportJob]:
    """Take the job for this run: ("run", job) with the job RETRIEVING (or PROCESSING: hand
    over what waits), ("skip", job) when there is nothing for this run to do (the job
    ended, or another worker is on it: its heartbeat is fresh, and if that worker dies the
    sweeper starts the job again), ("exhausted", job) when its workers stopped too often."""
    job = (
        ImportJob.objects.select_for_update(of=("self",)).select_related("pacs_node").get(pk=job_id)
    )
    if job.status not in ACTIVE_JOB_STATUSES:
        return "skip", job  # finished: a re-delivered task does nothing twice
    if job.status == ImportJob.Status.QUEUED:
        job.status = ImportJob.Status.RETRIEVING
        job.message = ""
    else:
        if not is_stale(job.heartbeat_at or job.updated_at, settings.STUCK_AFTER_SECONDS):
            return "skip", job
        # Delivered again after its worker died: this run takes the job over.
        if job.attempts >= settings.STUCK_MAX_ATTEMPTS:
            return "exhausted", job
        job.attempts += 1
    job.heartbeat_at = timezone.now()
    job.save(update_fields=["status", "message", "attempts", "heartbeat_at", "updated_at"])
    return "run", job


def pull_run(job_id: int, *, dispatch: Dispatch) -> None:
    """Retrieve what the job asks for and hand it to the first pass (idempotent: a task
    delivered again, or started again by the sweeper, picks up where the job stands)."""
    verdict, job = retry_on_lock(lambda: _job_claim(job_id), what=f"import {job_id}: start")
    if verdict == "exhausted":
        job_fail(job_id, stopped_reason(job.status, job.attempts + 1))
        return
    if verdict == "skip":
        return
    if job.status == ImportJob.Status.PROCESSING:
        # Re-delivered after the worker died between retrieving and handing over:
        # hand over what is still waiting (batches skip files already done).
        dispatch_waiting(job_id, dispatch)
        return
    try:
        handed_over = _pull_retrieve(job)
    except Exception as exc:
        # The exception's text may quote file contents: name its type only.
        message = f"The import stopped on an unexpected error ({type(exc).__name__}); retry it."
        try:
            job_fail(job_id, message, attempt=job.attempts)
        except OperationalError:  # the database stayed locked: the sweeper ends the job
            log.exception("import %s: could not record its failure", job_id)
        raise
    if handed_over:
        # A failure from here on leaves the job PROCESSING with its files in place: a task
        # delivered again or the sweeper hands them over.
        dispatch_waiting(job_id, dispatch)


def _pull_retrieve(job: ImportJob) -> bool:
    """Steps 1-3 for a job this run owns; True once it is PROCESSING with its files."""
    job_id, attempt = job.pk, job.attempts
    if job.pacs_node is None:
        job_fail(job_id, "The PACS node of this import no longer exists.", attempt=attempt)
        return False
    spool().discard_older_than(SPOOL_MAX_AGE_SECONDS)  # unsolicited or unclaimed files
    node = node_for(job.pacs_node)
    request = job.request
    study, series = request["study"], list(request.get("series", []))
    instances: dict[str, list[str]] = request.get("instances", {})
    try:
        if instances:
            series = list(instances)
            expected: dict[str, set[str] | int | None] = {s: set(u) for s, u in instances.items()}
        else:
            if not series:
                series = [m.series_instance_uid for m in scu.find_series(node, study)]
            expected = _expected(
                node, study, series, lambda: job_heartbeat(job_id, attempt=attempt)
            )
        total = sum(len(e) if isinstance(e, set) else (e or 0) for e in expected.values())
        if not _update_owned(job_id, attempt, expected=total or None, remaining=total):
            _given_up(job_id, series)
            return False
        result = _retrieve(job, node, study, series, instances)
    except PacsError as exc:
        job_fail(job_id, exc.message, attempt=attempt)
        return False
    if not job_heartbeat(job_id, attempt=attempt):
        _given_up(job_id, series)
        return False

    files, discarded = _claim(job_id, series, expected)
    names = {p.stem for p in files}
    missing = {
        uid: sorted(u for u in wanted if Spool.instance_key(u) not in names)
        for uid, wanted in expected.items()
        if isinstance(wanted, set)
    }
    missing = {uid: sops for uid, sops in missing.items() if sops}
    n_missing = sum(len(v) for v in missing.values())
    counted = sum(e for e in expected.values() if isinstance(e, int))
    short = max(0, counted - len(files)) if counted and not missing else 0
    surplus = max(0, len(files) - total) if total else 0
    notes = []
    if n_missing or short:
        notes.append(
            f"{n_missing or short} of {total} images did not arrive "
            f"(the PACS reported {result.failed} failed, {result.warning} with warnings)."
        )
    if discarded:
        notes.append(f"{discarded} image(s) the PACS did not list for this import were discarded.")
    if surplus:
        notes.append(f"{surplus} more image(s) arrived than the PACS announced.")
    message = " ".join(notes)
    moved = _update_owned(
        job_id,
        attempt,
        status=ImportJob.Status.PROCESSING,
        remaining=0,
        completed=result.completed,
        failed=result.failed,
        warning=result.warning,
        received=len(files),
        message=message,
        request={"study": study, "series": series, "missing": missing},
    )
    if not moved:
        _given_up(job_id, series)
    return moved


def _given_up(job_id: int, series: Iterable[str]) -> None:
    """This run no longer owns the job. If the job ended (the sweeper failed it), the
    files it received are this run's to delete; if another run took it over, they are
    left for that run to claim."""
    if ImportJob.objects.filter(pk=job_id, status__in=ACTIVE_JOB_STATUSES).exists():
        return
    _claim(job_id, series)
    job_files_remove(job_id)


def dispatch_waiting(job_id: int, dispatch: Dispatch) -> None:
    """Hand the job's received files to the first pass in batches (or close the job)."""
    files = sorted(job_dir(job_id).glob("*.dcm"))
    relative = [str(p.relative_to(settings.INCOMING_ROOT)) for p in files]
    if not relative:
        job_close(job_id)
        return
    job_heartbeat(job_id)
    for start in range(0, len(relative), BATCH_SIZE):
        dispatch(job_id, relative[start : start + BATCH_SIZE])


def batch_run(job_id: int, relative_paths: list[str]) -> None:
    """First pass over one batch of a job's files; the last batch closes the job."""
    job = ImportJob.objects.select_related("case").get(pk=job_id)
    if job.status != ImportJob.Status.PROCESSING:
        return  # the job ended (its raw files went with it) or was never handed over
    job_heartbeat(job_id)
    paths = [storage.resolve_inside(settings.INCOMING_ROOT, p) for p in relative_paths]
    files_ingest(case=job.case, paths=paths, job=job, beat=lambda: job_heartbeat(job_id))
    job_heartbeat(job_id)
    job_close(job_id)


def job_close(job_id: int) -> None:
    """Close the job once no received file is left to process."""

    def close() -> None:
        job = ImportJob.objects.select_for_update().get(pk=job_id)
        if job.status != ImportJob.Status.PROCESSING:
            return
        if any(job_dir(job_id).glob("*.dcm")):
            return
        missing = job.request.get("missing", {})
        job.status = ImportJob.Status.INCOMPLETE if missing else ImportJob.Status.DONE
        # The original UIDs are kept only while missing instances may still be fetched.
        job.request = {"study": job.request["study"], "missing": missing} if missing else {}
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "request", "finished_at", "updated_at"])

    retry_on_lock(close, what=f"import {job_id}: close")
