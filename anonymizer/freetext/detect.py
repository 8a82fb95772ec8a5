"""Identifier-like words in free text (descriptions, protocol names, comments).

:func:`find_identifiers` returns where a text looks identifying and why, never the
words themselves. Kinds:

``person-name``     a first or last name of Faker's locale lists (:mod:`.names`) that is
                    not a descriptor word (:mod:`.vocabulary`); a name that is also a
                    descriptor word ("Long", "Smith") counts only in a name's context: after
                    a title (Dr, Mr, Prof...), next to another name, or in a DICOM person
                    name (``DOE^JOHN``); an eponym counts unless its medical noun follows
                    ("Smith fracture", "Baker's cyst") or it is part of a listed compound
``code``            a word mixing letters and digits that is not a technical token
                    (T1, T2W, 3D, b800, C2-C3, L4/5, 5mm, 120kV, FC13...)
``digits``          a run of 5 digits or more (record numbers, UIDs)
``date``            2024-06-10, 10/06/2024, 10.06.24, 10 Jun 2024, Jun 10 2024, 20240610
``phone``           telephone numbers (+44 20 7946 0958, (555) 019-8234, 555-0198)
``email``, ``url``  e-mail and web addresses
``own-identifier``  a whole word of the file's own identifying values (``own_values``),
                    or one cut short (6+ letters that begin a word of 7+)

Disguises are undone before matching (offsets still point into the text as given):
zero-width characters are ignored, Cyrillic and Greek letters that look Latin are read
as Latin inside a word that mixes them with Latin letters ("KOWALCZУK"), letters spaced
out one by one ("K O W A L C Z Y K", "k.o.w.a.l") are read as one word (a finding if it
is an own identifier or a listed name of 5+ letters), and own identifiers are compared
with katakana read as hiragana (ヤマダ = やまだ) after NFKC.

Matching is case-insensitive. Findings do not overlap: where two kinds cover the same
characters the longer finding wins.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from anonymizer.freetext.names import ambiguous_names, fold, unambiguous_names
from anonymizer.freetext.vocabulary import DESCRIPTOR_WORDS, EPONYMS

__all__ = ["KINDS", "Finding", "find_identifiers", "is_technical_token"]

KINDS: tuple[str, ...] = (
    "person-name",
    "code",
    "digits",
    "date",
    "phone",
    "email",
    "url",
    "own-identifier",
)

#: What each kind of finding is, for reasons a person reads ("... a person's name").
KIND_WORDS = {
    "person-name": "a person's name",
    "code": "an ID-like code (letters mixed with digits)",
    "digits": "a long number",
    "date": "a date",
    "phone": "a phone number",
    "email": "an e-mail address",
    "url": "a web address",
    "own-identifier": "a word of the patient's identifiers",
}

_WHY = {
    "person-name": "looks like a person's name",
    "code": "looks like an identifier code (letters mixed with digits)",
    "digits": "a long run of digits, like a record number",
    "date": "looks like a date",
    "phone": "looks like a telephone number",
    "email": "looks like an e-mail address",
    "url": "looks like a web address",
    "own-identifier": "a word of this file's own identifying attributes (name, ID...)",
}


@dataclass(frozen=True)
class Finding:
    """Characters ``start:end`` of the text look identifying; ``why`` never quotes them."""

    start: int
    end: int
    kind: str
    why: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


# ---------------------------------------------------------------------------------------
# Patterns

_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATE_PATTERNS = (
    r"(?<![\w.])\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?![\w.]*\d)",  # 2024-06-10
    r"(?<![\w.])\d{1,2}[-/.]\d{1,2}[-/.](?:\d{4}|\d{2})(?![\w.]*\d)",  # 10/06/2024, 10.06.24
    rf"\b\d{{1,2}}(?:st|nd|rd|th)?[\s\-/.]*{_MONTH}[\s,\-/.]*(?:\d{{4}}|\d{{2}})\b",  # 10 Jun 2024
    rf"\b{_MONTH}[\s\-/.]*\d{{1,2}}(?:st|nd|rd|th)?,?[\s\-/.]*(?:\d{{4}}|\d{{2}})\b",  # Jun 10 2024
    rf"\b{_MONTH}[\s\-/.]*(?:19|20)\d{{2}}\b",  # June 2024
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)\d{2,4}\b",  # JUN19, Jun2019
)
_COMPACT_DATE = re.compile(r"(?<!\d)((?:19|20)\d{2})(\d{2})(\d{2})(?!\d)")
_PHONE_PATTERNS = (
    r"(?<![\w.])\+\d{1,3}(?:[\s.\-]?\(?\d{1,5}\)?){2,5}(?![\w.]*\d)",  # +44 20 7946 0958
    r"(?<![\w.])\(?\d{2,5}\)?[\s.\-]\d{3,4}[\s.\-]?\d{3,5}(?![\w.]*\d)",  # (555) 019-8234
    r"(?<![\w.\-/])\d{3}-\d{4}(?![\w\-/])",  # 555-0198
)
_EMAIL = r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+"
_URL = r"(?:https?|ftp)://\S+|\bwww\.[\w\-]+(?:\.[\w\-]+)+\S*|\b[\w\-]+\.(?:com|org|net|nhs\.uk|edu|gov)\b\S*"
_LONG_DIGITS = r"\d{5,}"

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("email", re.compile(_EMAIL, re.IGNORECASE)),
    ("url", re.compile(_URL, re.IGNORECASE)),
    *(("date", re.compile(p, re.IGNORECASE)) for p in _DATE_PATTERNS),
    *(("phone", re.compile(p)) for p in _PHONE_PATTERNS),
    ("digits", re.compile(_LONG_DIGITS)),
)


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# A word of letters (names: O'Brien, Anne-Marie), and an alphanumeric token (codes).
_LETTER = r"[^\W\d_]"
_MARK = r"[\u0300-\u036f\u0900-\u0dff\u0e00-\u0e7f]"  # combining marks (Indic, Thai)
_WORD = re.compile(rf"{_LETTER}(?:{_LETTER}|{_MARK})*(?:['’]{_LETTER}(?:{_LETTER}|{_MARK})*)*")
_COMPOUND = re.compile(rf"{_WORD.pattern}(?:-{_WORD.pattern})+")
_TOKEN = re.compile(r"[^\W_]+")
_NAME_TITLES = _word_set(
    "dr mr mrs ms miss prof professor sir dame herr frau mme mlle sr sra dott doctor nurse dra"
)
#: A noun after an eponym makes it medical ("Smith fracture", "Wilson disease").
_EPONYM_NOUNS = _word_set(
    """
    fracture fractures fx disease diseases syndrome syndromes sign signs lesion lesions
    cyst cysts tumor tumour tumors tumours sarcoma lymphoma malformation malformations
    deformity anomaly procedure operation repair classification class type grade score
    criteria view views line lines fossa pouch space pad canal duct ampulla ligament
    fascia triangle nodule nodes node tubercle tuberosity disc disk effusion body bodies
    thyroiditis disorder palsy ulcer ulcers diverticulum esophagus oesophagus
    angle position projection technique method catheter tube wire cast splint
    dysplasia aneurysm bursitis capsulitis osteochondrosis apophysitis osteonecrosis
    fistula cell cells arteritis encephalopathy chorea dementia lesion's hernia
    """
)
#: Titles that are also abbreviations (MR modality, MS multiple sclerosis, SR structured
#: report, DR digital radiography): a name after them only if not a descriptor word.
_ALSO_ABBREVIATIONS = frozenset({"mr", "ms", "sr", "dr"})
#: Short ambiguous words are abbreviations (US, PD, MAS) even next to a name...
_MAX_ABBREVIATION = 3
#: ...except the particles of names (Ludwig van Beethoven, Maria de la Cruz).
_PARTICLES = _word_set(
    "van von der den de da del della di du dos das le la el al bin ibn ten ter zu mc mac st"
)
_POSSESSIVE = re.compile(r"['’]s$", re.IGNORECASE)


# ---------------------------------------------------------------------------------------
# Codes: letters mixed with digits, minus technical tokens

#: Whole tokens (lower case) that are technical although they mix letters and digits.
#: Radionuclides of nuclear medicine, written either way round (Tc99m, 99mTc, F-18, 18F).
_ISOTOPES = (
    ("tc", "99m?"), ("f", "18"), ("ga", "6[78]"), ("i", "12[345]|131"), ("lu", "177"),
    ("in", "111"), ("rb", "82"), ("cu", "6[47]"), ("zr", "89"), ("n", "13"), ("o", "15"),
    ("c", "11|14"), ("y", "90"), ("tl", "201"), ("xe", "133"), ("kr", "81m?"),
    ("sr", "89"), ("ra", "223"), ("sm", "153"), ("ho", "166"), ("re", "18[68]"),
    ("cr", "51"), ("co", "57"), ("ge", "68"), ("ac", "225"), ("pb", "212"), ("bi", "213"),
)  # fmt: skip
_ISOTOPE = (
    "(?:"
    + "|".join(f"{symbol}-?(?:{mass})m?|(?:{mass})m?-?{symbol}" for symbol, mass in _ISOTOPES)
    + ")"
)
_TECHNICAL_TOKEN_PATTERNS = re.compile(
    r"""^(?:
        \d+(?:st|nd|rd|th)                                   # 1st 2nd 3rd 4th
      | \d{1,4}(?:mm|cm|m|ml|cc|l|kg|g|mg|mcg|ug|kv|kvp|ma|mas|ms|s|sec|min|mins|h|hr|hrs
          |t|mhz|khz|hz|deg|x|d|ch|chamber|mbq|mci|gy|mgy|msv|kev|mev|fps|bpm|f|p|ph|pt
          |cmh2o|mmhg|yr|yrs|y|yo|wk|wks|w|mo|mos|min|sl|sli|slc|slices|im|img|ims|i
          |gd|fdg|tc|mtc|ga|cu|zr|rb|lu|in|plane|pl|vo|v|e|echo|echoes|nex|av|sh)
      | \d+x\d+(?:x\d+)?(?:mm|cm)?                            # 512x512, 3x3mm, 10x10
      | [a-z]?\d{1,2}[a-z]?                                  # T1 T2W B0 C2 L5 S1 M1 3D
      | [a-z]\d{1,2}(?:fs|wfs|ce|gd|fl|map|rho|star|se|tse|ir|pc|wi|flair|stir)  # T1FS T2map
      | [a-z]\d{2,3}[a-z]?                                    # B30f I31f H60s Q30
      | (?:br|bf|bv|hr|hf|qr|fc)\d{1,3}[a-z]?                 # Br40d Hr38 FC13 kernels
      | b\d{2,4}                                              # b50 b800 b1000
      | (?:tr|te|ti|ta|fa|bw|etl|nex|venc|kv|kvp|ma|mas|w|l|wl|ww|sl|st|ctdi|dlp
          |sense|asset|ipat|grappa|arc|af|r|p|pat|asir|asirv|asir-v|admire|safire|idose
          |aidr|dlir|sn|de|dual|mono|kev|vmi|kernel|phase|ph|echo|e|run|rep|seg|slab
          |series|ser|se|img|im|bh|fb|av|ch|ga|lu|tc|mtc|f|i|in|cu|zr|rb|n|o|c|y|tl|x
          |fov|mip|mpr|cor|sag|ax|tra|obl|dyn|ms|mat|matrix|thk|th|sl|sp|r|v|cine
          |t|pt|ct|mr|us|cr|dx|nm|pet|spect|xa|rf|mg|ot|sc|ax|iso|hd|hr|uhr|std|b)
          \d{1,2}(?:mm|ms|s|kv|kev|x|pct)?
      | (?:fa|venc|kv|kvp|ma|mas|sn|de|mono|kev|vmi)\d{3}(?:kv|kev)?  # Sn140 KEV140
      | (?:tr|te|ti|ta|w|l|wl|ww|ms|dlp|ctdi)\d{3,4}(?:ms|s)?          # TR2000 W1500
      | \d{1,3}(?:d|dt1|dt2|d-?t1|d-?t2|dflair|dtof|dtfe|dte|dpc|dfse|dspace|dcube|dvibe
          |dmip|dvr|dssfp|dfiesta|dmprage|dswi|dpet|dct|dus|dmr|dasl|dpcasl|dbold|dir)
                                                              # 3D, 3DT1
      | ISOTOPE                                               # Tc99m F18 68Ga 99mTc
      | [1-4]ch                                     # 2CH 4CH
      | [ctls]\d{1,2}[ctls]\d{1,2}                             # L5S1 T12L1 C5C6
    )$""".replace("ISOTOPE", _ISOTOPE),
    re.VERBOSE,
)
#: The most digits a technical token has (b1000, TR2000, 1500ms); more is a number.
_MAX_TECHNICAL_DIGITS = 4


@lru_cache(maxsize=8192)
def is_technical_token(token: str) -> bool:
    """A token mixing letters and digits that is a technical term, not an identifier
    (T1, T2W, b800, 3D, 5mm, 120kV, C2, FC13, 18F, 4CH, 512x512...)."""
    lower = token.lower()
    if lower in DESCRIPTOR_WORDS:
        return True
    digits = re.findall(r"\d+", lower)
    if any(len(run) > _MAX_TECHNICAL_DIGITS for run in digits):
        return False
    letters = re.findall(r"[^\W\d_]+", lower)
    # Three or more alternations of letters and digits (K7Q2X, A1B2): a code, unless a
    # vertebral pair (L5S1) that the pattern lists.
    if len(digits) + len(letters) > 3:
        return bool(_TECHNICAL_TOKEN_PATTERNS.match(lower))
    if _TECHNICAL_TOKEN_PATTERNS.match(lower):
        # Two or more letters that are neither a unit nor a descriptor word before
        # the digits make a code (MRN4471, AB12C) even if the shape matched.
        return not any(
            len(run) >= 3 and run not in DESCRIPTOR_WORDS and run not in _UNIT_WORDS
            for run in letters
        )
    # A short descriptor word and a small number: LV2, AX1, RV3.
    if (
        len(letters) == 1
        and len(digits) == 1
        and len(letters[0]) <= 2
        and letters[0] in DESCRIPTOR_WORDS
        and len(digits[0]) <= 2
    ):
        return True
    # A descriptor word glued to a small number: FLAIR3D, SERIES2, PHASE1, WINDOW1 (a
    # word of 3 letters or more, at most one more single letter: not Z25CC or LA943).
    known = all(run in DESCRIPTOR_WORDS or run in _UNIT_WORDS for run in letters)
    long_word = any(len(run) >= 3 for run in letters)
    short_runs = sum(1 for run in letters if len(run) < 3)
    return known and long_word and short_runs <= 1 and all(len(run) <= 3 for run in digits)


_UNIT_WORDS = _word_set(
    """mm cm ml cc kg mg mcg ug kv kvp ma mas ms sec min mins hr hrs mhz khz hz deg mbq mci
    gy mgy msv kev mev fps bpm yrs wks mos nex echo echoes slices plane chamber cmh2o mmhg
    fdg mtc sli slc img ims dt1 dt2 dflair dtof dir dmip dvr sense asset ipat grappa arc
    asir asirv admire safire idose aidr dlir kernel phase echo run rep seg slab series ser
    fov mip mpr cor sag tra obl dyn mat matrix thk iso hd hr uhr std pct venc etl"""
)


# ---------------------------------------------------------------------------------------
# Names


def _name_findings(text: str) -> list[Finding]:
    """Person names (see module docstring): unambiguous names anywhere, names that are
    also descriptor words only in a name's context."""
    names, ambiguous = unambiguous_names(), ambiguous_names()
    caret = "^" in text
    words: list[tuple[int, int, str, str]] = []  # start, end, lower word, state
    compounds = [m for m in _COMPOUND.finditer(text) if fold(m.group()) in names]
    for match in _WORD.finditer(text):
        raw = fold(match.group())
        lower = _POSSESSIVE.sub("", raw)
        if any(c.start() <= match.start() and match.end() <= c.end() for c in compounds):
            words.append((match.start(), match.end(), lower, "name"))  # Anne-Marie, I-Chun
            continue
        if lower != raw and lower in EPONYMS:
            state = "word"  # "Baker's cyst": the eponym, not a person
        elif lower in names:
            state = "name"
        elif lower in ambiguous:
            state = "ambiguous"
        else:
            state = "word"
        words.append((match.start(), match.end(), lower, state))

    flagged = [state == "name" for *_, state in words]
    # Eponyms in the name lists: a name unless a medical noun follows.
    for i, (_, _, lower, state) in enumerate(words):
        if state != "ambiguous" or lower not in EPONYMS:
            continue
        following = words[i + 1][2] if i + 1 < len(words) else ""
        if following in _EPONYM_NOUNS or _is_listed_compound(text, words, i):
            continue
        if _is_descriptor_only(lower):
            continue
        flagged[i] = True
    # Context: a title before, a caret name, or next to a flagged name.
    changed = True
    while changed:
        changed = False
        for i, (_, _, lower, state) in enumerate(words):
            if flagged[i] or state != "ambiguous":
                continue
            if (
                len(lower) <= _MAX_ABBREVIATION
                and lower not in _PARTICLES
                and not caret
                and not (i > 0 and flagged[i - 1] and "," in text[words[i - 1][1] : words[i][0]])
            ):
                continue  # "US", "CT", "PD" next to a name stay abbreviations ("LI, Min" not)
            near = (i > 0 and flagged[i - 1] and _adjacent(text, words[i - 1], words[i])) or (
                i + 1 < len(words) and flagged[i + 1] and _adjacent(text, words[i], words[i + 1])
            )
            if near or (caret and _in_caret_name(text, words[i])):
                flagged[i] = changed = True
    # After a title (Dr, Mrs, Prof): a name, whatever list it is in, unless a descriptor
    # word follows ("DR CHEST" is digital radiography).
    for i in range(1, len(words)):
        title = words[i - 1][2]
        written = text[words[i - 1][0] : words[i - 1][1]]
        # "Dr" and "Mr." are titles; "DR", "MR", "Mr Knee" may name a modality.
        surely_title = (
            title not in _ALSO_ABBREVIATIONS
            or (title == "dr" and written.istitle())
            or text[words[i - 1][1] : words[i - 1][1] + 1] == "."
        )
        if title in _NAME_TITLES and (
            words[i][2] not in DESCRIPTOR_WORDS
            or (words[i][3] != "word" and surely_title)
            or (surely_title and title in _ALSO_ABBREVIATIONS)
        ):
            flagged[i] = True
    return [
        Finding(start, end, "person-name", _WHY["person-name"])
        for (start, end, _, _), hit in zip(words, flagged, strict=True)
        if hit
    ]


