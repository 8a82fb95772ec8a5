"""A profile resolves Table E.1-1 with its options into one action per data element."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydicom.datadict import tag_for_keyword
from pydicom.sr import codes

from anonymizer.profile import FIRST_PASS, SECOND_PASS, Action, Option, Profile
from anonymizer.profile.actions import (
    KNOWN_CODES,
    option_wins,
    resolve_compound,
    retention_rank,
)
from anonymizer.profile.annex_e_table import COLUMNS, ROWS

BASIC = Profile("basic-only")
DESCRIBE_KEYS = {"tag", "keyword", "name", "action", "action_code", "source"}


def tag(keyword):
    return tag_for_keyword(keyword)


# -- actions: what each code means -------------------------------------------


@pytest.mark.parametrize(
    ("code", "action"),
    [
        ("X", Action.REMOVE),
        ("Z", Action.ZERO),
        ("D", Action.DUMMY),
        ("K", Action.KEEP),
        ("C", Action.CLEAN),
        ("U", Action.UID),
        ("X/Z", Action.ZERO),
        ("X/D", Action.DUMMY),
        ("Z/D", Action.DUMMY),
        ("X/Z/D", Action.DUMMY),
        ("X/Z/U*", Action.UID),
        ("U*", Action.UID),
    ],
)
def test_compound_codes_resolve_to_their_most_conformance_preserving_member(code, action):
    assert resolve_compound(code) is action


def test_every_known_code_resolves():
    for code in KNOWN_CODES:
        assert isinstance(resolve_compound(code), Action)


@pytest.mark.parametrize("code", ["", "Q", "x", "X/K", "D/Z"])
def test_unknown_codes_are_rejected(code):
    with pytest.raises(ValueError, match="action code"):
        resolve_compound(code)


def test_action_values_are_the_table_letters():
    assert [a.value for a in Action] == ["X", "Z", "D", "K", "C", "U"]


def test_retention_order_is_keep_clean_uid_dummy_zero_remove():
    order = ["K", "C", "U", "D", "Z", "X"]
    ranks = [retention_rank(code) for code in order]
    assert ranks == sorted(ranks, reverse=True)
    assert len(set(ranks)) == len(ranks)
    assert retention_rank("X/Z/D") == retention_rank("D")


@pytest.mark.parametrize(
    ("basic", "option_cells", "expected"),
    [
        ("Z", [], "Z"),
        ("Z", ["", ""], "Z"),
        ("X", ["C"], "C"),
        ("X/Z/D", ["K"], "K"),
        ("X", ["C", "K"], "K"),
        ("X", ["K", "C"], "K"),
        ("X", ["", "C", ""], "C"),
        ("U", ["X"], "X"),  # an option cell replaces the basic code even if it retains less
        ("D", ["Z/D", "Z"], "Z/D"),  # verbatim, ranked as what it resolves to
    ],
)
def test_most_retaining_selected_option_replaces_the_basic_code(basic, option_cells, expected):
    assert option_wins(basic, option_cells) == expected


# -- golden tests per action (Basic Profile only) -----------------------------


@pytest.mark.parametrize(
    ("keyword", "action"),
    [
        ("PatientName", Action.ZERO),  # Z
        ("PatientID", Action.DUMMY),  # Z/D
        ("InstitutionName", Action.DUMMY),  # X/Z/D
        ("AcquisitionContextSequence", Action.ZERO),  # X/Z
        ("ProtocolName", Action.DUMMY),  # X/D
        ("ReferencedImageSequence", Action.UID),  # X/Z/U*
        ("StudyInstanceUID", Action.UID),  # U
        ("ContentSequence", Action.DUMMY),  # D
        ("PatientAge", Action.REMOVE),  # X
        ("PatientSex", Action.ZERO),  # Z
        ("SeriesDescription", Action.REMOVE),  # X
        ("StudyDate", Action.ZERO),  # Z
        ("DeviceSerialNumber", Action.DUMMY),  # X/Z/D
        ("MediaStorageSOPInstanceUID", Action.UID),  # U, file meta
    ],
)
def test_basic_profile_golden_actions(keyword, action):
    assert BASIC.action_for(tag(keyword)) is action


# -- golden tests per option ------------------------------------------------


def codes_by_tag(profile):
    return {row["tag"]: (row["action_code"], row["source"]) for row in profile.describe()}


@pytest.mark.parametrize("option", list(Option))
def test_each_option_changes_exactly_its_own_column(option):
    column = COLUMNS.index(option.value)
    expected = {row[0]: row[3][column] for row in ROWS if row[3][column]}
    basic = codes_by_tag(BASIC)
    with_option = codes_by_tag(Profile("one-option", frozenset({option})))
    changed = {t for t in basic if basic[t] != with_option[t]}
    assert changed == set(expected)
    for t, cell in expected.items():
        assert with_option[t] == (cell, option.value)


@pytest.mark.parametrize(
    ("option", "keyword", "action"),
    [
        (Option.RETAIN_UIDS, "StudyInstanceUID", Action.KEEP),
        (Option.RETAIN_UIDS, "ReferencedImageSequence", Action.KEEP),
        (Option.RETAIN_DEVICE_IDENTITY, "DeviceSerialNumber", Action.KEEP),
        (Option.RETAIN_DEVICE_IDENTITY, "StationName", Action.KEEP),
        (Option.RETAIN_INSTITUTION_IDENTITY, "InstitutionName", Action.KEEP),
        (Option.RETAIN_PATIENT_CHARACTERISTICS, "PatientAge", Action.KEEP),
        (Option.RETAIN_PATIENT_CHARACTERISTICS, "Allergies", Action.CLEAN),
        (Option.RETAIN_LONG_FULL_DATES, "StudyDate", Action.KEEP),
        (Option.RETAIN_LONG_MODIFIED_DATES, "StudyDate", Action.CLEAN),
        (Option.CLEAN_DESCRIPTORS, "SeriesDescription", Action.CLEAN),
        (Option.CLEAN_STRUCTURED_CONTENT, "ContentSequence", Action.CLEAN),
        (Option.CLEAN_GRAPHICS, "GraphicAnnotationSequence", Action.CLEAN),
    ],
)
def test_option_golden_actions(option, keyword, action):
    assert Profile("one-option", frozenset({option})).action_for(tag(keyword)) is action


def test_when_options_conflict_the_retaining_option_decides():
    profile = Profile(
        "device-and-dates",
        frozenset({Option.RETAIN_DEVICE_IDENTITY, Option.RETAIN_LONG_MODIFIED_DATES}),
    )
    row = next(r for r in profile.describe() if r["keyword"] == "DateOfLastCalibration")
    assert (row["action"], row["source"]) == ("K", "retain_device_identity")
    allergies = Profile(
        "chars-and-descriptors",
        frozenset({Option.RETAIN_PATIENT_CHARACTERISTICS, Option.CLEAN_DESCRIPTORS}),
    ).describe()
    row = next(r for r in allergies if r["keyword"] == "Allergies")
    assert (row["action_code"], row["source"]) == ("C", "retain_patient_characteristics")


# -- the two ready-made profiles -----------------------------------------------


@pytest.mark.parametrize(
    ("keyword", "action"),
    [
        ("PatientName", Action.ZERO),
        ("PatientID", Action.DUMMY),
        ("PatientBirthDate", Action.ZERO),
        ("PatientAge", Action.KEEP),
        ("PatientSex", Action.KEEP),
        ("PatientWeight", Action.KEEP),
        ("AccessionNumber", Action.ZERO),
        ("StudyID", Action.ZERO),
        ("ReferringPhysicianName", Action.ZERO),
        ("InstitutionName", Action.DUMMY),
        ("StudyInstanceUID", Action.UID),
        ("SOPInstanceUID", Action.UID),
        ("StudyDate", Action.CLEAN),
        ("AcquisitionDateTime", Action.CLEAN),
        ("SeriesDescription", Action.CLEAN),
        ("ContrastBolusAgent", Action.CLEAN),
        ("OtherPatientIDsSequence", Action.REMOVE),
        ("DeviceSerialNumber", Action.DUMMY),
        ("ContentSequence", Action.DUMMY),
    ],
)
def test_first_pass_resolution_of_notable_attributes(keyword, action):
    assert FIRST_PASS.action_for(tag(keyword)) is action


def test_first_pass_options_and_method_codes():
    assert FIRST_PASS.options == {
        Option.RETAIN_LONG_MODIFIED_DATES,
        Option.RETAIN_PATIENT_CHARACTERISTICS,
        Option.CLEAN_DESCRIPTORS,
    }
    assert [code for code, _, _ in FIRST_PASS.method_codes()] == [
        "113100",
        "113108",
        "113107",
        "113105",
    ]


def test_second_pass_uses_the_first_pass_options():
    assert SECOND_PASS.options == FIRST_PASS.options
    assert SECOND_PASS.name != FIRST_PASS.name
    assert [r["action"] for r in SECOND_PASS.describe()] == [
        r["action"] for r in FIRST_PASS.describe()
    ]


# -- repeating groups, private tags, unknown tags ----------------------------


@pytest.mark.parametrize("value", [0x60003000, 0x601E3000, 0x60024000, 0x50000010, 0x501E2000])
def test_curve_and_overlay_repeating_groups_are_removed_or_cleaned(value):
    assert BASIC.action_for(value) is Action.REMOVE
    graphics = Profile("graphics", frozenset({Option.CLEAN_GRAPHICS}))
    assert graphics.action_for(value) is Action.CLEAN


def test_overlay_attributes_outside_the_table_are_unknown():
    assert BASIC.action_for(0x60000010) is None  # Overlay Rows


@pytest.mark.parametrize("value", [0x00091010, 0x00090010, 0x00291008, 0x7FE10010, 0x00191000])
def test_private_tags_are_removed_by_default(value):
    assert BASIC.action_for(value) is Action.REMOVE
    assert FIRST_PASS.action_for(value, private_creator="SIEMENS CSA HEADER") is Action.REMOVE
    private = Profile("private", frozenset({Option.RETAIN_SAFE_PRIVATE}))
    assert private.action_for(value, private_creator="ACME") is Action.REMOVE


def test_only_listed_safe_private_attributes_are_kept():
    profile = Profile(
        "safe-private",
        frozenset({Option.RETAIN_SAFE_PRIVATE}),
        safe_private=frozenset({("ACME 1.0", 0x10)}),
    )
    assert profile.action_for(0x00091010, private_creator="ACME 1.0") is Action.KEEP
    assert profile.action_for(0x00291210, private_creator="ACME 1.0") is Action.KEEP
    assert profile.action_for(0x00090010, private_creator="ACME 1.0") is Action.KEEP  # creator
    assert profile.action_for(0x00091011, private_creator="ACME 1.0") is Action.REMOVE
    assert profile.action_for(0x00091010, private_creator="OTHER") is Action.REMOVE
    assert profile.action_for(0x00091010) is Action.REMOVE
    assert profile.action_for(0x00090010, private_creator="OTHER") is Action.REMOVE
    assert profile.action_for(0x00090001, private_creator="ACME 1.0") is Action.REMOVE


@pytest.mark.parametrize("keyword", ["Rows", "Columns", "PixelData", "BodyPartExamined"])
def test_tags_in_no_row_are_unknown(keyword):
    assert FIRST_PASS.action_for(tag(keyword)) is None


def test_action_for_agrees_with_describe_for_every_exact_row():
    for row in FIRST_PASS.describe():
        if "x" in row["tag"] or row["tag"] == "(gggg,eeee)":
            continue
        value = int(row["tag"][1:5] + row["tag"][6:10], 16)
        assert FIRST_PASS.action_for(value).value == row["action"], row["tag"]


option_sets = st.sets(st.sampled_from(list(Option))).filter(
    lambda s: not {Option.RETAIN_LONG_FULL_DATES, Option.RETAIN_LONG_MODIFIED_DATES} <= s
)


@given(options=option_sets, value=st.integers(min_value=0, max_value=0xFFFFFFFF))
def test_every_tag_gets_an_action_or_none_and_private_tags_always_an_action(options, value):
    action = Profile("property", frozenset(options)).action_for(value)
    assert action is None or isinstance(action, Action)
    if value & 0x10000:
        assert action is Action.REMOVE


@given(options=option_sets)
def test_each_row_resolves_by_option_wins_then_resolve_compound(options):
    described = Profile("property", frozenset(options)).describe()
    for (_tag, _kw, _name, cells), row in zip(ROWS, described, strict=True):
        selected = [cells[i] for i, column in enumerate(COLUMNS) if i and column in options]
        code = option_wins(cells[0], selected)
        assert row["action_code"] == code
        assert row["action"] == resolve_compound(code).value


# -- describe, storage, method codes ---------------------------------------------


def test_describe_has_one_entry_per_row_in_table_order():
    described = FIRST_PASS.describe()
    assert len(described) == len(ROWS)
    assert [r["tag"] for r in described] == [row[0] for row in ROWS]
    assert all(set(r) == DESCRIBE_KEYS for r in described)
    assert all(isinstance(v, str) for r in described for v in r.values())


def test_describe_is_deterministic_and_json_serialisable():
    again = Profile(FIRST_PASS.name, frozenset(reversed(sorted(FIRST_PASS.options))))
    first = json.dumps(FIRST_PASS.describe())
    assert first == json.dumps(again.describe())
    assert json.loads(first) == FIRST_PASS.describe()
    assert FIRST_PASS.describe_text() == again.describe_text()


def test_describe_reports_the_option_that_decided():
    rows = {r["keyword"]: r for r in FIRST_PASS.describe()}
    assert rows["PatientAge"]["source"] == "retain_patient_characteristics"
    assert rows["StudyDate"]["source"] == "retain_long_modified_dates"
    assert rows["SeriesDescription"]["source"] == "clean_descriptors"
    assert rows["PatientName"]["source"] == "basic"
    assert rows["PatientID"]["action_code"] == "Z/D"
    assert rows["PatientID"]["action"] == "D"


def test_describe_text_names_the_profile_edition_and_options():
    text = FIRST_PASS.describe_text()
    assert "teachingfile-first-pass" in text
    assert "PS3.15 2025b" in text
    assert "retain_long_modified_dates" in text
    assert "(0010,0010)" in text


def test_to_dict_round_trips_through_json():
    data = FIRST_PASS.to_dict()
    assert data == {
        "name": "teachingfile-first-pass",
        "options": [
            "clean_descriptors",
            "retain_long_modified_dates",
            "retain_patient_characteristics",
        ],
        "safe_private": [],
    }
    assert Profile.from_dict(json.loads(json.dumps(data))) == FIRST_PASS
    safe = Profile("safe", frozenset({Option.RETAIN_SAFE_PRIVATE}), frozenset({("ACME", 0x10)}))
    assert Profile.from_dict(json.loads(json.dumps(safe.to_dict()))) == safe
    assert Profile.from_dict({"name": "n", "options": []}) == Profile("n")


def test_profiles_are_values():
    assert Profile("p", frozenset({Option.CLEAN_GRAPHICS})) == Profile(
        "p", frozenset({Option.CLEAN_GRAPHICS})
    )
    assert len({FIRST_PASS, Profile.from_dict(FIRST_PASS.to_dict())}) == 1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 65}, "name"),
        (
            {
                "name": "both-dates",
                "options": frozenset(
                    {Option.RETAIN_LONG_FULL_DATES, Option.RETAIN_LONG_MODIFIED_DATES}
                ),
            },
            "exclude each other",
        ),
        (
            {"name": "no-option", "safe_private": frozenset({("ACME", 0x10)})},
            "retain_safe_private",
        ),
        (
            {
                "name": "bad-offset",
                "options": frozenset({Option.RETAIN_SAFE_PRIVATE}),
                "safe_private": frozenset({("ACME", 0x100)}),
            },
            "safe private entry",
        ),
        ({"name": "bad-option", "options": frozenset({"retain_everything"})}, "Option"),
    ],
)
def test_invalid_profiles_are_rejected(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Profile(**kwargs)


def test_method_codes_are_the_cid_7050_codes():
    cid7050 = {
        (code.value, code.scheme_designator, code.meaning)
        for code in (getattr(codes.cid7050, name) for name in codes.cid7050.dir())
    }
    every_option = Profile(
        "all", frozenset(set(Option) - {Option.RETAIN_LONG_FULL_DATES})
    ).method_codes(clean_pixel_data=True, clean_recognizable_visual_features=True)
    full_dates = Profile("full", frozenset({Option.RETAIN_LONG_FULL_DATES})).method_codes()
    ours = set(every_option) | set(full_dates)
    assert ours == cid7050
    assert len(ours) == 13


def test_method_values_fit_the_lo_value_representation():
    for profile in (
        FIRST_PASS,
        Profile("all", frozenset(set(Option) - {Option.RETAIN_LONG_FULL_DATES})),
    ):
        values = profile.method_values()
        assert values[0] == profile.name
        assert all(0 < len(value) <= 64 for value in values)


def test_method_text_names_the_profile_and_options():
    text = FIRST_PASS.method_text()
    assert text.startswith("teachingfile-first-pass")
    assert "clean_descriptors" in text
    assert Profile("plain").method_text() == "plain: PS3.15 2025b Basic Profile"
