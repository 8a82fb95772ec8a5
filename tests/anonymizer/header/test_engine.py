"""The engine applies each action at the top level and inside sequences at any depth."""

from __future__ import annotations

import struct

import pytest
from pydicom import config
from pydicom.charset import convert_encodings, encode_string
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from anonymizer.header.engine import deidentify_header
from anonymizer.profile import (
    FIRST_PASS,
    SECOND_PASS,
    SECOND_PASS_ALLOWLIST,
    Option,
    Profile,
)
from tests.anonymizer.dirty import to_bytes

from . import KEYS, PSEUDONYM, all_tags, context, reread, run, write

OFFSET = -100
CT_UID = "1.2.826.0.1.3680043.8.498.77.1"


def base(**attrs: object) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = CT_UID
    ds.PatientID = "PID-GOLDEN-1"
    for keyword, value in attrs.items():
        setattr(ds, keyword, value)
    return ds


def nest(depth: int, **attrs: object) -> Dataset:
    """``attrs`` in an item ``depth`` levels down, through sequences outside the table."""
    item = Dataset()
    for keyword, value in attrs.items():
        setattr(item, keyword, value)
    for _ in range(depth):
        outer = Dataset()
        outer.AnatomicRegionSequence = Sequence([item])
        item = outer
    return item


def inner(ds: Dataset, depth: int) -> Dataset:
    for _ in range(depth):
        ds = ds.AnatomicRegionSequence[0]
    return ds


@pytest.mark.parametrize("depth", [0, 1, 3])
class TestActionsAtEveryDepth:
    def run(self, depth: int, **attrs: object) -> Dataset:
        ds = base()
        if depth:
            ds.update(nest(depth, **attrs))
        else:
            ds.update(nest(0, **attrs))
        run(ds, date_offset_days=OFFSET)
        return inner(ds, depth)

    def test_x_removes(self, depth):
        item = self.run(depth, PatientAddress="1 SECRET ROAD", PerformingPhysicianName="DOC^WHO")
        assert "PatientAddress" not in item
        assert "PerformingPhysicianName" not in item

    def test_z_empties(self, depth):
        ref = Dataset()
        ref.ReferencedSOPClassUID = CTImageStorage
        ref.ReferencedSOPInstanceUID = "1.2.3.4.5"
        item = self.run(
            depth,
            AccessionNumber="ACC123456",
            PatientBirthDate="19470101",
            ReferencedStudySequence=Sequence([ref]),
        )
        assert item["AccessionNumber"].value in ("", None)
        assert item["PatientBirthDate"].value in ("", None)
        assert len(item.ReferencedStudySequence) == 0

    def test_d_dummies_by_vr(self, depth):
        content = Dataset()
        content.TextValue = "SECRET"
        item = self.run(
            depth,
            StationName="STATIONX9",
            OperatorsName="OPER^ATOR",
            InstitutionName="SECRET HOSPITAL",
            ContentSequence=Sequence([content]),
            AnnotationGroupUID="1.2.3.4.99",
        )
        assert item.StationName == "ANONYMIZED"
        assert item.OperatorsName == "ANONYMOUS"
        assert item.InstitutionName == "ANONYMIZED"
        assert len(item.ContentSequence) == 1
        assert len(item.ContentSequence[0]) == 0
        assert item.AnnotationGroupUID == KEYS.uid("1.2.3.4.99")

    def test_k_keeps(self, depth):
        item = self.run(depth, PatientSex="M", PatientWeight="70", PatientAge="095Y")
        assert item.PatientSex == "M"
        assert item.PatientWeight == 70
        assert item.PatientAge == "090Y"

    def test_c_shifts_dates_keeps_times_cleans_text(self, depth):
        item = self.run(
            depth,
            StudyDate="20240315",
            AcquisitionDateTime="20240315101502.5+0100",
            StudyTime="101500",
            StudyDescription="CT CHEST PID-GOLDEN-1",
            ImageComments="nothing to see",
        )
        assert item.StudyDate == "20231206"
        assert item.AcquisitionDateTime == "20231206101502.5+0100"
        assert item.StudyTime == "101500"
        assert item.StudyDescription == "CT CHEST"
        assert item.ImageComments == "nothing to see"

    def test_u_remaps_uids(self, depth):
        ref = Dataset()
        ref.ReferencedSOPClassUID = CTImageStorage
        ref.ReferencedSOPInstanceUID = "1.2.3.4.5.6"
        item = self.run(
            depth, FrameOfReferenceUID="1.2.3.4.7", ReferencedImageSequence=Sequence([ref])
        )
        assert item.FrameOfReferenceUID == KEYS.uid("1.2.3.4.7")
        assert item.ReferencedImageSequence[0].ReferencedSOPInstanceUID == KEYS.uid("1.2.3.4.5.6")
        assert item.ReferencedImageSequence[0].ReferencedSOPClassUID == CTImageStorage

    def test_not_in_table(self, depth):
        item = self.run(
            depth,
            Rows=512,
            ImageType=["ORIGINAL", "PRIMARY"],
            SecondaryReviewDate="20240315",
            SoftwareVersions="SECRET 1.0",
            SecondaryReviewerName="REVIEW^ER",
            MultiFrameSourceSOPInstanceUID="1.2.3.4.8",
            Manufacturer="ACME",
        )
        assert item.Rows == 512
        assert item.ImageType == ["ORIGINAL", "PRIMARY"]
        assert item.SecondaryReviewDate == "20231206"
        assert "SoftwareVersions" not in item
        assert "SecondaryReviewerName" not in item
        assert item.MultiFrameSourceSOPInstanceUID == KEYS.uid("1.2.3.4.8")
        assert item.Manufacturer == "ACME"

    def test_patient_name_and_id_carry_the_pseudonym(self, depth):
        item = self.run(depth, PatientName="SECRET^NAME", PatientID="SECRET-ID")
        assert item.PatientName == PSEUDONYM
        assert item.PatientID == PSEUDONYM

    def test_always_removed_go(self, depth):
        icon = Dataset()
        icon.Rows = 8
        other = Dataset()
        other.PatientID = "OTHER-ID-1"
        item = self.run(
            depth,
            IconImageSequence=Sequence([icon]),
            OtherPatientIDsSequence=Sequence([other]),
            OriginalAttributesSequence=Sequence([Dataset()]),
        )
        for keyword in (
            "IconImageSequence",
            "OtherPatientIDsSequence",
            "OriginalAttributesSequence",
        ):
            assert keyword not in item