def _is_descriptor_only(word: str) -> bool:
    """An eponym that is also an ordinary descriptor word ("bell", "cross", "long")."""
    return word in DESCRIPTOR_WORDS and word not in EPONYMS


def _is_listed_compound(text: str, words: list[tuple[int, int, str, str]], i: int) -> bool:
    """The word is part of a hyphenated or spaced eponym listed whole (hill-sachs)."""
    start, end, _, _ = words[i]
    for j in (i - 1, i + 1):
        if 0 <= j < len(words):
            a, b = sorted((i, j))
            joined = text[words[a][0] : words[b][1]].lower()
            if re.sub(r"\s+", "-", joined) in DESCRIPTOR_WORDS:
                return True
    return "-" in text[start:end] and text[start:end].lower() in DESCRIPTOR_WORDS


def _adjacent(text: str, left: tuple[int, int, str, str], right: tuple[int, int, str, str]) -> bool:
    between = text[left[1] : right[0]]
    return bool(re.fullmatch(r"[\s^,.'’\-]{0,3}", between))


def _in_caret_name(text: str, word: tuple[int, int, str, str]) -> bool:
    """Inside a DICOM person name: the caret-joined run around the word."""
    start, end, _, _ = word
    left = text.rfind(" ", 0, start) + 1
    right = text.find(" ", end)
    chunk = text[left : right if right >= 0 else len(text)]
    return "^" in chunk


