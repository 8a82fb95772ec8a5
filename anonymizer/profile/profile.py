"""A de-identification profile: the Basic Profile plus chosen options, resolved once.

The data is Table E.1-1 of DICOM PS3.15 Annex E (:mod:`annex_e_table`, generated).
A :class:`Profile` names a set of options (PS3.15 E.3); for every row of the table
it resolves which code applies (:func:`~.actions.option_wins`) and what single
action that code means (:func:`~.actions.resolve_compound`). The engine then asks
:meth:`Profile.action_for` for every data element, at every depth.

Attributes that are in no row of the table get ``None`` from ``action_for``: the
caller applies its own safe default to those (PS3.15 E.1.1 leaves attributes
outside Table E.1-1 to the de-identifier).

Private attributes (odd groups) follow the table's private attributes row: the
Basic Profile removes them (X). The Retain Safe Private Option cleans them (C),
which this project implements as: keep a private data element only if its
(private creator, element offset) is in the profile's explicit ``safe_private``
set, remove every other one (PS3.15 E.3.10). The set is empty unless configured.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any

from .actions import Action, option_wins, resolve_compound
from .annex_e_table import COLUMNS, EDITION, ROWS, SOURCE

__all__ = [
    "BASIC_METHOD_CODE",
    "CLEAN_PIXEL_DATA_METHOD_CODE",
    "CLEAN_RECOGNIZABLE_VISUAL_FEATURES_METHOD_CODE",
    "FIRST_PASS",
    "SECOND_PASS",
    "Option",
    "Profile",
]

PRIVATE_ROW_TAG = "(gggg,eeee)"


class Option(StrEnum):
    """An option of PS3.15 E.3; the value names its column in Table E.1-1."""

    RETAIN_SAFE_PRIVATE = "retain_safe_private"
    RETAIN_UIDS = "retain_uids"
    RETAIN_DEVICE_IDENTITY = "retain_device_identity"
    RETAIN_INSTITUTION_IDENTITY = "retain_institution_identity"
    RETAIN_PATIENT_CHARACTERISTICS = "retain_patient_characteristics"
    RETAIN_LONG_FULL_DATES = "retain_long_full_dates"
    RETAIN_LONG_MODIFIED_DATES = "retain_long_modified_dates"
    CLEAN_DESCRIPTORS = "clean_descriptors"
    CLEAN_STRUCTURED_CONTENT = "clean_structured_content"
    CLEAN_GRAPHICS = "clean_graphics"


# De-identification Method Code Sequence (0012,0064) items: PS3.16 CID 7050
# "De-identification Method", scheme DCM. Checked against pydicom's bundled CID 7050.
BASIC_METHOD_CODE = ("113100", "DCM", "Basic Application Confidentiality Profile")
CLEAN_PIXEL_DATA_METHOD_CODE = ("113101", "DCM", "Clean Pixel Data Option")
CLEAN_RECOGNIZABLE_VISUAL_FEATURES_METHOD_CODE = (
    "113102",
    "DCM",
    "Clean Recognizable Visual Features Option",
)
OPTION_METHOD_CODES: dict[Option, tuple[str, str, str]] = {
    Option.RETAIN_SAFE_PRIVATE: ("113111", "DCM", "Retain Safe Private Option"),
    Option.RETAIN_UIDS: ("113110", "DCM", "Retain UIDs Option"),
    Option.RETAIN_DEVICE_IDENTITY: ("113109", "DCM", "Retain Device Identity Option"),
    Option.RETAIN_INSTITUTION_IDENTITY: ("113112", "DCM", "Retain Institution Identity Option"),
    Option.RETAIN_PATIENT_CHARACTERISTICS: (
        "113108",
        "DCM",
        "Retain Patient Characteristics Option",
    ),
    Option.RETAIN_LONG_FULL_DATES: (
        "113106",
        "DCM",
        "Retain Longitudinal Temporal Information Full Dates Option",
    ),
    Option.RETAIN_LONG_MODIFIED_DATES: (
        "113107",
        "DCM",
        "Retain Longitudinal Temporal Information Modified Dates Option",
    ),
    Option.CLEAN_DESCRIPTORS: ("113105", "DCM", "Clean Descriptors Option"),
    Option.CLEAN_STRUCTURED_CONTENT: ("113104", "DCM", "Clean Structured Content Option"),
    Option.CLEAN_GRAPHICS: ("113103", "DCM", "Clean Graphics Option"),
}

# Options in the order of the table's columns (the order used in every listing).
_OPTION_ORDER: tuple[Option, ...] = tuple(Option(column) for column in COLUMNS[1:])

_LO_MAX = 64  # De-identification Method (0012,0063) is LO: 64 characters per value


@dataclass(frozen=True)
class _RowDecision:
    tag: str
    keyword: str
    name: str
    code: str  # verbatim code after option resolution
    action: Action
    source: str  # "basic" or the Option value that decided


@dataclass(frozen=True)
class _Lookup:
    exact: dict[int, Action]
    masked: tuple[tuple[int, int, Action], ...]  # (mask, value, action)


def _decide(cells: tuple[str, ...], options: frozenset[Option]) -> tuple[str, str]:
    """(code, source) for one row: the basic code unless a selected option has a cell."""
    chosen = [
        (option, cell)
        for option, cell in zip(_OPTION_ORDER, cells[1:], strict=True)
        if cell and option in options
    ]
    code = option_wins(cells[0], (cell for _, cell in chosen))
    source = next((option.value for option, cell in chosen if cell == code), "basic")
    return code, source


def _mask_and_value(tag: str) -> tuple[int, int]:
    """'(60xx,3000)' -> (0xFF00FFFF, 0x60003000): x digits match anything."""
    digits = tag[1:5] + tag[6:10]
    mask = int("".join("0" if ch == "x" else "F" for ch in digits), 16)
    value = int(digits.replace("x", "0"), 16)
    return mask, value


@dataclass(frozen=True)
class Profile:
    """Basic Application Level Confidentiality Profile plus ``options`` (PS3.15 E.2, E.3).

    ``safe_private`` lists the private data elements known to be safe, as
    (private creator, element offset 0x00-0xFF) pairs; it is used only with
    :attr:`Option.RETAIN_SAFE_PRIVATE` and is empty by default. The private
    group number is not part of the key: a creator's offset is safe in every
    odd group it reserves.
    """

    name: str
    options: frozenset[Option] = frozenset()
    safe_private: frozenset[tuple[str, int]] = field(default=frozenset())

    def __post_init__(self) -> None:
        options = frozenset(Option(option) for option in self.options)
        safe_private = frozenset((str(c), int(o)) for c, o in self.safe_private)
        object.__setattr__(self, "options", options)
        object.__setattr__(self, "safe_private", safe_private)
        if not self.name or len(self.name) > _LO_MAX:
            raise ValueError(f"profile name must be 1-{_LO_MAX} characters: {self.name!r}")
        if {Option.RETAIN_LONG_FULL_DATES, Option.RETAIN_LONG_MODIFIED_DATES} <= options:
            raise ValueError("full dates and modified dates options exclude each other (E.3.6)")
        if safe_private and Option.RETAIN_SAFE_PRIVATE not in options:
            raise ValueError("safe_private needs the retain_safe_private option")
        for creator, offset in safe_private:
            if not creator or not 0 <= offset <= 0xFF:
                raise ValueError(f"bad safe private entry: {(creator, offset)!r}")

    # -- resolution, computed once per profile -------------------------------

    @cached_property
    def _decisions(self) -> tuple[_RowDecision, ...]:
        decisions = []
        for tag, keyword, name, cells in ROWS:
            code, source = _decide(cells, self.options)
            decisions.append(_RowDecision(tag, keyword, name, code, resolve_compound(code), source))
        return tuple(decisions)

    @cached_property
    def _lookup(self) -> _Lookup:
        exact: dict[int, Action] = {}
        masked: list[tuple[int, int, Action]] = []
        for row in self._decisions:
            if row.tag == PRIVATE_ROW_TAG:
                continue  # odd groups are handled before any table lookup
            if "x" in row.tag:
                mask, value = _mask_and_value(row.tag)
                masked.append((mask, value, row.action))
            else:
                exact[int(row.tag[1:5] + row.tag[6:10], 16)] = row.action
        return _Lookup(exact, tuple(masked))

    @cached_property
    def _safe_creators(self) -> frozenset[str]:
        return frozenset(creator for creator, _ in self.safe_private)

    def action_for(self, tag: int, private_creator: str | None = None) -> Action | None:
        """The action for a data element ``tag`` (an int, as pydicom's ``BaseTag``).

        Returns None when no row of Table E.1-1 covers the tag. Private tags
        (odd group) always get an action: REMOVE, or KEEP for a private creator
        element or data element that the profile's ``safe_private`` set lists
        (pass the block's private creator as ``private_creator``).
        """
        if tag & 0x10000:
            return self._private_action(tag, private_creator)
        lookup = self._lookup
        action = lookup.exact.get(tag)
        if action is not None:
            return action
        for mask, value, masked_action in lookup.masked:
            if tag & mask == value:
                return masked_action
        return None

    def _private_action(self, tag: int, private_creator: str | None) -> Action:
        if not self.safe_private or private_creator is None:
            return Action.REMOVE
        element = tag & 0xFFFF
        if 0x0010 <= element <= 0x00FF:  # a private creator element reserving a block
            return Action.KEEP if private_creator in self._safe_creators else Action.REMOVE
        if element >= 0x1000 and (private_creator, element & 0xFF) in self.safe_private:
            return Action.KEEP
        return Action.REMOVE

    # -- self-description, stored with every published case -------------------

    def describe(self) -> list[dict[str, str]]:
        """What happens to each attribute: one dict per row of Table E.1-1, in table order.

        Keys: ``tag``, ``keyword``, ``name``, ``action`` (the resolved
        :class:`Action` value), ``action_code`` (the table's code after option
        resolution, verbatim) and ``source`` (``"basic"`` or the option that
        decided). JSON-serialisable and deterministic.
        """
        return [
            {
                "tag": row.tag,
                "keyword": row.keyword,
                "name": row.name,
                "action": row.action.value,
                "action_code": row.code,
                "source": row.source,
            }
            for row in self._decisions
        ]

    def describe_text(self) -> str:
        """:meth:`describe` for humans, with a header naming the profile and its options."""
        options = ", ".join(option.value for option in _OPTION_ORDER if option in self.options)
        if self.safe_private:
            listed = ", ".join(f"{c} 0x{o:02X}" for c, o in sorted(self.safe_private))
            private = f"kept only if listed as safe ({listed}); all others removed"
        else:
            private = "removed (no safe private attributes listed)"
        lines = [
            f"De-identification profile {self.name}",
            f"DICOM PS3.15 {EDITION} Annex E, Table E.1-1 (from {SOURCE})",
            f"Options: {options or 'none (Basic Profile only)'}",
            f"Private attributes: {private}",
            "Attributes in no row of the table: the engine's default applies.",
            "",
            f"{'tag':<12} {'act':<4} {'code':<7} {'source':<31} keyword (name)",
        ]
        for row in self._decisions:
            label = row.keyword or row.name
            name = f" ({row.name})" if row.keyword else ""
            lines.append(
                f"{row.tag:<12} {row.action.value:<4} {row.code:<7} {row.source:<31} {label}{name}"
            )
        return "\n".join(lines) + "\n"

    def method_codes(
        self,
        *,
        clean_pixel_data: bool = False,
        clean_recognizable_visual_features: bool = False,
    ) -> list[tuple[str, str, str]]:
        """(code value, coding scheme, meaning) items for the De-identification Method
        Code Sequence (0012,0064), PS3.16 CID 7050: the Basic Profile, then each
        option in table order. The two pixel options are not columns of Table
        E.1-1; the caller adds them when it has cleaned the pixels.
        """
        codes = [BASIC_METHOD_CODE]
        codes += [OPTION_METHOD_CODES[o] for o in _OPTION_ORDER if o in self.options]
        if clean_pixel_data:
            codes.append(CLEAN_PIXEL_DATA_METHOD_CODE)
        if clean_recognizable_visual_features:
            codes.append(CLEAN_RECOGNIZABLE_VISUAL_FEATURES_METHOD_CODE)
        return codes

    def method_values(self) -> list[str]:
        """Values for De-identification Method (0012,0063), LO, VM 1-n: each at most 64
        characters. The profile's name, then the CID 7050 meaning of the Basic
        Profile and of each option."""
        return [self.name, *(meaning for _, _, meaning in self.method_codes())]

    def method_text(self) -> str:
        """A short one-line De-identification Method naming the profile and its options."""
        options = [o.value for o in _OPTION_ORDER if o in self.options]
        suffix = f" + {', '.join(options)}" if options else ""
        return f"{self.name}: PS3.15 {EDITION} Basic Profile{suffix}"

    # -- storage ----------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """{"name", "options" (sorted values), "safe_private" (sorted [creator, offset])}."""
        return {
            "name": self.name,
            "options": sorted(option.value for option in self.options),
            "safe_private": [[creator, offset] for creator, offset in sorted(self.safe_private)],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Profile:
        """Inverse of :meth:`to_dict`; ``safe_private`` may be absent."""
        return cls(
            name=str(data["name"]),
            options=frozenset(Option(value) for value in data["options"]),
            safe_private=frozenset(
                (str(creator), int(offset)) for creator, offset in data.get("safe_private", ())
            ),
        )


#: Applied at import: keep what teaching needs (age, sex, size, weight; dates
#: shifted consistently; descriptions cleaned) and nothing that identifies.
FIRST_PASS = Profile(
    "teachingfile-first-pass",
    frozenset(
        {
            Option.RETAIN_LONG_MODIFIED_DATES,
            Option.RETAIN_PATIENT_CHARACTERISTICS,
            Option.CLEAN_DESCRIPTORS,
        }
    ),
)

#: The second pass: the first-pass profile's options, then only the attributes of
#: :data:`~.allowlist.SECOND_PASS_ALLOWLIST` survive.
SECOND_PASS = Profile("teachingfile-second-pass", FIRST_PASS.options)
