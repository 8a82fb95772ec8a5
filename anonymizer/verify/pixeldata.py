"""Room for hidden data in the pixel data value itself (``hidden-data`` problems).

Viewers and pydicom read only part of a Pixel Data value, so the rest can carry anything
(issue 8's red team hid a name in each place):

* native (uncompressed) pixel data longer than Rows x Columns x Samples per Pixel x
  Number of Frames x Bits Allocated / 8, plus one byte that pads an odd length to an even
  one (PS3.5 8.1.1, 7.1.1);
* bits above Bits Stored (PS3.5 8.1.1, PS3.3 C.7.6.3.1.3): pydicom masks them when it
  decodes, so the stored words are read here as they are. For signed data the stored
  value must lie in the range of Bits Stored signed bits (the bits above are the sign);
* the 64-byte header of each RLE Lossless fragment (PS3.5 G.5): the number of segments
  (1 to 15), the first segment at offset 64, each later one after the previous and inside
  the fragment, and every unused offset zero.

Pixel values themselves are not text and are searched by :mod:`.residual`; the text
of an RLE header is also looked up by the verifier's byte scan.
"""

from __future__ import annotations

import itertools
import struct
from collections.abc import Iterator
from typing import Any

import numpy as np
from pydicom import Dataset
from pydicom.dataelem import RawDataElement
from pydicom.encaps import generate_fragments
from pydicom.uid import UID

from anonymizer.verify.verifier import Problem

__all__ = ["check_pixel_data"]

_RLE = "1.2.840.10008.1.2.5"
_DEFLATED = "1.2.840.10008.1.2.1.99"
# (tag, keyword, bits of a float value or None for Bits Allocated)
_PIXEL_ELEMENTS: tuple[tuple[int, str, int | None], ...] = (
    (0x7FE00010, "PixelData", None),
    (0x7FE00008, "FloatPixelData", 32),
    (0x7FE00009, "DoubleFloatPixelData", 64),
)
_CHUNK = 1 << 22  # stored values checked at a time


def _where(tag: int, keyword: str) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X}) {keyword}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def check_pixel_data(ds: Dataset, buf: Any = None) -> list[Problem]:
    """``hidden-data`` (and ``unreadable``) problems of the top-level pixel data value.

    ``buf`` is the file's bytes: a large value that pydicom did not read is looked at
    there, where it is, instead of being copied.
    """
    try:
        return _check(ds, buf)
    except Exception as exc:  # a value pydicom cannot convert: fail closed
        detail = f"the pixel data and its attributes could not be read ({type(exc).__name__})"
        return [Problem("unreadable", "pixel data", detail)]


def _check(ds: Dataset, buf: Any) -> list[Problem]:
    syntax = str(getattr(ds, "file_meta", Dataset()).get("TransferSyntaxUID", ""))
    problems = []
    for tag, keyword, float_bits in _PIXEL_ELEMENTS:
        if tag not in ds:
            continue
        where = _where(tag, keyword)
        try:
            geometry = _geometry(ds, float_bits)
        except (TypeError, ValueError):
            continue  # missing or malformed image attributes: reported as incomplete
        value = _value(ds, tag, syntax, buf)
        if value is None:
            continue
        if _encapsulated(syntax) and float_bits is None:
            if syntax == _RLE:
                problems += _check_rle(value, where)
            continue
        problems += _check_native(
            ds, value, geometry, where, little=syntax != "1.2.840.10008.1.2.2"
        )
    return problems


