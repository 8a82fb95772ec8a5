"""Publishing a case: the review gate, then the second pass over every instance, then an
all-or-nothing switch to PUBLISHED.

The second pass (anonymizer.pipeline.second_pass) burns each instance's boxes and its
series' crop into the pixels, strips the header to the allowlist and runs the verifier;
only verified files are written. The case becomes PUBLISHED in one transaction only when
every instance passed; otherwise the files written in this attempt are deleted, the
failing instances go to quarantine with the verifier's reasons, and the case stays a
draft with the reason on its page.

Each request is one attempt, named by a token on the case (``publish_attempt``), run at
most once: its run claims it, beats a heartbeat per instance, writes under
``PUBLISHED_ROOT/<case>/<token>/``, and moves the case on only while the case is still
PUBLISHING under that token (checked with the case locked at every transition). A run
that dies is ended by the sweeper (``case_publish_stop``, teachingfile/sweeper.py): its
files are deleted and the case goes back to draft with the reason (ADR 0007).
"""

from __future__ import annotations

import logging
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import OperationalError, transaction
from django.utils import timezone

from anonymizer.pipeline import Status, second_pass
from anonymizer.pixels import Blackout, Edits, edits_from_json
from anonymizer.profile import SECOND_PASS
from anonymizer.profile.allowlist import SECOND_PASS_ALLOWLIST_KEYWORDS
from anonymizer.verify import Fingerprint
from cases import freetext, review, storage
from cases.ingest import deid_keys, quarantine_file, quarantine_store
from cases.models import Case, Instance, QuarantineItem
from cases.services import audit_record
from teachingfile.dbretry import retry_on_lock

log = logging.getLogger(__name__)

# What the author confirms before publishing (from the source documents).
CHECKLIST = {
    "burned_in_text_checked": "Every image was checked for burned-in text.",
    "not_identifying_on_its_own": (
        "The case is not so rare or so newsworthy that it identifies the patient on its own."
    ),
    "face_reconstruction_considered": (
        "Head CT/MR volumes thin enough to reconstruct a face have been considered."
    ),
}


class PublishBlocked(Exception):
    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


def publish_blockers(*, case: Case, checklist: dict[str, bool]) -> list[str]:
    """Why the case cannot be published yet, in plain words (empty: it can)."""
    reasons = []
    if case.status != Case.Status.DRAFT:
        reasons.append(f"The case is {case.get_status_display().lower()}, not a draft.")
    if not case.title.strip():
        reasons.append("Give the case a title.")
    instances = Instance.objects.filter(series__case=case)
    if not instances.exists():
        reasons.append("The case has no images.")
    unreviewed = len(review.images_to_review(case=case))
    if unreviewed:
        reasons.append(
            f"{unreviewed} image(s) still need review: accept or reject every proposed box, "
            "then confirm the image (or the whole series) in the editor."
        )
    reasons += freetext.free_text_blockers(case=case)
    missing = [text for key, text in CHECKLIST.items() if not checklist.get(key)]
    reasons += [f"Confirm: {text}" for text in missing]
    return reasons