def test_multi_valued_uids_and_dates_are_handled_value_by_value():
    ds = base()
    ds.add_new(0x00081195, "UI", "")  # TransactionUID, U, empty stays empty
    ds.add_new(0x00200052, "UI", "1.2.3.4.7")
    ds.DateOfLastCalibration = ["20240101", "20240102"]  # C: shifted
    ds.add_new(0x00081150, "UI", ["1.2.3.9", CTImageStorage])  # not in table, VM 1
    report = run(ds, date_offset_days=-1)
    assert ds.DateOfLastCalibration == ["20231231", "20240101"]
    assert ds[0x00081150].value == [KEYS.uid("1.2.3.9"), CTImageStorage]
    assert ds.TransactionUID == ""
    assert report.uid_map["1.2.3.9"] == KEYS.uid("1.2.3.9")
    assert CTImageStorage not in report.uid_map


def test_invalid_dates_and_ages_are_emptied_and_reported():
    ds = base(StudyDate="20241399", PatientAge="OLD")
    report = run(ds, date_offset_days=-1)
    assert ds.StudyDate == ""
    assert ds.PatientAge == ""
    assert report.counts["invalid_values_emptied"] == 2
    assert any("not valid" in note for note in report.notes)


def test_the_report_keeps_the_original_patient_and_the_uid_map():
    ds = base(PatientName="ORIG^NAME", IssuerOfPatientID="HOSP")
    ds.StudyInstanceUID = "1.2.3.100"
    report = run(ds)
    assert report.original_patient == {
        "PatientName": "ORIG^NAME",
        "PatientID": "PID-GOLDEN-1",
        "IssuerOfPatientID": "HOSP",
    }
    assert report.date_offset_days == KEYS.date_offset_days("PID-GOLDEN-1^HOSP")
    assert report.uid_map == {CT_UID: ds.SOPInstanceUID, "1.2.3.100": ds.StudyInstanceUID}


