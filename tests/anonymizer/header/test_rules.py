"""Each element gets one decision from its tag and VR: golden cases per rule family."""

import pytest
from pydicom.datadict import tag_for_keyword

from anonymizer.header.engine import decide, effective_vr
from anonymizer.header.rules import (
    ALWAYS_REMOVED_TAGS,
    FIRST_PASS_KEEP_TAGS,
    NOT_IN_TABLE_STEP,
    STEP_FOR_ACTION,
    Step,
    is_always_removed,
    vr_class,
)
from anonymizer.profile import FIRST_PASS, SECOND_PASS_ALLOWLIST, Action, Option, Profile

BASIC = Profile("basic-only")


def tag(keyword: str) -> int:
    found = tag_for_keyword(keyword)
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("keyword", "step"),
    [
        # X
        ("PatientAddress", Step.REMOVE),
        ("PerformingPhysicianName", Step.REMOVE),
        ("IssuerOfPatientID", Step.REMOVE),
        # Z
        ("AccessionNumber", Step.ZERO),
        ("PatientBirthDate", Step.ZERO),
        ("ReferencedStudySequence", Step.ZERO),
        # D
        ("StationName", Step.DUMMY),
        ("OperatorsName", Step.DUMMY),
        ("InstitutionName", Step.DUMMY),
        ("ContentSequence", Step.DUMMY),
        ("AnnotationGroupUID", Step.DUMMY),
        # K (Retain Patient Characteristics)
        ("PatientSex", Step.KEEP),
        ("PatientWeight", Step.KEEP),
        ("PatientAge", Step.AGE),
        ("EthnicGroupCodeSequence", Step.RECURSE),
        # C (Modified Dates, Clean Descriptors)
        ("StudyDate", Step.SHIFT_DATE),
        ("AcquisitionDateTime", Step.SHIFT_DATETIME),
        ("StudyTime", Step.KEEP),
        ("StudyDescription", Step.CLEAN_TEXT),
        ("ImageComments", Step.CLEAN_TEXT),
        ("AdmittingDiagnosesCodeSequence", Step.RECURSE),
        ("MakerNote", Step.REMOVE),
        # U
        ("SOPInstanceUID", Step.UID),
        ("StudyInstanceUID", Step.UID),
        ("ReferencedImageSequence", Step.RECURSE),
        # the pseudonym overrides the table
        ("PatientName", Step.PSEUDONYM),
        ("PatientID", Step.PSEUDONYM),
    ],
)
def test_table_actions_mean_one_step_for_each_vr(keyword, step):
    assert decide(FIRST_PASS, tag(keyword), None).step is step


@pytest.mark.parametrize(
    ("keyword", "step"),
    [
        ("Rows", Step.KEEP),  # US
        ("SliceThickness", Step.KEEP),  # DS
        ("FrameIncrementPointer", Step.KEEP),  # AT
        ("ImageType", Step.KEEP),  # CS
        ("SecondaryReviewDate", Step.SHIFT_DATE),  # DA
        ("StudyUpdateDateTime", Step.SHIFT_DATETIME),  # DT
        ("TimeOfGainCalibration", Step.KEEP),  # TM
        ("SOPClassUID", Step.UID),  # UI: registry UIDs are kept by the UID step
        ("MultiFrameSourceSOPInstanceUID", Step.UID),  # an instance UID outside the table
        ("AnatomicRegionSequence", Step.RECURSE),  # SQ
        ("SecondaryReviewerName", Step.REMOVE),  # PN
        ("SoftwareVersions", Step.REMOVE),  # LO
        ("ErrorComment", Step.REMOVE),  # LO
        ("MoveDestination", Step.REMOVE),  # AE
        ("ReferenceLocationDescription", Step.REMOVE),  # UT
        ("PointCoordinatesData", Step.REMOVE),  # OF
        ("RecordKey", Step.REMOVE),  # OB
        # the first-pass keep list
        ("PixelData", Step.KEEP),
        ("ICCProfile", Step.KEEP),
        ("RedPaletteColorLookupTableData", Step.KEEP),
        ("LUTData", Step.KEEP),
        ("WindowCenterWidthExplanation", Step.KEEP_TEXT),
        ("CodeMeaning", Step.KEEP_TEXT),
        ("Manufacturer", Step.KEEP_TEXT),
        ("ConvolutionKernel", Step.KEEP_TEXT),
    ],
)
def test_attributes_not_in_the_table_follow_the_safe_rule_by_vr(keyword, step):
    assert FIRST_PASS.action_for(tag(keyword)) is None
    assert decide(FIRST_PASS, tag(keyword), None).step is step


def test_the_keep_list_holds_everything_the_second_pass_allows():
    assert SECOND_PASS_ALLOWLIST <= FIRST_PASS_KEEP_TAGS


def test_every_action_and_vr_class_has_a_step():
    classes = ["DA", "DT", "TM", "UI", "SQ", "CS", "AS", "numeric", "text", "binary"]
    for action in Action:
        assert action in STEP_FOR_ACTION
    assert set(NOT_IN_TABLE_STEP) == set(classes)


