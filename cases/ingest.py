"""The first pass on the Django side: received files → instances of a draft case.

Both a PACS pull and an upload end here. For every raw file: the anonymizer's first pass
writes a de-identified copy into WORKING_ROOT; the instance is recorded (idempotently:
a re-pull of the same series adds nothing); what cannot be made safe is moved into
QUARANTINE_ROOT with its reason; the re-identification key of the batch is stored
encrypted; and only then are the raw files deleted. A worker killed half-way leaves the
raw files in place, and the task's re-run finishes the batch.
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Max

from anonymizer.keys import Keys
from anonymizer.pipeline import FirstPassResult, Status, first_pass
from cases import freetext, review, storage
from cases.fields import seal, unseal
from cases.models import Case, ImportJob, Instance, QuarantineItem, ReidentificationKey, Series


def deid_keys() -> Keys:
    return Keys.from_text(settings.DEID_SECRET)


def reid_encrypt(mapping: dict[str, Any]) -> bytes:
    return seal(mapping)


def reid_decrypt(ciphertext: bytes) -> dict[str, Any]:
    mapping: dict[str, Any] = unseal(ciphertext)
    return mapping


@dataclass
class BatchOutcome:
    instances: int = 0
    quarantined: int = 0
    needs_review: int = 0
    reasons: list[str] = field(default_factory=list)


def quarantine_store(*, path: Path, stage: str) -> str:
    """Move ``path`` into the quarantine store (owner-only); returns its name there."""
    root = storage.ensure_root(settings.QUARANTINE_ROOT)
    name = f"{stage}-{secrets.token_hex(12)}.dcm"
    target = root / name
    shutil.move(str(path), target)
    target.chmod(0o600)
    return name


def quarantine_file(
    *,
    path: Path,
    reason: str,
    stage: str,
    case: Case | None = None,
    job: ImportJob | None = None,
    instance: Instance | None = None,
    sop_class_uid: str = "",
) -> QuarantineItem:
    """Move ``path`` into the quarantine store and record why."""
    name = quarantine_store(path=path, stage=stage)
    return QuarantineItem.objects.create(
        job=job, case=case, instance=instance, stage=stage, reason=reason, file=name,
        sop_class_uid=sop_class_uid,
    )  # fmt: skip


def age_band(age: str) -> str:
    """A decade band from a de-identified Patient's Age ("076Y" → "70-79"; 90+ stays
    "90+"); children under two by months or weeks ("0-1"). Empty if unknown."""
    if len(age) != 4 or not age[:3].isdigit() or age[3] not in "DWMY":
        return ""
    years = int(age[:3]) if age[3] == "Y" else 0
    if years >= 90:
        return "90+"
    if years < 2:
        return "0-1"
    low = years // 10 * 10
    return f"{low}-{low + 9}"


def _record_instance(case: Case, result: FirstPassResult) -> Instance:
    info = result.info
    assert info is not None and result.output is not None and result.fingerprint is not None
    series, created = Series.objects.get_or_create(
        case=case,
        series_instance_uid=info.series_instance_uid,
        defaults={
            "study_instance_uid": info.study_instance_uid,
            "modality": info.modality,
            # The accepted value only: set when the author reviews the text (freetext.py).
            "description": "",
        },
    )
    if created:
        last = case.series.exclude(pk=series.pk).aggregate(m=Max("order"))["m"]
        series.order = 0 if last is None else last + 1
        series.save(update_fields=["order"])
    flagged = result.status is Status.NEEDS_REVIEW
    instance, _ = Instance.objects.update_or_create(
        series=series,
        sop_instance_uid=info.sop_instance_uid,
        defaults={
            "sop_class_uid": info.sop_class_uid,
            "instance_number": info.instance_number,
            "rows": info.rows,
            "columns": info.columns,
            "number_of_frames": info.number_of_frames,
            "status": Instance.Status.NEEDS_REVIEW if flagged else Instance.Status.CLEAN,
            "working_file": str(result.output.relative_to(settings.WORKING_ROOT)),
            "review_reasons": result.reasons if flagged else [],
            # Geometry, kind and matched keyword only: recognised text is never stored.
            "proposed_regions": review.proposals_clean(result.proposed_regions),
            "fingerprint": result.fingerprint.to_json(),
        },
    )
    freetext.free_text_record(case=case, series=series, instance=instance, values=result.free_text)
    band = age_band(info.patient_age)
    if not case.patient_age_band and band:
        Case.objects.filter(pk=case.pk, patient_age_band="").update(patient_age_band=band)
    if not case.patient_sex and info.patient_sex in ("F", "M", "O"):
        Case.objects.filter(pk=case.pk, patient_sex="").update(patient_sex=info.patient_sex)
    if not case.modality and info.modality:
        Case.objects.filter(pk=case.pk, modality="").update(modality=info.modality)
    return instance


def first_pass_failure(exc: BaseException) -> str:
    """A plain reason for a file whose first pass failed in a way the engine did not catch.
    The exception's text may quote the file's content: it is never used."""
    if isinstance(exc, MemoryError):
        return "could not be de-identified: the file needs more memory than the server has"
    if isinstance(exc, RecursionError):
        return "unreadable: the data set is nested too deeply to be read"
    return f"could not be de-identified ({type(exc).__name__} while processing the file)"


def files_ingest(
    *,
    case: Case,
    paths: list[Path],
    job: ImportJob | None = None,
    stage: str = "first-pass",
    beat: Callable[[], object] | None = None,
) -> BatchOutcome:
    """First pass over a batch of raw files; deletes them once everything is recorded.

    Each file on its own: whatever goes wrong with one (even running out of memory or
    stack) quarantines that file with a plain reason and the others go on. ``beat`` (the
    job's heartbeat) is called between files.
    """
    keys = deid_keys()
    out_dir = storage.ensure_root(settings.WORKING_ROOT) / str(case.pk)
    outcome = BatchOutcome()
    reid: dict[str, Any] = {"pseudonym": case.pseudonym, "patients": [], "uid_map": {}}
    done: list[Path] = []
    for path in paths:
        if not path.exists():  # already handled by an earlier run of this batch
            continue
        if beat is not None and path is not paths[0]:
            beat()
        try:
            result = first_pass(path, out_dir, keys=keys, pseudonym=case.pseudonym)
        except Exception as exc:  # MemoryError, RecursionError...: this file, not the batch
            result = FirstPassResult(input=str(path), status=Status.QUARANTINED)
            result.reasons.append(first_pass_failure(exc))
        if result.status is Status.QUARANTINED:
            try:
                quarantine_file(
                    path=path, reason="; ".join(result.reasons), stage=stage, case=case, job=job
                )
            except FileNotFoundError:  # a re-delivered batch running alongside took it
                continue
            outcome.quarantined += 1
            outcome.reasons.extend(result.reasons)
            continue
        try:
            with transaction.atomic():
                _record_instance(case, result)
        except IntegrityError:  # recorded at the same moment by a re-delivered batch
            with transaction.atomic():
                _record_instance(case, result)
        outcome.instances += 1
        outcome.needs_review += result.status is Status.NEEDS_REVIEW
        if result.reidentification:
            patient = result.reidentification["patient"]
            if patient not in reid["patients"]:
                reid["patients"].append(patient)
            reid["uid_map"].update(result.reidentification["uid_map"])
        done.append(path)
    if done:
        ReidentificationKey.objects.create(case=case, job=job, ciphertext=reid_encrypt(reid))
    for path in done:
        path.unlink(missing_ok=True)
    if job is not None:
        ImportJob.objects.filter(pk=job.pk).update(
            processed=F("processed") + outcome.instances + outcome.quarantined,
            quarantined=F("quarantined") + outcome.quarantined,
        )
    return outcome
