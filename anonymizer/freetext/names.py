"""Person names: Faker's locale name lists, shipped with the package (nothing downloaded).

:func:`name_words` reads the first, middle and last names (and the romanised forms
where a locale has them: Japanese, Chinese) of the person providers of
:data:`LOCALES`, lower-cased, split at spaces and hyphens. The descriptor vocabulary
(:mod:`.vocabulary`) is not subtracted here: :func:`unambiguous_names` does that, and
:func:`ambiguous_names` keeps the names that are also descriptor words ("long", "hand")
for the detector's context rule.
"""

from __future__ import annotations

import importlib
import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from anonymizer.freetext.vocabulary import DESCRIPTOR_WORDS

__all__ = ["LOCALES", "ambiguous_names", "fold", "name_words", "unambiguous_names"]

#: Faker locales whose person providers are read (Latin script or romanised, plus a few
#: other scripts, which cannot collide with the English descriptor vocabulary).
LOCALES: tuple[str, ...] = (
    "en_US",
    "en_GB",
    "en_IE",
    "en_IN",
    "en_NZ",
    "en_NG",
    "de_DE",
    "de_AT",
    "fr_FR",
    "es_ES",
    "es_MX",
    "it_IT",
    "nl_NL",
    "pl_PL",
    "pt_BR",
    "pt_PT",
    "sv_SE",
    "da_DK",
    "no_NO",
    "fi_FI",
    "cs_CZ",
    "hu_HU",
    "ro_RO",
    "tr_TR",
    "ja_JP",
    "zh_CN",
    "zh_TW",
    "hi_IN",
    "id_ID",
    "ru_RU",
    "el_GR",
    "he_IL",
    "ar_AA",
)

_SKIP = ("language", "kana", "pair", "prefix", "suffix", "format")
_SPLIT = re.compile(r"\s+")
_MIN_LENGTH = 2


def _name_attributes(provider: type) -> Iterable[str]:
    for attribute in dir(provider):
        if attribute.startswith("_") or not attribute.endswith("names"):
            continue
        if any(part in attribute for part in _SKIP):
            continue
        if any(part in attribute for part in ("romanized", "first", "last", "middle")):
            yield attribute


def _locale_names(locale: str) -> set[str]:
    try:
        module = importlib.import_module(f"faker.providers.person.{locale}")
    except ImportError:  # a locale missing from an older Faker: fewer names, not a crash
        return set()
    provider = module.Provider
    romanized = any("romanized" in a for a in dir(provider))
    words: set[str] = set()
    for attribute in _name_attributes(provider):
        if romanized and "romanized" not in attribute:
            continue  # the Latin spellings only where a locale has them
        values = getattr(provider, attribute)
        if not isinstance(values, (dict, tuple, list)):
            continue
        for value in values:
            if not isinstance(value, str):
                continue
            for whole in _SPLIT.split(fold(value.strip().replace(".", " "))):
                # "anne-marie" whole and as its parts
                for word in (whole, *whole.split("-")):
                    letters = word.replace("'", "").replace("-", "")
                    if len(word) >= _MIN_LENGTH and _is_word(letters):
                        words.add(word)
    return words


def _is_word(text: str) -> bool:
    """Letters and combining marks only (Devanagari vowel signs are marks)."""
    return (
        bool(text)
        and text[0].isalpha()
        and all(ch.isalpha() or unicodedata.category(ch).startswith("M") for ch in text)
    )


def fold(text: str) -> str:
    """Lower case without accents, so that YILDIRIM, Yıldırım and yildirim are one word
    (Turkish dotless i, German sharp s and the like folded too)."""
    text = text.replace("ı", "i").replace("İ", "I").casefold()
    decomposed = unicodedata.normalize("NFKD", text)
    if decomposed.isascii():
        return decomposed
    # Drop combining accents from Latin letters only: other scripts keep their marks.
    out: list[str] = []
    for ch in decomposed:
        if unicodedata.combining(ch) and out and out[-1].isascii():
            continue
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out))


@lru_cache(maxsize=1)
def name_words() -> frozenset[str]:
    """Every first, middle and last name word of :data:`LOCALES`, lower case."""
    words: set[str] = set()
    for locale in LOCALES:
        words |= _locale_names(locale)
    return frozenset(words)


@lru_cache(maxsize=1)
def unambiguous_names() -> frozenset[str]:
    """Name words that are not descriptor words: a name wherever they appear."""
    return name_words() - DESCRIPTOR_WORDS


@lru_cache(maxsize=1)
def ambiguous_names() -> frozenset[str]:
    """Name words that are also descriptor words ("long", "hand", "smith"): a name only
    in a name's context (see :mod:`.detect`)."""
    return name_words() & DESCRIPTOR_WORDS
