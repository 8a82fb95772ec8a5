"""A fresh File Meta Information group and preamble for a de-identified file (PS3.10 7.1).

The input's file meta can name the sending system (Source, Sending and Receiving
Application Entity Titles, Source Presentation Address), carry private information
(Private Information Creator UID, Private Information) and the original SOP Instance
UID; the 128-byte preamble is free for any application to fill. So nothing is copied:
:func:`rebuild_file_meta` writes only

- File Meta Information Version (required by PS3.10),
- Media Storage SOP Class UID and Media Storage SOP Instance UID (from the data set,
  so from the new SOP Instance UID),
- Transfer Syntax UID (:func:`output_transfer_syntax`),
- Implementation Class UID (:data:`IMPLEMENTATION_CLASS_UID`) and Implementation
  Version Name (:data:`IMPLEMENTATION_VERSION_NAME`),

and a preamble of 128 zero bytes.

Transfer syntax: native (uncompressed) pixel data and data sets without pixel data are
written as Explicit VR Little Endian, whatever they came in (Implicit VR, Deflated,
Explicit VR Big Endian: big endian OB/OW/OF/OD/OL/OV values are byte-swapped and every
element re-encoded). Encapsulated pixel data that nobody re-encoded keeps its transfer
syntax (its frames went through :mod:`.bitstream`).
"""

from __future__ import annotations

from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.tag import BaseTag
from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

__all__ = [
    "IMPLEMENTATION_CLASS_UID",
    "IMPLEMENTATION_VERSION_NAME",
    "output_transfer_syntax",
    "rebuild_file_meta",
]

#: Teachingfile's Implementation Class UID (PS3.7 D.3.3.2), a fixed UUID-derived UID.
IMPLEMENTATION_CLASS_UID = "2.25.100353146286689316983072793524268993610"
IMPLEMENTATION_VERSION_NAME = "TEACHINGFILE"

# Native syntaxes that are written as Explicit VR Little Endian.
_NATIVE_REWRITTEN = frozenset(
    {
        ImplicitVRLittleEndian,
        ExplicitVRLittleEndian,
        DeflatedExplicitVRLittleEndian,
        ExplicitVRBigEndian,
    }
)
_SOP_CLASS_UID = 0x00080016
_SOP_INSTANCE_UID = 0x00080018
_PIXEL_DATA = 0x7FE00010
_SWAP_WIDTH = {"OW": 2, "OF": 4, "OL": 4, "OD": 8, "OV": 8}


def output_transfer_syntax(requested: str) -> UID:
    """The transfer syntax a file is written in when ``requested`` is the syntax of its
    pixel data: any native syntax (implicit, deflated, big endian) becomes Explicit VR
    Little Endian; an encapsulated syntax stays as it is."""
    uid = UID(requested)
    if uid in _NATIVE_REWRITTEN or not uid.is_transfer_syntax:
        return UID(ExplicitVRLittleEndian)
    return uid


def rebuild_file_meta(ds: Dataset, *, transfer_syntax: str | None = None) -> None:
    """Replace ``ds.file_meta`` and ``ds.preamble`` (see module docstring), in place.

    ``transfer_syntax`` is the syntax the pixel data is in now (after any re-encoding);
    None means the syntax of the current file meta (Explicit VR Little Endian if there
    is none). It goes through :func:`output_transfer_syntax`. Raises ValueError if the
    data set has no SOP Class UID or SOP Instance UID, or if native pixel data would be
    labelled with an encapsulated syntax.
    """
    old_meta = getattr(ds, "file_meta", None)
    current = old_meta.get("TransferSyntaxUID") if old_meta is not None else None
    requested = transfer_syntax or current or ExplicitVRLittleEndian
    syntax = output_transfer_syntax(requested)
    sop_class = _uid_value(ds, _SOP_CLASS_UID)
    sop_instance = _uid_value(ds, _SOP_INSTANCE_UID)
    if not sop_class or not sop_instance:
        raise ValueError("the data set needs a SOP Class UID and a SOP Instance UID")
    if syntax.is_encapsulated and "PixelData" in ds and not _looks_encapsulated(ds):
        raise ValueError(f"native pixel data cannot be written as {syntax.name}")

    if current is not None and UID(current) == ExplicitVRBigEndian:
        _to_little_endian(ds)
    elif _raw_implicit_under_explicit_label(ds):
        _mark_implicit(ds)

    meta = FileMetaDataset()
    # Already encoded (Explicit VR Little Endian, PS3.10 7.1): written as they are.
    for tag, vr, value in (
        (0x00020001, "OB", b"\x00\x01"),
        (0x00020002, "UI", _padded(sop_class, b"\x00")),
        (0x00020003, "UI", _padded(sop_instance, b"\x00")),
        (0x00020010, "UI", _padded(str(syntax), b"\x00")),
        (0x00020012, "UI", _padded(IMPLEMENTATION_CLASS_UID, b"\x00")),
        (0x00020013, "SH", _padded(IMPLEMENTATION_VERSION_NAME, b" ")),
    ):
        meta._dict[BaseTag(tag)] = RawDataElement(
            BaseTag(tag), vr, len(value), value, 0, False, True
        )
    ds.file_meta = meta
    ds.preamble = b"\x00" * 128