def test_identity_removed_is_always_redone_and_the_method_recorded():
    ds = base(PatientIdentityRemoved="YES", DeidentificationMethod="trust me")
    report = run(ds)
    assert "PatientIdentityRemoved was already YES: ignored and re-done" in report.notes
    assert ds.PatientIdentityRemoved == "YES"
    assert list(ds.DeidentificationMethod) == FIRST_PASS.method_values()
    codes = [
        (item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning)
        for item in ds.DeidentificationMethodCodeSequence
    ]
    assert codes == FIRST_PASS.method_codes()
    assert all(len(value) <= 64 for value in ds.DeidentificationMethod)


def test_longitudinal_information_is_marked_modified_only_when_dates_moved():
    shifted = base(StudyDate="20240101")
    run(shifted)
    assert shifted.LongitudinalTemporalInformationModified == "MODIFIED"
    no_dates = base()
    run(no_dates)
    assert "LongitudinalTemporalInformationModified" not in no_dates
    zero = base(StudyDate="20240101")
    run(zero, date_offset_days=0)
    assert zero.StudyDate == "20240101"
    assert "LongitudinalTemporalInformationModified" not in zero


def test_pseudonym_is_written_where_the_patient_name_was_missing():
    ds = Dataset()
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = CT_UID
    run(ds)
    assert ds.PatientName == PSEUDONYM
    assert ds.PatientID == PSEUDONYM


def test_pixel_data_is_untouched():
    ds = base()
    ds.PixelData = bytes(range(256)) * 4
    ds["PixelData"].VR = "OW"
    run(ds)
    assert ds.PixelData == bytes(range(256)) * 4


def test_private_elements_and_creators_are_removed():
    ds = base()
    block = ds.private_block(0x0029, "ACME 1.0", create=True)
    block.add_new(0x10, "LO", "PRIVATE SECRET")
    item = Dataset()
    item.PatientName = "NESTED^SECRET"
    block.add_new(0x11, "SQ", Sequence([item]))
    nested = nest(2)
    nested.AnatomicRegionSequence[0].add_new(0x00091001, "LO", "DEEP SECRET")
    ds.update(nested)
    report = run(ds)
    assert not [tag for tag in all_tags(ds) if tag >> 16 & 1]
    assert report.counts["private_removed"] == 4


def test_safe_private_elements_are_kept_for_their_creator_only():
    profile = Profile(
        "safe", frozenset({Option.RETAIN_SAFE_PRIVATE}), frozenset({("ACME 1.0", 0x10)})
    )
    ds = base()
    acme = ds.private_block(0x0029, "ACME 1.0", create=True)
    acme.add_new(0x10, "DS", "1.5")
    acme.add_new(0x11, "LO", "NOT LISTED")
    other = ds.private_block(0x0031, "OTHER 2.0", create=True)
    other.add_new(0x10, "DS", "2.5")
    run(ds, profile)
    assert ds[0x00291010].value == "1.5"
    assert ds[0x00290010].value == "ACME 1.0"
    assert 0x00291011 not in ds
    assert 0x00310010 not in ds
    assert 0x00311010 not in ds


def test_group_length_elements_are_removed():
    ds = base()
    ds.add_new(0x00080000, "UL", 100)
    ds.add_new(0x00100000, "UL", 100)
    run(ds)
    assert 0x00080000 not in ds
    assert 0x00100000 not in ds


def test_overlay_groups_are_removed_whole():
    ds = base()
    for element, vr, value in (
        (0x0010, "US", 16),
        (0x0011, "US", 16),
        (0x0022, "LO", "OVERLAY SECRET"),
        (0x0040, "CS", "G"),
        (0x0050, "SS", [1, 1]),
        (0x0100, "US", 1),
        (0x1500, "LO", "LABEL SECRET"),
        (0x3000, "OW", b"\xff" * 8),
        (0x4000, "LT", "COMMENT SECRET"),
    ):
        ds.add_new(0x60020000 | element, vr, value)
    ds.add_new(0x50000005, "US", 2)
    run(ds)
    assert not [tag for tag in all_tags(ds) if tag >> 24 in (0x50, 0x60)]


