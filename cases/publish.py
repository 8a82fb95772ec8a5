"""Publishing a case: the review gate, then the second pass over every instance, then an
all-or-nothing switch to PUBLISHED.

The second pass (anonymizer.pipeline.second_pass) burns each instance's boxes and its
series' crop into the pixels, strips the header to the allowlist and runs the verifier;
only verified files are written. The case becomes PUBLISHED in one transaction only when
every instance passed; otherwise the files written in this attempt are deleted, the
failing instances go to quarantine with the verifier's reasons, and the case stays a
draft with the reason on its page.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
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
    case.save(update_fields=["status", "publish_error", "publish_checklist", "updated_at"])
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


def case_publish_run(case_id: int) -> Case:
    """The second pass over every instance of a PUBLISHING case (idempotent)."""
    case = Case.objects.get(pk=case_id)
    if case.status != Case.Status.PUBLISHING:
        return case
    unreviewed = review.images_to_review(case=case)
    if unreviewed:  # an edit landed after the request: back to the author
        Case.objects.filter(pk=case.pk, status=Case.Status.PUBLISHING).update(
            status=Case.Status.DRAFT,
            publish_error=f"{len(unreviewed)} image(s) changed after publishing was requested "
            "and need review again; nothing was published.",
            updated_at=timezone.now(),
        )
        case.refresh_from_db()
        return case
    keys = deid_keys()
    out_dir = storage.ensure_root(settings.PUBLISHED_ROOT) / str(case.pk)
    # Same file system as the published files (rename), never referenced by the database.
    staging = storage.ensure_root(settings.PUBLISHED_ROOT) / ".staging" / str(case.pk)
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
        return _publish_failed(case, done, failures, gate)
    with transaction.atomic():
        for item in done:
            Instance.objects.filter(pk=item.instance.pk).update(
                status=Instance.Status.PUBLISHED,
                published_file=str(item.path.relative_to(settings.PUBLISHED_ROOT)),
                gate_regions=[],
            )
        _quarantine_resolve(case, [item.instance for item in done])
        Case.objects.filter(pk=case.pk, status=Case.Status.PUBLISHING).update(
            status=Case.Status.PUBLISHED,
            published_at=timezone.now(),
            deidentification=_description(),
            updated_at=timezone.now(),
        )
        audit_record(actor=None, action="case.publish", case=case, detail={"instances": len(done)})
    case.refresh_from_db()
    return case


def _publish_failed(
    case: Case,
    done: list[_Done],
    failures: list[tuple[Instance, list[str]]],
    gate: dict[int, list[dict[str, Any]]],
) -> Case:
    """No half-published case: remove this attempt's files, quarantine what failed (one
    open item per image: a retry replaces the earlier one) and keep where the final
    check found text-like marks, for the editor to show."""
    for item in done:
        item.path.unlink(missing_ok=True)
    with transaction.atomic():
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