@pytest.mark.parametrize(
    ("vr", "cls"),
    [
        ("US", "numeric"),
        ("US or SS", "numeric"),
        ("US or SS or OW", "numeric"),
        ("OB or OW", "binary"),
        ("LO", "text"),
        ("PN", "text"),
        ("UN", "binary"),
        ("XX", "binary"),
        ("DA", "DA"),
        ("SQ", "SQ"),
    ],
)
def test_vr_classes(vr, cls):
    assert vr_class(vr) == cls


@pytest.mark.parametrize(
    "keyword",
    [
        "IconImageSequence",
        "DigitalSignaturesSequence",
        "MACParametersSequence",
        "EncryptedAttributesSequence",
        "OriginalAttributesSequence",
        "OtherPatientIDsSequence",
        "RequestAttributesSequence",
        "ReferencedPatientSequence",
        "ReferencedPatientPhotoSequence",
        "DataSetTrailingPadding",
    ],
)
def test_always_removed_attributes_go_whatever_the_options(keyword):
    everything = Profile("everything", frozenset(Option) - {Option.RETAIN_LONG_FULL_DATES})
    assert tag(keyword) in ALWAYS_REMOVED_TAGS
    for profile in (FIRST_PASS, BASIC, everything):
        decision = decide(profile, tag(keyword), None)
        assert decision.step is Step.REMOVE
        assert decision.counter == "always_removed"


@pytest.mark.parametrize(
    "number",
    [
        0x60000010,
        0x60000011,
        0x60000022,
        0x60003000,
        0x60004000,
        0x601E0102,
        0x50000005,
        0x501E3000,
    ],
)
def test_every_element_of_overlay_and_curve_groups_is_removed(number):
    assert is_always_removed(number)
    assert decide(FIRST_PASS, number, None).step is Step.REMOVE


def test_odd_groups_next_to_overlays_are_private_not_overlays():
    assert not is_always_removed(0x60010010)
    assert decide(FIRST_PASS, 0x60010010, "LO").counter == "private_removed"


@pytest.mark.parametrize("number", [0x00080000, 0x00180000, 0x00290000, 0x7FE00000])
def test_group_lengths_are_removed(number):
    decision = decide(FIRST_PASS, number, "UL")
    assert decision.step is Step.REMOVE
    assert decision.counter == "group_length_removed"


@pytest.mark.parametrize("number", [0x00020010, 0x00000900])
def test_file_meta_and_command_elements_inside_a_data_set_are_removed(number):
    assert decide(FIRST_PASS, number, "UI").step is Step.REMOVE


@pytest.mark.parametrize("number", [0x00290010, 0x00291010, 0x00091001, 0x7FE10010])
def test_private_elements_are_removed_without_a_safe_private_set(number):
    decision = decide(FIRST_PASS, number, "LO")
    assert decision.step is Step.REMOVE
    assert decision.counter == "private_removed"


def test_private_elements_are_checked_per_creator_with_a_safe_private_set():
    profile = Profile(
        "safe", frozenset({Option.RETAIN_SAFE_PRIVATE}), frozenset({("ACME 1.0", 0x10)})
    )
    assert decide(profile, 0x00291010, "LO").step is Step.PRIVATE


def test_a_standard_attribute_arriving_as_un_is_decided_by_its_dictionary_vr():
    assert effective_vr(tag("PatientName"), "UN") == "PN"
    assert effective_vr(tag("StudyDate"), None) == "DA"
    assert effective_vr(0x00091001, "UN") == "UN"
    assert effective_vr(0x00980098, None) == "UN"
    assert decide(FIRST_PASS, tag("InstitutionName"), "UN").step is Step.DUMMY
    assert decide(FIRST_PASS, tag("StudyInstanceUID"), "UN").step is Step.UID
    assert decide(FIRST_PASS, tag("StudyDate"), "UN").step is Step.SHIFT_DATE


def test_an_unknown_standard_tag_is_removed():
    assert decide(FIRST_PASS, 0x00980098, None).counter == "not_in_table_removed"


@pytest.mark.parametrize(
    ("options", "keyword", "step"),
    [
        (frozenset(), "StudyDate", Step.ZERO),  # basic: dates go
        (frozenset(), "PatientSex", Step.ZERO),
        (frozenset(), "StudyDescription", Step.REMOVE),
        ({Option.RETAIN_UIDS}, "SOPInstanceUID", Step.KEEP),
        ({Option.RETAIN_INSTITUTION_IDENTITY}, "InstitutionName", Step.KEEP),
        ({Option.RETAIN_PATIENT_CHARACTERISTICS}, "EthnicGroup", Step.KEEP_TEXT),
        ({Option.RETAIN_DEVICE_IDENTITY}, "StationName", Step.KEEP),
        ({Option.RETAIN_LONG_FULL_DATES}, "StudyDate", Step.KEEP),
        ({Option.RETAIN_LONG_MODIFIED_DATES}, "StudyDate", Step.SHIFT_DATE),
        ({Option.CLEAN_DESCRIPTORS}, "StudyDescription", Step.CLEAN_TEXT),
        ({Option.RETAIN_PATIENT_CHARACTERISTICS}, "PatientAge", Step.AGE),
    ],
)
def test_each_option_changes_what_its_column_says(options, keyword, step):
    assert decide(Profile("p", frozenset(options)), tag(keyword), None).step is step
