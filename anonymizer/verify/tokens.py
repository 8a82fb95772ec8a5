"""Words and numbers of free text, normalised so that a fingerprint can be matched later.

This module belongs to the verifier: the de-identification engine does not use it, so a
mistake in the engine's own text handling cannot hide itself from the check.

A *token* is what :func:`tokens` keeps of a piece of text after Unicode normalisation
(NFKC, then case folding):

* words of three or more letters (``doe``, ``john``), and the same word without accents
  (``müller`` also gives ``muller``);
* runs of four or more digits (``93817465``), and digit groups joined across short
  separators when that gives seven or more digits (``555-019-8234`` also gives
  ``5550198234``);
* runs of Chinese, Japanese or Korean characters, and every pair of neighbouring
  characters in them (names in these scripts are often two characters long and are
  written without spaces);
* compounds: a mixed run of letters and digits (``mrn93817465``) and the whole value
  with its separators removed (``DOE^JOHN`` gives ``doejohn``), but only when some part
  of the compound could identify on its own (``CT CHEST W CONTRAST`` gives no compound);
* dates written in other common ways (``03/11/1947``, ``1947-11-03``, ``3 Nov 1947``)
  also give their ``yyyymmdd`` form (``19471103``), as does a date-time's date part.

Words in :data:`STOPWORDS` are dropped: they are common in descriptions and institution
names and identify no one on their own, so matching them would quarantine clean files.

*Kind tokens* (:func:`kind_token`) record numbers by what they are, so that a time, a date
or a measurement of the output is compared only with values of the same kind: the digits
of a date or date-time attribute under ``date``, of a time or date-time under ``time``,
and an identifier whose whole value is a number (``938-174-65``) under ``whole``
(:func:`whole_value`), and the one run of digits of an identifier with letters
(``MRN48213597``) under ``part`` (:func:`number_part`). A study time that shares its
digits with a procedure step ID is not that ID; a birth date in a content date is the
birth date.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import hmac
import re
import unicodedata
from collections.abc import Iterator

from anonymizer.keys import Keys

__all__ = [
    "DATE",
    "PART",
    "STOPWORDS",
    "TIME",
    "WHOLE",
    "kind_token",
    "number_part",
    "token_hash",
    "token_set",
    "tokens",
    "whole_value",
]

_STOPWORD_TEXT = """
    the and for with without from per via not yes are was has had his her its our who
    of in on at to by or as is it no an de la le du da di el al der den die das von van
    und et st rd av ave
    all any one two new old see use non pre post left right bilateral upper lower both
    hospital hospitals hopital hôpital general medical medicine center centre centers
    clinic clinics clinical clinique klinik klinikum university universitaire universität
    universitat college school institute institut health healthcare care trust foundation
    radiology radiologie imaging department dept diagnostic diagnostics service services
    unit ward room suite scanner station lab laboratory practice group network private
    children childrens paediatric pediatric women womens cancer oncology orthopaedic
    orthopedic cardiology neurology neuro emergency trauma eye ear nose throat dental
    rehabilitation royal national regional county community city central north south
    east west northern southern eastern western mount saint
    dr md phd mrs miss prof doctor tech techs technologist radiographer nurse staff
    anon anonymous anonymized anonymised anonymize deidentified identified removed
    unknown none null nil name names patient patients person test phantom demo sample
    mrn acc pid dob sex age male female other
    ct mr mri us xr cr dx dr pt pet spect nm mg rf xa ot sr sc io px ecg
    chest head neck abdomen abdo abd pelvis brain spine cervical thoracic lumbar sacral
    thorax body cardiac heart lung lungs liver kidney renal knee hip shoulder hand foot
    ankle wrist elbow breast skull face sinus orbit orbits extremity whole bone bones
    axial coronal sagittal oblique contrast routine scout localizer localiser topogram
    surview helical spiral sequential plain series study studies image images exam
    report protocol original primary secondary derived reformatted mpr mip volume
    recon reconstruction soft tissue lung window level standard sharp smooth dose
    angio venous arterial portal delayed phase pre post late early
    basic application confidentiality profile retain longitudinal temporal information
    modified dates option options clean pixel pixels data descriptors structured
    content graphics safe device identity characteristics institution uids uid full