def test_trailing_padding_is_removed():
    ds = base()
    ds.DataSetTrailingPadding = b"SECRET PADDING\x00\x00"
    run(ds)
    assert "DataSetTrailingPadding" not in ds


def test_identifiers_inside_removed_sequences_still_clean_descriptors():
    ds = base(StudyDescription="CT ALTID55502194 CHEST NESTEDGOBLIN")
    other = Dataset()
    other.PatientID = "ALTID55502194"
    ds.OtherPatientIDsSequence = Sequence([other])
    request = Dataset()
    request.RequestingPhysician = "NESTEDGOBLIN^OSWALD"
    ds.RequestAttributesSequence = Sequence([request])
    run(ds)
    assert ds.StudyDescription == "CT CHEST"


def test_kept_code_meanings_lose_the_data_sets_identifiers():
    code = Dataset()
    code.CodeValue = "T-D3000"
    code.CodingSchemeDesignator = "SRT"
    code.CodeMeaning = "Chest of QUENTINUS"
    ds = base(PatientName="ZEBRA^QUENTINUS")
    ds.AnatomicRegionSequence = Sequence([code])
    run(ds)
    item = ds.AnatomicRegionSequence[0]
    assert (item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning) == (
        "T-D3000",
        "SRT",
        "Chest of",
    )


def test_the_second_pass_keeps_only_allowed_attributes_at_every_depth():
    ds = base(StudyDate="20240101", Manufacturer="ACME", Rows=8)
    ds.update(nest(2, CodeMeaning="Chest", Rows=8, Manufacturer="ACME"))
    region = Dataset()
    region.RegionSpatialFormat = 1
    region.Manufacturer = "ACME"
    ds.SequenceOfUltrasoundRegions = Sequence([region])
    report = run(ds, SECOND_PASS, allowlist=SECOND_PASS_ALLOWLIST, date_offset_days=0)
    allowed = SECOND_PASS_ALLOWLIST | {0x00120062, 0x00120063, 0x00120064, 0x00280303}
    allowed |= {0x00080100, 0x00080102, 0x00080104}  # the method code items
    assert all_tags(ds) <= allowed
    assert "AnatomicRegionSequence" not in ds  # not allowed: gone with its items
    assert ds.SequenceOfUltrasoundRegions[0].RegionSpatialFormat == 1
    assert "Manufacturer" not in ds.SequenceOfUltrasoundRegions[0]
    assert ds.StudyDate == "20240101"
    assert ds.Rows == 8
    assert report.counts["allowlist_removed"] >= 3
    assert len(ds.DeidentificationMethodCodeSequence) == len(SECOND_PASS.method_codes())


# -- encodings ------------------------------------------------------------------------------


def _file(ds: Dataset, syntax: str = ExplicitVRLittleEndian) -> FileDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = syntax
    out = FileDataset("", ds, file_meta=meta, preamble=b"\0" * 128)
    return out


def _as_un(data: bytes, tag: int, vr: bytes) -> bytes:
    """Re-encode one explicit VR little endian element of ``data`` with VR UN."""
    head = struct.pack("<HH", tag >> 16, tag & 0xFFFF)
    at = data.index(head + vr)
    (length,) = struct.unpack("<H", data[at + 6 : at + 8])
    value = data[at + 8 : at + 8 + length]
    return (
        data[:at]
        + head
        + b"UN\x00\x00"
        + struct.pack("<I", length)
        + value
        + data[at + 8 + length :]
    )


