"""The gate before publishing: an independent check of one de-identified file.

:func:`verify` runs at the second pass on the final output, with the :class:`Fingerprint`
the first pass kept of the original. It shares no code path with the engine it checks
(STYLE.md): it parses the file with pydicom and with its own minimal element walker,
tokenises text with :mod:`.tokens`, and decodes pixels with pydicom alone.

Each check is a small function returning :class:`Problem` values; a Problem names the
attribute, the byte offset or the pixel region, and says what is wrong in plain words
that never repeat the identifier. Problem kinds:

``unreadable``            the file (or its pixel data) does not parse or decode, or a value's
                          declared length runs past the end of the data that holds it
``incomplete``            the study, series or instance UID is missing, or an image lacks
                          its rows, columns or pixel data
``private``               a private data element (PS3.5 7.8), at any depth or in the file meta
``not-allowed``           an attribute outside the second-pass allowlist
``identity-not-removed``  Patient Identity Removed is not YES or the method is not recorded
                          (PS3.15 E.1, PS3.3 C.7.1.1)
``uid-not-new``           an instance UID of the original is still present
``uid-mismatch``          the file meta's SOP Class/Instance UIDs differ from the data set's
``identifier``            a word or number of an identifying attribute is still present,
                          in a decoded value or anywhere in the file's bytes
``hidden-data``           room in the pixel data value that nothing shows: bytes after the
                          image, bits above Bits Stored, unused RLE header offsets
                          (:mod:`.pixeldata`)
``pixels-not-black``      an author's box is not black on some frame
``crop-mismatch``         the image is larger than the author's crop
``ocr-text``              OCR reads an identifier in the pixels, or any text inside a box
``ocr-failed``            the file is flagged for OCR but OCR could not run
``residual-text``         the verifier's own text detector (:mod:`.residual`) finds text-like
                          marks outside the author's boxes and safe areas (ADR 0003)
``free-text``             a free-text value that the author did not accept looks like it
                          holds a name, a code, a date... (:mod:`.freetext_gate`)
"""

from __future__ import annotations

import functools
import io
import math
import mmap
import os
import re
import struct
import unicodedata
import zlib
from collections.abc import Iterator, Mapping, MutableSequence, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pydicom
from pydicom import Dataset
from pydicom._uid_dict import UID_dictionary
from pydicom.datadict import dictionary_VR, keyword_for_tag
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.tag import Tag

from anonymizer.keys import Keys
from anonymizer.verify.fingerprint import (
    CLASS_UID_TAGS,
    TEXT_VRS,
    Fingerprint,
    charset_encodings,
    element_texts,
    is_instance_uid,
    printable_runs,
    quiet_pydicom,
    uid_hash,
    uids_in_text,
)
from anonymizer.verify.tokens import (
    DATE,
    PART,
    STOPWORDS,
    TIME,
    WHOLE,
    kind_token,
    token_hash,
    token_set,
    tokens,
)

if TYPE_CHECKING:  # the type only: importing anonymizer.pixels would load the engine's code
    from anonymizer.pixels.regions import Blackout, Edits

__all__ = [
    "ENGINE_WRITTEN_KEYWORDS",
    "FILE_META_ALLOWED_KEYWORDS",
    "Problem",
    "Verdict",
    "verify",
]

#: Attributes the engine itself writes at the second pass, allowed whatever the allowlist.
ENGINE_WRITTEN_KEYWORDS: tuple[str, ...] = (
    "SpecificCharacterSet",
    "PatientIdentityRemoved",
    "DeidentificationMethod",
    "DeidentificationMethodCodeSequence",
    "CodeValue",
    "CodingSchemeDesignator",
    "CodingSchemeVersion",
    "CodeMeaning",
    "LongitudinalTemporalInformationModified",
    "BurnedInAnnotation",
    "RecognizableVisualFeatures",
    "LossyImageCompression",
    "LossyImageCompressionRatio",
    "LossyImageCompressionMethod",
    "PixelData",
)

#: The only File Meta Information elements a published file may carry (PS3.10 7.1).
FILE_META_ALLOWED_KEYWORDS: tuple[str, ...] = (
    "FileMetaInformationGroupLength",
    "FileMetaInformationVersion",
    "MediaStorageSOPClassUID",
    "MediaStorageSOPInstanceUID",
    "TransferSyntaxUID",
    "ImplementationClassUID",
    "ImplementationVersionName",
)


def _tags(keywords: tuple[str, ...]) -> frozenset[int]:
    return frozenset(int(Tag(keyword)) for keyword in keywords)


_ENGINE_WRITTEN = _tags(ENGINE_WRITTEN_KEYWORDS)
_FILE_META_ALLOWED = _tags(FILE_META_ALLOWED_KEYWORDS)
_PIXEL_TAGS = frozenset({0x7FE00008, 0x7FE00009, 0x7FE00010})
_ITEM, _ITEM_END, _SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_UNDEFINED = 0xFFFFFFFF
# Elements larger than this are not read by pydicom until asked for (pixel data, mostly).
_DEFER_SIZE = 256 * 1024
_MAX_DEPTH = 32

