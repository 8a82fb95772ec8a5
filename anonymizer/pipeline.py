"""The two passes over one file, as the Celery tasks and the CLI call them.

First pass (at import, PS3.15 E.3 options: Retain Longitudinal Temporal Information with
Modified Dates, Retain Patient Characteristics, Clean Descriptors): read, refuse what
cannot be published, fingerprint the identifying values for the verifier, de-identify
the header, flag pixels that may carry burned-in text and propose OCR boxes, write.

Second pass (at publish): apply the author's blackouts and crop to the pixel data, strip
the header to the allowlist, verify the result against the first pass's fingerprint, and
only then write it, with BurnedInAnnotation "NO" for images that were reviewed.

Every failure becomes a status with reasons in plain words; nothing raises for bad input.
"""

from __future__ import annotations

import functools
import io
import logging
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import pydicom
from pydicom.dataset import FileDataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import UID, DeflatedExplicitVRLittleEndian, ExplicitVRLittleEndian

from anonymizer.header.engine import HeaderContext, deidentify_header
from anonymizer.header.filemeta import rebuild_file_meta
from anonymizer.integrity import UnreadableError, check_integrity
from anonymizer.keys import Keys
from anonymizer.pixels import (
    Edits,
    EditsDoNotFit,
    apply_edits,
    burned_in_text_reasons,
    propose_regions,
)
from anonymizer.pixels.detect import label_regions, read_text
from anonymizer.pixels.ocr import tesseract_available
from anonymizer.pixels.textdetect import DetectorUnavailable
from anonymizer.profile import FIRST_PASS, SECOND_PASS, Profile
from anonymizer.profile.allowlist import SECOND_PASS_ALLOWLIST
from anonymizer.sop_classes import publishable
from anonymizer.verify import Fingerprint, fingerprint, verify
from anonymizer.writer import write_part10

P = ParamSpec("P")
R = TypeVar("R")


