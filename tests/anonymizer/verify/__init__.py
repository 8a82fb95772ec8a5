"""Builders shared by the verifier's tests: an original, its fingerprint, a clean output.

The clean output is made by hand from ``dirty_ct()`` (explicit deletions and
replacements), not by the engine: the verifier is tested on its own.
"""

from __future__ import annotations

import re
from typing import Any

from pydicom import Dataset
from pydicom.dataset import FileDataset
from pydicom.sequence import Sequence

from anonymizer.keys import Keys
from anonymizer.profile.allowlist import SECOND_PASS_ALLOWLIST
from anonymizer.verify import Fingerprint, Verdict, fingerprint, verify
from tests.anonymizer.dirty import PLANTED, PLANTED_UIDS, dirty_ct, to_bytes

KEYS = Keys(b"verifier-test-secret-0123456789")
PSEUDONYM = "TF-7KQ2M9XW4P"


def original(index: int = 1, **kwargs: Any) -> FileDataset:
    return dirty_ct(index, **kwargs)


def original_fingerprint(ds: Dataset | None = None) -> Fingerprint:
    return fingerprint(original() if ds is None else ds, KEYS)


def deid_method_sequence() -> Sequence:
    code = Dataset()
    code.CodeValue = "113100"
    code.CodingSchemeDesignator = "DCM"
    code.CodeMeaning = "Basic Application Confidentiality Profile"
    return Sequence([code])


def clean_output(ds: FileDataset | None = None) -> FileDataset:
    """``dirty_ct()`` stripped by hand to what a correct second pass would publish."""
    ds = original() if ds is None else ds
    ds.preamble = b"\0" * 128
    for keyword in ("SourceApplicationEntityTitle",):
        if keyword in ds.file_meta:
            delattr(ds.file_meta, keyword)
    for elem in list(ds):
        if int(elem.tag) not in SECOND_PASS_ALLOWLIST:
            del ds[elem.tag]
    ds.PatientName = PSEUDONYM
    ds.PatientID = PSEUDONYM
    ds.StudyDescription = "CT CHEST"
    ds.SeriesDescription = "AXIAL 2.5 mm"
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "FrameOfReferenceUID"):
        setattr(ds, keyword, KEYS.uid(ds[keyword].value))
    ds.SOPInstanceUID = KEYS.uid(ds.SOPInstanceUID)
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = "20190402"
    ds.AcquisitionDateTime = "20190402101502.123456"
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = "Teachingfile: PS3.15 Basic Profile with options"
    ds.DeidentificationMethodCodeSequence = deid_method_sequence()
    ds.LongitudinalTemporalInformationModified = "MODIFIED"
    return ds


def check(
    data: FileDataset | bytes,
    fp: Fingerprint | None = None,
    *,
    allowlist: frozenset[int] | None = SECOND_PASS_ALLOWLIST,
    **kwargs: Any,
) -> Verdict:
    raw = to_bytes(data) if isinstance(data, Dataset) else data
    kwargs.setdefault("pseudonym", PSEUDONYM)
    return verify(
        raw,
        fingerprint=original_fingerprint() if fp is None else fp,
        keys=KEYS,
        allowlist=allowlist,
        **kwargs,
    )


def phi_fragments() -> list[str]:
    """Every planted identifier and each of its words (>= 4 characters), upper and lower."""
    fragments: set[str] = set()
    for value in [*PLANTED.values(), *PLANTED_UIDS.values()]:
        fragments.add(value)
        for part in value.replace("^", " ").split():
            if len(part) >= 4 and part.lower() not in _NOT_IDENTIFYING:
                fragments.add(part)
    for value in PLANTED.values():
        fragments.update(re.findall(r"\d{6,}", value))
    return sorted(fragments | {f.lower() for f in fragments})


# Words of the planted descriptions that identify no one.
_NOT_IDENTIFYING = {"chest", "axial", "patient", "called"}


def assert_no_phi(verdict: Verdict, *extra: str) -> None:
    """No problem or reason repeats an identifier."""
    text = "\n".join([*verdict.reasons(), *(p.where + p.detail for p in verdict.problems)])
    for fragment in [*phi_fragments(), *extra]:
        assert fragment not in text, f"a reason repeats {fragment!r}"


def problems_of(verdict: Verdict, kind: str) -> list[str]:
    return [f"{p.where} | {p.detail}" for p in verdict.problems if p.kind == kind]
