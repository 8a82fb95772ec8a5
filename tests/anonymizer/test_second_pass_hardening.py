"""Places a name can hide that the header profile does not see, each kept as a test:
bytes after the pixels, bits above Bits Stored, unused RLE header slots, binary
attributes of the allowlist, identifier words glued into short text values."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pydicom
from pydicom.encaps import encapsulate, generate_frames
from pydicom.sequence import Sequence
from pydicom.uid import RLELossless

import anonymizer.header.bitstream as bitstream
from anonymizer.keys import Keys
from anonymizer.pipeline import FirstPassResult, PassResult, first_pass, second_pass
from tests.anonymizer.dirty import PLANTED, dirty_ct, to_bytes

KEYS = Keys(b"second-pass-hardening-secret")
SECRET = b"ZEBRAFISH^QUENTIN MRN93817465"


def _both_passes(ds: pydicom.Dataset, tmp_path: Path) -> tuple[FirstPassResult, PassResult]:
    source = tmp_path / "in.dcm"
    source.write_bytes(to_bytes(ds))
    first = first_pass(source, tmp_path / "first", keys=KEYS, ocr=False)
    assert first.output is not None, first.reasons
    assert first.fingerprint is not None and first.reidentification is not None
    second = second_pass(
        first.output, tmp_path / "pub", keys=KEYS, fingerprint=first.fingerprint,
        pseudonym=first.reidentification["pseudonym"], residual_text=False,
    )  # fmt: skip
    return first, second


def _published(second: PassResult) -> pydicom.Dataset:
    assert second.output is not None, second.reasons
    return pydicom.dcmread(second.output)


# -- native Pixel Data ---------------------------------------------------------------


def test_native_pixel_data_longer_than_the_image_is_cut_to_its_exact_length(tmp_path):
    ds = dirty_ct(1)
    expected = len(ds.PixelData)
    ds.PixelData = ds.PixelData + SECRET + b"\0" * (len(SECRET) % 2)
    _, second = _both_passes(ds, tmp_path)
    out = _published(second)
    assert len(out.PixelData) == expected
    assert b"ZEBRAFISH" not in second.output.read_bytes()


def test_bits_above_bits_stored_are_cleared_in_unsigned_native_pixels(tmp_path):
    ds = dirty_ct(1)  # 16 allocated, 12 stored, unsigned
    values = np.frombuffer(ds.PixelData, "<u2").copy()
    hidden = np.zeros_like(values)
    hidden[::7] = 1 << 15  # a pattern in the top bit, where text could be drawn
    ds.PixelData = (values | hidden).tobytes()
    _, second = _both_passes(ds, tmp_path)
    stored = np.frombuffer(_published(second).PixelData, "<u2")
    assert not np.any(stored >> 12), "bits above Bits Stored survived"
    assert np.array_equal(stored, values)


def test_bits_above_bits_stored_are_a_sign_extension_in_signed_native_pixels(tmp_path):
    ds = dirty_ct(1)
    ds.PixelRepresentation = 1
    values = (np.arange(64 * 64, dtype=np.int16) % 4096 - 2048).astype("<i2")
    raw = values.view("<u2") & 0x0FFF  # 12-bit two's complement, high bits zero...
    raw = raw | np.where(np.arange(raw.size) % 5 == 0, 0x6000, 0).astype("<u2")  # ...and junk
    ds.PixelData = raw.astype("<u2").tobytes()
    _, second = _both_passes(ds, tmp_path)
    stored = np.frombuffer(_published(second).PixelData, "<i2")
    assert np.array_equal(stored, values)  # exactly the 12-bit values, sign-extended


# -- RLE -----------------------------------------------------------------------------


def _rle_ct_with_a_secret_in_the_header() -> pydicom.Dataset:
    ds = dirty_ct(1)
    ds.BitsStored, ds.HighBit = 16, 15
    ds.compress(RLELossless, encoding_plugin="pydicom")
    frame = next(generate_frames(ds.PixelData, number_of_frames=1))
    segments = struct.unpack_from("<I", frame)[0]
    header = bytearray(frame[:64])
    header[4 + 4 * segments : 4 + 4 * segments + len(SECRET)] = SECRET
    ds.PixelData = encapsulate([bytes(header) + frame[64:]])
    return ds


def test_unused_rle_header_slots_are_zeroed(tmp_path):
    ds = _rle_ct_with_a_secret_in_the_header()
    before = ds.pixel_array.copy()
    _, second = _both_passes(ds, tmp_path)
    out = _published(second)
    assert b"ZEBRAFISH" not in second.output.read_bytes()
    frame = next(generate_frames(out.PixelData, number_of_frames=1))
    segments = struct.unpack_from("<I", frame)[0]
    assert frame[4 + 4 * segments : 64] == bytes(64 - 4 - 4 * segments)
    assert np.array_equal(out.pixel_array, before)


def test_clean_rle_frame_leaves_a_clean_header_alone():
    header = struct.pack("<16I", 1, 64, *([0] * 14))
    frame = header + b"\x00\x05"
    assert bitstream.clean_rle_frame(frame) == (frame, 0)


# -- binary attributes of the allowlist -------------------------------------------------


def test_the_icc_profile_is_not_published(tmp_path):
    ds = dirty_ct(1)
    ds.ICCProfile = b"\0\0\1\0mluc" + "ZEBRAFISH QUENTIN".encode("utf-16-be")
    _, second = _both_passes(ds, tmp_path)
    out = _published(second)
    assert "ICCProfile" not in out
    assert "ZEBRAFISH".encode("utf-16-be") not in second.output.read_bytes()


def test_lut_data_longer_than_its_descriptor_is_cut_to_the_described_entries(tmp_path):
    ds = dirty_ct(1)
    del ds.RescaleIntercept, ds.RescaleSlope
    item = pydicom.Dataset()
    item.LUTDescriptor = [4096, 0, 12]
    item.ModalityLUTType = "HU"
    lut = np.arange(4096, dtype="<u2")
    item.add_new(0x00283006, "OW", lut.tobytes() + SECRET + b"\0" * (len(SECRET) % 2))
    ds.ModalityLUTSequence = Sequence([item])
    _, second = _both_passes(ds, tmp_path)
    out = _published(second)
    assert out.ModalityLUTSequence[0]["LUTData"].value == lut.tobytes()
    assert b"ZEBRAFISH" not in second.output.read_bytes()


# -- short text values holding a word of the patient's identifiers ----------------------


def test_identifier_words_glued_into_code_strings_are_removed_and_reported(tmp_path):
    surname = PLANTED["PatientName"].split("^")[0]  # ZEBRAFISH
    ds = dirty_ct(1)
    ds.BodyPartExamined = f"{surname}Q"
    ds.ScanOptions = f"{surname}QU"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL", f"{surname}QUENT", "HELICAL"]
    ds.ConvolutionKernel = f"B{PLANTED['PatientID'][3:]}F"  # the record number's digits
    first, second = _both_passes(ds, tmp_path)
    header = pydicom.dcmread(first.output)
    assert list(header.ImageType) == ["ORIGINAL", "PRIMARY", "AXIAL", "HELICAL"]
    for keyword in ("BodyPartExamined", "ScanOptions", "ConvolutionKernel"):
        assert not header.get(keyword), keyword
    for data in (first.output.read_bytes(), second.output.read_bytes()):
        assert surname.encode() not in data
    reasons = " ".join(first.reasons)
    for keyword in ("BodyPartExamined", "ScanOptions", "ImageType", "ConvolutionKernel"):
        assert keyword in reasons
    assert surname not in reasons and PLANTED["PatientID"][3:] not in reasons


def test_ordinary_code_strings_are_kept(tmp_path):
    ds = dirty_ct(1)
    ds.ScanOptions = "HELICAL"
    first, _ = _both_passes(ds, tmp_path)
    header = pydicom.dcmread(first.output)
    assert header.BodyPartExamined == "CHEST" and header.ScanOptions == "HELICAL"
    assert list(header.ImageType) == ["ORIGINAL", "PRIMARY", "AXIAL"]