# ---------------------------------------------------------------------------------------
# The detector


def _words_of(values: Iterable[str]) -> frozenset[str]:
    words: set[str] = set()
    for value in values:
        for token in _TOKEN.findall(_unhide(str(value))[0]):
            token = _own_key(token)
            if len(token) < 2 or token in _STOPWORDS:
                continue
            if token.isdigit() and len(token) < 4:
                continue  # house numbers, day and month of a date
            words.add(token)
    return frozenset(words)


_STOPWORDS = frozenset(
    {"of", "the", "and", "for", "de", "del", "der", "la", "le", "van", "von", "dr", "md"}
)


# ---------------------------------------------------------------------------------------
# Disguises

#: Zero-width and invisible formatting characters that split a word without showing.
_INVISIBLE = frozenset(
    "\u00ad\u180e\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff"
)
#: Cyrillic and Greek letters drawn like Latin ones.
_CONFUSABLES = str.maketrans(
    # Cyrillic
    "АВЕКМНОРСТУХІЈЅҮԁһԛԝаеорсухіјѕү"
    # Greek
    "ΑΒΕΖΗΙΚΜΝΟΡΤΥΧαικνορυχ",
    "ABEKMHOPCTYXIJSYdhqwaeopcyxijsyABEZHIKMNOPTYXaiknopux",
)
_LATIN = re.compile(r"[a-zA-Z]")
_FOREIGN = re.compile(r"[\u0370-\u03ff\u0400-\u04ff\u0500-\u052f]")
_SPACED = re.compile(r"(?<![^\W_])(?:[^\W\d_][ .\-]){3,}[^\W\d_](?![^\W_])")
_MIN_SPACED_NAME = 5
_MIN_CUT = 6  # letters of a cut-short own word...
_MIN_CUT_FROM = 7  # ...of a word at least this long