class _Geometry:
    def __init__(self, ds: Dataset, float_bits: int | None) -> None:
        self.rows, self.columns = int(ds.Rows), int(ds.Columns)
        self.samples = int(ds.get("SamplesPerPixel") or 1)
        if str(ds.get("PhotometricInterpretation", "")).endswith("_422") and self.samples == 3:
            self.samples = 2  # two chroma samples shared by each pair of pixels (PS3.3 C.7.6.3.1.2)
        self.frames = int(ds.get("NumberOfFrames") or 1)
        self.bits = float_bits or int(ds.BitsAllocated)
        self.stored = self.bits if float_bits else int(ds.get("BitsStored") or self.bits)
        self.signed = not float_bits and int(ds.get("PixelRepresentation") or 0) == 1
        if min(self.rows, self.columns, self.samples, self.frames, self.bits) < 1:
            raise ValueError("empty image")

    @property
    def values(self) -> int:
        return self.rows * self.columns * self.samples * self.frames

    @property
    def size(self) -> int:
        return -(-self.values * self.bits // 8)


def _geometry(ds: Dataset, float_bits: int | None) -> _Geometry:
    if (
        "Rows" not in ds
        or "Columns" not in ds
        or (float_bits is None and "BitsAllocated" not in ds)
    ):
        raise ValueError("no image attributes")
    return _Geometry(ds, float_bits)


def _encapsulated(syntax: str) -> bool:
    try:
        return bool(UID(syntax).is_encapsulated) if syntax else False
    except (AttributeError, ValueError):
        return False


def _value(ds: Dataset, tag: int, syntax: str, buf: Any) -> Any:
    """The value's bytes: a view of ``buf`` where pydicom deferred reading it, else the
    element's own bytes; None if there is no value."""
    raw = ds.get_item(tag, keep_deferred=True)
    if (
        isinstance(raw, RawDataElement)
        and raw.value is None
        and buf is not None
        and syntax != _DEFLATED
        and raw.value_tell is not None
        and raw.length not in (None, 0xFFFFFFFF)
        and raw.value_tell + raw.length <= len(buf)
    ):
        return memoryview(buf)[raw.value_tell : raw.value_tell + raw.length]
    value = ds[tag].value
    return value if isinstance(value, bytes | bytearray) else None


def _check_native(
    ds: Dataset, value: Any, geometry: _Geometry, where: str, *, little: bool
) -> list[Problem]:
    length, needed = len(value), geometry.size
    if length < needed:
        detail = (
            f"the pixel data holds {length} bytes but the image needs {needed} "
            f"({needed - length} fewer)"
        )
        return [Problem("unreadable", where, detail)]
    allowed = needed + (needed & 1)  # one byte pads an odd length
    problems = []
    if length > allowed:
        extra = length - needed
        detail = (
            f"the pixel data holds {extra} bytes more than the image needs: "
            "they are never shown and may hide anything"
        )
        problems.append(Problem("hidden-data", where, detail))
    if geometry.stored < geometry.bits and geometry.bits in (8, 16, 32, 64):
        count = _values_outside(value, geometry, little=little)
        if count:
            stored = geometry.stored
            if geometry.signed:
                detail = (
                    f"{_plural(count, 'pixel value')} lie outside the range of {stored} "
                    f"signed bits (Bits Stored): the bits above Bits Stored are ignored "
                    "by viewers and may hide anything"
                )
            else:
                detail = (
                    f"{_plural(count, 'pixel value')} have bits set above Bits Stored "
                    f"({stored} of {geometry.bits}): viewers ignore them and they may hide "
                    "anything"
                )
            problems.append(Problem("hidden-data", where, detail))
    return problems


def _values_outside(value: Any, geometry: _Geometry, *, little: bool) -> int:
    """How many stored values use bits above Bits Stored (outside the signed range)."""
    width = geometry.bits // 8
    kind = "i" if geometry.signed else "u"
    dtype = np.dtype(f"{'<' if little else '>'}{kind}{width}")
    stored = geometry.stored
    low, high = (-(1 << (stored - 1)), (1 << (stored - 1)) - 1) if geometry.signed else (0, 0)
    count = 0
    for offset in range(0, geometry.values, _CHUNK):
        size = min(_CHUNK, geometry.values - offset)
        words = np.frombuffer(value, dtype=dtype, count=size, offset=offset * width)
        if geometry.signed:
            count += int(np.count_nonzero((words < low) | (words > high)))
        else:
            count += int(np.count_nonzero(words >> stored))
    return count


def _fragments(value: Any) -> Iterator[bytes]:
    yield from generate_fragments(bytes(value))


def _check_rle(value: Any, where: str) -> list[Problem]:
    problems = []
    try:
        fragments = list(_fragments(value))
    except (ValueError, struct.error):
        return []  # the byte scan and the decoder say what is wrong
    for number, fragment in enumerate(fragments[1:], start=1):  # [0] is the offset table
        reason = _rle_header_fault(fragment)
        if reason:
            problems.append(
                Problem("hidden-data", f"{where}, the RLE header of fragment {number}", reason)
            )
    return problems


def _rle_header_fault(fragment: bytes) -> str | None:
    """Why the 64-byte RLE header of one fragment (PS3.5 G.5) is not as written by an
    encoder, or None."""
    if len(fragment) < 64:
        return "the fragment is shorter than an RLE header (64 bytes)"
    segments, *offsets = struct.unpack_from("<16I", fragment, 0)
    if not 1 <= segments <= 15:
        return f"the header declares {segments} segments (1 to 15 are allowed)"
    used, unused = offsets[:segments], offsets[segments:]
    if used[0] != 64:
        return "the first segment does not start right after the header"
    if any(b <= a for a, b in itertools.pairwise(used)) or used[-1] >= len(fragment):
        return "the segment offsets are not increasing within the fragment"
    if any(unused):
        return (
            f"{_plural(sum(1 for o in unused if o), 'unused segment offset')} of the header "
            "are not zero: they are never read and may hide anything"
        )
    return None