@transaction.atomic
def case_publish_request(
    *, case: Case, by: AbstractBaseUser, checklist: dict[str, bool], enqueue: bool = True
) -> Case:
    """Check the gate, record the checklist, and queue the second pass."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    reasons = publish_blockers(case=case, checklist=checklist)
    if reasons:
        raise PublishBlocked(reasons)
    case.status = Case.Status.PUBLISHING
    case.publish_error = ""
    case.publish_checklist = {**checklist, "confirmed_at": timezone.now().isoformat()}
    case.publish_attempt = secrets.token_hex(8)
    case.publish_requested_at = timezone.now()
    case.publish_heartbeat_at = None  # no worker has started it yet
    case.save(
        update_fields=[
            "status", "publish_error", "publish_checklist", "publish_attempt",
            "publish_requested_at", "publish_heartbeat_at", "updated_at",
        ]
    )  # fmt: skip
    audit_record(actor=by, action="case.publish.request", case=case)
    if enqueue:
        from cases.tasks import publish_task

        transaction.on_commit(lambda: publish_task.delay(case.pk))
    return case


def edits_for(instance: Instance) -> Edits:
    return edits_from_json(
        {"regions": instance.blackouts or [], "crop": instance.series.crop or None}
    )


def safe_regions_for(instance: Instance) -> tuple[Blackout, ...]:
    """The areas the author marked safe, for the residual text gate to ignore."""
    return edits_from_json({"regions": instance.safe_regions or [], "crop": None}).blackouts


#: Series up to this many images have every image read by the residual text gate; longer
#: ones (CT and MR stacks, where text sits on a few images if any) a sample of this many.
RESIDUAL_GATE_SAMPLE = 64


def residual_gate_sample(instances: list[Instance]) -> set[int]:
    """The images whose pixels the residual text gate reads: every image of a short series;
    of a long one, the first, the last and evenly spaced ones between, plus every image
    that was flagged, proposed on, boxed, marked safe or stopped by an earlier final check
    (to bound the cost of publishing a stack)."""
    by_series: dict[int, list[Instance]] = {}
    for instance in instances:
        by_series.setdefault(instance.series_id, []).append(instance)
    chosen: set[int] = set()
    for members in by_series.values():
        if len(members) <= RESIDUAL_GATE_SAMPLE:
            chosen.update(i.pk for i in members)
            continue
        step = (len(members) - 1) / (RESIDUAL_GATE_SAMPLE - 1)
        chosen.update(members[round(k * step)].pk for k in range(RESIDUAL_GATE_SAMPLE))
        chosen.update(
            i.pk
            for i in members
            if i.review_reasons
            or i.proposed_regions
            or i.blackouts
            or i.safe_regions
            or i.gate_regions
        )
    return chosen


@dataclass
class _Done:
    instance: Instance
    path: Path


class _Superseded(Exception):
    """This attempt no longer owns the case: the sweeper ended it (or it was published)."""


def publish_attempt_dirs(case_id: int, attempt: str) -> tuple[Path, Path]:
    """Where an attempt writes: its published files, and its staging folder (same file
    system, so a verified file is renamed into place; never referenced by the database)."""
    root = storage.ensure_root(settings.PUBLISHED_ROOT)
    return root / str(case_id) / attempt, root / ".staging" / str(case_id) / attempt


def publish_attempt_clean(*, case_id: int, attempt: str) -> None:
    """Delete everything an attempt wrote (it did not publish the case)."""
    for folder in publish_attempt_dirs(case_id, attempt):
        shutil.rmtree(folder, ignore_errors=True)


def _owned(case_id: int, attempt: str) -> Case | None:
    """The case, locked, if it is still PUBLISHING under this attempt (inside a transaction)."""
    return (
        Case.objects.select_for_update()
        .filter(pk=case_id, status=Case.Status.PUBLISHING, publish_attempt=attempt)
        .first()
    )


def _publish_claim(case_id: int) -> Case | None:
    """Start the run of the current request: once only, only while PUBLISHING."""
    case = Case.objects.select_for_update().get(pk=case_id)
    if case.status != Case.Status.PUBLISHING or case.publish_heartbeat_at is not None:
        return None  # published already, back to draft, or a run already started
    case.publish_attempt = case.publish_attempt or secrets.token_hex(8)
    case.publish_heartbeat_at = timezone.now()
    case.save(update_fields=["publish_attempt", "publish_heartbeat_at"])
    return case


def _publish_beat(case_id: int, attempt: str) -> None:
    """The worker is alive and still owns the attempt; else stop (``_Superseded``)."""
    beat = Case.objects.filter(pk=case_id, status=Case.Status.PUBLISHING, publish_attempt=attempt)
    if not retry_on_lock(lambda: beat.update(publish_heartbeat_at=timezone.now()) > 0):
        raise _Superseded


def case_publish_run(case_id: int) -> Case:
    """The second pass over every instance of a PUBLISHING case (idempotent: a task
    delivered again for a case already published, or whose run already started, does
    nothing; a run that died is the sweeper's to end)."""
    case = retry_on_lock(lambda: _publish_claim(case_id), what=f"case {case_id}: start publishing")
    if case is None:
        return Case.objects.get(pk=case_id)
    attempt = case.publish_attempt
    try:
        return _publish_attempt(case, attempt)
    except _Superseded:
        publish_attempt_clean(case_id=case_id, attempt=attempt)
        return Case.objects.get(pk=case_id)
    except Exception as exc:
        publish_attempt_clean(case_id=case_id, attempt=attempt)
        # The exception's text may quote file contents: name its type only.
        reason = f"Publishing stopped on an unexpected error ({type(exc).__name__}); publish again."
        try:
            case_publish_stop(case_id=case_id, attempt=attempt, reason=reason)
        except OperationalError:  # the database stayed locked: the sweeper ends it
            log.exception("case %s: could not record that publishing stopped", case_id)
        raise


def _publish_attempt(case: Case, attempt: str) -> Case:
    unreviewed = review.images_to_review(case=case)
    if unreviewed:  # an edit landed after the request: back to the author
        case_publish_stop(
            case_id=case.pk,
            attempt=attempt,
            reason=f"{len(unreviewed)} image(s) changed after publishing was requested "
            "and need review again; nothing was published.",
        )
        case.refresh_from_db()
        return case
    keys = deid_keys()
    out_dir, staging = publish_attempt_dirs(case.pk, attempt)
    done: list[_Done] = []
    failures: list[tuple[Instance, list[str]]] = []
    gate: dict[int, list[dict[str, Any]]] = {}  # where the final check found text marks
    instances = list(
        Instance.objects.filter(series__case=case)
        .select_related("series")
        .prefetch_related("free_text_values")
    )
    gated = residual_gate_sample(instances)
    for instance in instances:
        _publish_beat(case.pk, attempt)
        result = second_pass(
            storage.resolve_inside(settings.WORKING_ROOT, instance.working_file),
            out_dir,
            keys=keys,
            fingerprint=Fingerprint.from_json(instance.fingerprint),
            pseudonym=case.pseudonym,
            edits=edits_for(instance),
            flagged=bool(instance.review_reasons),
            staging_dir=staging,
            texts=freetext.texts_for_instance(instance),
            safe_regions=safe_regions_for(instance),
            residual_text=instance.pk in gated,
        )
        if result.status is Status.PUBLISHED and result.output is not None:
            done.append(_Done(instance, result.output))
        else:
            failures.append((instance, result.reasons))
            gate[instance.pk] = review.gate_regions_clean(result.regions)
    shutil.rmtree(staging, ignore_errors=True)
    if failures:
        return _publish_failed(case, attempt, done, failures, gate)

    def switch() -> None:
        if _owned(case.pk, attempt) is None:
            raise _Superseded
        for item in done:
            Instance.objects.filter(pk=item.instance.pk).update(
                status=Instance.Status.PUBLISHED,
                published_file=str(item.path.relative_to(settings.PUBLISHED_ROOT)),
                gate_regions=[],
            )
        _quarantine_resolve(case, [item.instance for item in done])
        Case.objects.filter(pk=case.pk).update(
            status=Case.Status.PUBLISHED,
            published_at=timezone.now(),
            deidentification=_description(),
            updated_at=timezone.now(),
        )
        audit_record(actor=None, action="case.publish", case=case, detail={"instances": len(done)})

    retry_on_lock(switch, what=f"case {case.pk}: publish")
    case.refresh_from_db()
    return case


def case_publish_stop(
    *, case_id: int, attempt: str, reason: str, only_if: Callable[[Case], bool] | None = None
) -> bool:
    """Put a case back to draft with ``reason``, only while it is still PUBLISHING under
    ``attempt`` (a published case, or a newer request, is never touched) and, with
    ``only_if``, while the locked case still satisfies it. Deleting the attempt's files is
    the caller's part. True when the case went back to draft."""

    def stop() -> bool:
        case = _owned(case_id, attempt)
        if case is None or (only_if is not None and not only_if(case)):
            return False
        Case.objects.filter(pk=case_id).update(
            status=Case.Status.DRAFT, publish_error=reason, updated_at=timezone.now()
        )
        audit_record(actor=None, action="case.publish.stopped", case=case)
        return True

    return retry_on_lock(stop, what=f"case {case_id}: stop publishing")


def _publish_failed(
    case: Case,
    attempt: str,
    done: list[_Done],
    failures: list[tuple[Instance, list[str]]],
    gate: dict[int, list[dict[str, Any]]],
) -> Case:
    """No half-published case: remove this attempt's files, quarantine what failed (one
    open item per image: a retry replaces the earlier one) and keep where the final
    check found text-like marks, for the editor to show."""
    publish_attempt_clean(case_id=case.pk, attempt=attempt)

    def record() -> None:
        if _owned(case.pk, attempt) is None:
            raise _Superseded
        Instance.objects.filter(pk__in=[item.instance.pk for item in done]).update(gate_regions=[])
        for instance, reasons in failures:
            Instance.objects.filter(pk=instance.pk).update(gate_regions=gate.get(instance.pk, []))
            working = storage.resolve_inside(settings.WORKING_ROOT, instance.working_file)
            copy = working.with_name(f".{working.name}.quarantine")
            shutil.copyfile(working, copy)  # the draft keeps its working copy
            _quarantine_replace(case, instance, copy, "; ".join(reasons))
        error = (
            f"{len(failures)} of {len(done) + len(failures)} images did not pass the final "
            f"check and were put in quarantine; the case was not published. First reason: "
            f"{failures[0][1][0] if failures[0][1] else 'unknown'}"
        )
        hints = {freetext.free_text_failure_hint(instance=i, reasons=r) for i, r in failures}
        error = " ".join([error, *sorted(h for h in hints if h)])
        Case.objects.filter(pk=case.pk).update(
            status=Case.Status.DRAFT, publish_error=error, updated_at=timezone.now()
        )
        audit_record(actor=None, action="case.publish.failed", case=case,
                     detail={"failed": len(failures)})  # fmt: skip

    retry_on_lock(record, what=f"case {case.pk}: publish failed")
    case.refresh_from_db()
    return case


def _quarantine_replace(case: Case, instance: Instance, copy: Path, reason: str) -> None:
    """Quarantine this attempt's copy of ``instance``, replacing the image's open item."""
    earlier = (
        QuarantineItem.objects.select_for_update()
        .filter(instance=instance, stage=QuarantineItem.Stage.SECOND_PASS)
        .filter(status=QuarantineItem.Status.OPEN)
        .first()
    )
    if earlier is None:
        quarantine_file(
            path=copy, reason=reason, stage="second-pass", case=case, instance=instance,
            sop_class_uid=instance.sop_class_uid,
        )  # fmt: skip
        return
    name = quarantine_store(path=copy, stage="second-pass")
    if earlier.file:
        storage.resolve_inside(settings.QUARANTINE_ROOT, earlier.file).unlink(missing_ok=True)
    # One open item per image: the earlier item takes this attempt's file and reason.
    QuarantineItem.objects.filter(pk=earlier.pk).update(reason=reason, file=name)
    audit_record(
        actor=None, action="quarantine.replace", case=case, target=f"quarantine:{earlier.pk}"
    )


def _quarantine_resolve(case: Case, published: list[Instance]) -> None:
    """Close the open items of images that are now published, deleting their copies."""
    items = QuarantineItem.objects.select_for_update().filter(
        instance__in=published, status=QuarantineItem.Status.OPEN
    )
    for item in items:
        if item.file:
            storage.resolve_inside(settings.QUARANTINE_ROOT, item.file).unlink(missing_ok=True)
        QuarantineItem.objects.filter(pk=item.pk).update(
            status=QuarantineItem.Status.RESOLVED, file="", resolved_at=timezone.now()
        )
        audit_record(
            actor=None, action="quarantine.resolve", case=case, target=f"quarantine:{item.pk}",
            detail={"instance": item.instance_id},
        )  # fmt: skip


def _description() -> dict[str, Any]:
    """What the second pass did to each attribute, stored with the published case."""
    return {
        "profile": SECOND_PASS.to_dict(),
        "attributes": SECOND_PASS.describe(),
        "allowlist": list(SECOND_PASS_ALLOWLIST_KEYWORDS),
    }
