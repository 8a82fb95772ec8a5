"""The generated DICOM PS3.15 Table E.1-1 is complete, well-formed and matches the standard."""

import re

import pytest
from pydicom.datadict import keyword_for_tag

from anonymizer.profile.actions import KNOWN_CODES
from anonymizer.profile.annex_e_table import COLUMNS, EDITION, ROWS, SOURCE

BY_TAG = {row[0]: row for row in ROWS}
BLANK = ("",) * 10


def test_table_records_its_edition_and_source():
    assert EDITION == "2025b"
    assert SOURCE == "idiscore 1.6.0"


def test_table_has_every_row_of_the_2025b_edition():
    assert len(ROWS) == 647
    assert len(ROWS) >= 600


def test_columns_are_the_basic_profile_and_the_ten_options_in_table_order():
    assert COLUMNS == (
        "basic",
        "retain_safe_private",
        "retain_uids",
        "retain_device_identity",
        "retain_institution_identity",
        "retain_patient_characteristics",
        "retain_long_full_dates",
        "retain_long_modified_dates",
        "clean_descriptors",
        "clean_structured_content",
        "clean_graphics",
    )


def test_every_row_has_one_known_code_or_blank_per_column_and_a_basic_code():
    for tag, _keyword, _name, cells in ROWS:
        assert len(cells) == len(COLUMNS), tag
        assert cells[0] in KNOWN_CODES, tag
        assert all(cell == "" or cell in KNOWN_CODES for cell in cells), tag


def test_option_columns_only_keep_or_clean():
    for tag, _keyword, _name, cells in ROWS:
        assert set(cells[1:]) <= {"", "K", "C"}, tag


def test_tags_are_unique_upper_case_hex_with_lower_case_repeater_x():
    tags = [row[0] for row in ROWS]
    assert len(set(tags)) == len(tags)
    for tag in tags:
        assert tag == "(gggg,eeee)" or re.fullmatch(r"\([0-9A-Fx]{4},[0-9A-Fx]{4}\)", tag), tag


def test_keywords_and_names_agree_with_pydicom_where_it_knows_the_tag():
    for tag, keyword, name, _cells in ROWS:
        assert name, tag
        if "x" in tag or tag == "(gggg,eeee)":
            continue
        known = keyword_for_tag(int(tag[1:5] + tag[6:10], 16))
        assert keyword, tag
        if known:
            assert keyword == known, tag


def test_full_and_modified_dates_options_cover_the_same_rows():
    full = {row[0] for row in ROWS if row[3][6] == "K"}
    modified = {row[0] for row in ROWS if row[3][7] == "C"}
    assert full == modified
    assert len(full) == 169


def cells(basic, **options):
    """A row's expected cells: the basic code plus the given option columns."""
    row = dict.fromkeys(COLUMNS[1:], "")
    row.update(options)
    return (basic, *(row[column] for column in COLUMNS[1:]))