_KIND_TEXT = {
    "unreadable": "Unreadable",
    "incomplete": "Incomplete",
    "free-text": "Free text",
    "private": "Private attribute",
    "not-allowed": "Attribute not allowed",
    "identity-not-removed": "De-identification not recorded",
    "uid-not-new": "Original UID kept",
    "uid-mismatch": "UIDs disagree",
    "identifier": "Identifier",
    "hidden-data": "Hidden data in the pixels",
    "pixels-not-black": "Box not black",
    "crop-mismatch": "Crop not applied",
    "ocr-text": "Text in the pixels",
    "ocr-failed": "OCR failed",
    "residual-text": "Text left in the pixels",
}


@dataclass(frozen=True)
class Problem:
    """One reason not to publish a file; never contains the identifier itself."""

    kind: str
    where: str
    detail: str
    #: For ``residual-text``: where the marks are, in the original (uncropped) image,
    #: ``{"frame": int | None, "x", "y", "width", "height"}`` (frame None: every frame).
    region: dict[str, int | None] | None = field(default=None, compare=False, hash=False)


@dataclass(frozen=True)
class Verdict:
    """The verifier's answer: publish only if ``ok``."""

    ok: bool
    problems: tuple[Problem, ...] = field(default=())

    def reasons(self) -> list[str]:
        """One plain-English line per problem."""
        return [f"{_KIND_TEXT.get(p.kind, p.kind)}: {p.where}: {p.detail}" for p in self.problems]


# ---------------------------------------------------------------------------------------
# Looking tokens and UIDs up in the fingerprint


class _Lookup:
    """Hashes output tokens and UIDs and finds them in the fingerprint."""

    def __init__(self, fingerprint: Fingerprint, keys: Keys, pseudonym: str | None) -> None:
        self.fingerprint = fingerprint
        self.keys = keys
        self.exempt = {token_hash(keys, t) for t in tokens(pseudonym)} if pseudonym else set()

    def sources(self, text: str, tag: int | None = None, vr: str | None = None) -> list[str]:
        """The keywords whose tokens occur in ``text``, each once, sorted.

        In a date, time or number of the output (``tag`` of a numeric VR, or ``vr`` as
        written) a run of digits is compared only with identifying values of the same
        kind (:mod:`.tokens`): a study time is not a procedure step ID that shares its
        digits, a slice location is not part of an accession number. There, only runs of
        6 or more digits count, so a Window Width of 1500 is not the end of a phone number.
        Letters are compared as in text.

        In a number, the integer part (5 or more digits) is also compared with the number
        an identifier with letters is built around: the "48213597" of a Patient ID
        "MRN48213597" written as an Acquisition Number.
        """
        kind = _number_kind(tag, vr)
        integers = _integer_parts(text) if kind == "number" else frozenset()
        found = set()
        for token in token_set(text):
            digest = token_hash(self.keys, token)
            if digest in self.exempt:
                continue
            if kind is not None and token.isdigit():
                source = self._number_source(token, kind)
                if source is None and token in integers:
                    source = self._part_source(token)
            else:
                source = self.fingerprint.tokens.get(digest)
            if source is not None:
                found.add(source)
        return sorted(found)

    def _number_source(self, token: str, kind: str) -> str | None:
        if len(token) < _MIN_DIGITS_IN_NUMBERS:
            return None
        for recorded in _KINDS_FOR[kind]:
            source = self.fingerprint.tokens.get(token_hash(self.keys, kind_token(recorded, token)))
            if source is not None:
                return source
        # A fingerprint made before numbers were recorded by kind: the source's own VR.
        source = self.fingerprint.tokens.get(token_hash(self.keys, token))
        if source is not None and _keyword_vr(source) in _SAME_VRS.get(kind, ()):
            return source
        return None

    def _part_source(self, token: str) -> str | None:
        """The identifier with letters built around the number ``token`` (see
        :func:`.tokens.number_part`), if any."""
        return self.fingerprint.tokens.get(token_hash(self.keys, kind_token(PART, token)))

    def glued(self, text: str) -> list[str]:
        """The identifying attributes a word of which (5 letters or more) is glued inside
        a longer run of letters of ``text`` ("KOWALCZYKZ", "AXIALSMITHJ"), each once.

        Runs that are themselves ordinary words (vocabulary, stop words) are not searched:
        "PELVIS" holds "ELVIS" by chance, not because of a patient called Elvis.
        """
        found: set[str] = set()
        folded = unicodedata.normalize("NFKC", text).casefold()
        for run in _LETTER_RUN.findall(folded):
            if len(run) > _GLUED_RUN_LIMIT or run in _ordinary_words():
                continue
            for begin in range(len(run) - _GLUED_WORD + 1):
                stop = min(len(run), begin + _GLUED_WORD_LIMIT)
                for finish in range(begin + _GLUED_WORD, stop + 1):
                    if finish - begin == len(run):
                        continue  # the whole run: compared as a token already
                    digest = token_hash(self.keys, run[begin:finish])
                    source = self.fingerprint.tokens.get(digest)
                    if (
                        source is not None
                        and digest not in self.exempt
                        and not source.startswith("private")
                    ):
                        found.add(source)
        return sorted(found)

    def old_uids(self, text: str, *, whole: bool) -> int:
        """How many UIDs of the original occur in ``text`` (the whole value, or within it)."""
        candidates = [text.strip("\x00 ")] if whole else uids_in_text(text)
        return sum(
            1
            for uid in candidates
            if is_instance_uid(uid) and uid_hash(self.keys, uid) in self.fingerprint.uids
        )


