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
from anonymizer.pixels import Edits, edits_from_json
from anonymizer.profile import SECOND_PASS
from anonymizer.profile.allowlist import SECOND_PASS_ALLOWLIST_KEYWORDS
from anonymizer.verify import Fingerprint
from cases import storage
from cases.ingest import deid_keys, quarantine_file
from cases.models import Case, Instance
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
    unreviewed = instances.filter(status=Instance.Status.NEEDS_REVIEW, reviewed_at=None).count()
    if unreviewed:
        reasons.append(
            f"{unreviewed} image(s) flagged for burned-in text still need review "
            "(accept or draw boxes, or confirm there is no identifying text)."
        )
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


def _edits(instance: Instance) -> Edits:
    return edits_from_json(
        {"regions": instance.blackouts or [], "crop": instance.series.crop or None}
    )


@dataclass
class _Done:
    instance: Instance
    path: Path


def case_publish_run(case_id: int) -> Case:
    """The second pass over every instance of a PUBLISHING case (idempotent)."""
    case = Case.objects.get(pk=case_id)
    if case.status != Case.Status.PUBLISHING:
        return case
    keys = deid_keys()
    out_dir = storage.ensure_root(settings.PUBLISHED_ROOT) / str(case.pk)
    # Same file system as the published files (rename), never referenced by the database.
    staging = storage.ensure_root(settings.PUBLISHED_ROOT) / ".staging" / str(case.pk)
    done: list[_Done] = []
    failures: list[tuple[Instance, list[str]]] = []
    instances = Instance.objects.filter(series__case=case).select_related("series")
    for instance in instances:
        result = second_pass(
            storage.resolve_inside(settings.WORKING_ROOT, instance.working_file),
            out_dir,
            keys=keys,
            fingerprint=Fingerprint.from_json(instance.fingerprint),
            pseudonym=case.pseudonym,
            edits=_edits(instance),
            flagged=bool(instance.review_reasons),
            staging_dir=staging,
        )
        if result.status is Status.PUBLISHED and result.output is not None:
            done.append(_Done(instance, result.output))
        else:
            failures.append((instance, result.reasons))
    shutil.rmtree(staging, ignore_errors=True)
    if failures:
        return _publish_failed(case, done, failures)
    with transaction.atomic():
        for item in done:
            Instance.objects.filter(pk=item.instance.pk).update(
                status=Instance.Status.PUBLISHED,
                published_file=str(item.path.relative_to(settings.PUBLISHED_ROOT)),
            )
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
    case: Case, done: list[_Done], failures: list[tuple[Instance, list[str]]]
) -> Case:
    """No half-published case: remove this attempt's files, quarantine what failed."""
    for item in done:
        item.path.unlink(missing_ok=True)
    with transaction.atomic():
        for instance, reasons in failures:
            working = storage.resolve_inside(settings.WORKING_ROOT, instance.working_file)
            copy = working.with_name(f".{working.name}.quarantine")
            shutil.copyfile(working, copy)  # the draft keeps its working copy
            quarantine_file(
                path=copy, reason="; ".join(reasons), stage="second-pass", case=case,
                sop_class_uid=instance.sop_class_uid,
            )  # fmt: skip
        error = (
            f"{len(failures)} of {len(done) + len(failures)} images did not pass the final "
            f"check and were put in quarantine; the case was not published. First reason: "
            f"{failures[0][1][0] if failures[0][1] else 'unknown'}"
        )
        Case.objects.filter(pk=case.pk).update(
            status=Case.Status.DRAFT, publish_error=error, updated_at=timezone.now()
        )
        audit_record(actor=None, action="case.publish.failed", case=case,
                     detail={"failed": len(failures)})  # fmt: skip
    case.refresh_from_db()
    return case


def _description() -> dict[str, Any]:
    """What the second pass did to each attribute, stored with the published case."""
    return {
        "profile": SECOND_PASS.to_dict(),
        "attributes": SECOND_PASS.describe(),
        "allowlist": list(SECOND_PASS_ALLOWLIST_KEYWORDS),
    }