"""
#: Words never kept as tokens (compared after NFKC and case folding).
STOPWORDS: frozenset[str] = frozenset(_STOPWORD_TEXT.split())

# Chinese, Japanese and Korean characters: each one carries a syllable or a word.
_WIDE_RANGES = (
    "\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u31f0-\u31ff\u3400-\u4dbf"
    "\u4e00-\u9fff\ua960-\ua97f\uac00-\ud7af\uf900-\ufaff"
)
_KANA = re.compile("[\u3040-\u30ff\u31f0-\u31ff]")
_RUN = re.compile(r"[^\W_]+")
_PART = re.compile(
    rf"(?P<digits>\d+)|(?P<wide>[{_WIDE_RANGES}]+)|(?P<letters>[^\W\d_{_WIDE_RANGES}]+)"
)
_DIGIT_GROUPS = re.compile(r"\d+(?:[ \-./()]{1,2}\d+)+")
_MONTH_NAMES = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
# "nov", "nov." or "november" (and "sept"), but not "marmaduke".
_MONTH = "|".join(f"{name[:3]}(?:{name[3:]}|{name[3:4]})?" for name in _MONTH_NAMES)
_YMD = re.compile(r"(?<!\d)(\d{4})[-./ ](\d{1,2})[-./ ](\d{1,2})(?!\d)")
_DMY = re.compile(r"(?<!\d)(\d{1,2})[-./ ](\d{1,2})[-./ ](\d{4})(?!\d)")
_D_MON_Y = re.compile(
    rf"(?<!\w)(\d{{1,2}})(?:st|nd|rd|th)?[-./ ]*({_MONTH})\b\.?[-./, ]*(\d{{4}})(?!\d)"
)
_MON_D_Y = re.compile(
    rf"(?<!\w)({_MONTH})\b\.?[-./ ]*(\d{{1,2}})(?:st|nd|rd|th)?,?[-./ ]*(\d{{4}})(?!\d)"
)
_MONTH_NUMBER = {name[:3]: i for i, name in enumerate(_MONTH_NAMES, start=1)}


def _date(year: str, month: str | int, day: str) -> str | None:
    """``yyyymmdd`` if the parts make a plausible calendar date, else None."""
    try:
        value = datetime.date(int(year), int(month), int(day))
    except ValueError:
        return None
    if not 1850 <= value.year <= 2100:
        return None
    return value.strftime("%Y%m%d")


def _dates(text: str) -> Iterator[str | None]:
    for m in _YMD.finditer(text):
        yield _date(m[1], m[2], m[3])
    for m in _DMY.finditer(text):
        yield _date(m[3], m[2], m[1])  # day first (most of the world)
        yield _date(m[3], m[1], m[2])  # month first (United States)
    for m in _D_MON_Y.finditer(text):
        yield _date(m[3], _MONTH_NUMBER[m[2][:3]], m[1])
    for m in _MON_D_Y.finditer(text):
        yield _date(m[3], _MONTH_NUMBER[m[1][:3]], m[2])


def _strip_accents(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _parts(run: str, out: set[str]) -> bool:
    """Add the tokens of one alphanumeric run's parts; True if some part may identify."""
    significant = False
    for m in _PART.finditer(run):
        part, kind = m[0], m.lastgroup
        if kind == "digits":
            if len(part) >= 4:
                out.add(part)
                significant = True
                if len(part) > 8 and (date := _date(part[:4], part[4:6], part[6:8])):
                    out.add(date)  # the date of a date-time
        elif kind == "wide":
            if part in STOPWORDS:
                continue
            significant = True
            if len(part) >= 2:
                out.add(part)
                # Pairs of ideographs or Hangul syllables; kana pairs are too common.
                out.update(
                    pair
                    for pair in (part[i : i + 2] for i in range(len(part) - 1))
                    if not _KANA.search(pair)
                )
        elif part not in STOPWORDS and len(part) >= 2:
            significant = True
            if len(part) >= 3:
                out.add(part)
                plain = _strip_accents(part)
                if plain != part and len(plain) >= 3 and plain not in STOPWORDS:
                    out.add(plain)
    return significant


def tokens(text: str) -> set[str]:
    """The normalised tokens of ``text`` (see the module docstring)."""
    return set(token_set(text))


@functools.lru_cache(maxsize=1 << 16)
def token_set(text: str) -> frozenset[str]:
    """:func:`tokens` as a frozenset, cached: a series repeats most of its values."""
    return frozenset(_tokens(text))


def _tokens(text: str) -> set[str]:
    text = unicodedata.normalize("NFKC", text).casefold()
    out: set[str] = set()
    runs = _RUN.findall(text)
    any_significant = False
    for run in runs:
        significant = _parts(run, out)
        any_significant = any_significant or significant
        if significant and len(run) >= 4:
            out.add(run)  # a mixed run such as "mrn93817465"
    if any_significant and len(runs) > 1:
        # The whole value, and each component group of a person name ("Yamada^Tarou=山田^太郎").
        for group in {text, *text.split("=")}:
            whole = "".join(_RUN.findall(group))
            if len(whole) >= 4 and whole not in STOPWORDS:
                out.add(whole)
    if any(c.isdigit() for c in text):
        for m in _DIGIT_GROUPS.finditer(text):
            joined = re.sub(r"\D", "", m[0])
            if len(joined) >= 7:  # a phone number or a date, not a decimal like 160.0
                out.add(joined)
        out.update(date for date in _dates(text) if date)
    return out


#: Kinds of number (see the module docstring).
DATE, TIME, WHOLE, PART = "date", "time", "whole", "part"


def kind_token(kind: str, token: str) -> str:
    """``token`` recorded under ``kind``; NUL never occurs in a token, so a kind token never
    equals a plain one."""
    return f"{kind}\x00{token}"


def number_part(text: str) -> str | None:
    """The number an identifier with letters is built around: its only run of digits,
    if it has letters and exactly one run of five or more digits (``MRN48213597`` gives
    ``48213597``; ``RAD-773412-9`` has two runs and gives None)."""
    text = unicodedata.normalize("NFKC", text)
    if not any(c.isalpha() for c in text):
        return None
    runs = re.findall(r"\d+", text)
    return runs[0] if len(runs) == 1 and len(runs[0]) >= 5 else None


def whole_value(text: str) -> str | None:
    """The whole value as one number, if it is one: the digits of ``text`` when it holds no
    letters (``938-174-65`` gives ``93817465``) and at least four of them; else None."""
    text = unicodedata.normalize("NFKC", text)
    if any(c.isalpha() for c in text):
        return None
    digits = "".join(c for c in text if c.isdigit())
    return digits if len(digits) >= 4 else None


@functools.lru_cache(maxsize=1 << 16)
def token_hash(keys: Keys, token: str) -> str:
    """HMAC-SHA256 of the token under the de-identification secret, first 16 hex digits.

    The purpose string keeps these hashes apart from every other use of the secret.
    """
    message = b"verify-token\x00" + token.encode()
    return hmac.new(keys.secret, message, hashlib.sha256).hexdigest()[:16]
