"""What the verifier needs to remember of an original file, without keeping it in clear.

The first pass computes a :class:`Fingerprint` from the original data set, before any
de-identification, and stores it; the raw file is then deleted. At the second pass the
verifier looks up every token and UID of the output in it. The fingerprint holds only
keyed hashes (HMAC-SHA256 under the de-identification secret, truncated to 64 bits) and
attribute keywords, so it can be stored beside the case without being an identifier.

Sources of tokens (see :mod:`.tokens`):

* the values of the attributes in :data:`IDENTIFYING_KEYWORDS`, at any depth, including the
  File Meta Information's AE titles (PS3.15 E.1-1 lists most of them with action X, Z or D);
* the text values of every private element (PS3.5 7.8) and of everything nested in a
  private sequence: private data is untrusted. Tokens that also appear in the original's
  *other* public attributes (a vendor echoing the protocol name, the pixel spacing or the
  image type) are left out, because the published file may legitimately keep those; at
  most :data:`MAX_PRIVATE_TOKENS` are kept, preferring words to numbers.

Numbers are also recorded by kind (:func:`.tokens.kind_token`): the digits of identifying
dates and times (Patient's Birth Date and Time), and every identifying value that is one
number as a whole, so that the verifier compares a date, time or number of the output only
with values of the same kind.

UIDs: every UI value at any depth that is not in pydicom's UID registry (PS3.6 Annex A)
and does not name a class of thing (SOP Class, Transfer Syntax, implementation) is hashed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import hmac
import logging
import re
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, MutableSequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from pydicom import Dataset
from pydicom._uid_dict import UID_dictionary
from pydicom.charset import convert_encodings, decode_bytes
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.sequence import Sequence

from anonymizer.keys import Keys
from anonymizer.verify.tokens import (
    DATE,
    PART,
    TIME,
    WHOLE,
    kind_token,
    number_part,
    token_hash,
    tokens,
    whole_value,
)

__all__ = [
    "CLASS_UID_KEYWORDS",
    "IDENTIFYING_KEYWORDS",
    "MAX_PRIVATE_TOKENS",
    "TEXT_VRS",
    "Fingerprint",
    "TextRegion",
    "charset_encodings",
    "element_texts",
    "fingerprint",
    "is_instance_uid",
    "printable_runs",
    "quiet_pydicom",
    "uid_hash",
    "uids_in_text",
    "utf16_runs",
]

#: Attributes whose every word and number identifies a patient, a person or a place.
IDENTIFYING_KEYWORDS: tuple[str, ...] = (
    # Patient (PS3.3 C.7.1.1, C.2.2, C.2.3)
    "PatientName",
    "PatientID",
    "OtherPatientIDs",
    "OtherPatientNames",
    "PatientBirthName",
    "PatientMotherBirthName",
    "PatientBirthDate",
    "PatientBirthTime",
    "PatientAddress",
    "PatientTelephoneNumbers",
    "PatientTelecomInformation",
    "MilitaryRank",
    "BranchOfService",
    "MedicalRecordLocator",
    "IssuerOfPatientID",
    "CountryOfResidence",
    "RegionOfResidence",
    "CurrentPatientLocation",
    "PatientInstitutionResidence",
    "AdmissionID",
    "IssuerOfAdmissionID",
    "ServiceEpisodeID",
    "IssuerOfServiceEpisodeID",
    "ClinicalTrialSubjectID",
    "ClinicalTrialSubjectReadingID",
    # Study, request and procedure identifiers
    "AccessionNumber",
    "StudyID",
    "RequestedProcedureID",
    "ScheduledProcedureStepID",
    "PerformedProcedureStepID",
    "FillerOrderNumberImagingServiceRequest",
    "PlacerOrderNumberImagingServiceRequest",
    # People
    "ReferringPhysicianName",
    "ReferringPhysicianAddress",
    "ReferringPhysicianTelephoneNumbers",
    "ConsultingPhysicianName",
    "PerformingPhysicianName",
    "NameOfPhysiciansReadingStudy",
    "PhysiciansOfRecord",
    "OperatorsName",
    "RequestingPhysician",
    "ScheduledPerformingPhysicianName",
    "PersonName",
    "PersonAddress",
    "PersonTelephoneNumbers",
    "PersonTelecomInformation",
    "VerifyingObserverName",
    "ContentCreatorName",
    "ReviewerName",
    "EvaluatorName",
    "HumanPerformerName",
    "ResponsiblePerson",
    "OrderEnteredBy",
    "OrderCallbackPhoneNumber",
    "OrderCallbackTelecomInformation",
    "InterpretationRecorder",
    "InterpretationTranscriber",
    "InterpretationAuthor",
    "PhysicianApprovingInterpretation",
    "DistributionName",
    "DistributionAddress",
    # Places, organisations and devices
    "InstitutionName",
    "InstitutionAddress",
    "InstitutionalDepartmentName",
    "ResponsibleOrganization",
    "HumanPerformerOrganization",
    "OrderEntererLocation",
    "RequestingService",
    "ClinicalTrialSponsorName",
    "ClinicalTrialSiteName",
    "ClinicalTrialSiteID",
    "ClinicalTrialCoordinatingCenterName",
    "StationName",
    "ScheduledStationName",
    "PerformedStationName",
    "PerformedLocation",
    "ScheduledProcedureStepLocation",
    "DeviceSerialNumber",
    "DeviceID",
    "DeviceLabel",
    "DetectorID",
    "GantryID",
    "PlateID",
    "CassetteID",
    "SecondaryCaptureDeviceID",
    "UniqueDeviceIdentifier",
    "ManufacturerDeviceIdentifier",
    # AE titles name a site's machines (File Meta Information, PS3.10 7.1, and elsewhere)
    "SourceApplicationEntityTitle",
    "SendingApplicationEntityTitle",
    "ReceivingApplicationEntityTitle",
    "StationAETitle",
    "RetrieveAETitle",
    "ScheduledStationAETitle",
    "PerformedStationAETitle",
)

#: UI attributes that name a class of thing, not an instance: never identifying, and
#: legitimately identical in the original and the output (a private SOP Class, say).
CLASS_UID_KEYWORDS: tuple[str, ...] = (
    "SOPClassUID",
    "MediaStorageSOPClassUID",
    "ReferencedSOPClassUID",
    "ReferencedSOPClassUIDInFile",
    "AffectedSOPClassUID",
    "RequestedSOPClassUID",
    "SOPClassesInStudy",
    "TransferSyntaxUID",
    "ReferencedTransferSyntaxUIDInFile",
    "ImplementationClassUID",
    "PrivateInformationCreatorUID",
    "CodingSchemeUID",
    "ContextGroupExtensionCreatorUID",
    "ContextUID",
    "MappingResourceUID",
)

#: Value representations whose values pydicom decodes to text (PS3.5 6.2).
TEXT_VRS = frozenset(
    {"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI"}
    | {"UR", "UT"}
)
# Private text kept in a fingerprint: not numbers, dates, times or UIDs (too noisy).
_PRIVATE_TEXT_VRS = frozenset({"AE", "CS", "LO", "LT", "PN", "SH", "ST", "UC", "UR", "UT"})
# Private binary values up to this size are searched for printable text.
_PRIVATE_BYTES_LIMIT = 64 * 1024

#: At most this many tokens of private elements per file.
MAX_PRIVATE_TOKENS = 200
_FORMAT_VERSION = 1
_HEX16 = re.compile(r"[0-9a-f]{16}")


def _tags(keywords: Iterable[str]) -> frozenset[int]:
    tags = set()
    for keyword in keywords:
        tag = tag_for_keyword(keyword)
        if tag is None:
            raise ValueError(f"not a DICOM keyword: {keyword}")
        tags.add(tag)
    return frozenset(tags)


IDENTIFYING_TAGS = _tags(IDENTIFYING_KEYWORDS)
CLASS_UID_TAGS = _tags(CLASS_UID_KEYWORDS)
_TAG_KEYWORD = {tag_for_keyword(keyword): keyword for keyword in IDENTIFYING_KEYWORDS}

# Runs of printable characters in bytes: ASCII, Latin-1 and UTF-8 (the bytes >= 0x80),
# and ESC for ISO 2022 code extensions (PS3.5 6.1.2.5).
_PRINTABLE = re.compile(rb"[\x1b\x20-\x7e\x80-\xff]{3,}")
_UID = re.compile(r"(?<![\d.])[0-2](?:\.\d+){3,}(?![\d.])")


def uid_hash(keys: Keys, uid: str) -> str:
    """HMAC-SHA256 of a UID under the de-identification secret, first 16 hex digits."""
    message = b"verify-uid\x00" + uid.strip("\x00 ").encode()
    return hmac.new(keys.secret, message, hashlib.sha256).hexdigest()[:16]


def is_instance_uid(uid: str) -> bool:
    """True for a UID that is not in the registry (PS3.6 Annex A): it names an instance."""
    uid = uid.strip("\x00 ")
    return bool(uid) and uid not in UID_dictionary


def uids_in_text(text: str) -> list[str]:
    """Strings that look like UIDs (at least four numeric components) inside ``text``."""
    return _UID.findall(text)


def element_texts(elem: DataElement) -> list[str]:
    """The text of each value of a decoded text element (person names as written)."""
    if elem.VR not in TEXT_VRS or elem.value is None:
        return []
    value = elem.value
    values = list(value) if isinstance(value, MutableSequence | tuple) else [value]
    out = []
    for v in values:
        if v is None:
            continue
        text = v.decode("latin-1") if isinstance(v, bytes) else str(v)
        if text:
            out.append(text)
    return out


def printable_runs(
    data: Any, encodings: Iterable[str] = (), start: int = 0, end: int | None = None
) -> Iterator[tuple[int, str]]:
    """``(offset, text)`` for each run of >= 3 printable bytes in ``data[start:end]``,
    then for each run of >= 3 UTF-16 characters (:func:`utf16_runs`).

    A run of ASCII without ISO 2022 escapes is decoded once. Any other run is decoded as
    UTF-8 (undecodable bytes become U+FFFD, a separator), as Latin-1, and with each of
    ``encodings`` (Python codec names from the file's Specific Character Set), and each
    decoding is yielded.
    """
    stop = len(data) if end is None else end
    for m in _PRINTABLE.finditer(data, start, stop):
        raw: bytes = m[0]
        if raw.isascii() and b"\x1b" not in raw:
            yield m.start(), raw.decode("ascii")
            continue
        seen: set[str] = set()
        for encoding in ("utf-8", "latin-1", *encodings):
            try:
                text = raw.decode(encoding, errors="replace")
            except LookupError:
                continue
            if text not in seen:
                seen.add(text)
                yield m.start(), text
    yield from utf16_runs(data, start, stop)


# UTF-16 code units that count as text, by their high byte: Latin-1 (with a printable
# low byte), Latin Extended, IPA, Greek, Cyrillic, Armenian, Latin Extended Additional,
# kana, CJK ideographs, Hangul and the halfwidth/fullwidth forms.
_UTF16_HIGH = np.zeros(256, dtype=bool)
for _low, _high in ((0x01, 0x05), (0x1E, 0x1E), (0x30, 0x31), (0x4E, 0x9F), (0xAC, 0xD7)):
    _UTF16_HIGH[_low : _high + 1] = True
_UTF16_HIGH[0xFF] = True
_UTF16_LATIN1 = np.zeros(256, dtype=bool)
_UTF16_LATIN1[0x20:0x7F] = True
_UTF16_LATIN1[0xA0:] = True
_ASCII_PRINTABLE = frozenset(range(0x20, 0x7F))


def utf16_runs(data: Any, start: int = 0, end: int | None = None) -> Iterator[tuple[int, str]]:
    """``(offset, text)`` for each run of >= 3 UTF-16 text characters in ``data[start:end]``,
    little and big endian, at even and odd offsets (binary values such as an ICC profile's
    descriptions or a LUT can hold UTF-16 text, which the byte runs above split apart).

    Runs made only of printable ASCII bytes are left out: those bytes are ASCII text, which
    :func:`printable_runs` reads as such.
    """
    stop = len(data) if end is None else min(end, len(data))
    view = memoryview(data)[start:stop]
    if len(view) < 6:
        return
    for order, codec in (("<", "utf-16-le"), (">", "utf-16-be")):
        for shift in (0, 1):
            count = (len(view) - shift) // 2
            if count < 3:
                continue
            units = np.frombuffer(view, dtype=f"{order}u2", count=count, offset=shift)
            high, low = units >> 8, units & 0xFF
            text = np.where(high == 0, _UTF16_LATIN1[low], _UTF16_HIGH[high])
            edges = np.flatnonzero(np.diff(np.concatenate(([0], text.view(np.int8), [0]))))
            for first, last in zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True):
                if last - first < 3:
                    continue
                raw = bytes(view[shift + 2 * first : shift + 2 * last])
                if _ASCII_PRINTABLE.issuperset(raw):
                    continue
                yield start + shift + 2 * first, raw.decode(codec, errors="replace")


class TextRegion(NamedTuple):
    """A rectangle of the original image where OCR read an identifying word."""

    frame: int | None  # None: on every frame
    x: int
    y: int
    width: int
    height: int
    source: str  # the keyword the word belongs to


@dataclass(frozen=True)
class Fingerprint:
    """Keyed hashes of an original file's identifying tokens and instance UIDs."""

    tokens: dict[str, str]  # token hash -> the keyword (or private tag) it came from
    uids: frozenset[str]  # hashes of instance UIDs
    # Where the first pass's OCR read identifying text in the pixels (positions only),
    # and whether it read the pixels at all. See :func:`with_ocr`.
    text_regions: tuple[TextRegion, ...] = ()
    ocr_done: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "version": _FORMAT_VERSION,
            "tokens": dict(sorted(self.tokens.items())),
            "uids": sorted(self.uids),
            "text_regions": [list(r) for r in self.text_regions],
            "ocr_done": self.ocr_done,
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Fingerprint:
        if not isinstance(obj, Mapping) or obj.get("version") != _FORMAT_VERSION:
            raise ValueError("not a version 1 fingerprint")
        token_map, uid_list = obj.get("tokens"), obj.get("uids")
        if not isinstance(token_map, Mapping) or not isinstance(uid_list, list):
            raise ValueError("a fingerprint needs 'tokens' (an object) and 'uids' (a list)")
        for key, value in token_map.items():
            if not isinstance(key, str) or not _HEX16.fullmatch(key):
                raise ValueError("fingerprint token hashes must be 16 hex digits")
            if not isinstance(value, str):
                raise ValueError("fingerprint token sources must be strings")
        for uid in uid_list:
            if not isinstance(uid, str) or not _HEX16.fullmatch(uid):
                raise ValueError("fingerprint UID hashes must be 16 hex digits")
        try:
            regions = tuple(TextRegion(*r) for r in obj.get("text_regions", ()))
        except TypeError:
            raise ValueError(
                "fingerprint text regions must be [frame, x, y, w, h, source]"
            ) from None
        return cls(
            tokens=dict(token_map),
            uids=frozenset(uid_list),
            text_regions=regions,
            ocr_done=bool(obj.get("ocr_done", False)),
        )

    def with_ocr(
        self, keys: Keys, words: Iterable[tuple[int | None, int, int, int, int, str]]
    ) -> Fingerprint:
        """Record what the first pass's OCR read: (frame, x, y, width, height, text) each.

        Text whose words are identifying tokens of this file is kept as a position and
        the keyword it matched (no text); the verifier then requires every such region
        to be blacked out or cropped away, without reading the pixels again.
        """
        regions = list(self.text_regions)
        for frame, x, y, width, height, text in words:
            hashes = (token_hash(keys, t) for t in tokens(text))
            sources = [self.tokens[h] for h in hashes if h in self.tokens]
            if sources:
                regions.append(TextRegion(frame, x, y, width, height, _best_source(sources)))
        return dataclasses.replace(self, text_regions=tuple(regions), ocr_done=True)

    def __len__(self) -> int:
        return len(self.tokens) + len(self.uids)

    @classmethod
    def merge(cls, fingerprints: Iterable[Fingerprint]) -> Fingerprint:
        """One fingerprint for several originals (a series, a study): the union."""
        tokens: dict[str, str] = {}
        uids: set[str] = set()
        for fp in fingerprints:
            for digest, source in fp.tokens.items():
                tokens.setdefault(digest, source)
            uids.update(fp.uids)
        return cls(tokens=tokens, uids=frozenset(uids))


#: When one line of text matches words of several attributes, the label names the one
#: that identifies the patient most directly.
_LABEL_PRIORITY = (
    "PatientName",
    "PatientID",
    "OtherPatientIDs",
    "PatientBirthDate",
    "IssuerOfPatientID",
    "AccessionNumber",
)


def _rank(keyword: str) -> int:
    try:
        return _LABEL_PRIORITY.index(keyword)
    except ValueError:
        return len(_LABEL_PRIORITY)


def _best_source(sources: list[str]) -> str:
    """The attribute most words of a line came from; ties go to ``_LABEL_PRIORITY``."""
    counts = Counter(sources)
    return min(counts, key=lambda k: (-counts[k], _rank(k), k))


class _DropAll(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


@contextlib.contextmanager
def quiet_pydicom() -> Iterator[None]:
    """Silence pydicom's warnings and log records while a file is checked: they quote
    the values of malformed elements, which may be exactly the identifiers sought."""
    logger = logging.getLogger("pydicom")
    drop = _DropAll()
    logger.addFilter(drop)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.removeFilter(drop)


# Public elements outside IDENTIFYING_TAGS are read only for these VRs: sequences (to
# recurse), UIDs, and text (whose words excuse private words that repeat them).
_READ_VRS = frozenset({"SQ", "UI", "AE", "CS", "LO", "LT", "PN", "SH", "ST", "UC", "UT"})


_ITEM_TAGS = (b"\xfe\xff\x00\xe0", b"\xff\xfe\xe0\x00")  # (FFFE,E000), LE and BE

# Bytes that end an ISO 2022 escape's scope in text values (PS3.5 6.1.2.5.3): as pydicom.
_TEXT_DELIMITERS = {0x09, 0x0A, 0x0C, 0x0D, 0x5C, 0x5E, 0x3D}


def _dictionary_vr(tag: int) -> str:
    try:
        return dictionary_VR(tag)
    except KeyError:
        return "UN"


def _short(raw: object) -> bool:
    length = getattr(raw, "length", None)
    return length is None or length <= _PRIVATE_BYTES_LIMIT


def _is_private_creator(tag: int) -> bool:
    return bool(tag & 0x10000) and 0x10 <= (tag & 0xFFFF) <= 0xFF


def _private_source(tag: int) -> str:
    group, element = tag >> 16, tag & 0xFFFF
    if element >= 0x1000:  # a private block's element: name it within its block
        return f"private ({group:04X},xx{element & 0xFF:02X})"
    return f"private ({group:04X},{element:04X})"


def charset_encodings(ds: Dataset) -> list[str]:
    """Python codec names for the data set's Specific Character Set (PS3.5 6.1), if any."""
    charset = ds.get("SpecificCharacterSet")
    if not charset:
        return []
    names = [charset] if isinstance(charset, str) else list(charset)
    try:
        return [e for e in convert_encodings(names) if e not in ("iso8859", "iso_ir_6")]
    except Exception:  # an unknown character set: the default decodings still run
        return []


class _Collector:
    def __init__(self, encodings: list[str]) -> None:
        self.encodings = encodings
        self.identifying: dict[str, str] = {}
        self.kinds: dict[str, str] = {}  # kind tokens (tokens.kind_token) -> keyword
        self.private: dict[str, str] = {}
        self.public: set[str] = set()
        self.uids: set[str] = set()

    def walk(self, ds: Dataset, *, in_private: bool) -> None:
        # Decide from the tag and the raw VR first and convert only what is read:
        # most elements of an image (numbers, binary) need no conversion at all.
        for raw in ds.elements():
            tag = int(raw.tag)
            private = in_private or bool(tag & 0x10000)
            vr = raw.VR or _dictionary_vr(tag)
            if vr == "UN" and isinstance(raw.value, bytes) and raw.value[:4] in _ITEM_TAGS:
                vr = "SQ"  # a sequence sent as UN: its items are read like any other
            if private:
                # Private numbers and large binary values hold no words worth hashing.
                if vr not in _READ_VRS and not (vr in ("UN", "OB") and _short(raw)):
                    continue
            elif tag not in IDENTIFYING_TAGS and vr not in _READ_VRS:
                continue
            if vr != "SQ" and tag not in IDENTIFYING_TAGS and isinstance(raw, RawDataElement):
                self._raw(raw, tag, vr, private)  # no conversion of the element
                continue
            elem = ds[tag]
            if elem.VR == "SQ" or isinstance(elem.value, Sequence):
                for item in elem.value or ():
                    self.walk(item, in_private=private)
                continue
            if elem.VR == "UI":
                if tag not in CLASS_UID_TAGS:
                    self.uids.update(u for u in element_texts(elem) if is_instance_uid(u))
                continue
            if tag in IDENTIFYING_TAGS:
                keyword = _TAG_KEYWORD[tag]
                for text in element_texts(elem):
                    for token in tokens(text):
                        known = self.identifying.get(token)
                        if known is None or _rank(keyword) < _rank(known):
                            self.identifying[token] = keyword
                    self._kinds(elem.VR, text, keyword)
            elif private:
                if _is_private_creator(tag):
                    continue
                source = _private_source(tag)
                for text in self._private_texts(elem):
                    self.uids.update(u for u in uids_in_text(text) if is_instance_uid(u))
                    for token in tokens(text):
                        self.private.setdefault(token, source)
            else:
                for text in element_texts(elem):
                    self.public.update(tokens(text))

    def _kinds(self, vr: str, text: str, keyword: str) -> None:
        """The numbers of an identifying value by kind (see :mod:`.tokens`): the digits of a
        date or time under its kind, and a value that is one number as a whole."""
        kinds = ((DATE,) if vr in ("DA", "DT") else ()) + ((TIME,) if vr in ("TM", "DT") else ())
        found = [kind_token(k, t) for k in kinds for t in tokens(text) if t.isdigit()]
        whole = whole_value(text)
        if whole is not None:
            found.append(kind_token(WHOLE, whole))
        part = number_part(text)
        if part is not None:
            found.append(kind_token(PART, part))
        for token in found:
            known = self.kinds.get(token)
            if known is None or _rank(keyword) < _rank(known):
                self.kinds[token] = keyword

    def _raw(self, raw: RawDataElement, tag: int, vr: str, private: bool) -> None:
        """Texts and UIDs straight from the raw bytes (the common, cheap case)."""
        value = raw.value or b""
        if vr == "UI":
            if tag not in CLASS_UID_TAGS and not private:
                texts = value.decode("ascii", "replace").strip(" \0").split("\\")
                self.uids.update(u for u in (t.strip(" \0") for t in texts) if is_instance_uid(u))
            elif private:
                self._private(tag, [value.decode("latin-1")])
            return
        if vr in TEXT_VRS:
            decoded = decode_bytes(value, self.encodings or ["iso8859"], _TEXT_DELIMITERS)
            values = [t for t in decoded.split("\\") if t.strip(" \0")]
        elif private and len(value) <= _PRIVATE_BYTES_LIMIT:
            values = [text for _, text in printable_runs(value, self.encodings)]
        else:
            return
        if private:
            self._private(tag, values)
        else:
            for text in values:
                self.public.update(tokens(text))

    def _private(self, tag: int, texts: list[str]) -> None:
        if _is_private_creator(tag):
            return
        source = _private_source(tag)
        for text in texts:
            self.uids.update(u for u in uids_in_text(text) if is_instance_uid(u))
            for token in tokens(text):
                self.private.setdefault(token, source)

    def _private_texts(self, elem: DataElement) -> list[str]:
        if elem.VR in _PRIVATE_TEXT_VRS:
            return element_texts(elem)
        value = elem.value
        if isinstance(value, bytes) and len(value) <= _PRIVATE_BYTES_LIMIT:
            return [text for _, text in printable_runs(value, self.encodings)]
        return []


def _private_order(token: str) -> tuple[bool, int, str]:
    # Words first, then longer tokens; ties broken by the token for a stable choice.
    return (token.isdigit(), -len(token), token)


def fingerprint(ds: Dataset, keys: Keys) -> Fingerprint:
    """The fingerprint of an original data set (call it before de-identifying it)."""
    with quiet_pydicom():
        return _fingerprint(ds, keys)


def _fingerprint(ds: Dataset, keys: Keys) -> Fingerprint:
    collector = _Collector(charset_encodings(ds))
    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        collector.walk(meta, in_private=False)
    collector.walk(ds, in_private=False)
    private = {
        token: source
        for token, source in collector.private.items()
        if token not in collector.public and token not in collector.identifying
    }
    kept = sorted(private, key=_private_order)[:MAX_PRIVATE_TOKENS]
    hashed: dict[str, str] = {}
    for token, keyword in collector.identifying.items():
        hashed.setdefault(token_hash(keys, token), keyword)
    for token, keyword in collector.kinds.items():  # never equal to a plain token
        hashed.setdefault(token_hash(keys, token), keyword)
    for token in kept:
        hashed.setdefault(token_hash(keys, token), private[token])
    return Fingerprint(
        tokens=hashed,
        uids=frozenset(uid_hash(keys, uid) for uid in collector.uids),
    )
