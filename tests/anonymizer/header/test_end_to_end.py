"""The dirty files come out of the first pass with no planted identifier anywhere."""

from __future__ import annotations

import datetime as dt

import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import CTImageStorage

from anonymizer.header import IMPLEMENTATION_CLASS_UID
from anonymizer.header.rules import SECOND_PASS_ALWAYS_KEPT
from anonymizer.profile import FIRST_PASS, SECOND_PASS, SECOND_PASS_ALLOWLIST
from tests.anonymizer.dirty import (
    PLANTED,
    PLANTED_UIDS,
    STUDY_DATE,
    dirty_ct,
    dirty_us_cine,
    planted_byte_patterns,
    to_bytes,
)

from . import KEYS, all_tags, count_elements, reread, run, write

BUILDERS = {"ct": lambda: dirty_ct(1), "us": dirty_us_cine}


def first_pass(ds: Dataset) -> tuple[bytes, Dataset]:
    """Read the dirty file from bytes (as the pipeline does), first pass, write."""
    read = reread(to_bytes(ds))
    report = run(read)
    out = write(read)
    return out, report


def leaks(data: bytes) -> list[bytes]:
    return [p for p in planted_byte_patterns() if p in data or p.lower() in data]


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_no_planted_value_survives_the_first_pass(name):
    dirty = BUILDERS[name]()
    assert leaks(to_bytes(dirty))  # the input really carries them
    out, report = first_pass(dirty)
    assert leaks(out) == []
    for uid in PLANTED_UIDS.values():
        assert uid.encode() not in out
    assert report.original_patient["PatientName"] == PLANTED["PatientName"]
    assert report.notes[0] == "PatientIdentityRemoved was already YES: ignored and re-done"


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_the_first_pass_output_is_a_valid_marked_file(name):
    dirty = BUILDERS[name]()
    out, report = first_pass(dirty)
    result = reread(out)
    assert out[:128] == b"\0" * 128
    assert out[128:132] == b"DICM"
    meta = result.file_meta
    assert meta.MediaStorageSOPInstanceUID == result.SOPInstanceUID
    assert meta.MediaStorageSOPClassUID == result.SOPClassUID == dirty.SOPClassUID
    assert meta.ImplementationClassUID == IMPLEMENTATION_CLASS_UID
    assert "SourceApplicationEntityTitle" not in meta
    assert result.SOPInstanceUID == report.uid_map[dirty.SOPInstanceUID]
    assert result.PatientIdentityRemoved == "YES"
    assert [i.CodeValue for i in result.DeidentificationMethodCodeSequence] == [
        code for code, _, _ in FIRST_PASS.method_codes()
    ]
    assert result.LongitudinalTemporalInformationModified == "MODIFIED"
    assert result.PixelData == dirty.PixelData  # pixels untouched
    assert result.PatientSex == "F"
    assert result.PatientAge == "076Y"


def _day(value: str) -> dt.date:
    return dt.date(int(value[:4]), int(value[4:6]), int(value[6:8]))


def test_files_of_one_patient_share_the_offset_and_keep_intervals():
    a, b = dirty_ct(1), dirty_ct(2)
    b.AcquisitionDate = "20240320"
    ra, rb = reread(first_pass(a)[0]), reread(first_pass(b)[0])
    assert ra.StudyDate == rb.StudyDate != STUDY_DATE
    assert _day(rb.AcquisitionDate) - _day(ra.AcquisitionDate) == dt.timedelta(days=5)
    offset = KEYS.date_offset_days(f"{PLANTED['PatientID']}^{PLANTED['IssuerOfPatientID']}")
    assert _day(ra.StudyDate) - _day(STUDY_DATE) == dt.timedelta(days=offset)
    assert ra.StudyInstanceUID == rb.StudyInstanceUID
    assert ra.SOPInstanceUID != rb.SOPInstanceUID


def test_two_patients_get_different_offsets():
    a, b = dirty_ct(1), dirty_ct(1)
    b.PatientID = "MRN00000002"
    _, report_a = first_pass(a)
    _, report_b = first_pass(b)
    assert report_a.date_offset_days != report_b.date_offset_days
    assert report_a.date_offset_days < 0
    assert report_b.date_offset_days < 0


def test_references_between_files_follow_the_new_uids():
    a, b = dirty_ct(1), dirty_ct(2)
    ref = Dataset()
    ref.ReferencedSOPClassUID = CTImageStorage
    ref.ReferencedSOPInstanceUID = a.SOPInstanceUID
    b.ReferencedImageSequence = Sequence([ref])
    b.SourceImageSequence = Sequence([ref])
    ra, rb = reread(first_pass(a)[0]), reread(first_pass(b)[0])
    assert rb.ReferencedImageSequence[0].ReferencedSOPInstanceUID == ra.SOPInstanceUID
    assert rb.SourceImageSequence[0].ReferencedSOPInstanceUID == ra.SOPInstanceUID
    assert rb.ReferencedImageSequence[0].ReferencedSOPClassUID == CTImageStorage
    assert rb.FrameOfReferenceUID == ra.FrameOfReferenceUID


def test_the_second_pass_leaves_only_the_allowlist_and_counts_attributes():
    dirty = reread(to_bytes(dirty_ct(1)))
    before = count_elements(dirty)
    first = reread(first_pass(dirty_ct(1))[0])
    after_first = count_elements(first)
    report = run(first, SECOND_PASS, allowlist=SECOND_PASS_ALLOWLIST, date_offset_days=0)
    second = reread(write(first))
    after_second = count_elements(second)
    top = (len(dirty), len(reread(first_pass(dirty_ct(1))[0])), len(second))
    print(f"dirty_ct attributes, all depths: {before} -> {after_first} -> {after_second}")
    print(f"dirty_ct attributes, top level: {top[0]} -> {top[1]} -> {top[2]}")
    allowed = SECOND_PASS_ALLOWLIST | SECOND_PASS_ALWAYS_KEPT
    assert all_tags(second) <= allowed
    assert before > after_first > after_second
    assert report.counts["allowlist_removed"] > 0
    assert leaks(write(second)) == []
    # dates were shifted once: the second pass shifts by zero
    assert second.StudyDate == first.StudyDate
