"""The header de-identification engine: DICOM PS3.15 Annex E applied to a data set.

:func:`deidentify_header` walks the data set once, recursively (every item of every
sequence, at any depth, gets the same treatment), and decides each data element from
its tag and VR with :func:`decide`:

1. group length elements (gggg,0000) are removed;
2. private elements and private creators (odd groups) are removed unless the
   profile's safe private set keeps them (PS3.15 E.3.10; the block's private creator
   is passed to :meth:`Profile.action_for`);
3. attributes that are always removed (:data:`~.rules.ALWAYS_REMOVED_TAGS`, curves
   50xx and overlays 60xx) go whatever the table says;
4. Patient's Name and Patient ID become the pseudonym;
5. otherwise the action of Table E.1-1 (:meth:`Profile.action_for`) applies, by VR
   (:data:`~.rules.STEP_FOR_ACTION`), or, for attributes in no row of the table, the
   safe default of PS3.15 E.1.1 (:data:`~.rules.NOT_IN_TABLE_STEP`).

The decision is by tag: a standard attribute that arrives as UN (explicit UN, or an
implicit VR file) is decided by its dictionary VR. Decisions are cached per profile,
tag and VR, and elements that are kept are never decoded, so the walk costs little
next to reading and writing the file.

Free text is cleaned after the walk (Clean Descriptors, PS3.15 E.3.5), once the
values of :data:`~.rules.IDENTIFIER_TAGS` have been collected from the whole data set,
including sequences that are removed. Then the engine writes Patient Identity Removed
(always "YES", whatever the input claimed), De-identification Method and its Code
Sequence (PS3.15 E.1.1, PS3.16 CID 7050) and Longitudinal Temporal Information
Modified ("MODIFIED" when dates were shifted). With an allowlist (the second pass),
everything whose tag is not in it is then removed at every depth. Finally JPEG and
JPEG 2000 frames lose their comment and metadata segments (:mod:`.bitstream`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from pydicom import config
from pydicom.datadict import dictionary_VR
from pydicom.dataelem import DataElement, RawDataElement, empty_value_for_VR
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag

from anonymizer.keys import Keys
from anonymizer.profile import Action, Profile

from . import rules
from .bitstream import clean_encapsulated_pixel_data
from .rules import Step
from .text import cleaner_for
from .values import AGE_CAP, cap_age, dummy_for_vr, is_registry_uid, shift_date, shift_datetime

__all__ = ["Decision", "HeaderContext", "HeaderReport", "decide", "deidentify_header"]

_Element = DataElement | RawDataElement

_PATIENT_NAME = 0x00100010
_PATIENT_ID = 0x00100020
_ISSUER_OF_PATIENT_ID = 0x00100021
_PATIENT_IDENTITY_REMOVED = 0x00120062
_DEIDENTIFICATION_METHOD = 0x00120063
_DEIDENTIFICATION_METHOD_CODES = 0x00120064
_LONGITUDINAL_MODIFIED = 0x00280303
_CODE_VALUE = 0x00080100
_CODING_SCHEME_DESIGNATOR = 0x00080102
_CODE_MEANING = 0x00080104


@dataclass
class HeaderContext:
    """What :func:`deidentify_header` needs besides the data set."""

    keys: Keys
    profile: Profile
    pseudonym: str  # replaces Patient's Name and Patient ID
    # Second pass: only these tags survive, at any depth (plus rules.SECOND_PASS_ALWAYS_KEPT).
    allowlist: frozenset[int] | None = None
    # None: keys.date_offset_days(PatientID + "^" + IssuerOfPatientID of the input).
    date_offset_days: int | None = None


@dataclass
class HeaderReport:
    """What :func:`deidentify_header` did. ``original_patient`` is PHI: the caller
    encrypts it and never logs it; nothing else here holds PHI."""

    uid_map: dict[str, str]  # original -> new, every UID replaced
    original_patient: dict[str, str]  # PatientName, PatientID, IssuerOfPatientID
    date_offset_days: int
    counts: dict[str, int]
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Decision:
    """What happens to one data element: the step, the VR it is written with, and the
    report counter it adds to."""

    step: Step
    vr: str
    counter: str

    @property
    def handler(self) -> str:
        """The step's name: the key of the engine's handler table (a str hashes in C)."""
        return self.step.value


_COUNTER_FOR_STEP: dict[Step, str] = {
    Step.KEEP: "kept",
    Step.REMOVE: "removed",
    Step.ZERO: "zeroed",
    Step.DUMMY: "dummied",
    Step.CLEAN_TEXT: "cleaned",
    Step.KEEP_TEXT: "kept",
    Step.SHIFT_DATE: "shifted",
    Step.SHIFT_DATETIME: "shifted",
    Step.UID: "uid",
    Step.RECURSE: "sequences",
    Step.PSEUDONYM: "pseudonym",
    Step.AGE: "kept",
    Step.PRIVATE: "private",
}


# An item tag (FFFE,E000) in little and big endian: a value that starts with one is a
# sequence whatever its VR says.
_ITEM_TAGS = (b"\xfe\xff\x00\xe0", b"\xff\xfe\xe0\x00")


def effective_vr(tag: int, vr: str | None) -> str:
    """The VR an element is decided by: its own, unless missing (implicit VR) or UN and
    the tag is in the DICOM dictionary; then the dictionary's (maybe "US or SS")."""
    if vr and vr != "UN":
        return vr
    if not tag & 0x10000:
        try:
            return dictionary_VR(tag)
        except KeyError:
            pass
    return vr or "UN"