_MIN_DIGITS_IN_NUMBERS = 6
_MIN_DIGITS_OF_A_PART = 5
# The integer part of a number: digits not after a decimal point or other digits.
_INTEGER_PART = re.compile(rf"(?<![\d.])\d{{{_MIN_DIGITS_OF_A_PART},}}")
# Glued words: runs of letters, identifying words of 5 to 32 letters inside them, in
# code strings and short texts (values up to 64 characters).
_LETTER_RUN = re.compile(r"[^\W\d_]{6,}")
_GLUED_WORD, _GLUED_WORD_LIMIT, _GLUED_RUN_LIMIT = 5, 32, 64
_GLUED_VRS = frozenset({"AE", "CS", "LO", "SH"})
# Binary numbers (PS3.5 6.2): their integer values are compared like written numbers.
_BINARY_NUMBER_VRS = frozenset({"FD", "FL", "SL", "SS", "SV", "UL", "US", "UV"})


@functools.cache
def _ordinary_words() -> frozenset[str]:
    from anonymizer.freetext.vocabulary import DESCRIPTOR_WORDS  # data only; loaded once

    return STOPWORDS | DESCRIPTOR_WORDS


def _integer_parts(text: str) -> frozenset[str]:
    return frozenset(_INTEGER_PART.findall(text))


def _binary_numbers(elem: DataElement) -> list[str]:
    """The integer parts of a binary number element's values, as text."""
    value = elem.value
    values = value if isinstance(value, MutableSequence | tuple | list) else [value]
    out = []
    for v in values:
        if isinstance(v, int | float) and math.isfinite(v) and abs(v) >= 1e4:
            out.append(str(int(abs(v))))
    return out


_NUMERIC_VRS = frozenset(
    {"AS", "DA", "DS", "DT", "FD", "FL", "IS", "SL", "SS", "SV", "TM", "UL", "US", "UV"}
)


# What a digit run of an output element is compared with, by the element's VR.
_KINDS_FOR = {"DA": (DATE,), "TM": (TIME,), "DT": (DATE, TIME), "number": (WHOLE,)}
_SAME_VRS = {"DA": ("DA", "DT"), "TM": ("TM", "DT"), "DT": ("DA", "TM", "DT")}


def _number_kind(tag: int | None, vr: str | None) -> str | None:
    """The kind of an element whose value is a date, time or number: "DA", "TM", "DT" or
    "number", by the VR it was written with, else the dictionary's; None for text (and
    for private elements, whose VR nobody vouches for)."""
    if tag is None or tag & 0x10000:
        return None
    vr = vr or _dictionary_vr(tag)
    if vr not in _NUMERIC_VRS:
        return None
    return vr if vr in ("DA", "TM", "DT") else "number"


@functools.lru_cache(maxsize=1024)
def _keyword_vr(keyword: str) -> str:
    try:
        return str(dictionary_VR(keyword))
    except (KeyError, ValueError):  # a private source such as "private (0029,xx10)"
        return ""


def _found_here(source: str) -> str:
    return f"a word or number of {source} appears here"


# ---------------------------------------------------------------------------------------
# Walking the decoded data set


@functools.lru_cache(maxsize=4096)
def _name(tag: int) -> str:
    group, element = tag >> 16, tag & 0xFFFF
    if group & 1:
        return f"({group:04X},{element:04X}) private"
    keyword = keyword_for_tag(tag)
    return f"({group:04X},{element:04X}) {keyword}" if keyword else f"({group:04X},{element:04X})"


@dataclass(frozen=True)
class _Element:
    tag: int
    vr: str
    where: str
    elem: DataElement | None  # None: a large binary value that was not read
    in_private: bool  # inside a private sequence
    not_allowed: bool  # not on the allowlist (always False without one)
    in_not_allowed: bool  # inside a sequence that is private or not allowed


