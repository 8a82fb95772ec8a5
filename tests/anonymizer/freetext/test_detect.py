"""The free-text detector: each kind of identifier found, real descriptor words left alone."""

from __future__ import annotations

import itertools
import random

import pytest
from faker import Faker
from hypothesis import given, settings
from hypothesis import strategies as st

from anonymizer.freetext import KINDS, find_identifiers
from anonymizer.freetext.vocabulary import DESCRIPTOR_WORDS


def kinds(text: str, **kwargs) -> list[tuple[str, str]]:
    return [(text[f.start : f.end], f.kind) for f in find_identifiers(text, **kwargs)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("CT HEAD Hildegard", [("Hildegard", "person-name")]),
        ("MR BRAIN OKAFOR", [("OKAFOR", "person-name")]),
        ("KOWALSKI^MAREK CHEST", [("KOWALSKI", "person-name"), ("MAREK", "person-name")]),
        ("US Yıldız abdomen", [("Yıldız", "person-name")]),
        ("AX T2 AB12C", [("AB12C", "code")]),
        ("MRN4471 knee", [("MRN4471", "code")]),
        ("K7Q2X", [("K7Q2X", "code")]),
        ("CHEST 1234567", [("1234567", "digits")]),
        ("CT 2024-06-10", [("2024-06-10", "date")]),
        ("CT 10/06/2024", [("10/06/2024", "date")]),
        ("CT 10.06.24", [("10.06.24", "date")]),
        ("CT 10 Jun 2024", [("10 Jun 2024", "date")]),
        ("CT Jun 10 2024", [("Jun 10 2024", "date")]),
        ("CT 20240610", [("20240610", "date")]),
        ("call +44 20 7946 0958", [("+44 20 7946 0958", "phone")]),
        ("phone (555) 019-8234", [("(555) 019-8234", "phone")]),
        ("ext 555-0198", [("555-0198", "phone")]),
        ("to a.b@example.org", [("a.b@example.org", "email")]),
        ("see https://pacs.example.org/x", [("https://pacs.example.org/x", "url")]),
        ("see www.example.org", [("www.example.org", "url")]),
    ],
)
def test_each_kind_of_identifier_is_found_where_it_is(text, expected):
    assert kinds(text) == expected


REAL_DESCRIPTORS = [
    "T1 T2W 3D B0 DWI b800 5mm C2-C3 L4/5 0.625 120kV MPR HASTE",
    "AX T2 FLAIR FS",
    "CT CHEST W/O CONTRAST 1.25MM",
    "US ABDOMEN COMPLETE",
    "MR L-SPINE SAG T1",
    "PET/CT WB FDG",
    "XR HAND 3 VIEWS LEFT",
    "CTA HEAD NECK",
    "MRCP 3D",
    "Sag STIR",
    "DWI b1000 ADC",
    "Thorax 1.0 B70f",
    "Br40d 3",
    "T2* GRE",
    "Long bones survey",
    "White matter T2 FLAIR",
    "MR knee PD FS cor",
    "L5S1 disc AX T2",
    "CINE 4CH SSFP",
    "Tc99m MDP whole body",
    "68Ga DOTATATE PET",
    "XR WRIST Colles fracture",
    "MR SHOULDER Hill-Sachs",
    "Baker's cyst US knee",
    "Smith fracture wrist",
    "Chiari I malformation",
    "Crohn's disease MR enterography",
    "Dandy-Walker",
    "Wilms tumour staging",
    "DIXON water only",
    "Doppler carotids",
    "DR CHEST PA",
    "2nd trimester OB",
    "Series 3 phase 2",
    "FLAIR3D SAG",
    "512x512 recon",
]


@pytest.mark.parametrize("text", REAL_DESCRIPTORS)
def test_real_descriptor_vocabulary_raises_no_alarm(text):
    assert kinds(text) == []


def test_a_name_that_is_also_a_descriptor_word_counts_only_as_a_name():
    assert kinds("Long bones") == []
    assert kinds("Dr Long") == [("Long", "person-name")]
    assert kinds("Anna Long knee") == [("Anna", "person-name"), ("Long", "person-name")]
    assert kinds("WHITE^ROSE") == [("WHITE", "person-name"), ("ROSE", "person-name")]


def test_an_eponym_without_its_medical_noun_is_taken_for_a_name():
    assert kinds("CT HEAD Smith") == [("Smith", "person-name")]
    assert kinds("Smith fracture") == []


def test_a_title_makes_the_next_word_a_name_whatever_list_it_is_in():
    assert kinds("Dr Qwertyuiop") == [("Qwertyuiop", "person-name")]


def test_own_identifiers_are_found_as_whole_words_only():
    own = ["ZEBRAFISH^QUENTIN", "PID-778", "X"]
    assert kinds("CT ZEBRAFISH chest", own_values=own) == [("ZEBRAFISH", "own-identifier")]
    assert kinds("CT ZEBRAFISHES chest", own_values=own) == []  # never a fragment
    assert kinds("CT X chest", own_values=own) == []  # shorter than 2 characters


def test_why_never_quotes_the_text():
    text = "Hildegard MRN4471 2024-06-10 +44 20 7946 0958 a@b.org 1234567"
    for finding in find_identifiers(text):
        assert finding.kind in KINDS
        for word in text.split():
            assert word not in finding.why


def _planted_names(seed: int, n: int) -> list[str]:
    """Names for the tests: a seed and locales of their own (the bench draws others)."""
    fakers = [Faker(locale) for locale in ("en_GB", "de_DE", "es_ES", "nl_NL", "pl_PL")]
    for faker in fakers:
        faker.seed_instance(seed)
    rng = random.Random(seed)
    names = []
    for _ in range(n):
        faker = rng.choice(fakers)
        names.append(f"{faker.first_name()} {faker.last_name()}")
    return names


@pytest.mark.parametrize("name", _planted_names(31337, 40))
def test_full_names_from_the_name_lists_are_flagged_word_by_word(name):
    text = f"MR BRAIN {name} AX T2"
    spans = [(f.start, f.end) for f in find_identifiers(text) if f.kind == "person-name"]
    at = text.index(name)
    for word in name.replace("-", " ").split():
        s = text.index(word, at)
        assert any(a <= s < b for a, b in spans), word


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_findings_are_sorted_within_the_text_and_do_not_overlap(text):
    findings = find_identifiers(text)
    for f in findings:
        assert 0 <= f.start < f.end <= len(text)
    for a, b in itertools.pairwise(findings):
        assert a.end <= b.start


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ", min_size=3, max_size=4).filter(
        lambda w: w.lower() not in DESCRIPTOR_WORDS
    ),
    st.integers(min_value=1000, max_value=9999),
)
def test_letters_that_are_no_descriptor_word_and_four_digits_are_a_code(letters, number):
    # Flagged either way ("JULA1000" may also read as a date).
    assert [k for _, k in kinds(f"CT HEAD {letters}{number}")] in (["code"], ["digits"], ["date"])
