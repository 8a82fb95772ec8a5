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
import mmap
import os
import re
import unicodedata
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import numpy as np
import pydicom
import pydicom.multival
from pydicom.datadict import dictionary_VR
from pydicom.dataelem import DataElement
from pydicom.dataset import FileDataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import UID, DeflatedExplicitVRLittleEndian, ExplicitVRLittleEndian

from anonymizer.freetext import (
    FREE_TEXT_KEYWORDS,
    KIND_WORDS,
    findings_for,
    free_text_values,
    review_values,
)
from anonymizer.header.engine import HeaderContext, deidentify_header
from anonymizer.header.filemeta import rebuild_file_meta
from anonymizer.integrity import UnreadableError, check_encoded, check_integrity
from anonymizer.keys import Keys
from anonymizer.pixels import (
    Blackout,
    Edits,
    EditsDoNotFit,
    apply_edits,
    burned_in_text_reasons,
    normalise_native_pixel_data,
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
    # Second pass: where the verifier's residual text gate found text-like marks, in the
    # original (uncropped) image: {"frame": int | None, "x", "y", "width", "height"}.
    regions: list[dict[str, Any]] = field(default_factory=list)

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
    # Free-text attributes a published file would keep, with what looks identifying in
    # them (anonymizer.freetext.review_values of the de-identified data set).
    free_text: list[dict[str, Any]] = field(default_factory=list)
    # Keywords of free-text attributes removed because they looked identifying.
    removed_text: list[str] = field(default_factory=list)
    fingerprint: Fingerprint | None = None
    # The input already said Patient Identity Removed YES: it is the output of an earlier
    # de-identification, so its fingerprint holds no original identifier.
    identity_removed: bool = False
    # The re-identification key: original patient identifiers and the UID mapping.
    # PHI: the caller encrypts it and never logs it. Not part of ``to_report``.
    reidentification: dict[str, Any] | None = None

    def to_report(self) -> dict[str, Any]:
        return {
            **super().to_report(),
            "proposed_regions": self.proposed_regions,
            "removed_text": self.removed_text,
        }


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
        # Sequences nested too deep, and lengths past the end of the file, are refused
        # before pydicom recurses into them or allocates what they declare (integrity.py).
        if data is not None:
            check_encoded(data)
        else:
            with open(source, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as m:
                check_encoded(m)
        fp: Any = io.BytesIO(data) if data is not None else source
        ds = pydicom.dcmread(fp)  # every value read: check_integrity compares lengths
        ds.ensure_file_meta()
        # A value that overruns the file, missing UIDs or pixel attributes (integrity.py).
        check_integrity(ds)
        _check_pixel_length(ds)
        _check_image_size(ds)
    except InvalidDicomError:
        raise UnreadableError("not a DICOM file (no DICM marker after the preamble)") from None
    except UnreadableError:
        raise
    except RecursionError:  # a structure check_encoded does not know: still a reason
        raise UnreadableError("the data set is nested too deeply to be read") from None
    except MemoryError:  # the same, for what it would allocate
        raise UnreadableError("the file could not be read within the memory available") from None
    except (EOFError, OSError, ValueError, KeyError, TypeError, NotImplementedError) as exc:
        raise UnreadableError(f"the file is damaged or truncated ({type(exc).__name__})") from None
    return ds


#: Largest frame (pixels) and decoded image (bytes) the first pass takes on: beyond them
#: text detection would need gigabytes of memory, so the file is quarantined instead.
MAX_FRAME_PIXELS = 40_000_000
MAX_DECODED_BYTES = 4 << 30


def _check_image_size(ds: FileDataset) -> None:
    """Refuse images too large to check for burned-in text, before decoding them."""
    if "PixelData" not in ds:
        return
    frame = int(ds.Rows) * int(ds.Columns)
    decoded = (
        frame
        * int(ds.get("SamplesPerPixel", 1) or 1)
        * int(ds.get("NumberOfFrames", 1) or 1)
        * max(int(ds.BitsAllocated), 8)
        // 8
    )
    if frame > MAX_FRAME_PIXELS:
        raise UnreadableError(
            f"each frame has {frame / 1e6:.0f} megapixels, more than the "
            f"{MAX_FRAME_PIXELS // 1_000_000} this server checks for burned-in text"
        )
    if decoded > MAX_DECODED_BYTES:
        raise UnreadableError(
            f"the image decodes to {decoded / (1 << 30):.1f} GiB, more than the "
            f"{MAX_DECODED_BYTES >> 30} GiB this server checks for burned-in text"
        )


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


def _remove_flagged_text(
    ds: pydicom.Dataset, own_values: Sequence[str] = ()
) -> list[tuple[str, str]]:
    """Remove every free-text element, at any depth, in which the detector finds something;
    return (keyword, what kinds were found) per removed attribute, never the value."""
    removed: list[tuple[str, str]] = []
    for dataset in _datasets(ds):
        for keyword, value in list(free_text_values(dataset)):
            found = findings_for(keyword, value, own_values=own_values)
            kinds = sorted({f.kind for f in found})
            if kinds:
                del dataset[keyword]
                words = " and ".join(KIND_WORDS.get(kind, kind) for kind in kinds)
                removed.append((keyword, words))
    return removed


#: Where the file's own identifying values are (names and IDs; other identifiers are
#: numbers and dates, which the verifier compares).
_OWN_NAME_KEYWORDS = ("PatientName", "OtherPatientNames", "PatientBirthName")
_OWN_ID_KEYWORDS = ("PatientID", "OtherPatientIDs")
#: Short text VRs a scanner fills from its own vocabulary, or a person by hand.
_SHORT_TEXT_VRS = frozenset({"CS", "SH", "LO", "ST", "LT", "UT", "UC"})
#: Written by the engine (pseudonyms, method): never holds an original word.
_ENGINE_WRITTEN = frozenset({"PatientName", "PatientID", "DeidentificationMethod"})
#: An identifier word this short is too common to look for inside other words.
_MIN_GLUED_WORD = 5


_ALNUM_RUNS = re.compile(r"[\W_]+")


def _compact(text: str) -> str:
    """Letters and digits only, without accents, case-folded: "Kowalczyk-Z." -> "kowalczykz"."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text))
    return "".join(c for c in decomposed if c.isalnum()).casefold()


def _own_values(ds: pydicom.Dataset) -> list[str]:
    """The patient's names and IDs as written in the original header (PHI: never logged)."""
    values: list[str] = []
    for keyword in (*_OWN_NAME_KEYWORDS, *_OWN_ID_KEYWORDS):
        value = ds.get(keyword)
        if value is None:
            continue
        items = value if isinstance(value, pydicom.multival.MultiValue) else [value]
        values.extend(str(v) for v in items if str(v).strip())
    for item in ds.get("OtherPatientIDsSequence") or ():
        if str(item.get("PatientID", "")).strip():
            values.append(str(item.PatientID))
    return values


def _glued_words(ds: pydicom.Dataset) -> frozenset[str]:
    """Words of the patient's names of 5 letters or more, and IDs of 5 characters or more
    (whole, and their runs of 5+ digits or letters), compacted (:func:`_compact`)."""
    words: set[str] = set()
    for keyword in _OWN_NAME_KEYWORDS:
        for value in _own_values_of(ds, keyword):
            words.update(w for w in map(_compact, re.split(r"[\s^=,.'-]+", value)) if w)
    for keyword in _OWN_ID_KEYWORDS:
        for value in _own_values_of(ds, keyword):
            words.add(_compact(value))
            words.update(re.findall(r"\d{5,}|[^\W\d_]{5,}", _compact(value)))
    return frozenset(w for w in words if len(w) >= _MIN_GLUED_WORD)


def _own_values_of(ds: pydicom.Dataset, keyword: str) -> list[str]:
    value = ds.get(keyword)
    if value is None:
        return []
    items = value if isinstance(value, pydicom.multival.MultiValue) else [value]
    return [str(v) for v in items if str(v).strip()]


def _remove_glued_identifiers(ds: pydicom.Dataset, words: frozenset[str]) -> list[str]:
    """Remove each value of a short text attribute (CS, SH, LO, ST, LT, UT, UC, at any
    depth) that holds one of ``words`` anywhere inside it ("KOWALCZYKZ", "CHEST
    MRN4821X"); an attribute left with no value is kept empty. Return the keywords."""
    if not words or not _holds_any(ds, words):
        return []
    emptied: list[str] = []
    for dataset in _datasets(ds):
        for elem in _elements_of_vr(dataset, _SHORT_TEXT_VRS):
            if elem.keyword in _ENGINE_WRITTEN:
                continue
            value = elem.value
            items = list(value) if isinstance(value, pydicom.multival.MultiValue) else [value]
            kept = [v for v in items if v is None or not any(w in _compact(str(v)) for w in words)]
            if len(kept) == len(items):
                continue
            if not kept:
                elem.value = ""
            elif isinstance(value, pydicom.multival.MultiValue):
                elem.value = kept
            else:
                elem.value = kept[0]
            emptied.append(elem.keyword or str(elem.tag))
    return emptied


def _trim_lut_data(ds: pydicom.Dataset) -> None:
    """LUT Data (Modality and VOI LUTs, at any depth) holds the entries its LUT Descriptor
    announces and nothing after them, each entry within its number of bits: bytes beyond
    the last entry (text appended to a table) are dropped, bits above the entry size
    cleared. Entries themselves are numbers by construction; the verifier scans them."""
    for dataset in _datasets(ds):
        if "LUTData" not in dataset or "LUTDescriptor" not in dataset:
            continue
        descriptor = [int(v) for v in dataset.LUTDescriptor]
        if len(descriptor) != 3 or descriptor[2] not in range(1, 17):
            continue
        entries, bits = descriptor[0] or 65536, descriptor[2]
        elem = dataset["LUTData"]
        value = elem.value
        if isinstance(value, bytes | bytearray):
            # 8-bit entries may be packed two to a 16-bit word: cut, but never mask them.
            width = 1 if bits <= 8 and elem.VR == "OB" else 2
            clean = bytes(value[: entries * width])
            if bits > 8:
                table = np.frombuffer(clean[: len(clean) // 2 * 2], dtype="<u2")
                clean = (table & ((1 << bits) - 1)).astype("<u2").tobytes()
            if clean != value:
                elem.value = clean
        elif isinstance(value, list | pydicom.multival.MultiValue):
            values = [int(v) & ((1 << bits) - 1) for v in list(value)[:entries]]
            if values != list(value):
                elem.value = values


def _holds_any(ds: pydicom.Dataset, words: frozenset[str]) -> bool:
    """A quick first look: whether any short text value holds one of ``words``, read from
    the raw bytes (nothing converted; a sequence still in its raw form is read whole, its
    element headers included). False only when surely none does; True sends the caller to
    the exact check. Character sets other than the default, Latin-1 and UTF-8 always go
    there."""
    charset = ds.get("SpecificCharacterSet") or ""
    charsets = {str(c).strip() for c in (charset if isinstance(charset, list) else [charset])}
    if not charsets <= {"", "ISO_IR 6", "ISO_IR 100", "ISO_IR 192"}:
        return True
    if not all(word.isascii() for word in words):
        return True
    texts: list[str] = []
    _raw_texts(ds, texts)
    # The words are ASCII: accents are dropped as _compact drops them, other letters too.
    folded = unicodedata.normalize("NFKC", "\x00".join(texts)).casefold()  # ß -> ss
    ascii_text = unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode()
    compact = _ALNUM_RUNS.sub("", ascii_text)
    return any(word in compact for word in words)


def _raw_texts(ds: pydicom.Dataset, texts: list[str]) -> None:
    for raw in ds.elements():
        vr = _vr_of(raw)
        value = raw.value
        if vr == "SQ" and not isinstance(value, bytes):
            for item in value or ():
                _raw_texts(item, texts)
        elif vr in _SHORT_TEXT_VRS or vr in ("UN", "SQ"):
            if isinstance(value, bytes):
                texts.append(value.decode("latin-1"))
                if not value.isascii():
                    texts.append(value.decode("utf-8", "ignore"))
            elif value is not None:
                texts.append(str(value))


def _vr_of(raw: Any) -> str:
    """An element's VR as read, the dictionary's for implicit VR, "UN" if unknown."""
    if raw.VR is not None:
        return str(raw.VR)
    try:
        return str(dictionary_VR(raw.tag))
    except KeyError:
        return "UN"


def _datasets(ds: pydicom.Dataset) -> list[pydicom.Dataset]:
    """``ds`` and every sequence item in it, at any depth."""
    found = [ds]
    for elem in _elements_of_vr(ds, frozenset({"SQ"})):
        for item in elem.value or ():
            found.extend(_datasets(item))
    return found


def _elements_of_vr(ds: pydicom.Dataset, vrs: frozenset[str]) -> Iterator[DataElement]:
    """The elements of ``ds`` (top level) with one of ``vrs``, converting only those and
    the ones whose VR is unknown (implicit VR, UN): a CT slice has hundreds of numbers and
    binary values that need no conversion."""
    for raw in ds.elements():
        vr = _vr_of(raw)
        if vr in vrs or vr == "UN":
            elem = ds[raw.tag]
            if elem.VR in vrs:
                yield elem


@_quiet
def first_pass(
    source: Path,
    out_dir: Path,
    *,
    keys: Keys,
    pseudonym: str | None = None,
    profile: Profile = FIRST_PASS,
    ocr: bool = True,
    remove_flagged_text: bool = False,
) -> FirstPassResult:
    """De-identify the header of one received file (PS3.15 E.1-1 + options).

    ``remove_flagged_text`` (the CLI, where nobody reviews): a free-text attribute in
    which :func:`anonymizer.freetext.find_identifiers` finds something is removed whole,
    and the result says which (never the value). Otherwise the values stay for the
    author's review; ``free_text`` always lists them with their findings.
    """
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
    result.identity_removed = str(ds.get("PatientIdentityRemoved", "")).strip().upper() == "YES"

    try:
        result.fingerprint = fingerprint(ds, keys)
        review_reasons = burned_in_text_reasons(ds)
        patient_key = f"{ds.get('PatientID', '')}^{ds.get('IssuerOfPatientID', '')}"
        ctx = HeaderContext(
            keys=keys, profile=profile, pseudonym=pseudonym or keys.pseudonym(patient_key)
        )
        own_values, glued = _own_values(ds), _glued_words(ds)
        report = deidentify_header(ds, ctx)
        emptied = _remove_glued_identifiers(ds, glued)
        removed_text = _remove_flagged_text(ds, own_values) if remove_flagged_text else []
        free_text = review_values(ds, own_values=own_values)
        del own_values, glued
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
    result.free_text = free_text
    result.removed_text = [keyword for keyword, _ in removed_text]
    result.reasons.extend(
        f"{keyword}: a value holding a word of the patient's name or ID was removed"
        for keyword in emptied
    )
    result.reasons.extend(
        f"{keyword} removed: it looks like it contains {kinds}" for keyword, kinds in removed_text
    )
    result.reidentification = {
        "pseudonym": ctx.pseudonym,
        "patient": report.original_patient,
        "date_offset_days": report.date_offset_days,
        "uid_map": report.uid_map,
    }
    return result


def _write_texts(ds: pydicom.Dataset, texts: Mapping[str, str]) -> None:
    """The author's accepted free-text values, at the top level ("" removes)."""
    for keyword, value in texts.items():
        if keyword not in FREE_TEXT_KEYWORDS:
            continue
        if value.strip():
            setattr(ds, keyword, value.strip())
        elif keyword in ds:
            del ds[keyword]


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
    texts: Mapping[str, str] | None = None,
    safe_regions: Sequence[Blackout] = (),
    residual_text: bool = True,
) -> SecondPassResult:
    """Burn the edits into the pixels, strip to the allowlist, verify, then write.

    The file is written and verified in ``staging_dir`` (default ``out_dir/.staging``;
    it must be on the same file system) and only a file that passed is renamed into
    ``out_dir``: nothing unverified ever sits among the published files.

    ``texts`` are the free-text values the author accepted, by keyword (an empty string
    removes the element); they are written before the header is stripped, and the
    verifier accepts exactly them. Keywords that are not free text
    (:data:`anonymizer.freetext.FREE_TEXT_KEYWORDS`) are ignored.

    ``safe_regions`` (original image coordinates) are areas the author marked as holding
    no identifying text: the verifier's residual text gate ignores them. Where that gate
    finds text, ``result.regions`` says where. ``residual_text=False`` skips the gate
    (for images of a long series that the caller does not sample; ADR 0003).
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
        # No bytes after the image, no bits above Bits Stored (nobody sees them here).
        normalise_native_pixel_data(ds)
        _trim_lut_data(ds)
        _write_texts(ds, texts or {})
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
        texts=texts,
        safe_regions=safe_regions,
        residual_text=residual_text,
    )
    result.info = info
    result.regions = [dict(p.region) for p in verdict.problems if p.region is not None]
    if not verdict.ok:
        part.unlink(missing_ok=True)
        result.reasons.extend(verdict.reasons())
        return result
    out_dir.mkdir(parents=True, exist_ok=True)
    result.output = _publish_part(part, info, out_dir)
    result.status = Status.PUBLISHED
    return result