def _elements(
    ds: Dataset,
    *,
    allowed: frozenset[int] | None,
    prefix: str = "",
    in_private: bool = False,
    in_not_allowed: bool = False,
) -> Iterator[_Element]:
    """Every element at every depth, without reading large binary values (PS3.5 7.5)."""
    for key in list(ds.keys()):
        tag = int(key)
        where = prefix + _name(tag)
        raw = ds.get_item(tag, keep_deferred=True)
        elem: DataElement | None
        if isinstance(raw, RawDataElement) and raw.value is None and raw.length:
            vr = raw.VR or _dictionary_vr(tag)
            elem = ds[tag] if vr in TEXT_VRS or vr == "SQ" else None
        else:
            elem = ds[tag]
        vr = elem.VR if elem is not None else (raw.VR or _dictionary_vr(tag))
        private = bool(tag & 0x10000)
        not_allowed = allowed is not None and tag not in allowed
        yield _Element(tag, vr, where, elem, in_private, not_allowed, in_not_allowed)
        if elem is not None and vr == "SQ":
            for number, item in enumerate(elem.value or (), start=1):
                yield from _elements(
                    item,
                    allowed=allowed,
                    prefix=f"{where}[{number}] > ",
                    in_private=in_private or private,
                    in_not_allowed=in_not_allowed or not_allowed or private,
                )


def _dictionary_vr(tag: int) -> str:
    try:
        return str(dictionary_VR(tag))
    except KeyError:
        return "UN"


# ---------------------------------------------------------------------------------------
# Checks on the decoded data set


def _check_private(meta: list[_Element], body: list[_Element]) -> list[Problem]:
    problems = [
        Problem("private", e.where, "a private attribute is still present")
        for e in body
        if e.tag & 0x10000 and not e.in_private
    ]
    problems += [
        Problem("private", e.where, "private information in the file meta is still present")
        for e in meta
        if e.tag in (0x00020100, 0x00020102)
    ]
    return problems


def _check_allowed(meta: list[_Element], body: list[_Element]) -> list[Problem]:
    problems = [
        Problem("not-allowed", e.where, "this file meta element is not allowed")
        for e in meta
        if e.tag not in _FILE_META_ALLOWED and e.tag not in (0x00020100, 0x00020102)
    ]
    problems += [
        Problem("not-allowed", e.where, "this attribute is not on the allowlist")
        for e in body
        if e.not_allowed and not e.in_not_allowed and not e.tag & 0x10000
    ]
    return problems


_REQUIRED_UIDS = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")
_IMAGE_ATTRIBUTES = ("Rows", "Columns")
_PIXEL_DATA = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
# Image storage classes whose names do not say "Image Storage" (PS3.4 B.5).
_IMAGE_CLASS_NAMES = frozenset({"Enhanced US Volume Storage", "Parametric Map Storage"})


def _is_image_class(sop_class: str) -> bool:
    """True for an image storage SOP class, by its name in pydicom's UID dictionary."""
    entry = UID_dictionary.get(sop_class.strip("\x00 "))
    return entry is not None and ("Image Storage" in entry[0] or entry[0] in _IMAGE_CLASS_NAMES)


def _check_complete(ds: Dataset) -> list[Problem]:
    """The output names its study, series and instance, and an image has its pixels: a
    value that swallowed the rest of the data set leaves a file without them."""

    def present(keyword: str) -> bool:
        value = ds.get(keyword)
        return value is not None and str(value).strip("\x00 ") != ""

    problems = [
        Problem("incomplete", _name(int(Tag(k))), "the file has no value for this UID")
        for k in _REQUIRED_UIDS
        if not present(k)
    ]
    if _is_image_class(str(ds.get("SOPClassUID", ""))):
        problems += [
            Problem("incomplete", _name(int(Tag(k))), "an image must have this attribute")
            for k in _IMAGE_ATTRIBUTES
            if not present(k)
        ]
        if not any(k in ds for k in _PIXEL_DATA):
            problems.append(
                Problem("incomplete", _name(0x7FE00010), "an image must have its pixel data")
            )
    return problems


def _check_identity_removed(ds: Dataset) -> list[Problem]:
    problems = []
    if str(ds.get("PatientIdentityRemoved", "")).strip().upper() != "YES":
        problems.append(
            Problem(
                "identity-not-removed",
                _name(0x00120062),
                "Patient Identity Removed must be YES",
            )
        )
    if not ds.get("DeidentificationMethodCodeSequence"):
        problems.append(
            Problem(
                "identity-not-removed",
                _name(0x00120064),
                "the De-identification Method Code Sequence is missing or empty",
            )
        )
    return problems


