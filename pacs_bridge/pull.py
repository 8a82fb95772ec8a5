"""A pull, from the PACS to first-pass instances of the author's draft case.

1. Check our side (the listener answers a C-ECHO, for C-MOVE) and ask the PACS what the
   series hold (IMAGE-level C-FIND; series counts when a PACS answers no IMAGE level).
2. Retrieve (C-MOVE to our listener, or C-GET), recording progress from the pending
   responses on the job.
3. Claim the received files: move them from the listener's spool into the job's own
   folder of the raw store, and compare what arrived with what the PACS said it holds.
4. Hand the files to the first pass in batches (``dispatch``: Celery tasks, or inline for
   the ``pacs_pull`` command). The last batch to finish closes the job.

Original UIDs live in ``job.request`` only while the job needs them (to retrieve, and to
fetch missing instances); the job page never shows them.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cases import storage
from cases.ingest import files_ingest
from cases.models import ImportJob
from pacs_bridge.dicom import scu
from pacs_bridge.dicom.errors import PacsError
from pacs_bridge.dicom.spool import Spool
from pacs_bridge.models import PacsNode

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


def _update(job_id: int, **fields: object) -> None:
    ImportJob.objects.filter(pk=job_id).update(updated_at=timezone.now(), **fields)


def job_fail(job_id: int, message: str) -> None:
    """Mark a job failed (a finished job stays as it is) and delete its raw files:
    a retry pulls them again, and nothing with PHI is left waiting for nobody."""
    ImportJob.objects.filter(pk=job_id).exclude(
        status__in=(ImportJob.Status.DONE, ImportJob.Status.INCOMPLETE)
    ).update(
        status=ImportJob.Status.FAILED,
        message=message,
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )
    for path in job_dir(job_id).glob("*"):
        path.unlink(missing_ok=True)


class _ProgressWriter:
    """Writes C-MOVE/C-GET progress to the job, at most twice a second."""

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        self.last = 0.0

    def __call__(self, progress: scu.Progress) -> None:
        now = time.monotonic()
        if now - self.last < PROGRESS_EVERY_SECONDS:
            return
        self.last = now
        _update(
            self.job_id,
            remaining=progress.remaining or 0,
            completed=progress.completed,
            failed=progress.failed,
            warning=progress.warning,
        )


def _expected(node: scu.Node, study: str, series: list[str]) -> dict[str, set[str] | int | None]:
    """What each series should hold: its SOP Instance UIDs, else a count, else None.

    Some PACS answer no IMAGE-level C-FIND, or leave the counts out: cope with both.
    """
    counts = {m.series_instance_uid: m.number_of_instances for m in scu.find_series(node, study)}
    expected: dict[str, set[str] | int | None] = {}
    for uid in series:
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
    progress = _ProgressWriter(job.pk)
    use_get = job.pacs_node is not None and job.pacs_node.retrieve_method == "c-get"
    if not use_get:
        try:
            scu.echo(listener_node(node.calling_ae_title))
        except PacsError:
            raise ListenerDown(
                f"Our DICOM listener ({settings.DICOM_AE_TITLE} on port "
                f"{settings.DICOM_LISTEN_PORT}) is not running, so the PACS has nowhere to "
                "send the images. Start it (the run command does) and retry."
            ) from None
    calls = [(list(series), [])] if not instances else [([s], u) for s, u in instances.items()]
    total = scu.RetrieveResult(
        status=0, completed=0, failed=0, warning=0, failed_sop_instance_uids=[]
    )
    for series_uids, sop_uids in calls:
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


def _claim(job_id: int, series: Iterable[str]) -> list[Path]:
    """Move the series' received files into the job's folder (a file goes to one job)."""
    target, source, claimed = job_dir(job_id), spool(), []
    for uid in series:
        for path in source.files_for_series(uid):
            destination = target / path.name
            try:
                os.replace(path, destination)
            except FileNotFoundError:  # another job claimed it first
                continue
            claimed.append(destination)
    return sorted(set(claimed) | set(target.glob("*.dcm")))


def pull_run(job_id: int, *, dispatch: Dispatch) -> None:
    """Retrieve what the job asks for and hand it to the first pass (idempotent)."""
    with transaction.atomic():
        job = (
            ImportJob.objects.select_for_update(of=("self",))
            .select_related("pacs_node")
            .get(pk=job_id)
        )
        if job.status == ImportJob.Status.PROCESSING:
            # Re-delivered after the worker died between retrieving and handing over:
            # hand over what is still waiting (batches skip files already done).
            _dispatch_waiting(job_id, dispatch)
            return
        if job.status not in (ImportJob.Status.QUEUED, ImportJob.Status.RETRIEVING):
            return  # finished: a re-delivered task does nothing twice
        job.status = ImportJob.Status.RETRIEVING
        job.message = ""
        job.save(update_fields=["status", "message", "updated_at"])
    if job.pacs_node is None:
        job_fail(job_id, "The PACS node of this import no longer exists.")
        return
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
            expected = _expected(node, study, series)
        total = sum(len(e) if isinstance(e, set) else (e or 0) for e in expected.values())
        _update(job_id, expected=total or None, remaining=total)
        result = _retrieve(job, node, study, series, instances)
    except PacsError as exc:
        job_fail(job_id, exc.message)
        return

    files = _claim(job_id, series)
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
    message = ""
    if n_missing or short:
        message = (
            f"{n_missing or short} of {total} images did not arrive "
            f"(the PACS reported {result.failed} failed, {result.warning} with warnings)."
        )
    _update(
        job_id,
        status=ImportJob.Status.PROCESSING,
        remaining=0,
        completed=result.completed,
        failed=result.failed,
        warning=result.warning,
        received=len(files),
        message=message,
        request={"study": study, "series": series, "missing": missing},
    )
    _dispatch_waiting(job_id, dispatch)


def _dispatch_waiting(job_id: int, dispatch: Dispatch) -> None:
    """Hand the job's received files to the first pass in batches (or close the job)."""
    files = sorted(job_dir(job_id).glob("*.dcm"))
    relative = [str(p.relative_to(settings.INCOMING_ROOT)) for p in files]
    if not relative:
        job_close(job_id)
        return
    for start in range(0, len(relative), BATCH_SIZE):
        dispatch(job_id, relative[start : start + BATCH_SIZE])


def batch_run(job_id: int, relative_paths: list[str]) -> None:
    """First pass over one batch of a job's files; the last batch closes the job."""
    job = ImportJob.objects.select_related("case").get(pk=job_id)
    paths = [storage.resolve_inside(settings.INCOMING_ROOT, p) for p in relative_paths]
    files_ingest(case=job.case, paths=paths, job=job)
    job_close(job_id)


def job_close(job_id: int) -> None:
    """Close the job once no received file is left to process."""
    with transaction.atomic():
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
