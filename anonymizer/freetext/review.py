"""The free-text attributes a published file keeps, and what looks identifying in them.

:data:`FREE_TEXT_KEYWORDS` are the attributes of the second-pass allowlist
(:mod:`anonymizer.profile.allowlist`) whose values people type or scanners fill with
text (LO, SH, ST, LT, UT, UC). Left out: Patient Name and ID (the pseudonym, checked by
the verifier's fingerprint), De-identification Method and code-sequence items (written
by the engine), and defined terms (Rescale Type, Modality LUT Type, Stack ID). A test
keeps this list in step with the allowlist; it is not imported from there because the
verifier uses this module and must not load the engine's profile.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from typing import Any

from pydicom import Dataset
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.multival import MultiValue

from anonymizer.freetext.detect import Finding, find_identifiers

__all__ = [
    "FREE_TEXT_KEYWORDS",
    "NOT_FREE_TEXT_KEYWORDS",
    "findings_for",
    "free_text_values",
    "review_values",
]

FREE_TEXT_KEYWORDS: tuple[str, ...] = (
    "StudyDescription",
    "SeriesDescription",
    "ContrastBolusAgent",
    "ConvolutionKernel",
    "WindowCenterWidthExplanation",
    "LUTExplanation",
)

#: Text attributes of the allowlist that are not free text, and why.
NOT_FREE_TEXT_KEYWORDS: dict[str, str] = {
    "PatientName": "the pseudonym; checked against the fingerprint",
    "PatientID": "the pseudonym; checked against the fingerprint",
    "DeidentificationMethod": "written by the engine",
    "CodeMeaning": "written by the engine (de-identification method codes)",
    "CodeValue": "written by the engine (de-identification method codes)",
    "CodingSchemeDesignator": "written by the engine (de-identification method codes)",
    "CodingSchemeVersion": "written by the engine (de-identification method codes)",
    "RescaleType": "defined terms (HU, OD, US...)",
    "ModalityLUTType": "defined terms (HU, OD, US...)",
    "StackID": "a number given by the scanner",
}

#: Kinds that are not suspicious in one attribute: reconstruction kernels are codes by
#: nature (B30f, FC13, Br40d 3).
_FREE_TEXT_TAGS: dict[int, str] = {int(tag_for_keyword(k) or 0): k for k in FREE_TEXT_KEYWORDS}

_EXPECTED_KINDS: dict[str, frozenset[str]] = {
    "ConvolutionKernel": frozenset({"code"}),
}


def _text(value: Any) -> str:
    if isinstance(value, MultiValue):
        return "\\".join(str(v) for v in value)
    return "" if value is None else str(value)


def free_text_values(ds: Dataset, *, deep: bool = False) -> Iterator[tuple[str, str]]:
    """``(keyword, value)`` of each free-text attribute present with a non-empty value, at
    the top level of ``ds`` (and inside sequence items at any depth with ``deep``).

    Elements are looked at by tag first: only free-text values and (with ``deep``)
    sequences are converted from their raw form, so a CT slice costs next to nothing."""
    for raw in ds.elements():
        tag = int(raw.tag)
        if tag in _FREE_TEXT_TAGS:
            text = _text(ds[tag].value)
            if text.strip(" \x00"):
                yield _FREE_TEXT_TAGS[tag], text
        elif deep and _may_be_sequence(raw.VR, tag):
            elem = ds[tag]
            if elem.VR == "SQ":
                for item in elem.value or ():
                    yield from free_text_values(item, deep=True)


def _may_be_sequence(vr: str | None, tag: int) -> bool:
    """SQ, a sequence sent as UN, or an implicit-VR element the dictionary calls SQ (or
    does not know)."""
    if vr in ("SQ", "UN"):
        return True
    if vr is not None:
        return False
    try:
        return str(dictionary_VR(tag)) == "SQ"
    except KeyError:
        return True


def findings_for(keyword: str, value: str, *, own_values: Iterable[str] = ()) -> list[Finding]:
    """What looks identifying in ``value`` of attribute ``keyword``."""
    return list(_findings_for(keyword, value, tuple(own_values)))


@functools.lru_cache(maxsize=4096)
def _findings_for(keyword: str, value: str, own_values: tuple[str, ...]) -> tuple[Finding, ...]:
    # Cached: the images of a series repeat the same descriptions and identifiers.
    expected = _EXPECTED_KINDS.get(keyword, frozenset())
    found = find_identifiers(value, own_values=own_values)
    return tuple(f for f in found if f.kind not in expected)


def review_values(ds: Dataset, *, own_values: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Every free-text attribute present at the top level of ``ds``, for the author:
    ``{"keyword", "value", "findings": [Finding as dict]}`` in data set order."""
    own = tuple(own_values)
    return [
        {
            "keyword": keyword,
            "value": value,
            "findings": [f.to_json() for f in findings_for(keyword, value, own_values=own)],
        }
        for keyword, value in free_text_values(ds)
    ]
