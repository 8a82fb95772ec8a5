"""Writes for pulls: start an import job, retry it, fetch what went missing."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from cases.models import Case, ImportJob
from cases.services import audit_record, case_create
from pacs_bridge.dicom import scu
from pacs_bridge.dicom.errors import PacsError
from pacs_bridge.models import PacsNode
from pacs_bridge.pull import node_for


def _enqueue(job: ImportJob) -> None:
    from pacs_bridge.tasks import pull_task

    transaction.on_commit(lambda: pull_task.delay(job.pk))


@transaction.atomic
def import_start(
    *,
    author: AbstractBaseUser,
    node: PacsNode,
    study_instance_uid: str,
    series_instance_uids: list[str],
    case: Case | None = None,
    instances: dict[str, list[str]] | None = None,
    enqueue: bool = True,
) -> ImportJob:
    """Create an import job into ``case`` (a new draft if None) and queue the pull."""
    if case is None:
        case = case_create(author=author)
    request: dict[str, object] = {"study": study_instance_uid, "series": series_instance_uids}
    if instances:
        request["instances"] = instances
    job = ImportJob.objects.create(
        case=case, author=author, source=ImportJob.Source.PACS, pacs_node=node, request=request
    )
    audit_record(
        actor=author,
        action="import.start",
        case=case,
        target=f"import:{job.pk}",
        detail={"node": node.name, "series": len(series_instance_uids)},
    )
    if enqueue:
        _enqueue(job)
    return job


def _check_can_import(job: ImportJob) -> None:
    if job.pacs_node is None:
        raise ValueError("The PACS node of this import no longer exists.")
    if job.case.status != Case.Status.DRAFT:
        raise ValueError("The case is no longer a draft: start a new case to import into.")


TOO_OLD_TO_RETRY = (
    "This import ended too long ago to be retried (what it asked for is no longer kept): "
    "start a new import from the search."
)


def import_retry(*, job: ImportJob, by: AbstractBaseUser) -> ImportJob:
    """A failed job again, with the same request."""
    if job.status != ImportJob.Status.FAILED:
        raise ValueError("Only a failed import can be retried.")
    if job.source != ImportJob.Source.PACS:
        raise ValueError("Add the files again on the case page.")
    if not job.request.get("study"):
        raise ValueError(TOO_OLD_TO_RETRY)
    _check_can_import(job)
    return import_start(
        author=by,
        node=job.pacs_node,
        study_instance_uid=job.request["study"],
        series_instance_uids=job.request.get("series", []),
        case=job.case,
        instances=job.request.get("instances"),
    )


def import_fetch_missing(*, job: ImportJob, by: AbstractBaseUser) -> ImportJob:
    """A new job for exactly the instances that did not arrive."""
    missing = job.request.get("missing") or {}
    if job.status == ImportJob.Status.INCOMPLETE and not missing:
        raise ValueError(TOO_OLD_TO_RETRY)
    if job.status != ImportJob.Status.INCOMPLETE:
        raise ValueError("Nothing is missing from this import.")
    _check_can_import(job)
    return import_start(
        author=by,
        node=job.pacs_node,
        study_instance_uid=job.request["study"],
        series_instance_uids=list(missing),
        case=job.case,
        instances=missing,
    )


def node_echo(*, node: PacsNode) -> tuple[bool, str]:
    """C-ECHO the node: (ok, a sentence for the admin)."""
    try:
        seconds = scu.echo(node_for(node))
    except PacsError as exc:
        return False, exc.message
    return True, f"{node.name} answered the C-ECHO in {seconds * 1000:.0f} ms."