def decide(profile: Profile, tag: int, vr: str | None) -> Decision:
    """The :class:`Decision` for a data element with ``tag`` and ``vr`` (its VR as read,
    None for implicit VR) under ``profile`` (see module docstring for the order)."""
    eff = effective_vr(tag, vr)
    if not tag & 0xFFFF:
        return Decision(Step.REMOVE, eff, "group_length_removed")
    if tag & 0x10000:
        if profile.safe_private:
            return Decision(Step.PRIVATE, eff, "private")
        return Decision(Step.REMOVE, eff, "private_removed")
    if rules.is_always_removed(tag):
        return Decision(Step.REMOVE, eff, "always_removed")
    if tag in rules.PSEUDONYM_TAGS:
        return Decision(Step.PSEUDONYM, eff, "pseudonym")
    vrc = rules.vr_class(eff)
    action = profile.action_for(tag)
    if action is None:
        step = rules.NOT_IN_TABLE_STEP[vrc]
        if step is Step.REMOVE:
            if tag not in rules.FIRST_PASS_KEEP_TAGS:
                return Decision(Step.REMOVE, eff, "not_in_table_removed")
            step = Step.KEEP_TEXT if vrc == "text" else Step.KEEP
    else:
        step = rules.step_for_action(action, vrc)
        if step is Step.KEEP_TEXT and tag in rules.IDENTIFIER_TAGS:
            step = Step.KEEP  # an option keeps this identifier itself (e.g. institution)
    return Decision(step, eff, _COUNTER_FOR_STEP[step])


# Decisions per profile, tag and VR as read: computed once per process.
_DECISIONS: dict[Profile, dict[tuple[int, str | None], Decision]] = {}


def _strings(elem: _Element) -> list[str]:
    """The values of a decoded element as strings ([] when empty)."""
    value = elem.value
    if value is None or value == "":
        return []
    if isinstance(value, bytes | bytearray):  # an undecoded UN: text values, "\" separated
        text = bytes(value).decode("latin-1").strip(" \x00")
        return text.split("\\") if text else []
    if isinstance(value, MultiValue | list | tuple):
        return [str(v) for v in value]
    return [str(value)]


