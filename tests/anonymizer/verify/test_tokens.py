"""Tokenisation shared by the fingerprint and the verifier."""

from __future__ import annotations

import re

import pytest

from anonymizer.keys import Keys
from anonymizer.verify.tokens import STOPWORDS, token_hash, tokens


def test_person_name_gives_each_word_and_the_joined_name() -> None:
    assert tokens("DOE^JOHN") == {"doe", "john", "doejohn"}


def test_case_and_compatibility_forms_are_folded() -> None:
    assert tokens("ＺＥＢＲＡＦＩＳＨ") == tokens("zebrafish") == {"zebrafish"}


def test_short_words_and_short_numbers_are_not_tokens() -> None:
    assert tokens("12 123") == set()
    assert tokens("AB") == set()
    assert tokens("XY") == set()


def test_digit_runs_of_four_or_more_are_tokens() -> None:
    assert "93817465" in tokens("MRN93817465")
    assert "mrn93817465" in tokens("MRN93817465")


def test_stopwords_alone_give_no_tokens_at_all() -> None:
    assert tokens("CT CHEST W CONTRAST") == set()
    assert tokens("General Hospital, Department of Radiology") == set()
    assert {"the", "and", "hospital", "radiology", "anonymous", "chest"} <= STOPWORDS


def test_a_name_among_stopwords_is_still_found() -> None:
    assert "plumtree" in tokens("Dr PLUMTREE MD")


def test_accented_words_also_give_their_plain_form() -> None:
    assert {"müller", "muller", "jörg", "jorg"} <= tokens("Müller^Jörg")


def test_two_letter_names_survive_in_the_joined_name() -> None:
    assert "liwei" in tokens("LI^WEI")


def test_ideographic_names_give_the_name_and_its_pairs() -> None:
    found = tokens("Yamada^Tarou=山田^太郎=やまだ^たろう")
    assert {"山田", "太郎", "山田太郎", "yamada", "tarou", "やまだ"} <= found
    assert "山田" in tokens("山田太郎さんの胸部CT")


@pytest.mark.parametrize(
    "text",
    [
        "19471103",
        "1947-11-03",
        "1947.11.03",
        "03/11/1947",
        "11/03/1947",
        "03.11.1947",
        "3 Nov 1947",
        "3rd November 1947",
        "03-NOV-1947",
        "Nov 3, 1947",
        "November 3 1947",
        "19471103101500.000",
    ],
)
def test_dates_in_common_formats_give_yyyymmdd(text: str) -> None:
    assert "19471103" in tokens(text)


def test_a_month_abbreviation_inside_a_word_is_not_a_date() -> None:
    assert not any(re.fullmatch(r"1947\d{4}", t) for t in tokens("MARMADUKE 12 1947"))


def test_phone_numbers_are_joined_across_separators() -> None:
    assert "5550198234" in tokens("call (555) 019-8234 now")


def test_token_hash_is_keyed_sixteen_hex_digits() -> None:
    a = token_hash(Keys(b"a" * 16), "zebrafish")
    b = token_hash(Keys(b"b" * 16), "zebrafish")
    assert re.fullmatch(r"[0-9a-f]{16}", a)
    assert a != b
    assert a == token_hash(Keys(b"a" * 16), "zebrafish")
