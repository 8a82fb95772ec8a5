"""Clean Descriptors (PS3.15 E.3.5): free text without the identifiers it may contain.

Descriptions and comments are kept for teaching ("CT CHEST WITH CONTRAST"), but people
type identifiers into them. :func:`clean_descriptor` removes from a text:

1. every identifying value found in the same data set before cleaning (the engine
   collects the values of :data:`~.rules.IDENTIFIER_TAGS`: names, IDs, accession
   number, birth date, addresses, phones, physicians, operators, institution,
   station...), as whole values and as their parts (name components, words),
   case-insensitively; :func:`identifier_terms` builds the parts, including common
   spellings of a birth date;
2. anything that looks identifying in any text (:data:`GENERIC_PATTERNS`): dates in
   common formats, long numbers (5 digits or more, with the word around them), UIDs,
   telephone numbers, e-mail addresses, URLs, and labels such as "MRN:" or "DOB:".

Whitespace is collapsed and dangling separators trimmed; if no letter or digit is
left, the result is "". A narrative text (``narrative=True``, the engine's choice for
LT, ST and UT comments) is dropped whole as soon as anything identifying is found in
it: once a narrative names the patient, its other words (a relative, a town, an
event) may identify too.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from functools import lru_cache

__all__ = [
    "GENERIC_PATTERNS",
    "DescriptorCleaner",
    "clean_descriptor",
    "cleaner_for",
    "identifier_terms",
]

_MONTHS = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"

#: What looks identifying in any text, whoever it belongs to.
GENERIC_PATTERNS: tuple[str, ...] = (
    r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+",  # e-mail
    r"(?:https?|ftp)://\S+|\bwww\.\S+",  # URL
    r"\b\d+(?:\.\d+){3,}\b",  # a UID or an IP address
    r"\b\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\b",  # 2024-03-15, 2024/3/15
    r"\b\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}\b",  # 15/03/2024, 3-15-24, 15.03.2024
    rf"\b\d{{1,2}}(?:st|nd|rd|th)?[\s-]*{_MONTHS}[\s,-]*\d{{2,4}}\b",  # 15 Mar 2024
    rf"\b{_MONTHS}\s*\d{{1,2}}(?:st|nd|rd|th)?,?\s*\d{{2,4}}\b",  # March 15, 2024
    r"(?<![\w.])\+?\(?\d{2,4}\)?[\s.-]\d{3,4}[\s.-]?\d{3,5}\b",  # (555) 019-8234
    r"\b\d{3}-\d{4}\b",  # 555-0198
    r"\b\w*\d{5,}\w*\b",  # a long number and the word it is in (MRN12345678)
    # labels left in front of an identifier
    r"\b(?:mrn|dob|d\.o\.b|ssn|nhs|acc|accession|pid|id|tel|phone|fax|name|patient)"
    r"\s*(?:no\.?|number|#)?\s*[:#=]",
)

# Parts of identifiers that are ordinary words: never removed on their own.
_STOPWORDS = frozenset(
    {"of", "the", "and", "for", "de", "del", "der", "la", "le", "van", "von", "dr", "md"}
)
_SPLIT = re.compile(r"[\s\^=,;:/\\()\[\]\"']+")
_MIN_SUBSTRING = 5  # shorter ASCII terms are only removed as whole words
_MEANINGFUL = re.compile(r"\w")
_SPACES = re.compile(r"\s+")
_INNER_SPACE = re.compile(r"\s+([)\]}])|(?<=[(\[{])\s+")
_EMPTY_BRACKETS = re.compile(r"\(\s*\)|\[\s*\]|\{\s*\}")
_TRIM = " \t-_,;:/\\|.#=+*&^"


def _date_spellings(value: str) -> list[str]:
    """Common spellings of a YYYYMMDD date (a birth date typed into a comment)."""
    if len(value) != 8 or not value.isdigit():
        return []
    y, m, d = value[:4], value[4:6], value[6:8]
    return [
        f"{y}-{m}-{d}",
        f"{y}/{m}/{d}",
        f"{y}.{m}.{d}",
        f"{d}/{m}/{y}",
        f"{m}/{d}/{y}",
        f"{d}.{m}.{y}",
        f"{d}-{m}-{y}",
        f"{m}-{d}-{y}",
    ]


def identifier_terms(values: Iterable[str]) -> frozenset[str]:
    """The strings to remove for identifying ``values``: each whole value (trimmed),
    its date spellings, and its parts split at spaces, '^', '=' and punctuation. Parts
    shorter than 2 characters, ordinary words (of, the, de...) and short numbers
    (under 4 digits: house numbers) are left out; whole values are always in."""
    terms: set[str] = set()
    for raw in values:
        value = raw.strip().strip("\x00").strip()
        if not value:
            continue
        terms.add(value)
        terms.update(_date_spellings(value))
        for part in _SPLIT.split(value):
            part = part.strip(_TRIM)
            if len(part) < 2 or part.lower() in _STOPWORDS:
                continue
            if part.isdigit() and len(part) < 4:
                continue
            terms.add(part)
    return frozenset(terms)


def _identifier_regex(terms: Collection[str]) -> re.Pattern[str] | None:
    if not terms:
        return None
    ordered = sorted(terms, key=lambda t: (-len(t), t))
    anywhere = [re.escape(t) for t in ordered if len(t) >= _MIN_SUBSTRING or not t.isascii()]
    words = [re.escape(t) for t in ordered if len(t) < _MIN_SUBSTRING and t.isascii()]
    parts = []
    if anywhere:
        parts.append("|".join(anywhere))
    if words:
        parts.append(r"(?<!\w)(?:" + "|".join(words) + r")(?!\w)")
    return re.compile("|".join(parts), re.IGNORECASE)


_GENERIC = re.compile("|".join(f"(?:{p})" for p in GENERIC_PATTERNS), re.IGNORECASE)


class DescriptorCleaner:
    """Clean Descriptors for one data set: built once from its identifiers, applied to
    each of its texts (see module docstring)."""

    def __init__(self, identifiers: Iterable[str]) -> None:
        self._identifiers = _identifier_regex(identifier_terms(identifiers))

    def clean(self, value: str, *, narrative: bool = False) -> str:
        """``value`` without identifiers or anything that looks identifying."""
        text, found = value, 0
        if self._identifiers is not None:
            text, found = self._identifiers.subn(" ", text)
        text, generic = _GENERIC.subn(" ", text)
        if not found + generic:  # nothing identifying: the text as it was
            value = value.strip()
            return value if _MEANINGFUL.search(value) else ""
        if narrative:
            return ""
        return _tidy(text)

    def strip_identifiers(self, value: str) -> str:
        """``value`` without this data set's identifiers only (for kept technical text
        such as a code meaning, where generic patterns would destroy codes)."""
        if self._identifiers is None:
            return value
        text, found = self._identifiers.subn(" ", value)
        return _tidy(text) if found else value


def _tidy(text: str) -> str:
    text = _EMPTY_BRACKETS.sub(" ", _INNER_SPACE.sub(r"\1", text))
    text = _SPACES.sub(" ", text).strip(_TRIM + " ")
    return text if _MEANINGFUL.search(text) else ""


@lru_cache(maxsize=256)
def cleaner_for(identifiers: frozenset[str]) -> DescriptorCleaner:
    """A cached :class:`DescriptorCleaner`: slices of one patient share identifiers."""
    return DescriptorCleaner(identifiers)


def clean_descriptor(value: str, identifiers: Collection[str], *, narrative: bool = False) -> str:
    """Clean Descriptors (PS3.15 E.3.5) for one text value.

    >>> clean_descriptor("CT CHEST ZEBRAFISH MRN93817465", ["ZEBRAFISH^QUENTIN", "MRN93817465"])
    'CT CHEST'
    """
    return cleaner_for(frozenset(identifiers)).clean(value, narrative=narrative)
