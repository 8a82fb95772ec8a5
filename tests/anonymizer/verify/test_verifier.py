"""The verifier's header and byte checks: each planted leak is caught and named, without PHI."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pydicom import Dataset
from pydicom.dataset import FileDataset
from pydicom.encaps import encapsulate, generate_frames
from pydicom.sequence import Sequence
from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
)

from anonymizer.verify import fingerprint, verify
from anonymizer.verify.verifier import Verdict
from tests.anonymizer.dirty import PLANTED, PLANTED_UIDS, dirty_ct, to_bytes
from tests.anonymizer.verify import (
    KEYS,
    PSEUDONYM,
    assert_no_phi,
    check,
    clean_output,
    original_fingerprint,
    problems_of,
)


def assert_caught(verdict: Verdict, kind: str, *where: str) -> list[str]:
    found = problems_of(verdict, kind)
    assert not verdict.ok
    assert any(all(w in line for w in where) for line in found), (kind, where, verdict.reasons())
    assert_no_phi(verdict)
    return found


# -- a clean output


def test_clean_output_passes() -> None:
    verdict = check(clean_output())
    assert verdict.ok, verdict.reasons()
    assert verdict.problems == ()
    assert verdict.reasons() == []


def test_clean_output_passes_without_an_allowlist() -> None:
    assert check(clean_output(), allowlist=None).ok


def test_clean_output_passes_from_a_path(tmp_path: Path) -> None:
    path = tmp_path / "out.dcm"
    path.write_bytes(to_bytes(clean_output()))
    assert verify(path, fingerprint=original_fingerprint(), keys=KEYS, allowlist=None).ok
    assert verify(str(path), fingerprint=original_fingerprint(), keys=KEYS, allowlist=None).ok


# -- check 1: the file parses


@pytest.mark.parametrize("data", [b"", b"not a DICOM file at all", b"\0" * 128 + b"DICM\x02\x00"])
def test_a_file_that_does_not_parse_is_unreadable(data: bytes) -> None:
    verdict = check(data)
    assert not verdict.ok
    assert [p.kind for p in verdict.problems] == ["unreadable"]


def test_a_missing_path_is_unreadable(tmp_path: Path) -> None:
    verdict = verify(
        tmp_path / "gone.dcm", fingerprint=original_fingerprint(), keys=KEYS, allowlist=None
    )
    assert [p.kind for p in verdict.problems] == ["unreadable"]


# -- check 2: no private element


def test_a_private_element_is_reported_and_its_text_too() -> None:
    ds = clean_output()
    block = ds.private_block(0x0029, "ACME IMAGING 1.0", create=True)
    block.add_new(0x10, "LO", "ZEBRAFISH")
    verdict = check(ds)
    assert_caught(verdict, "private", "(0029,1010)")
    assert_caught(verdict, "identifier", "(0029,1010)", "PatientName")


def test_a_private_element_inside_a_public_sequence_is_reported() -> None:
    ds = clean_output()
    item = ds.DeidentificationMethodCodeSequence[0]
    item.add_new(0x00431010, "LO", "harmless")
    verdict = check(ds, allowlist=None)
    assert_caught(verdict, "private", "DeidentificationMethodCodeSequence[1] > (0043,1010)")


def test_private_information_in_the_file_meta_is_reported() -> None:
    ds = clean_output()
    ds.file_meta.PrivateInformationCreatorUID = UID("1.2.3.4.5")
    ds.file_meta.PrivateInformation = b"secret"
    verdict = check(ds, allowlist=None)
    assert_caught(verdict, "private", "(0002,0102)")


# -- check 3: the allowlist


def test_an_attribute_outside_the_allowlist_is_reported() -> None:
    ds = clean_output()
    ds.Manufacturer = "ACME"
    assert_caught(check(ds), "not-allowed", "(0008,0070) Manufacturer")


def test_an_attribute_outside_the_allowlist_is_reported_at_any_depth() -> None:
    ds = clean_output()
    ds.DeidentificationMethodCodeSequence[0].ContextIdentifier = "7050"
    assert_caught(check(ds), "not-allowed", "DeidentificationMethodCodeSequence[1] > (0008,010F)")


def test_a_source_ae_title_in_the_file_meta_is_reported() -> None:
    ds = clean_output()
    ds.file_meta.SourceApplicationEntityTitle = PLANTED["SourceAE"]
    verdict = check(ds)
    assert_caught(verdict, "not-allowed", "(0002,0016) SourceApplicationEntityTitle")
    assert_caught(verdict, "identifier", "SourceApplicationEntityTitle")


# -- check 4: identity removed


def test_patient_identity_removed_must_be_yes() -> None:
    ds = clean_output()
    del ds.PatientIdentityRemoved
    assert_caught(check(ds), "identity-not-removed", "PatientIdentityRemoved")
    ds.PatientIdentityRemoved = "NO"
    assert_caught(check(ds), "identity-not-removed", "PatientIdentityRemoved")


def test_the_deidentification_method_code_sequence_must_be_present() -> None:
    ds = clean_output()
    del ds.DeidentificationMethodCodeSequence
    assert_caught(check(ds), "identity-not-removed", "DeidentificationMethodCodeSequence")


# -- check 5: UIDs are new


def test_the_original_study_instance_uid_is_reported() -> None:
    ds = clean_output()
    ds.StudyInstanceUID = PLANTED_UIDS["StudyInstanceUID"]
    found = assert_caught(check(ds), "uid-not-new", "(0020,000D) StudyInstanceUID")
    assert len(found) == 1  # the byte scan does not report the same element twice


def test_an_original_uid_in_a_nested_referenced_sop_instance_uid_is_reported() -> None:
    ds = clean_output()
    ref = Dataset()
    ref.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.3.1"
    ref.ReferencedSOPInstanceUID = PLANTED_UIDS["StudyInstanceUID"] + ".7"
    ds.ReferencedStudySequence = Sequence([ref])
    assert_caught(
        check(ds, allowlist=None),
        "uid-not-new",
        "ReferencedStudySequence[1] > (0008,1155) ReferencedSOPInstanceUID",
    )


def test_an_original_uid_inside_text_is_reported() -> None:
    ds = clean_output()
    ds.SeriesDescription = "copy of " + PLANTED_UIDS["SeriesInstanceUID"]
    assert_caught(check(ds), "uid-not-new", "SeriesDescription")


def test_registry_uids_are_never_reported() -> None:
    fp = original_fingerprint()
    ds = clean_output()
    assert ds.SOPClassUID == dirty_ct().SOPClassUID  # kept, and a registry UID
    assert check(ds, fp).ok


def test_media_storage_sop_instance_uid_must_match() -> None:
    ds = clean_output()
    ds.file_meta.MediaStorageSOPInstanceUID = UID(KEYS.uid("something else"))
    buf = io.BytesIO()
    ds.save_as(buf)  # as is: enforce_file_format would rewrite the file meta
    assert_caught(check(buf.getvalue()), "uid-mismatch", "MediaStorageSOPInstanceUID")


# -- check 6: identifier tokens in values


def test_a_patient_name_word_in_series_description_is_reported() -> None:
    ds = clean_output()
    ds.SeriesDescription = "AXIAL Zebrafish 2.5"
    assert_caught(check(ds), "identifier", "(0008,103E) SeriesDescription", "PatientName")


def test_an_identifier_in_a_nested_sequence_is_reported() -> None:
    ds = clean_output()
    ds.DeidentificationMethodCodeSequence[0].CodeMeaning = "reviewed by Plumtree"
    assert_caught(
        check(ds),
        "identifier",
        "DeidentificationMethodCodeSequence[1] > (0008,0104) CodeMeaning",
        "ReferringPhysicianName",
    )


@pytest.mark.parametrize(
    ("text", "source"),
    [
        ("1947-11-03", "PatientBirthDate"),
        ("3 Nov 1947", "PatientBirthDate"),
        ("555-019-8234", "PatientTelephoneNumbers"),
        ("acc 77120938", "AccessionNumber"),
        ("Xylophone Memorial", "InstitutionName"),
        ("seen by DELPHINE", "NameOfPhysiciansReadingStudy"),
    ],
)
def test_identifiers_are_found_in_other_forms(text: str, source: str) -> None:
    ds = clean_output()
    ds.StudyDescription = text
    assert_caught(check(ds), "identifier", "StudyDescription", source)


def test_the_pseudonym_is_exempt_even_if_it_was_in_the_original() -> None:
    reimported = dirty_ct()
    reimported.PatientName = PSEUDONYM
    fp = fingerprint(reimported, KEYS)
    assert check(clean_output(), fp).ok
    assert not check(clean_output(), fp, pseudonym=None).ok


def test_a_utf8_name_kept_in_a_text_attribute_is_reported() -> None:
    source = dirty_ct()
    source.SpecificCharacterSet = "ISO_IR 192"
    source.PatientName = "Müller^Jörg"
    fp = fingerprint(source, KEYS)
    ds = clean_output()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.StudyDescription = "Knie links Jörg"
    verdict = check(ds, fp)
    assert_caught(verdict, "identifier", "StudyDescription", "PatientName")
    assert_no_phi(verdict, "Müller", "Jörg", "Muller")
    ds.StudyDescription = "MULLER knee"  # accents dropped by some system on the way
    assert_caught(check(ds, fp), "identifier", "StudyDescription", "PatientName")


@pytest.mark.parametrize("charset", [["", "ISO 2022 IR 87"], "ISO_IR 192"])
def test_a_japanese_name_kept_in_a_text_attribute_is_reported(charset: str | list[str]) -> None:
    source = dirty_ct()
    source.SpecificCharacterSet = charset
    source.PatientName = "Yamada^Tarou=山田^太郎=やまだ^たろう"
    fp = fingerprint(source, KEYS)
    ds = clean_output()
    ds.SpecificCharacterSet = charset
    ds.StudyDescription = "山田 胸部"
    verdict = check(ds, fp)
    assert_caught(verdict, "identifier", "StudyDescription", "PatientName")
    assert_no_phi(verdict, "山田", "太郎", "Yamada")


def test_a_japanese_name_hidden_in_the_preamble_is_reported() -> None:
    source = dirty_ct()
    source.SpecificCharacterSet = ["", "ISO 2022 IR 87"]
    source.PatientName = "Yamada^Tarou=山田^太郎=やまだ^たろう"
    fp = fingerprint(source, KEYS)
    ds = clean_output()
    ds.SpecificCharacterSet = ["", "ISO 2022 IR 87"]
    ds.preamble = "山田太郎".encode("iso2022_jp").ljust(128, b"\0")
    assert_caught(check(ds, fp), "identifier", "offset 0", "preamble", "PatientName")


# -- check 6: the raw bytes


def test_a_name_in_the_preamble_is_reported() -> None:
    ds = clean_output()
    ds.preamble = b"made for QUENTIN".ljust(128, b"\0")
    assert_caught(check(ds), "identifier", "file bytes at offset 0", "preamble", "PatientName")


def test_a_name_in_trailing_padding_is_reported() -> None:
    ds = clean_output()
    ds.DataSetTrailingPadding = PLANTED["PatientName"].encode() + b"\0"
    verdict = check(ds, allowlist=None)
    assert_caught(verdict, "identifier", "file bytes at offset", "(FFFC,FFFC)", "PatientName")


def test_a_name_in_a_binary_value_is_reported() -> None:
    ds = clean_output()
    ds.add_new(0x00291010, "OB", b"\x01\x02ZEBRAFISH\x00\x03")
    ds.add_new(0x00290010, "LO", "ACME")
    assert_caught(check(ds), "identifier", "file bytes at offset", "(0029,1010)", "PatientName")


def _jpeg_output(*, comment: bytes | None) -> FileDataset:
    image = Image.fromarray(np.zeros((64, 64), dtype=np.uint8))
    buf = io.BytesIO()
    if comment is None:
        image.save(buf, "JPEG", quality=95)
    else:
        image.save(buf, "JPEG", quality=95, comment=comment)
    ds = clean_output()
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelData = encapsulate([buf.getvalue()])
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    return ds


def test_a_clean_jpeg_frame_passes() -> None:
    assert check(_jpeg_output(comment=None)).ok


def test_a_name_in_a_jpeg_comment_segment_is_reported() -> None:
    verdict = check(_jpeg_output(comment=b"scan of ZEBRAFISH"))
    assert_caught(verdict, "identifier", "JPEG COM segment in fragment 1", "PatientName")


def test_a_name_after_the_end_of_a_jpeg_image_is_reported() -> None:
    ds = _jpeg_output(comment=None)
    image = Image.fromarray(np.zeros((64, 64), dtype=np.uint8))
    buf = io.BytesIO()
    image.save(buf, "JPEG")
    ds.PixelData = encapsulate([buf.getvalue() + b"QUENTIN\0"])
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    assert_caught(check(ds), "identifier", "after the JPEG image", "PatientName")


def test_a_name_in_a_jpeg2000_comment_is_reported() -> None:
    ds = clean_output()
    ds.compress(JPEG2000Lossless, encoding_plugin="pylibjpeg")
    frame = next(generate_frames(ds.PixelData, number_of_frames=1))
    assert frame[:2] == b"\xff\x4f"
    siz_length = struct.unpack(">H", frame[4:6])[0]
    cut = 4 + siz_length
    text = b"for ZEBRAFISH"
    com = b"\xff\x64" + struct.pack(">HH", 4 + len(text), 1) + text
    ds.PixelData = encapsulate([frame[:cut] + com + frame[cut:]])
    ds["PixelData"].is_undefined_length = True
    assert_caught(check(ds), "identifier", "JPEG 2000 COM segment", "PatientName")


def test_the_byte_scan_parses_implicit_vr_files() -> None:
    ds = clean_output()
    ds.add_new(0x00291010, "LO", "ZEBRAFISH")
    ds.add_new(0x00290010, "LO", "ACME")
    ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    verdict = check(buf.getvalue())
    assert_caught(verdict, "private", "(0029,1010)")
    assert_caught(verdict, "identifier", "(0029,1010)", "PatientName")


def test_the_byte_scan_inflates_deflated_files() -> None:
    ds = clean_output()
    ds.add_new(0x00291010, "OB", b"\x00QUENTIN\x00")
    ds.add_new(0x00290010, "LO", "ACME")
    ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    verdict = check(ds)
    assert_caught(verdict, "identifier", "inflated data set bytes", "PatientName")


def test_a_private_sequence_of_unknown_vr_is_walked() -> None:
    ds = clean_output()
    inner = Dataset()
    inner.PatientName = "OSWALD"
    ds.add_new(0x00290010, "LO", "ACME")
    ds.add_new(0x00291011, "SQ", Sequence([inner]))
    ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    verdict = check(buf.getvalue())
    assert_caught(verdict, "identifier", "PatientName")


def test_the_dirty_original_fails_with_every_kind_of_header_problem() -> None:
    verdict = check(dirty_ct(), pseudonym=None)
    kinds = {p.kind for p in verdict.problems}
    assert {"private", "not-allowed", "identity-not-removed", "uid-not-new", "identifier"} <= kinds
    assert_no_phi(verdict)


def test_checking_a_malformed_file_logs_and_warns_nothing(
    caplog: pytest.LogCaptureFixture, recwarn: pytest.WarningsRecorder
) -> None:
    ds = clean_output()
    ds.FrameOfReferenceUID = "1.2.3.ZEBRAFISH"  # pydicom quotes invalid UIDs when reading
    data = to_bytes(ds)
    recwarn.clear()
    caplog.clear()
    verdict = check(data)
    assert_caught(verdict, "identifier", "FrameOfReferenceUID", "PatientName")
    assert "ZEBRAFISH" not in caplog.text
    assert not [w for w in recwarn if "ZEBRAFISH" in str(w.message)]


def test_the_verifier_loads_none_of_the_engine_and_no_django() -> None:
    code = (
        "import sys, anonymizer.verify, anonymizer.verify.pixels\n"
        "bad = [m for m in sys.modules if m.startswith(('anonymizer.header', "
        "'anonymizer.pixels', 'anonymizer.profile', 'django'))]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[3])