# Text VRs whose value may contain "\" (it is not a value separator there).
_SINGLE_VALUED = frozenset({"LT", "ST", "UT", "UR"})


def _values(ds: Dataset, tag: BaseTag, vr: str) -> list[str]:
    """The string values of a DA, DT, TM, AS, UI or text element of ``ds``.

    Fast path: a raw element whose bytes are plain ASCII (no ISO 2022 escapes) is split
    here without pydicom decoding it; anything else is decoded by pydicom with the data
    set's character set."""
    elem = ds._dict[tag]
    if elem.is_raw:
        raw = elem.value
        if isinstance(raw, bytes) and raw.isascii() and b"\x1b" not in raw:
            text = raw.decode("ascii").strip(" \x00")
            if not text:
                return []
            if vr in _SINGLE_VALUED:
                return [text]
            return [v.strip(" \x00") for v in text.split("\\")]
    return _strings(ds[tag])


def _encode(tag: BaseTag, vr: str, values: list[str], old: _Element | None = None) -> _Element:
    """A new element with string ``values``: ASCII values as an already encoded raw
    element (written as is, no re-encoding), others as a DataElement that pydicom
    encodes with the data set's character set when writing."""
    text = "\\".join(values)
    if text.isascii():
        data = text.encode("ascii")
        if len(data) % 2:
            data += b"\x00" if vr == "UI" else b" "
        if isinstance(old, RawDataElement):
            return RawDataElement(
                tag, vr, len(data), data, 0, old.is_implicit_VR, old.is_little_endian
            )
        return RawDataElement(tag, vr, len(data), data, 0, False, True)
    value: str | list[str] = values[0] if len(values) == 1 else values
    return DataElement(tag, vr, value, validation_mode=config.IGNORE)


def _write(ds: Dataset, tag: BaseTag, vr: str, values: list[str]) -> None:
    """Replace (or add) the element ``tag`` of ``ds`` with string ``values``."""
    ds._dict[tag] = _encode(tag, vr, values, ds._dict.get(tag))


def _element(tag: BaseTag, vr: str, value: object) -> DataElement:
    return DataElement(tag, vr, value, validation_mode=config.IGNORE)


_Encoding = tuple[bool, bool] | tuple[None, None]
_TextItem = tuple[tuple[int, str, str], ...]  # (tag, VR, ASCII value) elements of one item


def _encode_items(items: tuple[_TextItem, ...], implicit: bool, little: bool) -> bytes:
    """Encode sequence items of short ASCII text elements (PS3.5 7.1, 7.5): what the
    engine writes into sequences, pre-encoded so the writer copies the bytes."""
    order: Literal["little", "big"] = "little" if little else "big"
    out = bytearray()
    for item in items:
        body = bytearray()
        for tag, vr, text in sorted(item):
            value = text.encode("ascii")
            if len(value) % 2:
                value += b" "
            body += (tag >> 16).to_bytes(2, order) + (tag & 0xFFFF).to_bytes(2, order)
            if implicit:
                body += len(value).to_bytes(4, order)
            else:
                body += vr.encode("ascii") + len(value).to_bytes(2, order)
            body += value
        out += (0xFFFE).to_bytes(2, order) + (0xE000).to_bytes(2, order)
        out += len(body).to_bytes(4, order) + body
    return bytes(out)


@lru_cache(maxsize=64)
def _encoded_items(items: tuple[_TextItem, ...], implicit: bool, little: bool) -> bytes:
    return _encode_items(items, implicit, little)


def _sequence(tag: BaseTag, items: tuple[_TextItem, ...], encoding: _Encoding) -> _Element:
    """A sequence of text-only items: pre-encoded in the data set's own encoding when it
    was read from a file (pydicom decodes it on access or when converting the file),
    else built as Datasets."""
    implicit, little = encoding
    if implicit is not None and little is not None:
        data = _encoded_items(items, implicit, little)
        return RawDataElement(tag, "SQ", len(data), data, 0, implicit, little)
    datasets = []
    for item in items:
        ds = Dataset()
        for element_tag, vr, text in item:
            ds._dict[BaseTag(element_tag)] = _element(BaseTag(element_tag), vr, text)
        datasets.append(ds)
    return _element(tag, "SQ", Sequence(datasets))