def _check_uids(
    ds: Dataset,
    meta: list[_Element],
    body: list[_Element],
    lookup: _Lookup,
    seen: set[tuple[Any, str]],
) -> list[Problem]:
    problems = []
    for e in (*meta, *body):
        if e.elem is None or e.tag in CLASS_UID_TAGS:
            continue
        texts = element_texts(e.elem)
        if e.vr == "UI":
            count = sum(lookup.old_uids(text, whole=True) for text in texts)
        elif e.vr in TEXT_VRS:
            count = sum(lookup.old_uids(text, whole=False) for text in texts)
        else:
            continue
        if count:
            seen.add((e.tag, "uid"))
            problems.append(Problem("uid-not-new", e.where, "a UID of the original file is kept"))
    file_meta = getattr(ds, "file_meta", Dataset())
    for meta_keyword, keyword in (
        ("MediaStorageSOPInstanceUID", "SOPInstanceUID"),
        ("MediaStorageSOPClassUID", "SOPClassUID"),
    ):
        if str(file_meta.get(meta_keyword, "")).strip() != str(ds.get(keyword, "")).strip():
            problems.append(
                Problem(
                    "uid-mismatch",
                    _name(int(Tag(meta_keyword))),
                    f"the file meta's {meta_keyword} differs from the data set's {keyword}",
                )
            )
    return problems


def _check_identifiers(
    meta: list[_Element], body: list[_Element], lookup: _Lookup, seen: set[tuple[int, str]]
) -> list[Problem]:
    problems = []
    for e in (*meta, *body):
        if e.elem is None:
            continue
        sources: set[str] = set()
        if e.vr in _BINARY_NUMBER_VRS and not e.tag & 0x10000:
            for text in _binary_numbers(e.elem):
                sources.update(lookup.sources(text, e.tag, e.vr))
        elif e.vr not in TEXT_VRS:
            continue
        for text in element_texts(e.elem):
            sources.update(lookup.sources(text, e.tag, e.vr))
            if e.vr in _GLUED_VRS:
                sources.update(lookup.glued(text))
        for source in sorted(sources):
            seen.add((e.tag, source))
            problems.append(Problem("identifier", e.where, _found_here(source)))
    return problems


# ---------------------------------------------------------------------------------------
# The raw-bytes scan: everything in the file except pixel values


