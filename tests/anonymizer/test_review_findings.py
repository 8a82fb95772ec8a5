"""Leaks found in review, each kept as a test (a bug fix starts with its test)."""

from __future__ import annotations

import struct
from pathlib import Path

import pydicom
from pydicom import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset

from anonymizer.keys import Keys
from anonymizer.pipeline import first_pass, second_pass
from tests.anonymizer.dirty import dirty_ct, to_bytes

KEYS = Keys(b"review-findings-secret")


def _un_element(tag: int, value: bytes) -> bytes:
    group, element = tag >> 16, tag & 0xFFFF
    return struct.pack("<HH2s2xI", group, element, b"UN", len(value)) + value


def test_names_inside_a_sequence_sent_as_un_are_cleaned_from_descriptions(tmp_path: Path):
    ds = dirty_ct(1)
    ds.StudyDescription = "CT HEAD GOBLIN"
    del ds.OtherPatientIDsSequence
    data = to_bytes(ds)
    item = Dataset()
    item.PatientName = "GOBLIN^OSWALD"
    fp = DicomBytesIO()
    fp.is_little_endian, fp.is_implicit_VR = True, True
    write_dataset(fp, item)
    body = fp.getvalue()
    value = struct.pack("<HHI", 0xFFFE, 0xE000, len(body)) + body
    at = data.index(b"\x10\x00\x10\x10")  # insert before (0010,1010) PatientAge
    source = tmp_path / "in.dcm"
    source.write_bytes(data[:at] + _un_element(0x00101002, value) + data[at:])

    first = first_pass(source, tmp_path / "first", keys=KEYS, ocr=False)
    assert first.output is not None, first.reasons
    assert b"GOBLIN" not in first.output.read_bytes()
    assert first.fingerprint is not None and first.reidentification is not None
    second = second_pass(
        first.output, tmp_path / "pub", keys=KEYS, fingerprint=first.fingerprint,
        pseudonym=first.reidentification["pseudonym"],
    )  # fmt: skip
    assert second.output is not None, second.reasons
    assert b"GOBLIN" not in second.output.read_bytes()


def test_reasons_never_quote_a_header_value(tmp_path: Path, monkeypatch):
    """Exception texts quote values (int('ZEBRAFISH^Q')): reasons name the type only."""
    import anonymizer.pipeline as pipeline

    def fails(ds, ctx):
        return int(str(ds.PatientName))

    monkeypatch.setattr(pipeline, "deidentify_header", fails)
    source = tmp_path / "in.dcm"
    source.write_bytes(to_bytes(dirty_ct(1)))
    result = first_pass(source, tmp_path / "out", keys=KEYS, ocr=False)
    assert result.status == "quarantined"
    assert result.reasons == ["could not be de-identified (ValueError while processing the file)"]


def test_every_attribute_the_verifier_treats_as_identifying_is_cleaned_by_the_engine():
    from anonymizer.header.rules import IDENTIFIER_TAGS
    from anonymizer.verify import IDENTIFYING_KEYWORDS

    missing = [
        k
        for k in IDENTIFYING_KEYWORDS
        if pydicom.datadict.tag_for_keyword(k) not in IDENTIFIER_TAGS
    ]
    assert not missing, missing


def test_bytes_after_the_end_of_a_jpeg_frame_are_not_kept(tmp_path: Path):
    import io

    import numpy as np
    from PIL import Image
    from pydicom.encaps import encapsulate
    from pydicom.uid import JPEGBaseline8Bit

    buf = io.BytesIO()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(buf, "JPEG")
    jpeg = buf.getvalue()
    length = int.from_bytes(jpeg[4:6], "big")
    jpeg = jpeg[:2] + jpeg[4 + length :]  # no APP0: nothing else to drop
    ds = dirty_ct(1)
    ds.Rows = ds.Columns = 8
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
    ds.PixelData = encapsulate([jpeg + b"TRAILER WALLABYWAY"])
    ds["PixelData"].VR = "OB"
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    source = tmp_path / "in.dcm"
    ds.save_as(source, enforce_file_format=True)
    result = first_pass(source, tmp_path / "out", keys=KEYS, ocr=False)
    assert result.output is not None, result.reasons
    assert b"WALLABYWAY" not in result.output.read_bytes()


def test_implicit_and_big_endian_inputs_come_out_as_readable_explicit_little_endian(
    tmp_path: Path,
):
    from pydicom.data import get_testdata_file

    for name in ("CT_small.dcm", "MR_small_bigendian.dcm", "MR_small_implicit.dcm"):
        source = Path(get_testdata_file(name, download=False))
        original = pydicom.dcmread(source)
        result = first_pass(source, tmp_path / name, keys=KEYS, ocr=False)
        assert result.output is not None, (name, result.reasons)
        out = pydicom.dcmread(result.output)
        assert out.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
        assert (out.pixel_array == original.pixel_array).all(), name
        assert out.Rows == original.Rows and out.SliceThickness == original.SliceThickness