def _plain_vr(vr: str) -> str:
    return vr.split(" or ", 1)[0]


_Handler = Callable[[Dataset, BaseTag, _Element, Decision, list[BaseTag]], None]

_COUNTERS = (
    "kept",
    "removed",
    "zeroed",
    "dummied",
    "cleaned",
    "shifted",
    "uid",
    "sequences",
    "pseudonym",
    "age_capped",
    "private_removed",
    "private_kept",
    "not_in_table_removed",
    "always_removed",
    "group_length_removed",
    "invalid_values_emptied",
)


class _Walker:
    """One run of the engine over one data set."""

    def __init__(self, ctx: HeaderContext, offset: int, encoding: _Encoding) -> None:
        self.ctx = ctx
        self.offset = offset
        self.encoding = encoding
        self.decisions = _DECISIONS.setdefault(ctx.profile, {})
        self.counts: dict[str, int] = dict.fromkeys(_COUNTERS, 0)
        self.uid_map: dict[str, str] = {}
        self.identifiers: set[str] = set()
        self.deferred: list[tuple[Dataset, BaseTag, str, Step]] = []
        self.handlers: dict[str, _Handler] = {
            step.value: handler
            for step, handler in (
                (Step.REMOVE, self._remove),
                (Step.ZERO, self._zero),
                (Step.DUMMY, self._dummy),
                (Step.CLEAN_TEXT, self._defer),
                (Step.KEEP_TEXT, self._defer),
                (Step.SHIFT_DATE, self._shift),
                (Step.SHIFT_DATETIME, self._shift),
                (Step.UID, self._uid),
                (Step.RECURSE, self._recurse),
                (Step.PSEUDONYM, self._pseudonym),
                (Step.AGE, self._age),
                (Step.PRIVATE, self._private),
            )
        }

    # -- the walk ------------------------------------------------------------------------

    def walk(self, ds: Dataset) -> None:
        """Apply the decisions to every element of ``ds`` (and, through sequences, of
        every item below it)."""
        decisions = self.decisions
        counts = self.counts
        handlers = self.handlers
        identifier_tags = rules.IDENTIFIER_TAGS
        keep, remove = Step.KEEP, Step.REMOVE
        removed: list[BaseTag] = []
        for tag, elem in list(ds._dict.items()):
            # Plain int keys: comparing BaseTag objects runs Python code, ints do not.
            number = int(tag)
            key = (number, elem.VR)
            decision = decisions.get(key)
            if decision is None:
                decision = decisions[key] = decide(self.ctx.profile, number, elem.VR)
            if number in identifier_tags:
                self._collect(ds, tag, decision.vr)
            step = decision.step
            if step is keep:  # the common cases inline, the others through the table
                counts["kept"] += 1
            elif step is remove:
                if elem.VR in ("SQ", "UN", None):
                    self._collect_tree(ds, tag, elem)
                removed.append(tag)
                counts[decision.counter] += 1
            else:
                handlers[decision.handler](ds, tag, elem, decision, removed)
        if removed:
            for tag in removed:
                del ds._dict[tag]
            if ds._private_blocks:
                ds._private_blocks = {}

    def _collect(self, ds: Dataset, tag: BaseTag, vr: str) -> None:
        if vr != "SQ":
            self.identifiers.update(_values(ds, tag, vr))

    def _collect_tree(self, ds: Dataset, tag: BaseTag, elem: _Element) -> None:
        """Collect identifiers from the items of a sequence that is being discarded,
        including one that arrived as UN (explicit UN, or any private implicit element
        whose value is a run of items)."""
        value = elem.value
        if not isinstance(value, Sequence):
            if not (isinstance(value, bytes) and value[:4] in _ITEM_TAGS):
                return
            try:
                value = ds[tag].value  # pydicom reads UN items as a sequence
            except Exception:
                return
            if not isinstance(value, Sequence):
                return
        for item in value:
            for child_tag, child in list(item._dict.items()):
                if int(child_tag) in rules.IDENTIFIER_TAGS:
                    self._collect(item, child_tag, effective_vr(child_tag, child.VR))
                else:
                    self._collect_tree(item, child_tag, child)

    # -- steps -----------------------------------------------------------------------------

    def _remove(
        self, ds: Dataset, tag: BaseTag, elem: _Element, d: Decision, removed: list[BaseTag]
    ) -> None:
        self._collect_tree(ds, tag, elem)
        removed.append(tag)
        self.counts[d.counter] += 1

    def _zero(
        self, ds: Dataset, tag: BaseTag, elem: _Element, d: Decision, removed: list[BaseTag]
    ) -> None:
        self._collect_tree(ds, tag, elem)
        vr = _plain_vr(d.vr)
        if vr == "SQ":
            ds._dict[tag] = _sequence(tag, (), self.encoding)
        elif vr in rules.NUMERIC_VRS or vr in rules.BINARY_VRS:
            ds._dict[tag] = _element(tag, vr, empty_value_for_VR(vr))
        else:
            _write(ds, tag, vr, [])
        self.counts["zeroed"] += 1

    def _dummy(
        self, ds: Dataset, tag: BaseTag, elem: _Element, d: Decision, removed: list[BaseTag]
    ) -> None:
        """Action D: a non-zero length value consistent with the VR. A date or date-time
        with a value is shifted like any other (it is as good a dummy and keeps the
        interval); a UID is remapped; a sequence gets one empty item."""
        vr = _plain_vr(d.vr)
        if vr == "SQ":
            self._collect_tree(ds, tag, elem)
            ds._dict[tag] = _sequence(tag, ((),), self.encoding)
        elif vr in ("DA", "DT") and _values(ds, tag, vr):
            self._shift_values(ds, tag, vr, shift_date if vr == "DA" else shift_datetime)
        elif vr == "UI":
            originals = _values(ds, tag, vr)
            if originals:
                _write(ds, tag, vr, [self.remap_uid(v) for v in originals])
            else:
                _write(ds, tag, vr, [self.ctx.keys.uid(f"dummy {int(tag):08X}")])
        else:
            value = dummy_for_vr(vr)
            if isinstance(value, str):
                _write(ds, tag, vr, [value])
            else:
                ds._dict[tag] = _element(tag, vr, value)
        self.counts["dummied"] += 1

    def _defer(
        self, ds: Dataset, tag: BaseTag, elem: _Element, d: Decision, removed: list[BaseTag]
    ) -> None:
        self.deferred.append((ds, tag, _plain_vr(d.vr), d.step))
        self.counts[d.counter] += 1

    def _shift(
        self, ds: Dataset, tag: BaseTag, elem: _Element, d: Decision, removed: list[BaseTag]
    ) -> None:
        shift = shift_date if d.step is Step.SHIFT_DATE else shift_datetime
        self._shift_values(ds, tag, d.vr, shift)
        self.counts["shifted"] += 1

    def _shift_values(
        self, ds: Dataset, tag: BaseTag, vr: str, shift: Callable[[str, int], str | None]
    ) -> None:
        values = []
        for value in _values(ds, tag, vr):
            new = shift(value, self.offset)
            if new is None:
                self.counts["invalid_values_emptied"] += 1
                new = ""
            values.append(new)
        _write(ds, tag, vr, values)

    def _uid(
        self, ds: Dataset, tag: BaseTag, elem: _Element, d: Decision, removed: list[BaseTag]
    ) -> None:
        _write(ds, tag, "UI", [self.remap_uid(v) for v in _values(ds, tag, "UI")])
        self.counts["uid"] += 1

    def remap_uid(self, uid: str) -> str:
        """The new UID for ``uid`` (registry UIDs and '' unchanged), recorded in uid_map."""
        if not uid or is_registry_uid(uid):
            return uid
        new = self.uid_map.get(uid)
        if new is None:
            new = self.uid_map[uid] = self.ctx.keys.uid(uid)
        return new

    def _recurse(
        self, ds: Dataset, tag: BaseTag, elem: _Element, d: Decision, removed: list[BaseTag]
    ) -> None:
        value = elem.value if not elem.is_raw else ds[tag].value
        if not isinstance(value, Sequence):  # a sequence pydicom could not parse
            removed.append(tag)
            self.counts["removed"] += 1
            return
        for item in value:
            self.walk(item)
        self.counts["sequences"] += 1

    def _pseudonym(
        self, ds: Dataset, tag: BaseTag, elem: _Element, d: Decision, removed: list[BaseTag]
    ) -> None:
        _write(ds, tag, _plain_vr(d.vr), [self.ctx.pseudonym])
        self.counts["pseudonym"] += 1

    def _age(
        self, ds: Dataset, tag: BaseTag, elem: _Element, d: Decision, removed: list[BaseTag]
    ) -> None:
        originals = _values(ds, tag, "AS")
        ages = []
        for value in originals:
            age = cap_age(value)
            if age is None:
                self.counts["invalid_values_emptied"] += 1
                age = ""
            elif age == AGE_CAP and value.strip().upper() != AGE_CAP:
                self.counts["age_capped"] += 1
            ages.append(age)
        if ages != originals:
            _write(ds, tag, "AS", ages)
        self.counts["kept"] += 1

    def _private(
        self, ds: Dataset, tag: BaseTag, elem: _Element, d: Decision, removed: list[BaseTag]
    ) -> None:
        action = self.ctx.profile.action_for(int(tag), _private_creator(ds, tag))
        if action is not Action.KEEP:
            self._collect_tree(ds, tag, elem)
            removed.append(tag)
            self.counts["private_removed"] += 1
            return
        self.counts["private_kept"] += 1
        value = ds[tag].value
        if isinstance(value, Sequence):
            for item in value:
                self.walk(item)

    # -- after the walk ----------------------------------------------------------------------

    def clean_deferred(self) -> None:
        """Clean Descriptors on every text the walk deferred, now that all identifiers of
        the data set are known."""
        if not self.deferred:
            return
        cleaner = cleaner_for(frozenset(self.identifiers))
        for ds, tag, vr, step in self.deferred:
            originals = _values(ds, tag, vr)
            if step is Step.CLEAN_TEXT:
                narrative = vr in rules.NARRATIVE_VRS
                cleaned = [cleaner.clean(v, narrative=narrative) for v in originals]
            else:
                cleaned = [cleaner.strip_identifiers(v) for v in originals]
            cleaned = [v for v in cleaned if v]
            if cleaned != originals:
                _write(ds, tag, vr, cleaned)