def test_standard_attributes_encoded_as_un_get_their_table_action():
    ds = base(
        PatientName="UNKNOWNVR^SECRETNAME",
        InstitutionName="UNKNOWNVR SECRET HOSPITAL",
        StudyDescription="CT CHEST SECRETNAME",
        StudyDate="20240101",
    )
    ds.StudyInstanceUID = "1.2.3.4.555.666"
    data = to_bytes(_file(ds))
    for tag, vr in (
        (0x00100010, b"PN"),
        (0x00080080, b"LO"),
        (0x0020000D, b"UI"),
        (0x00081030, b"LO"),
        (0x00080020, b"DA"),
    ):
        data = _as_un(data, tag, vr)
    for replace_un in (True, False):
        config.replace_un_with_known_vr = replace_un
        try:
            read = reread(data)
            assert ("PN" if replace_un else "UN") == read[0x00100010].VR
            deidentify_header(read, context(date_offset_days=-1))
            out = write(read)
        finally:
            config.replace_un_with_known_vr = True
        assert b"SECRETNAME" not in out
        assert b"SECRET HOSPITAL" not in out
        assert b"1.2.3.4.555.666" not in out
        result = reread(out)
        assert result.PatientName == PSEUDONYM
        assert result.InstitutionName == "ANONYMIZED"
        assert result.StudyInstanceUID == KEYS.uid("1.2.3.4.555.666")
        assert result.StudyDescription == "CT CHEST"
        assert result.StudyDate == "20231231"


def test_implicit_vr_input_is_decided_by_the_dictionary_and_written_explicit():
    ds = base(PatientName="IMPLICIT^SECRET", StudyDate="20240101", InstitutionName="SECRET HOSP")
    ds.StudyInstanceUID = "1.2.3.4.777"
    read = reread(to_bytes(_file(ds, ImplicitVRLittleEndian)))
    assert read.file_meta.TransferSyntaxUID == ImplicitVRLittleEndian
    deidentify_header(read, context(date_offset_days=-1))
    out = write(read)
    assert b"IMPLICIT" not in out
    assert b"SECRET HOSP" not in out
    result = reread(out)
    assert result.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert result.StudyDate == "20231231"
    assert result.InstitutionName == "ANONYMIZED"
    assert len(result.DeidentificationMethodCodeSequence) == len(FIRST_PASS.method_codes())


CHARSETS = [
    ("ISO_IR 100", "Müller^Jörg", "Thorax Müller", "Thorax"),
    ("ISO_IR 192", "Müller^Jörg", "Thorax Jörg", "Thorax"),
    ("ISO_IR 192", "山田^太郎", "胸部CT 山田太郎", "胸部CT"),
    (["", "ISO 2022 IR 87"], "Yamada^Tarou=山田^太郎=やまだ^たろう", "CT 山田 太郎", "CT"),
]


@pytest.mark.parametrize(("charset", "name", "description", "cleaned"), CHARSETS)
def test_non_ascii_names_leave_no_encoded_trace(charset, name, description, cleaned):
    ds = base(SpecificCharacterSet=charset, PatientName=name, StudyDescription=description)
    ds.OperatorsName = name
    ds.update(nest(2, PatientName=name, CodeMeaning=f"Liver {name.split('=')[-1]}"))
    data = to_bytes(_file(ds))
    encodings = convert_encodings(charset)
    parts = {p for p in name.replace("=", "^").split("^") if len(p) >= 2}
    encoded = {encode_string(p, encodings) for p in parts}
    # ISO 2022: the bytes between the escape sequences too
    encoded |= {e.split(b"\x1b$B")[-1].split(b"\x1b(B")[0] for e in encoded if b"\x1b" in e}
    assert any(e in data for e in encoded)
    read = reread(data)
    deidentify_header(read, context())
    out = write(read)
    for e in encoded:
        assert e not in out, e
    result = reread(out)
    assert result.SpecificCharacterSet == charset
    assert result.StudyDescription == cleaned
    assert result.PatientName == PSEUDONYM
    assert inner(result, 2).CodeMeaning == "Liver"


def test_dummy_dates_are_shifted_when_present_and_19000101_when_empty():
    present = base(AssertionDateTime="20240315101500")
    run(present, Profile("basic-only"), date_offset_days=-1)
    assert present.AssertionDateTime == "20240314101500"
    empty = base(AssertionDateTime="")
    run(empty, Profile("basic-only"), date_offset_days=-1)
    assert empty.AssertionDateTime == "19000101000000"


def test_an_empty_dummy_uid_gets_a_uid():
    ds = base(AnnotationGroupUID="")
    run(ds)
    assert ds.AnnotationGroupUID.startswith("2.25.")