_LONG_VRS = frozenset(
    {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"}
)
_VR_BYTES = re.compile(rb"[A-Z]{2}")
# The next JPEG marker after entropy-coded data: 0xFF not followed by a stuffed 0x00, a
# restart marker or a fill byte (ITU-T T.81 B.1.1.5, B.1.1.2).
_JPEG_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_DEFLATED = "1.2.840.10008.1.2.1.99"
_RLE = "1.2.840.10008.1.2.5"


class _RawScan:
    """Walks a Part 10 file's bytes with its own parser (PS3.10 7.1, PS3.5 7.1-7.5, A.4)
    and looks up the tokens of every printable run outside pixel values."""

    def __init__(self, lookup: _Lookup, encodings: list[str], seen: set[tuple[Any, str]]) -> None:
        self.lookup = lookup
        self.encodings = encodings
        self.seen = seen
        self.problems: list[Problem] = []
        self.region = "file bytes"
        self.rle = False

    # -- reporting

    def text(self, buf: Any, start: int, end: int, tag: int | None, note: str = "") -> None:
        """Look up every printable run in ``buf[start:end]``."""
        if end - start < 3:
            return
        if not note and tag is not None:
            note = f"in {_name(tag)}"
        key: Any = tag if tag is not None else note
        for offset, text in printable_runs(buf, self.encodings, start, end):
            where = f"{self.region} at offset {offset}" + (f" ({note})" if note else "")
            for source in self.lookup.sources(text, tag):
                if (key, source) not in self.seen:
                    self.seen.add((key, source))
                    self.problems.append(Problem("identifier", where, _found_here(source)))
            if self.lookup.old_uids(text, whole=False) and (key, "uid") not in self.seen:
                self.seen.add((key, "uid"))
                self.problems.append(
                    Problem("uid-not-new", where, "a UID of the original file is kept")
                )

    # -- the file

    def file(self, buf: Any, transfer_syntax: str) -> None:
        end = len(buf)
        self.rle = transfer_syntax == _RLE
        self.text(buf, 0, min(128, end), None, "the preamble")
        if bytes(buf[128:132]) != b"DICM":
            self.text(buf, 128, end, None, "no DICM prefix")
            return
        pos = self.dataset(buf, 132, end, implicit=False, little=True, depth=0, meta=True)
        if transfer_syntax == _DEFLATED:
            self.deflated(buf, pos, end)
            return
        uid = pydicom.uid.UID(transfer_syntax) if transfer_syntax else None
        if uid is not None and uid.is_transfer_syntax:
            implicit, little = uid.is_implicit_VR, uid.is_little_endian
        else:  # unknown: guess from the first element, as readers do
            implicit, little = not _VR_BYTES.fullmatch(bytes(buf[pos + 4 : pos + 6])), True
        while pos < end:
            pos = self.dataset(buf, pos, end, implicit=implicit, little=little, depth=0)

    def deflated(self, buf: Any, pos: int, end: int) -> None:
        """Deflated Explicit VR Little Endian (PS3.5 A.5): scan the inflated data set."""
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        try:
            data = inflater.decompress(bytes(buf[pos:end]))
        except zlib.error:
            self.text(buf, pos, end, None, "a deflated data set that does not inflate")
            return
        saved, self.region = self.region, "inflated data set bytes"
        inner = 0
        while inner < len(data):
            inner = self.dataset(data, inner, len(data), implicit=False, little=True, depth=0)
        self.region = saved
        tail = inflater.unused_data
        if tail:
            self.text(tail, 0, len(tail), None, "after the deflated data set")

    # -- data elements

    def dataset(
        self,
        buf: Any,
        pos: int,
        end: int,
        *,
        implicit: bool,
        little: bool,
        depth: int,
        meta: bool = False,
    ) -> int:
        """Scan elements from ``pos``; return where the data set (or the item) ends."""
        order = "<" if little else ">"
        while pos < end:
            if end - pos < 8:
                self.text(buf, pos, end, None, "after the data set")
                return end
            group, element = struct.unpack_from(order + "HH", buf, pos)
            tag = group << 16 | element
            if meta and group != 0x0002:
                return pos
            if tag in (_ITEM_END, _SEQUENCE_END):
                return pos + 8
            vr: str | None = None
            if implicit or group == 0xFFFE:
                (length,) = struct.unpack_from(order + "I", buf, pos + 4)
                start = pos + 8
            else:
                vr_bytes = bytes(buf[pos + 4 : pos + 6])
                if not _VR_BYTES.fullmatch(vr_bytes):
                    self.text(buf, pos, end, None, "bytes that do not parse as data elements")
                    return end
                vr = vr_bytes.decode()
                if vr in _LONG_VRS:
                    if end - pos < 12:
                        self.text(buf, pos, end, None, "after the data set")
                        return end
                    (length,) = struct.unpack_from(order + "I", buf, pos + 8)
                    start = pos + 12
                else:
                    (length,) = struct.unpack_from(order + "H", buf, pos + 6)
                    start = pos + 8
            if tag in _PIXEL_TAGS:  # pixel values are not text (an icon's too)
                if length == _UNDEFINED:
                    pos = self.encapsulated(buf, start, end, tag)
                else:
                    pos = min(start + length, end)
                continue
            if length == _UNDEFINED:
                # A sequence, or UN of undefined length: implicit VR little endian inside.
                nested_implicit = implicit or vr == "UN"
                pos = self.items(buf, start, end, nested_implicit, little or vr == "UN", depth + 1)
                continue
            stop = start + length
            if stop > end:
                self.problems.append(
                    Problem(
                        "unreadable",
                        f"{self.region} at offset {pos}",
                        f"the value of {_name(tag)} declares {length} bytes "
                        f"but only {end - start} follow",
                    )
                )
                self.text(buf, start, end, tag)
                return end
            if self.is_sequence(buf, start, stop, tag, vr, implicit):
                nested_implicit = implicit or vr == "UN"
                self.items(buf, start, stop, nested_implicit, little or vr == "UN", depth + 1)
            else:
                self.text(buf, start, stop, tag)
            pos = stop
        return pos

    @staticmethod
    def is_sequence(
        buf: Any, start: int, stop: int, tag: int, vr: str | None, implicit: bool
    ) -> bool:
        if vr == "SQ":
            return True
        if vr not in (None, "UN") or stop - start < 8:
            return False
        if implicit and vr is None and _dictionary_vr(tag) == "SQ":
            return True
        # A private or unknown sequence in implicit VR (or as UN): its value starts with an item.
        return bytes(buf[start : start + 4]) in (b"\xfe\xff\x00\xe0", b"\xff\xfe\xe0\x00")

    def items(self, buf: Any, pos: int, end: int, implicit: bool, little: bool, depth: int) -> int:
        """Scan the items of a sequence; return the position after it."""
        if depth > _MAX_DEPTH:
            self.text(buf, pos, end, None, "sequences nested too deep to parse")
            return end
        order = "<" if little else ">"
        while pos + 8 <= end:
            group, element, length = struct.unpack_from(order + "HHI", buf, pos)
            tag = group << 16 | element
            if tag == _SEQUENCE_END:
                return pos + 8
            if tag != _ITEM:
                self.text(buf, pos, end, None, "bytes that do not parse as sequence items")
                return end
            if length == _UNDEFINED:
                pos = self.dataset(buf, pos + 8, end, implicit=implicit, little=little, depth=depth)
            else:
                stop = min(pos + 8 + length, end)
                inner = pos + 8
                while inner < stop:
                    inner = self.dataset(
                        buf, inner, stop, implicit=implicit, little=little, depth=depth
                    )
                pos = stop
        self.text(buf, pos, end, None, "after the last sequence item")
        return end

    # -- encapsulated pixel data (PS3.5 A.4): marker segments only, not the coded data

    def encapsulated(self, buf: Any, pos: int, end: int, tag: int) -> int:
        number = 0
        while pos + 8 <= end:
            group, element, length = struct.unpack_from("<HHI", buf, pos)
            item = group << 16 | element
            if item == _SEQUENCE_END:
                return pos + 8
            if item != _ITEM or length == _UNDEFINED:
                self.text(buf, pos, end, None, "bytes that do not parse as pixel data fragments")
                return end
            start, stop = pos + 8, min(pos + 8 + length, end)
            if number == 0:
                self.text(buf, start, stop, tag, "the basic offset table")
            else:
                self.fragment(buf, start, stop, tag, number)
            number += 1
            pos = stop
        return end

    def fragment(self, buf: Any, start: int, stop: int, tag: int, number: int) -> None:
        signature = bytes(buf[start : start + 2])
        if signature == b"\xff\xd8":
            self.jpeg(buf, start + 2, stop, tag, number)
        elif signature == b"\xff\x4f":
            self.j2k(buf, start + 2, stop, tag, number)
        elif self.rle:  # PS3.5 G.5: a 64-byte header of offsets, then PackBits segments
            self.text(
                buf, start, min(start + 64, stop), tag, f"the RLE header of fragment {number}"
            )
        # Anything else (a frame's continuation fragment, video) has no text segments.

    def jpeg(self, buf: Any, p: int, stop: int, tag: int, number: int) -> None:
        """ITU-T T.81 / T.87 marker segments: APPn (FFE0-FFEF) and COM (FFFE) are text."""
        while p + 2 <= stop:
            if buf[p] != 0xFF:
                found = _JPEG_MARKER.search(buf, p, stop)
                if found is None:
                    return
                p = found.start()
                continue
            marker = buf[p + 1]
            if marker == 0xFF:
                p += 1
                continue
            if marker == 0xD9:  # EOI: nothing may follow but padding
                self.text(buf, p + 2, stop, tag, f"after the JPEG image in fragment {number}")
                return
            if marker == 0x01 or 0xD0 <= marker <= 0xD8:
                p += 2
                continue
            if p + 4 > stop:
                return
            (length,) = struct.unpack_from(">H", buf, p + 2)
            segment_end = min(p + 2 + length, stop)
            if 0xE0 <= marker <= 0xEF or marker == 0xFE:
                kind = "COM" if marker == 0xFE else f"APP{marker - 0xE0}"
                note = f"a JPEG {kind} segment in fragment {number}"
                self.text(buf, p + 4, segment_end, tag, note)
            p = segment_end
            if marker == 0xDA:  # SOS: entropy-coded data up to the next marker
                found = _JPEG_MARKER.search(buf, p, stop)
                if found is None:
                    return
                p = found.start()

    def j2k(self, buf: Any, p: int, stop: int, tag: int, number: int) -> None:
        """ISO/IEC 15444-1 A: codestream markers; COM (FF64) is text, tile data is skipped."""
        tile_end = stop
        while p + 2 <= stop:
            if buf[p] != 0xFF:
                return
            marker = buf[p + 1]
            if marker == 0xD9:  # EOC
                self.text(
                    buf, p + 2, stop, tag, f"after the JPEG 2000 codestream in fragment {number}"
                )
                return
            if marker == 0x93:  # SOD: tile-part data up to the end of the tile-part
                if tile_end <= p:
                    return
                p = tile_end
                continue
            if p + 4 > stop:
                return
            (length,) = struct.unpack_from(">H", buf, p + 2)
            if marker == 0x90 and p + 10 <= stop:  # SOT: Psot is the tile-part's length
                (psot,) = struct.unpack_from(">I", buf, p + 6)
                tile_end = min(p + psot, stop) if psot else stop
            if marker == 0x64:
                note = f"a JPEG 2000 COM segment in fragment {number}"
                self.text(buf, p + 4, min(p + 2 + length, stop), tag, note)
            p = min(p + 2 + length, stop)


# ---------------------------------------------------------------------------------------
# Entry point


class _Source:
    """The file's bytes (memory-mapped for a path) and a file object for pydicom."""

    def __init__(
        self, path_or_bytes: str | os.PathLike[str] | bytes | bytearray | memoryview
    ) -> None:
        self._file: io.BufferedReader | None = None
        self._map: mmap.mmap | None = None
        self.buf: Any
        self.fp: Any
        if isinstance(path_or_bytes, bytes | bytearray | memoryview):
            data = bytes(path_or_bytes)
            self.buf, self.fp = data, io.BytesIO(data)
            return
        self._file = open(Path(path_or_bytes), "rb")  # noqa: SIM115  (closed by close())
        size = os.fstat(self._file.fileno()).st_size
        if size:
            self._map = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ)
        self.buf, self.fp = (self._map if self._map is not None else b""), self._file

    def close(self) -> None:
        if self._map is not None:
            self._map.close()
        if self._file is not None:
            self._file.close()