def _padded(text: str, pad: bytes) -> bytes:
    data = text.encode("ascii")
    return data + pad if len(data) % 2 else data


def _uid_value(ds: Dataset, tag: int) -> str:
    """A UI value of ``ds`` as text, read from the raw bytes when it is still raw."""
    elem = ds._dict.get(BaseTag(tag))
    if elem is None:
        return ""
    if elem.is_raw and isinstance(elem.value, bytes):
        return elem.value.decode("ascii", "replace").strip(" \x00")
    return str(ds[tag].value or "").strip()


def _looks_encapsulated(ds: Dataset) -> bool:
    """Encapsulated Pixel Data starts with an Item tag (FFFE,E000) for the offset table."""
    value = ds["PixelData"].value
    return isinstance(value, bytes | bytearray) and value[:4] == b"\xfe\xff\x00\xe0"


def _to_little_endian(ds: Dataset) -> None:
    """Decode every element of a big endian data set (so pydicom re-encodes it) and
    byte-swap the values pydicom keeps as bytes (OW, OF, OL, OD, OV; Pixel Data by its
    Bits Allocated, as pydicom decodes it); then mark the data set, and every item in
    it, as little endian."""
    for tag in list(ds._dict):
        elem = ds[tag]
        if elem.VR == "SQ":
            for item in elem.value:
                _to_little_endian(item)
            continue
        if not isinstance(elem.value, bytes | bytearray):
            continue
        width = _SWAP_WIDTH.get(elem.VR, 1)
        if tag == _PIXEL_DATA:
            bits = int(ds.get("BitsAllocated") or 8)
            width = bits // 8 if bits > 8 else width
        if width > 1:
            elem.value = _swap(bytes(elem.value), width)
    encoding = ds.original_character_set
    ds.set_original_encoding(False, True, encoding)


def _raw_implicit_under_explicit_label(ds: Dataset) -> bool:
    """True if ``ds`` says it was read as explicit VR but its undecoded elements were
    in fact implicit VR (a file whose transfer syntax lies: pydicom falls back to
    implicit VR reading, and would then fail to write those elements as explicit)."""
    if ds.original_encoding[0] is not False:
        return False
    for elem in ds._dict.values():
        if isinstance(elem, RawDataElement):
            return elem.is_implicit_VR
    return False


def _mark_implicit(ds: Dataset) -> None:
    """Mark ``ds`` and its items as read in implicit VR, so that pydicom decodes every
    element (finding its VR in the dictionary) when it writes explicit VR."""
    ds.set_original_encoding(True, True, ds.original_character_set)
    for elem in ds._dict.values():
        if elem.VR == "SQ" and isinstance(elem.value, list):
            for item in elem.value:
                _mark_implicit(item)


def _swap(data: bytes, width: int) -> bytes:
    usable = len(data) - len(data) % width
    swapped = bytearray(data)
    for offset in range(width):
        swapped[offset:usable:width] = data[width - 1 - offset : usable : width]
    return bytes(swapped)