def _unhide(text: str) -> tuple[str, list[int]]:
    """``text`` without invisible characters, Latin look-alikes read as Latin inside mixed
    words; and for each character of the result, its index in ``text``."""
    index = [i for i, c in enumerate(text) if c not in _INVISIBLE]
    plain = "".join(text[i] for i in index)
    if _FOREIGN.search(plain):
        plain = re.sub(
            r"[^\W\d_]+",
            lambda m: (
                m.group().translate(_CONFUSABLES)
                if _LATIN.search(m.group()) and _FOREIGN.search(m.group())
                else m.group()
            ),
            plain,
        )
    return plain, index


def _own_key(token: str) -> str:
    """How own identifiers are compared: NFKC, case-folded, katakana as hiragana."""
    folded = unicodedata.normalize("NFKC", token).casefold()
    return "".join(chr(ord(c) - 0x60) if "\u30a1" <= c <= "\u30f6" else c for c in folded)


def _is_own(token: str, own: frozenset[str]) -> bool:
    """A word of ``own``, or one cut short. (A word glued to others, "ZKowalczyk", is
    the first pass's: it removes any short text value holding one, pipeline.py.)"""
    key = _own_key(token)
    if key in own:
        return True
    letters = key.isalpha()
    return (
        letters
        and len(key) >= _MIN_CUT
        and any(len(word) >= _MIN_CUT_FROM and word.startswith(key) for word in own)
    )