def _scan_bytes(
    buf: Any, ds: Dataset, lookup: _Lookup, seen: set[tuple[Any, str]]
) -> list[Problem]:
    scan = _RawScan(lookup, charset_encodings(ds), seen)
    transfer_syntax = str(getattr(ds, "file_meta", Dataset()).get("TransferSyntaxUID", ""))
    try:
        scan.file(buf, transfer_syntax)
    except (struct.error, IndexError, ValueError):
        scan.problems.append(
            Problem("unreadable", "file bytes", "the file's bytes could not be walked to the end")
        )
    return scan.problems


def verify(
    path_or_bytes: str | os.PathLike[str] | bytes | bytearray | memoryview,
    *,
    fingerprint: Fingerprint,
    keys: Keys,
    allowlist: frozenset[int] | None,
    edits: Edits | None = None,
    flagged: bool = False,
    pseudonym: str | None = None,
    texts: Mapping[str, str] | None = None,
    safe_regions: Sequence[Blackout] = (),
    residual_text: bool = True,
) -> Verdict:
    """Check one de-identified file against the fingerprint of its original.

    ``allowlist`` is the set of tags allowed at any depth (None skips that check);
    ``edits`` are the author's boxes and crop, in the original image's coordinates;
    ``flagged`` asks for OCR of the pixels; tokens of ``pseudonym`` are never reported;
    ``texts`` are the free-text values the author accepted, by keyword (see
    :mod:`.freetext_gate`); ``safe_regions`` are areas (original image coordinates) the
    author marked as holding no identifying text, which the residual text gate ignores;
    ``residual_text=False`` skips that gate (a caller checking a long series samples it).
    """
    with quiet_pydicom():
        return _verify(
            path_or_bytes,
            fingerprint,
            keys,
            allowlist,
            edits,
            flagged,
            pseudonym,
            texts=texts,
            safe_regions=tuple(safe_regions),
            residual_text=residual_text,
        )


