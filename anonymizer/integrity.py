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

Before pydicom parses anything, :func:`check_encoded` reads the encoded data set
iteratively and refuses sequences nested deeper than :data:`MAX_SEQUENCE_DEPTH`: pydicom
parses a nested sequence by recursion (PS3.5 7.5), so a few kilobytes of nested items
(2,000 levels) would otherwise end in a ``RecursionError`` inside the reader. It also
refuses a value read straight from the file whose length runs past the end of it: pydicom
allocates the declared length before reading (4 GB for a few bytes of header).

Reasons name the attribute and sizes, never a value (values may be identifiers).
"""

from __future__ import annotations

import mmap
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from pydicom import Dataset
from pydicom.datadict import dictionary_VR, keyword_for_tag
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.uid import UID

from anonymizer.sop_classes import PUBLISHABLE

__all__ = [
    "IMAGE_PIXEL_KEYWORDS",
    "IMAGE_SOP_CLASSES",
    "MAX_DEFLATED_BYTES",
    "MAX_SEQUENCE_DEPTH",
    "PIXEL_DATA_KEYWORDS",
    "REQUIRED_UID_KEYWORDS",
    "UnreadableError",
    "check_encoded",
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

#: Deepest sequence nesting accepted. Real objects stay far below it: an image's deepest
#: path is a functional group's code sequence (PerFrameFunctionalGroupsSequence > ... >
#: a code sequence > its modifier: 4 levels); RT structure sets 3; SR content trees, which
#: nest deepest, rarely pass 8. pydicom needs a handful of stack frames per level.
MAX_SEQUENCE_DEPTH = 16

#: A deflated data set (PS3.5 A.5) larger than this once inflated is refused.
MAX_DEFLATED_BYTES = 512 * 1024 * 1024

_UNDEFINED = 0xFFFFFFFF
_ITEM, _ITEM_END, _SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_PIXEL_TAGS = frozenset({0x7FE00008, 0x7FE00009, 0x7FE00010})
_GREATER_THAN_ZERO = ("Rows", "Columns", "BitsAllocated", "BitsStored", "SamplesPerPixel")


def check_integrity(ds: Dataset) -> None:
    """Raise :class:`UnreadableError` if ``ds`` (as read by pydicom, values not deferred)
    is damaged or lacks what its SOP class requires; see the module docstring."""
    check_lengths(ds)
    check_required(ds)


# ---------------------------------------------------------------------------------------
# Sequence nesting, read from the bytes before pydicom parses them

_IMPLICIT_LITTLE, _EXPLICIT_BIG = "1.2.840.10008.1.2", "1.2.840.10008.1.2.2"
_DEFLATED = ("1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.4.95")  # PS3.5 A.5, A.6
_SEQUENCE_END_BYTES = {True: b"\xfe\xff\xdd\xe0", False: b"\xff\xfe\xe0\xdd"}
#: Explicit VRs with a 2-byte reserved field and a 4-byte length (PS3.5 Table 7.1-1).
_LONG_VRS = frozenset(
    {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
)


@dataclass(slots=True)
class _Level:
    kind: str  # "data set", "sequence", "item" or "fragments" (encapsulated pixel data)
    end: int | None  # None: undefined length, ended by a delimitation item
    implicit: bool
    little: bool
    where: str = ""  # the path to it, as check_lengths names it ("(0008,1111) X item 1 > ")
    from_file: bool = True  # pydicom reads its values from the file (not a value's bytes)
    items: int = 0


def check_encoded(data: bytes | memoryview | mmap.mmap, *, limit: int = MAX_SEQUENCE_DEPTH) -> None:
    """Raise :class:`UnreadableError` if the encoded file ``data`` (preamble, "DICM", file
    meta, data set: PS3.10 7.1) has sequences nested deeper than ``limit``, or a value that
    pydicom would read straight from the file whose length runs past the end of it.

    A loop over the elements with an explicit stack, never recursion: a sequence (PS3.5
    7.5) of defined or undefined length, its items, and what pydicom also reads as one (an
    implicit-VR element of undefined length; UN of undefined length, PS3.5 6.2.2; UN whose
    tag is a sequence in the dictionary). pydicom reads such a value by asking the file for
    that many bytes, which allocates them first: 4 GB for a length of 0xFFFFFFF0 in a
    small file. Anything else malformed stops the scan quietly: the reader and
    :func:`check_lengths` say what is wrong with it.
    """
    with memoryview(data) as view:  # released here: ``data`` may be a memory map
        deepest, overrun = _scan(view)
    if overrun:
        raise UnreadableError(overrun)
    if deepest is None:
        raise UnreadableError(
            f"the deflated data set expands to more than {MAX_DEFLATED_BYTES // 2**20} MB"
        )
    if deepest > limit:
        raise UnreadableError(
            f"sequences are nested {deepest} deep; at most {limit} levels are accepted "
            "(real images need fewer than 10)"
        )


def _overrun(where: str, tag: int, length: int, available: int) -> str:
    container = "data" if where else "file"
    return (
        f"the value of {where}{_name(tag)} declares {length} bytes "
        f"but the {container} ends after {available}"
    )


def _scan(view: memoryview) -> tuple[int | None, str]:
    """How deep sequences nest in the encoded file (None: a deflated data set too large),
    and the first value read from the file that overruns it ("" if none)."""
    if bytes(view[128:132]) != b"DICM":
        return 0, ""  # pydicom refuses it (no DICM marker after the preamble)
    pos, transfer_syntax, overrun = _skip_file_meta(view)
    if overrun:
        return 0, overrun
    if transfer_syntax in _DEFLATED:
        inflated = _inflate(view[pos:])
        if inflated is None:
            return None, ""
        view, pos = memoryview(inflated), 0
    implicit = _implicit_found(view, pos, transfer_syntax == _IMPLICIT_LITTLE)
    stack = [_Level("data set", len(view), implicit, transfer_syntax != _EXPLICIT_BIG)]
    depth = deepest = 0
    while stack:
        level = stack[-1]
        if level.end is not None and pos >= level.end:
            depth -= stack.pop().kind == "sequence"
            continue
        if pos + 8 > len(view):
            break  # truncated: the reader reports it
        order = "<" if level.little else ">"
        group, element, length = struct.unpack_from(order + "HHI", view, pos)
        tag = group << 16 | element
        if level.kind in ("sequence", "fragments"):
            pos += 8
            if tag == _SEQUENCE_END:
                depth -= stack.pop().kind == "sequence"
            elif tag != _ITEM or (level.kind == "fragments" and length == _UNDEFINED):
                break
            elif level.kind == "fragments":
                pos += length
            else:
                level.items += 1
                end = None if length == _UNDEFINED else pos + length
                where = f"{level.where} item {level.items} > "
                # An item may be implicit VR in an explicit file (PS3.5 6.2.2), never the
                # other way round: as pydicom reads it.
                implicit = level.implicit or _implicit_found(view, pos, False)
                stack.append(_Level("item", end, implicit, level.little, where, level.from_file))
            continue
        if tag in (_ITEM_END, _SEQUENCE_END):
            if level.kind != "item" or tag == _SEQUENCE_END:
                break
            pos += 8
            stack.pop()
            continue
        vr: bytes | None = None
        if level.implicit:
            pos += 8
        else:
            vr = bytes(view[pos + 4 : pos + 6])
            if vr in _LONG_VRS:
                if pos + 12 > len(view):
                    break
                (length,) = struct.unpack_from(order + "I", view, pos + 8)
                pos += 12
            else:
                length = length >> 16 if level.little else length & 0xFFFF
                pos += 8
        if length != _UNDEFINED and length > len(view) - pos and level.from_file:
            return deepest, _overrun(level.where, tag, length, len(view) - pos)
        if tag in _PIXEL_TAGS and length == _UNDEFINED:
            stack.append(_Level("fragments", None, level.implicit, level.little))
        elif _is_sequence(tag, vr, length):
            depth += 1
            deepest = max(deepest, depth)
            # UN holding a sequence is encoded implicit VR little endian (PS3.5 6.2.2).
            implicit, little = (True, True) if vr == b"UN" else (level.implicit, level.little)
            # A sequence of defined length is read as a value first, then parsed from it.
            end, from_file = (
                (None, level.from_file) if length == _UNDEFINED else (pos + length, False)
            )
            where = level.where + _name(tag)
            stack.append(_Level("sequence", end, implicit, little, where, from_file))
        elif length == _UNDEFINED:  # read up to the sequence delimiter, as pydicom does
            found = bytes(view[pos:]).find(_SEQUENCE_END_BYTES[level.little])
            if found < 0:
                break
            pos += found + 8
        else:
            pos += length
    return deepest, ""


def _implicit_found(view: memoryview, pos: int, assumed: bool) -> bool:
    """Whether the data set at ``pos`` is implicit VR, judged from its first element as
    pydicom judges every data set it reads: files that name one encoding and use the
    other exist, and pydicom reads them as they are."""
    if pos + 6 > len(view):
        return assumed
    return not (0x40 < view[pos + 4] < 0x5B and 0x40 < view[pos + 5] < 0x5B)


def _is_sequence(tag: int, vr: bytes | None, length: int) -> bool:
    if vr == b"SQ":
        return True
    if vr is None or vr == b"UN":  # implicit VR, or explicit UN: as pydicom reads them
        return length == _UNDEFINED or (not tag >> 16 & 1 and _dictionary_vr(tag) == "SQ")
    return False


def _skip_file_meta(view: memoryview) -> tuple[int, str, str]:
    """Where the data set starts, the transfer syntax the file meta names, and a value of
    the command set or file meta that overruns the file ("" if none). pydicom reads a
    command set (group 0000, implicit VR) and the file meta (group 0002, explicit VR
    little endian, PS3.10 7.1) before the data set."""
    pos, transfer_syntax = 132, ""
    while pos + 8 <= len(view):
        group, element, length = struct.unpack_from("<HHI", view, pos)
        if group == 0x0000:  # implicit VR little endian
            pos += 8
        elif group != 0x0002:
            break
        elif bytes(view[pos + 4 : pos + 6]) in _LONG_VRS:
            if pos + 12 > len(view):
                break
            (length,) = struct.unpack_from("<I", view, pos + 8)
            pos += 12
        else:
            (length,) = struct.unpack_from("<H", view, pos + 6)
            pos += 8
        if length == _UNDEFINED:
            break
        if length > len(view) - pos:
            return (
                pos,
                transfer_syntax,
                _overrun("", group << 16 | element, length, len(view) - pos),
            )
        if group == 0x0002 and element == 0x0010:
            transfer_syntax = bytes(view[pos : pos + length]).decode("ascii", "replace")
            transfer_syntax = transfer_syntax.strip("\x00 ")
        pos += length
    return pos, transfer_syntax, ""


def _inflate(deflated: memoryview) -> bytes | None:
    """The inflated data set (PS3.5 A.5), or None if larger than :data:`MAX_DEFLATED_BYTES`."""
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    try:
        data = inflater.decompress(deflated, MAX_DEFLATED_BYTES)
    except zlib.error:
        return b""  # the reader reports a damaged stream
    return None if inflater.unconsumed_tail else data


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