def _quiet(func: Callable[P, R]) -> Callable[P, R]:
    """No pydicom warning or log record while a file is processed: they quote the values
    of malformed elements, which may be identifiers (raw files are never logged)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        logger = logging.getLogger("pydicom")
        disabled, logger.disabled = logger.disabled, True
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return func(*args, **kwargs)
        finally:
            logger.disabled = disabled

    return wrapper


class Status(StrEnum):
    CLEAN = "clean"
    NEEDS_REVIEW = "needs-review"
    QUARANTINED = "quarantined"
    PUBLISHED = "published"


@dataclass(frozen=True)
class InstanceInfo:
    """What the caller records about a de-identified instance (no identifiers)."""

    sop_class_uid: str
    sop_instance_uid: str
    series_instance_uid: str
    study_instance_uid: str
    modality: str
    series_description: str
    series_number: int | None
    instance_number: int | None
    rows: int
    columns: int
    number_of_frames: int
    patient_sex: str
    patient_age: str

    @classmethod
    def of(cls, ds: pydicom.Dataset) -> InstanceInfo:
        def integer(keyword: str) -> int | None:
            value = ds.get(keyword)
            try:
                return int(value) if value not in (None, "") else None
            except (TypeError, ValueError):
                return None

        return cls(
            sop_class_uid=str(ds.get("SOPClassUID", "")),
            sop_instance_uid=str(ds.get("SOPInstanceUID", "")),
            series_instance_uid=str(ds.get("SeriesInstanceUID", "")),
            study_instance_uid=str(ds.get("StudyInstanceUID", "")),
            modality=str(ds.get("Modality", "")),
            series_description=str(ds.get("SeriesDescription", "")),
            series_number=integer("SeriesNumber"),
            instance_number=integer("InstanceNumber"),
            rows=integer("Rows") or 0,
            columns=integer("Columns") or 0,
            number_of_frames=integer("NumberOfFrames") or 1,
            patient_sex=str(ds.get("PatientSex", "")),
            patient_age=str(ds.get("PatientAge", "")),
        )


@dataclass
class PassResult:
    """What one pass did to one file; ``to_report`` is its entry in the JSON report."""

    input: str
    status: Status
    reasons: list[str] = field(default_factory=list)
    output: Path | None = None
    info: InstanceInfo | None = None

    def to_report(self) -> dict[str, Any]:
        return {
            "input": self.input,
            "output": str(self.output) if self.output else None,
            "status": self.status.value,
            "reasons": self.reasons,
            "sop_instance_uid": self.info.sop_instance_uid if self.info else None,
        }


@dataclass
class FirstPassResult(PassResult):
    proposed_regions: list[dict[str, Any]] = field(default_factory=list)
    fingerprint: Fingerprint | None = None
    # The re-identification key: original patient identifiers and the UID mapping.
    # PHI: the caller encrypts it and never logs it. Not part of ``to_report``.
    reidentification: dict[str, Any] | None = None

    def to_report(self) -> dict[str, Any]:
        return {**super().to_report(), "proposed_regions": self.proposed_regions}


SecondPassResult = PassResult


def read_dicom(source: Path | bytes) -> FileDataset:
    """Read a DICOM file, or raise ``UnreadableError`` with a reason a person understands."""
    data = source if isinstance(source, bytes) else None
    if data is None:
        try:
            if os.path.getsize(source) == 0:
                raise UnreadableError("the file is empty (0 bytes)")
        except OSError:
            raise UnreadableError("the file could not be opened") from None
    try:
        fp: Any = io.BytesIO(data) if data is not None else source
        ds = pydicom.dcmread(fp)  # every value read: check_integrity compares lengths
        ds.ensure_file_meta()
        # A value that overruns the file, missing UIDs or pixel attributes (integrity.py).
        check_integrity(ds)
        _check_pixel_length(ds)
    except InvalidDicomError:
        raise UnreadableError("not a DICOM file (no DICM marker after the preamble)") from None
    except UnreadableError:
        raise
    except (EOFError, OSError, ValueError, KeyError, TypeError, NotImplementedError) as exc:
        raise UnreadableError(f"the file is damaged or truncated ({type(exc).__name__})") from None
    return ds


def _check_pixel_length(ds: FileDataset) -> None:
    """Truncated native pixel data reads without error in pydicom: catch it here."""
    ts = UID(ds.file_meta.get("TransferSyntaxUID", ExplicitVRLittleEndian))
    if "PixelData" not in ds or ts.is_compressed:
        return
    expected = (
        int(ds.Rows)
        * int(ds.Columns)
        * int(ds.get("SamplesPerPixel", 1))
        * int(ds.get("NumberOfFrames", 1) or 1)
        * int(ds.BitsAllocated)
        + 7
    ) // 8
    if len(ds.PixelData) < expected:
        raise UnreadableError(
            f"the pixel data is truncated ({len(ds.PixelData)} of {expected} bytes)"
        )


def _failure(exc: Exception) -> str:
    # Exception texts may quote header values (int('ZEBRAFISH^Q')...): name the type only.
    return f"could not be de-identified ({type(exc).__name__} while processing the file)"


def _output_transfer_syntax(ds: FileDataset) -> UID:
    ts = UID(ds.file_meta.get("TransferSyntaxUID", ExplicitVRLittleEndian))
    if ts.is_compressed and ts != DeflatedExplicitVRLittleEndian:
        return ts
    return ExplicitVRLittleEndian


def _save_part(ds: FileDataset, out_dir: Path) -> Path:
    """Write ``ds`` straight to a temporary file in ``out_dir`` (no copy in memory)."""
    rebuild_file_meta(ds, transfer_syntax=_output_transfer_syntax(ds))
    out_dir.mkdir(parents=True, exist_ok=True)
    part = out_dir / f".{ds.SOPInstanceUID}.{os.getpid()}.part"
    try:
        write_part10(ds, part)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return part


def _publish_part(part: Path, info: InstanceInfo, out_dir: Path | None = None) -> Path:
    """Give a finished temporary file its final name (in ``out_dir``), atomically."""
    final = (out_dir or part.parent) / f"{info.sop_instance_uid}.dcm"
    os.replace(part, final)
    return final


def _proposals(
    ds: FileDataset, keys: Keys, result: FirstPassResult
) -> tuple[list[dict[str, Any]], list[str]]:
    """Boxes over the text the detector finds, labelled with the identifying attribute
    tesseract read inside (positions and keywords only: no text leaves this function).
    Records in the fingerprint where identifying text was read, for the verifier."""
    why: list[str] = []
    try:
        proposals = propose_regions(ds)
    except DetectorUnavailable:
        proposals = []
        why.append("The text detector is not available: check every frame by eye.")
    if tesseract_available() and result.fingerprint is not None:
        read = read_text(ds)
        result.fingerprint = result.fingerprint.with_ocr(
            keys, [(r.frame, r.x, r.y, r.width, r.height, r.text) for r in read]
        )
        del read
        labelled = [
            (t.frame, t.x, t.y, t.width, t.height, t.source)
            for t in result.fingerprint.text_regions
        ]
        proposals = label_regions(proposals, labelled)
    else:
        why.append("OCR is not available to label the boxes.")
    return [
        {"id": f"p{number}", **region.to_json()} for number, region in enumerate(proposals)
    ], why


@_quiet
def first_pass(
    source: Path,
    out_dir: Path,
    *,
    keys: Keys,
    pseudonym: str | None = None,
    profile: Profile = FIRST_PASS,
    ocr: bool = True,
) -> FirstPassResult:
    """De-identify the header of one received file (PS3.15 E.1-1 + options)."""
    result = FirstPassResult(input=str(source), status=Status.QUARANTINED)
    try:
        ds = read_dicom(source)
    except UnreadableError as exc:
        result.reasons.append(f"unreadable: {exc}")
        return result
    ok, why = publishable(str(ds.SOPClassUID))
    if not ok:
        result.reasons.append(why)
        return result

    try:
        result.fingerprint = fingerprint(ds, keys)
        review_reasons = burned_in_text_reasons(ds)
        patient_key = f"{ds.get('PatientID', '')}^{ds.get('IssuerOfPatientID', '')}"
        ctx = HeaderContext(
            keys=keys, profile=profile, pseudonym=pseudonym or keys.pseudonym(patient_key)
        )
        report = deidentify_header(ds, ctx)
        regions: list[dict[str, Any]] = []
        if review_reasons and ocr:
            regions, unsure = _proposals(ds, keys, result)
            review_reasons += unsure
        part = _save_part(ds, out_dir)
    except Exception as exc:  # anything unexpected: the file is not proven clean
        result.fingerprint = None
        result.reasons.append(_failure(exc))
        return result

    info = InstanceInfo.of(ds)
    result.output = _publish_part(part, info)
    result.info = info
    result.status = Status.NEEDS_REVIEW if review_reasons else Status.CLEAN
    result.reasons = review_reasons
    result.proposed_regions = regions
    result.reidentification = {
        "pseudonym": ctx.pseudonym,
        "patient": report.original_patient,
        "date_offset_days": report.date_offset_days,
        "uid_map": report.uid_map,
    }
    return result


@_quiet
def second_pass(
    source: Path,
    out_dir: Path,
    *,
    keys: Keys,
    fingerprint: Fingerprint,
    pseudonym: str,
    edits: Edits | None = None,
    flagged: bool = False,
    profile: Profile = SECOND_PASS,
    allowlist: frozenset[int] = SECOND_PASS_ALLOWLIST,
    staging_dir: Path | None = None,
) -> SecondPassResult:
    """Burn the edits into the pixels, strip to the allowlist, verify, then write.

    The file is written and verified in ``staging_dir`` (default ``out_dir/.staging``;
    it must be on the same file system) and only a file that passed is renamed into
    ``out_dir``: nothing unverified ever sits among the published files.
    """
    edits = edits or Edits()
    result = SecondPassResult(input=str(source), status=Status.QUARANTINED)
    try:
        ds = read_dicom(source)
    except UnreadableError as exc:
        result.reasons.append(f"unreadable: {exc}")
        return result
    try:
        apply_edits(ds, edits)
        # Dates were shifted by the first pass: shift by zero now.
        ctx = HeaderContext(
            keys=keys, profile=profile, pseudonym=pseudonym, allowlist=allowlist, date_offset_days=0
        )
        deidentify_header(ds, ctx)
        if flagged or "BurnedInAnnotation" in ds:
            # Written as verified: the file with "NO" exists only if it passes below.
            ds.BurnedInAnnotation = "NO"
        info = InstanceInfo.of(ds)
        part = _save_part(ds, staging_dir or out_dir / ".staging")
    except EditsDoNotFit as exc:  # our own words: rectangles and sizes only
        result.reasons.append(str(exc))
        return result
    except Exception as exc:
        result.reasons.append(_failure(exc))
        return result
    del ds  # the verifier reads the file as written, not our copy in memory

    verdict = verify(
        part,
        fingerprint=fingerprint,
        keys=keys,
        allowlist=allowlist,
        edits=edits,
        flagged=flagged,
        pseudonym=pseudonym,
    )
    result.info = info
    if not verdict.ok:
        part.unlink(missing_ok=True)
        result.reasons.extend(verdict.reasons())
        return result
    out_dir.mkdir(parents=True, exist_ok=True)
    result.output = _publish_part(part, info, out_dir)
    result.status = Status.PUBLISHED
    return result