def _verify(
    path_or_bytes: str | os.PathLike[str] | bytes | bytearray | memoryview,
    fingerprint: Fingerprint,
    keys: Keys,
    allowlist: frozenset[int] | None,
    edits: Edits | None,
    flagged: bool,
    pseudonym: str | None,
    *,
    texts: Mapping[str, str] | None = None,
    safe_regions: tuple[Blackout, ...] = (),
    residual_text: bool = True,
) -> Verdict:
    lookup = _Lookup(fingerprint, keys, pseudonym)
    allowed = None if allowlist is None else frozenset(allowlist) | _ENGINE_WRITTEN
    try:
        source = _Source(path_or_bytes)
    except OSError as exc:
        detail = f"the file could not be opened ({type(exc).__name__})"
        return Verdict(False, (Problem("unreadable", "file", detail),))
    try:
        try:
            ds = pydicom.dcmread(source.fp, defer_size=_DEFER_SIZE)
            meta = list(_elements(ds.file_meta, allowed=None))
            body = list(_elements(ds, allowed=allowed))
        except Exception as exc:  # any parse failure is a failure
            detail = f"the file does not parse as DICOM ({type(exc).__name__})"
            return Verdict(False, (Problem("unreadable", "file", detail),))
        missing = [
            keyword
            for keyword, present in (
                ("TransferSyntaxUID", "TransferSyntaxUID" in ds.file_meta),
                ("SOPClassUID", "SOPClassUID" in ds),
                ("SOPInstanceUID", "SOPInstanceUID" in ds),
            )
            if not present
        ]
        if missing:
            detail = f"the file is not a DICOM instance (no {', '.join(missing)})"
            return Verdict(False, (Problem("unreadable", "file", detail),))
        problems = _check_private(meta, body)
        if allowed is not None:
            problems += _check_allowed(meta, body)
        problems += _check_complete(ds)
        problems += _check_identity_removed(ds)
        seen: set[tuple[Any, str]] = set()  # (tag or region, source): reported already
        problems += _check_uids(ds, meta, body, lookup, seen)
        problems += _check_identifiers(meta, body, lookup, seen)
        problems += _scan_bytes(source.buf, ds, lookup, seen)
        from anonymizer.verify import freetext_gate  # loads the name lists when needed

        try:
            problems += freetext_gate.check_free_text(ds, texts)
        except Exception as exc:  # a value that does not convert: fail closed
            detail = f"the free-text values could not be read ({type(exc).__name__})"
            problems.append(Problem("unreadable", "free text", detail))
        if edits is not None or flagged or residual_text:
            from anonymizer.verify import pixels

            problems += pixels.check_pixels(
                ds,
                edits=edits,
                flagged=flagged,
                sources=lookup.sources,
                text_regions=fingerprint.text_regions if fingerprint.ocr_done else None,
                buf=source.buf,
                safe_regions=safe_regions,
                residual_text=residual_text,
            )
        from anonymizer.verify import pixeldata

        said = {(p.kind, p.where) for p in problems}
        problems += [
            p for p in pixeldata.check_pixel_data(ds, source.buf) if (p.kind, p.where) not in said
        ]
    finally:
        source.close()
    return Verdict(not problems, tuple(problems))
