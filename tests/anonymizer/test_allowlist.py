"""The second pass keeps only what a viewer and a teacher need."""

import pytest
from pydicom.datadict import keyword_for_tag, tag_for_keyword

from anonymizer.profile import FIRST_PASS, Action
from anonymizer.profile.allowlist import (
    SECOND_PASS_ALLOWLIST,
    SECOND_PASS_ALLOWLIST_GROUPS,
    SECOND_PASS_ALLOWLIST_KEYWORDS,
    is_allowed,
)

IMAGE_PIXEL = [
    "SamplesPerPixel",
    "PhotometricInterpretation",
    "Rows",
    "Columns",
    "BitsAllocated",
    "BitsStored",
    "HighBit",
    "PixelRepresentation",
    "PlanarConfiguration",
    "PixelData",
    "RedPaletteColorLookupTableDescriptor",
    "RedPaletteColorLookupTableData",
]
GEOMETRY = [
    "FrameOfReferenceUID",
    "ImagePositionPatient",
    "ImageOrientationPatient",
    "PixelSpacing",
    "SliceThickness",
    "SpacingBetweenSlices",
    "ImagerPixelSpacing",
]
DISPLAY = [
    "WindowCenter",
    "WindowWidth",
    "RescaleIntercept",
    "RescaleSlope",
    "NumberOfFrames",
    "FrameTime",
    "SequenceOfUltrasoundRegions",
    "PhysicalDeltaX",
    "SharedFunctionalGroupsSequence",
    "PerFrameFunctionalGroupsSequence",
    "PlanePositionSequence",
    "SOPClassUID",
    "SOPInstanceUID",
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "PatientIdentityRemoved",
    "DeidentificationMethodCodeSequence",
    "BurnedInAnnotation",
]
NEVER = [
    "PatientBirthDate",
    "PatientBirthTime",
    "InstitutionName",
    "InstitutionAddress",
    "ReferringPhysicianName",
    "PerformingPhysicianName",
    "OperatorsName",
    "AccessionNumber",
    "StudyID",
    "OtherPatientIDsSequence",
    "OtherPatientNames",
    "PatientAddress",
    "StationName",
    "DeviceSerialNumber",
    "RequestAttributesSequence",
    "ReferencedPatientSequence",
    "ContentSequence",
    "PositionReferenceIndicator",
]


@pytest.mark.parametrize("keyword", IMAGE_PIXEL + GEOMETRY + DISPLAY)
def test_allowlist_keeps_what_display_needs(keyword):
    assert is_allowed(tag_for_keyword(keyword))


@pytest.mark.parametrize("keyword", NEVER)
def test_allowlist_never_keeps_identifying_attributes(keyword):
    assert tag_for_keyword(keyword) not in SECOND_PASS_ALLOWLIST
    assert not is_allowed(tag_for_keyword(keyword))


def test_allowlist_has_no_private_tags_and_no_file_meta():
    assert all(not (tag >> 16) & 1 for tag in SECOND_PASS_ALLOWLIST)
    assert all(tag >> 16 != 0x0002 for tag in SECOND_PASS_ALLOWLIST)


@pytest.mark.parametrize("value", [0x00091010, 0x00090010, 0x00290010, 0x7FE10010, 0x00020010])
def test_private_and_file_meta_tags_are_never_allowed(value):
    assert not is_allowed(value)


def test_every_keyword_is_a_dicom_keyword():
    for keyword in SECOND_PASS_ALLOWLIST_KEYWORDS:
        value = tag_for_keyword(keyword)
        assert value is not None, keyword
        assert keyword_for_tag(value) == keyword


def test_keywords_are_sorted_unique_and_match_the_tags():
    assert list(SECOND_PASS_ALLOWLIST_KEYWORDS) == sorted(set(SECOND_PASS_ALLOWLIST_KEYWORDS))
    assert {tag_for_keyword(k) for k in SECOND_PASS_ALLOWLIST_KEYWORDS} == SECOND_PASS_ALLOWLIST
    grouped = {k for keywords in SECOND_PASS_ALLOWLIST_GROUPS.values() for k in keywords}
    assert grouped == set(SECOND_PASS_ALLOWLIST_KEYWORDS)


def test_nothing_allowlisted_is_removed_by_the_first_pass():
    for keyword in SECOND_PASS_ALLOWLIST_KEYWORDS:
        assert FIRST_PASS.action_for(tag_for_keyword(keyword)) is not Action.REMOVE, keyword
