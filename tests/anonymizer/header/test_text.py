"""Clean Descriptors (PS3.15 E.3.5): identifiers go, the teaching words stay."""

import pytest

from anonymizer.header.text import DescriptorCleaner, clean_descriptor, identifier_terms

IDS = [
    "ZEBRAFISH^QUENTIN^MARMADUKE",
    "MRN93817465",
    "19471103",
    "XYLOPHONE MEMORIAL INFIRMARY",
    "PLUMTREE^ARCHIBALD",
    "42 WALLABY WAY SYDNEY",
    "CT1",
]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("CT CHEST ZEBRAFISH MRN93817465", "CT CHEST"),
        ("CT chest zebrafish", "CT chest"),  # case-insensitive
        ("AXIAL ZEBRAFISH 19471103", "AXIAL"),
        ("Quentin's abdomen", "'s abdomen"),
        ("HEAD 1947-11-03", "HEAD"),
        ("HEAD 03/11/1947", "HEAD"),
        ("HEAD 11/03/1947", "HEAD"),
        ("HEAD 3 Nov 1947", "HEAD"),
        ("HEAD November 3, 1947", "HEAD"),
        ("Knee (Dr Plumtree)", "Knee (Dr)"),
        ("Knee (Plumtree)", "Knee"),
        ("PET/CT Xylophone Memorial Infirmary", "PET/CT"),
        ("Brain MRI Sydney", "Brain MRI"),
        ("CT1 scout", "scout"),
        ("CT10 scout", "CT10 scout"),  # a short identifier only as a whole word
        ("ABDOMEN ACC77120938", "ABDOMEN"),  # any long number and its word
        ("call 555-019-8234", "call"),
        ("call (555) 019 8234", "call"),
        ("mail q.zebra@example.org", "mail"),
        ("see https://pacs.example.org/viewer?id=5", "see"),
        ("MRN: 12345 chest", "chest"),
        ("Study 1.2.840.113619.2.55.3", "Study"),
        ("ZEBRAFISH", ""),
        ("  ", ""),
        ("-- 12345678 --", ""),
        ("CT ABDOMEN PELVIS W CONTRAST 3.0 B30f", "CT ABDOMEN PELVIS W CONTRAST 3.0 B30f"),
        ("T1 SE 512x512 2.5mm", "T1 SE 512x512 2.5mm"),
    ],
)
def test_descriptors_lose_identifiers_and_what_looks_identifying(value, expected):
    assert clean_descriptor(value, IDS) == expected


def test_the_example_of_the_brief():
    assert (
        clean_descriptor("CT CHEST ZEBRAFISH MRN93817465", ["ZEBRAFISH^QUENTIN", "MRN93817465"])
        == "CT CHEST"
    )


def test_a_narrative_that_names_the_patient_is_dropped_whole():
    text = "patient QUENTIN ZEBRAFISH called 5550198234"
    assert clean_descriptor(text, IDS, narrative=True) == ""
    assert clean_descriptor(text, IDS) == "patient called"


def test_a_narrative_without_identifiers_is_kept():
    text = "Contrast 100 ml, three phases, no complications."
    assert clean_descriptor(text, IDS, narrative=True) == text


def test_non_ascii_names_are_removed_inside_words():
    ids = ["山田^太郎", "Müller^Jörg"]
    assert clean_descriptor("胸部CT 山田太郎", ids) == "胸部CT"
    assert clean_descriptor("Thorax MÜLLER jörg", ids) == "Thorax"


def test_identifier_terms_split_names_and_spell_birth_dates():
    terms = identifier_terms(["ZEBRAFISH^QUENTIN", "19471103", "42 OF THE WAY", " "])
    assert {"ZEBRAFISH^QUENTIN", "ZEBRAFISH", "QUENTIN", "19471103", "1947-11-03"} <= terms
    assert {"03/11/1947", "11/03/1947", "03.11.1947"} <= terms
    assert "42" not in terms
    assert "OF" not in terms
    assert "THE" not in terms
    assert "" not in terms
    assert " " not in terms


def test_kept_technical_text_loses_only_the_data_sets_identifiers():
    cleaner = DescriptorCleaner(["NESTEDGOBLIN^OSWALD"])
    assert cleaner.strip_identifiers("113100") == "113100"
    assert cleaner.strip_identifiers("Chest 20240315") == "Chest 20240315"
    assert cleaner.strip_identifiers("NESTEDGOBLIN^OSWALD") == ""
    assert cleaner.strip_identifiers("Liver of Oswald") == "Liver of"
