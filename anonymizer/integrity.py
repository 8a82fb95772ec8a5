"""Refuse malformed input before the engine touches it (PS3.5 7.1, 7.5, A.4; PS3.3 C.7.6.3).

pydicom reads a value whose declared length runs past the end of the data without a word:
it returns the bytes that are there, and everything after the value's start (the rest of
the data set: UIDs, pixel data...) disappears into it. A file like that must never be
de-identified as if it were whole, so :func:`check_integrity` makes it unreadable:

* every value, at any depth, holds as many bytes as its length field declares (PS3.5
  7.1.1: the Value Length), and every fragment of encapsulated pixel data fits inside the
  element (PS3.5 A.4);
* the data set names its study, series, instance and SOP class (PS3.3 C.12.1, C.7.2.1,
  C.7.3.1: Type 1 in every IOD);
* an instance of an image storage SOP class (:data:`IMAGE_SOP_CLASSES`) carries the Type 1
  attributes of the Image Pixel Module (PS3.3 C.7.6.3) and its pixel data.

Reasons name the attribute and sizes, never a value (values may be identifiers).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from pydicom import Dataset
from pydicom.datadict import dictionary_VR, keyword_for_tag
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.uid import UID

from anonymizer.sop_classes import PUBLISHABLE

__all__ = [
    "IMAGE_PIXEL_KEYWORDS",
    "IMAGE_SOP_CLASSES",
    "PIXEL_DATA_KEYWORDS",
    "REQUIRED_UID_KEYWORDS",
    "UnreadableError",
    "check_integrity",
    "check_lengths",
    "check_required",
]


class UnreadableError(Exception):
    """The file cannot be processed; the message says why in words a person understands."""


#: Type 1 UIDs of every composite IOD (PS3.3 C.7.2.1 study, C.7.3.1 series, C.12.1 SOP).
REQUIRED_UID_KEYWORDS: tuple[str, ...] = (
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "SOPInstanceUID",
    "SOPClassUID",
)

#: Image storage SOP classes: every class a teaching case may publish is an image.
IMAGE_SOP_CLASSES: frozenset[str] = PUBLISHABLE

#: Type 1 attributes of the Image Pixel Module (PS3.3 C.7.6.3) that decoding needs.
IMAGE_PIXEL_KEYWORDS: tuple[str, ...] = (
    "SamplesPerPixel",
    "PhotometricInterpretation",
    "Rows",
    "Columns",
    "BitsAllocated",
    "BitsStored",
    "PixelRepresentation",
)

#: An image has one of these (float pixel data: Parametric Map, PS3.3 C.7.6.3.1.4).
PIXEL_DATA_KEYWORDS: tuple[str, ...] = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")

_UNDEFINED = 0xFFFFFFFF
_ITEM, _SEQUENCE_END = 0xFFFEE000, 0xFFFEE0DD
_PIXEL_TAGS = frozenset({0x7FE00008, 0x7FE00009, 0x7FE00010})
_GREATER_THAN_ZERO = ("Rows", "Columns", "BitsAllocated", "BitsStored", "SamplesPerPixel")


def check_integrity(ds: Dataset) -> None:
    """Raise :class:`UnreadableError` if ``ds`` (as read by pydicom, values not deferred)
    is damaged or lacks what its SOP class requires; see the module docstring."""
    check_lengths(ds)
    check_required(ds)


# ---------------------------------------------------------------------------------------
# Value lengths


def check_lengths(ds: Dataset) -> None:
    """Every value at every depth (and the file meta) holds the bytes its length declares.

    pydicom keeps each value as read, so a value that is shorter than its length field is
    one whose bytes ran out: at the top level the file ended inside it. ``ds`` must have
    been read without deferring values (pydicom's default).
    """
    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        _check_dataset(meta, "", "file")
    _check_dataset(ds, "", "file")


def _name(tag: int) -> str:
    group, element = tag >> 16, tag & 0xFFFF
    keyword = "" if group & 1 else keyword_for_tag(tag)
    return f"({group:04X},{element:04X}) {keyword}" if keyword else f"({group:04X},{element:04X})"


def _check_dataset(ds: Dataset, prefix: str, container: str) -> None:
    # The elements as read, without pydicom's per-element lookups (this runs on every file).
    for raw in list(ds._dict.values()):
        tag = int(raw.tag)
        if isinstance(raw, RawDataElement):
            value, length = raw.value, raw.length
            if length != _UNDEFINED and isinstance(value, bytes) and len(value) < length:
                raise UnreadableError(
                    f"the value of {prefix}{_name(tag)} declares {length} bytes "
                    f"but the {container} ends after {len(value)}"
                )
            if tag in _PIXEL_TAGS and length == _UNDEFINED and isinstance(value, bytes):
                _check_fragments(value, prefix + _name(tag), little=raw.is_little_endian)
            if not length or (raw.VR or _dictionary_vr(tag)) != "SQ":
                continue
            elem = ds[tag]  # a sequence: parse its items (they are checked below)
        else:
            elem = raw
        if elem.VR == "SQ":
            _check_items(elem, prefix + _name(tag))


def _check_items(elem: DataElement, where: str) -> None:
    for number, item in enumerate(elem.value or (), start=1):
        # Items of a sequence with a defined length are parsed from that value's bytes.
        _check_dataset(item, f"{where} item {number} > ", "data")


def _dictionary_vr(tag: int) -> str:
    try:
        return str(dictionary_VR(tag))
    except KeyError:
        return "UN"


def _check_fragments(value: bytes, where: str, *, little: bool) -> None:
    """Encapsulated pixel data (PS3.5 A.4): items, each inside the value, to the end."""
    order = "<" if little else ">"
    for number, (tag, length, available) in enumerate(_items(value, order)):
        if tag != _ITEM:
            raise UnreadableError(
                f"the encapsulated {where} has something other than an item in place "
                f"of fragment {number}"
            )
        if length > available:
            raise UnreadableError(
                f"fragment {number} of {where} declares {length} bytes "
                f"but the pixel data ends after {available}"
            )


def _items(value: bytes, order: str) -> Iterator[tuple[int, int, int]]:
    pos = 0
    while pos + 8 <= len(value):
        group, element, length = struct.unpack_from(order + "HHI", value, pos)
        tag = group << 16 | element
        if tag == _SEQUENCE_END:
            return
        yield tag, length, len(value) - pos - 8
        pos += 8 + length


# ---------------------------------------------------------------------------------------
# What the SOP class requires


def check_required(ds: Dataset) -> None:
    """The data set has its UIDs and, for an image class, its pixel attributes."""
    missing = [keyword for keyword in REQUIRED_UID_KEYWORDS if not _present(ds, keyword)]
    if missing:
        raise UnreadableError(f"the data set has no {_listed(missing)}")
    sop_class = str(ds.SOPClassUID).strip("\x00 ")
    if sop_class not in IMAGE_SOP_CLASSES:
        return
    missing = [keyword for keyword in IMAGE_PIXEL_KEYWORDS if not _present(ds, keyword)]
    if not any(keyword in ds for keyword in PIXEL_DATA_KEYWORDS):
        missing.append("PixelData")
    name = UID(sop_class).name
    if missing:
        raise UnreadableError(
            f"this {name} instance has no {_listed(missing)}, which its SOP class requires"
        )
    for keyword in _GREATER_THAN_ZERO:
        try:
            number = int(ds[keyword].value)
        except (TypeError, ValueError):
            raise UnreadableError(f"{keyword} of this {name} instance is not a number") from None
        if number <= 0:
            raise UnreadableError(f"{keyword} is {number} in this {name} instance")


def _present(ds: Dataset, keyword: str) -> bool:
    if keyword not in ds:
        return False
    value = ds[keyword].value
    if isinstance(value, str | bytes):
        return bool(value.strip(" \x00") if isinstance(value, str) else value.strip(b" \x00"))
    return value is not None


def _listed(keywords: list[str]) -> str:
    if len(keywords) == 1:
        return keywords[0]
    return f"{', '.join(keywords[:-1])} or {keywords[-1]}"