def _private_creator(ds: Dataset, tag: int) -> str | None:
    """The private creator of a private element (itself, for a creator element)."""
    element = tag & 0xFFFF
    if element < 0x0010:
        return None
    creator_tag = tag if element <= 0x00FF else (tag & 0xFFFF0000) | (element >> 8)
    if creator_tag not in ds._dict:
        return None
    value = ds[creator_tag].value
    return str(value).strip() if value else None


def _top_string(ds: Dataset, keyword_tag: int, vr: str) -> str:
    tag = BaseTag(keyword_tag)
    if tag not in ds._dict:
        return ""
    return "\\".join(_values(ds, tag, vr)).strip()


def _prune(ds: Dataset, allowed: frozenset[int]) -> int:
    """Remove every element whose tag is not ``allowed``, at every depth; return how many."""
    removed = 0
    d = ds._dict
    for tag in list(d):
        if int(tag) not in allowed:
            del d[tag]
            removed += 1
            continue
        value = d[tag].value
        if isinstance(value, Sequence):
            for item in value:
                removed += _prune(item, allowed)
    if removed and ds._private_blocks:
        ds._private_blocks = {}
    return removed


def _method_code_items(profile: Profile) -> tuple[_TextItem, ...]:
    """De-identification Method Code Sequence items (CID 7050) for ``profile``."""
    return tuple(
        (
            (_CODE_VALUE, "SH", value),
            (_CODING_SCHEME_DESIGNATOR, "SH", scheme),
            (_CODE_MEANING, "LO", meaning),
        )
        for value, scheme, meaning in profile.method_codes()
    )