def _spaced_findings(text: str, own: frozenset[str]) -> list[Finding]:
    """Letters spaced out one by one that spell an own identifier or a listed name."""
    found = []
    for m in _SPACED.finditer(text):
        word = "".join(c for c in m.group() if c.isalpha())
        if own and _is_own(word, own):
            found.append(Finding(m.start(), m.end(), "own-identifier", _WHY["own-identifier"]))
        elif len(word) >= _MIN_SPACED_NAME and fold(word) in unambiguous_names():
            found.append(Finding(m.start(), m.end(), "person-name", _WHY["person-name"]))
    return found


def find_identifiers(text: str, *, own_values: Iterable[str] = ()) -> list[Finding]:
    """Where ``text`` looks identifying, sorted, not overlapping (see module docstring).

    >>> [f.kind for f in find_identifiers("CT HEAD Zebulon MRN4471 2024-06-10")]
    ['person-name', 'code', 'date']
    """
    if not text:
        return []
    plain, index = _unhide(text)
    if plain == text:
        return _find(text, _words_of(own_values))
    return [
        Finding(index[f.start], index[f.end - 1] + 1, f.kind, f.why)
        for f in _find(plain, _words_of(own_values))
        if f.end > f.start
    ]


def _find(text: str, own: frozenset[str]) -> list[Finding]:
    found: list[Finding] = []
    for kind, pattern in _PATTERNS:
        found.extend(Finding(m.start(), m.end(), kind, _WHY[kind]) for m in pattern.finditer(text))
    for m in _COMPACT_DATE.finditer(text):
        if _valid_date(m.group(1), m.group(2), m.group(3)):
            found.append(Finding(m.start(), m.end(), "date", _WHY["date"]))
    for m in _TOKEN.finditer(text):
        token = m.group()
        if own and _is_own(token, own):
            found.append(Finding(m.start(), m.end(), "own-identifier", _WHY["own-identifier"]))
            continue
        has_digit = any(c.isdigit() for c in token)
        has_letter = any(c.isalpha() for c in token)
        if (
            has_digit
            and has_letter
            and not _in_technical_compound(text, m)
            and not is_technical_token(token)
        ):
            found.append(Finding(m.start(), m.end(), "code", _WHY["code"]))
    found.extend(_name_findings(text))
    found.extend(_spaced_findings(text, own))
    return _without_overlaps(found)


def _in_technical_compound(text: str, m: re.Match[str]) -> bool:
    """Tokens of a spine level or range written with a separator (C2-C3, L4/5, T12-L1)."""
    left = max(0, m.start() - 4)
    around = re.search(
        r"(?<![\w])[ctls]\d{1,2}\s?[-/]\s?[ctls]?\d{1,2}(?!\w)",
        text[left : m.end() + 5],
        re.IGNORECASE,
    )
    return around is not None


def _valid_date(year: str, month: str, day: str) -> bool:
    try:
        date(int(year), int(month), int(day))
    except ValueError:
        return False
    return True


_PRIORITY = {
    kind: i
    for i, kind in enumerate(
        ("own-identifier", "email", "url", "date", "phone", "person-name", "digits", "code")
    )
}


def _without_overlaps(findings: list[Finding]) -> list[Finding]:
    ordered = sorted(findings, key=lambda f: (-(f.end - f.start), _PRIORITY[f.kind], f.start))
    kept: list[Finding] = []
    for finding in ordered:
        if all(finding.end <= k.start or finding.start >= k.end for k in kept):
            kept.append(finding)
    return sorted(kept, key=lambda f: (f.start, f.end))
