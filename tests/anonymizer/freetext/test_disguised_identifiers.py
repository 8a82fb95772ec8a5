"""A patient's own name, disguised: letters spaced out, cut short, written in the other
kana script, or with Cyrillic / Greek letters that look Latin."""

from __future__ import annotations

import pytest

from anonymizer.freetext import find_identifiers
from anonymizer.freetext.names import unambiguous_names

OWN = ("KOWALCZYK^ZBIGNIEW", "MRN48213597")
JAPANESE = ("Yamada^Tarou=山田^太郎=やまだ^たろう",)


def _covered(text: str, own: tuple[str, ...] = OWN) -> str:
    """The characters the findings cover, in order."""
    return "".join(text[f.start : f.end] for f in find_identifiers(text, own_values=own))


def _kinds(text: str, own: tuple[str, ...] = OWN) -> list[str]:
    return [f.kind for f in find_identifiers(text, own_values=own)]


@pytest.mark.parametrize(
    "text",
    ["K O W A L C Z Y K", "k.o.w.a.l.c.z.y.k", "CT HEAD Z B I G N I E W"],
)
def test_the_patients_name_with_its_letters_spaced_out_is_found(text):
    assert "own-identifier" in _kinds(text)
    assert "".join(c for c in _covered(text) if c.isalpha()).upper() in {"KOWALCZYK", "ZBIGNIEW"}


def test_a_listed_name_spelt_out_is_a_person_name_without_own_values():
    name = next(n for n in sorted(unambiguous_names()) if len(n) >= 6 and n.isascii())
    spaced = " ".join(name.upper())
    assert _kinds(spaced, ()) == ["person-name"]


@pytest.mark.parametrize("text", ["KOWALCZY", "Kowalc", "CT zbignie follow-up"])
def test_a_name_word_cut_short_is_found(text):
    assert "own-identifier" in _kinds(text)


def test_short_prefixes_and_ordinary_words_are_not_own_identifiers():
    assert _kinds("ZBIGN") == []  # five letters: too short to be sure
    assert _kinds("CT ABDOMEN PORTAL VENOUS") == []
    assert _kinds("A P") == []


def test_the_patients_kana_name_in_the_other_kana_script_is_found():
    text = "ヤマダ タロウ 様"
    assert _kinds(text, JAPANESE) == ["own-identifier", "own-identifier"]
    assert _covered(text, JAPANESE) == "ヤマダタロウ"
    assert _kinds("やまだ たろう", JAPANESE) == ["own-identifier", "own-identifier"]


def test_cyrillic_letters_that_look_latin_do_not_hide_the_name():
    text = "KOWALCZ\u0423K follow-up"  # Cyrillic U in place of Y
    assert _kinds(text) == ["own-identifier"]
    assert _covered(text) == "KOWALCZ\u0423K"
    assert _kinds("ZBIGN\u0399EW") == ["own-identifier"]  # Greek Iota


def test_zero_width_characters_do_not_split_the_name():
    text = "KOWAL\u200bCZYK CT"
    assert _kinds(text) == ["own-identifier"]
    assert _covered(text) == "KOWAL\u200bCZYK"


def test_words_written_wholly_in_cyrillic_or_greek_are_not_folded():
    assert _kinds("КТ ГРУДНОЙ КЛЕТКИ", ()) == []
    assert _kinds("ΑΞΟΝΙΚΗ", ()) == []