def deidentify_header(ds: Dataset, ctx: HeaderContext) -> HeaderReport:
    """De-identify the header of ``ds`` in place (see module docstring) and report.

    Pixel data is not touched, except that JPEG and JPEG 2000 frames lose their
    comment and application segments. The file meta and preamble are left to
    :func:`~.filemeta.rebuild_file_meta`.
    """
    original = {
        "PatientName": _top_string(ds, _PATIENT_NAME, "PN"),
        "PatientID": _top_string(ds, _PATIENT_ID, "LO"),
        "IssuerOfPatientID": _top_string(ds, _ISSUER_OF_PATIENT_ID, "LO"),
    }
    offset = ctx.date_offset_days
    if offset is None:
        offset = ctx.keys.date_offset_days(
            f"{original['PatientID']}^{original['IssuerOfPatientID']}"
        )
    notes = []
    if _top_string(ds, _PATIENT_IDENTITY_REMOVED, "CS").upper() == "YES":
        notes.append("PatientIdentityRemoved was already YES: ignored and re-done")

    walker = _Walker(ctx, offset, ds.original_encoding)
    walker.walk(ds)
    walker.clean_deferred()
    counts = walker.counts

    if ctx.allowlist is not None:
        counts["allowlist_removed"] = _prune(ds, ctx.allowlist | rules.SECOND_PASS_ALWAYS_KEPT)
        notes.append(
            f"second pass: {counts['allowlist_removed']} attributes outside the allowlist removed"
        )

    # What the engine writes (PS3.15 E.1.1 and E.3): the pseudonym where the patient's
    # name and ID were missing, and the record of what was done.
    written: list[tuple[int, str, list[str]]] = [
        (_PATIENT_NAME, "PN", [ctx.pseudonym]),
        (_PATIENT_ID, "LO", [ctx.pseudonym]),
        (_PATIENT_IDENTITY_REMOVED, "CS", ["YES"]),
        (_DEIDENTIFICATION_METHOD, "LO", ctx.profile.method_values()),
    ]
    if counts["shifted"] and offset:
        written.append((_LONGITUDINAL_MODIFIED, "CS", ["MODIFIED"]))
    for tag, vr, values in written:
        _write(ds, BaseTag(tag), vr, values)
    codes = BaseTag(_DEIDENTIFICATION_METHOD_CODES)
    ds._dict[codes] = _sequence(codes, _method_code_items(ctx.profile), ds.original_encoding)

    counts["bitstream_segments_removed"] = clean_encapsulated_pixel_data(ds)
    if counts["bitstream_segments_removed"]:
        notes.append(
            f"encapsulated frames: {counts['bitstream_segments_removed']} comment or "
            "application segments removed"
        )
    if counts["invalid_values_emptied"]:
        notes.append(
            f"{counts['invalid_values_emptied']} date or age values were not valid and were emptied"
        )
    return HeaderReport(
        uid_map=walker.uid_map,
        original_patient=original,
        date_offset_days=offset,
        counts=counts,
        notes=notes,
    )