# Verified against idiscore 1.6.0's scrape of the 2025b table (and, for the
# basic column, dicom-anonymizer's 2024b and 2026c tables).
GOLDEN = [
    ("(0010,0010)", "PatientName", cells("Z")),
    ("(0010,0020)", "PatientID", cells("Z/D")),
    ("(0010,0030)", "PatientBirthDate", cells("Z")),
    ("(0010,0032)", "PatientBirthTime", cells("X")),
    ("(0008,0050)", "AccessionNumber", cells("Z")),
    ("(0020,0010)", "StudyID", cells("Z")),
    ("(0008,0090)", "ReferringPhysicianName", cells("Z")),
    ("(0008,1050)", "PerformingPhysicianName", cells("X")),
    ("(0008,1070)", "OperatorsName", cells("X/Z/D")),
    ("(0010,1002)", "OtherPatientIDsSequence", cells("X")),
    ("(0008,0080)", "InstitutionName", cells("X/Z/D", retain_institution_identity="K")),
    ("(0008,0081)", "InstitutionAddress", cells("X", retain_institution_identity="K")),
    ("(0020,000D)", "StudyInstanceUID", cells("U", retain_uids="K")),
    ("(0008,0018)", "SOPInstanceUID", cells("U", retain_uids="K")),
    ("(0002,0003)", "MediaStorageSOPInstanceUID", cells("U", retain_uids="K")),
    ("(0020,0052)", "FrameOfReferenceUID", cells("U", retain_uids="K")),
    ("(0008,1140)", "ReferencedImageSequence", cells("X/Z/U*", retain_uids="K")),
    ("(0008,2112)", "SourceImageSequence", cells("X/Z/U*", retain_uids="K")),
    ("(0010,0040)", "PatientSex", cells("Z", retain_patient_characteristics="K")),
    ("(0010,1010)", "PatientAge", cells("X", retain_patient_characteristics="K")),
    ("(0010,1020)", "PatientSize", cells("X", retain_patient_characteristics="K")),
    ("(0010,1030)", "PatientWeight", cells("X", retain_patient_characteristics="K")),
    (
        "(0010,2110)",
        "Allergies",
        cells("X", retain_patient_characteristics="C", clean_descriptors="C"),
    ),
    (
        "(0008,0020)",
        "StudyDate",
        cells("Z", retain_long_full_dates="K", retain_long_modified_dates="C"),
    ),
    (
        "(0008,0012)",
        "InstanceCreationDate",
        cells("X/D", retain_long_full_dates="K", retain_long_modified_dates="C"),
    ),
    (
        "(0018,1200)",
        "DateOfLastCalibration",
        cells(
            "X",
            retain_device_identity="K",
            retain_long_full_dates="K",
            retain_long_modified_dates="C",
        ),
    ),
    ("(0008,103E)", "SeriesDescription", cells("X", clean_descriptors="C")),
    ("(0008,1030)", "StudyDescription", cells("X", clean_descriptors="C")),
    ("(0018,1030)", "ProtocolName", cells("X/D", clean_descriptors="C")),
    ("(0018,0010)", "ContrastBolusAgent", cells("Z/D", clean_descriptors="C")),
    ("(0018,1000)", "DeviceSerialNumber", cells("X/Z/D", retain_device_identity="K")),
    ("(0008,1010)", "StationName", cells("X/Z/D", retain_device_identity="K")),
    ("(0018,1002)", "DeviceUID", cells("U", retain_uids="K", retain_device_identity="K")),
    ("(0040,A730)", "ContentSequence", cells("D", clean_structured_content="C")),
    ("(0040,0555)", "AcquisitionContextSequence", cells("X/Z", clean_structured_content="C")),
    ("(0070,0001)", "GraphicAnnotationSequence", cells("D", clean_graphics="C")),
    ("(50xx,xxxx)", "", cells("X", clean_graphics="C")),
    ("(60xx,3000)", "OverlayData", cells("X", clean_graphics="C")),
    ("(60xx,4000)", "OverlayComments", cells("X", clean_graphics="C")),
    ("(gggg,eeee)", "", cells("X", retain_safe_private="C")),
    ("(0010,0011)", "PersonNamesToUseSequence", cells("X")),
    (
        "(0010,0043)",
        "SexParametersForClinicalUseCategorySequence",
        cells("X", retain_patient_characteristics="K"),
    ),
]


@pytest.mark.parametrize(("tag", "keyword", "expected"), GOLDEN, ids=[g[0] for g in GOLDEN])
def test_row_matches_the_standard(tag, keyword, expected):
    row = BY_TAG[tag]
    assert row[1] == keyword
    assert row[3] == expected


def test_curve_data_and_private_rows_are_named():
    assert BY_TAG["(50xx,xxxx)"][2] == "Curve Data"
    assert BY_TAG["(gggg,eeee)"][2] == "Private Attributes"
    assert BY_TAG["(0010,0010)"][2] == "Patient's Name"
