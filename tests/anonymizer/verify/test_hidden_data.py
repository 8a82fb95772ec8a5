"""Data hidden where the header and text checks do not look: bytes after the pixel values,
bits above Bits Stored, RLE headers, UTF-16 text in binary values, identifier digits in
numbers and identifying words glued into code strings (issue 8's red-team findings)."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from pydicom import dcmwrite
from pydicom.dataset import FileDataset
from pydicom.encaps import encapsulate, generate_frames
from pydicom.uid import ExplicitVRBigEndian, RLELossless

from anonymizer.verify.fingerprint import printable_runs
from anonymizer.verify.verifier import Verdict
from tests.anonymizer.dirty import PLANTED, dirty_ct
from tests.anonymizer.verify import (
    assert_no_phi,
    check,
    clean_output,
    original_fingerprint,
    problems_of,
)

NAME = "ZEBRAFISH QUENTIN"


def caught(verdict: Verdict, kind: str, *words: str) -> list[str]:
    found = problems_of(verdict, kind)
    assert not verdict.ok
    assert any(all(w in line for w in words) for line in found), (kind, words, verdict.reasons())
    assert_no_phi(verdict)
    return found


def output_with_pixels(arr: np.ndarray, *, bits_stored: int, signed: bool) -> FileDataset:
    ds = clean_output()
    ds.Rows, ds.Columns = arr.shape[-2:]
    ds.BitsAllocated = arr.dtype.itemsize * 8
    ds.BitsStored, ds.HighBit = bits_stored, bits_stored - 1
    ds.PixelRepresentation = int(signed)
    if arr.ndim == 3:
        ds.NumberOfFrames = arr.shape[0]
    ds.PixelData = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
    return ds


# -- 1. bytes after the pixel values


def test_pixel_data_longer_than_the_image_is_a_problem() -> None:
    ds = clean_output()
    ds.PixelData = ds.PixelData + (NAME + " 19471103 ").encode()
    found = caught(check(ds), "hidden-data", "PixelData")
    assert any("pixel data holds 28 bytes more than the image needs" in f for f in found)


def test_pixel_data_of_an_odd_size_may_have_one_padding_byte() -> None:
    ds = output_with_pixels(np.full((3, 5), 40, np.uint8), bits_stored=8, signed=False)
    assert len(ds.PixelData) == 15
    verdict = check(ds)  # pydicom pads the value to 16 bytes when writing
    assert not problems_of(verdict, "hidden-data"), verdict.reasons()
    ds.PixelData = ds.PixelData + b"\0" + b"AB"
    caught(check(ds), "hidden-data", "3 bytes more")


def test_pixel_data_shorter_than_the_image_is_unreadable() -> None:
    ds = clean_output()
    ds.PixelData = ds.PixelData[:-64]
    caught(check(ds, residual_text=False), "unreadable", "PixelData")


def test_extra_bytes_of_a_multiframe_image_are_counted_over_every_frame() -> None:
    arr = np.full((3, 8, 8), 100, np.uint16)
    ds = output_with_pixels(arr, bits_stored=12, signed=False)
    assert not problems_of(check(ds), "hidden-data")
    ds.PixelData = ds.PixelData + b"\x01\x02" * 4
    caught(check(ds), "hidden-data", "8 bytes more")


# -- 4. bits above Bits Stored


def test_bits_set_above_bits_stored_are_a_problem() -> None:
    arr = (np.arange(64 * 64, dtype=np.uint16) % 4096).reshape(64, 64)
    assert not problems_of(
        check(output_with_pixels(arr, bits_stored=12, signed=False)), "hidden-data"
    )
    arr[10:20, 10:30] |= 0x8000  # a shape drawn in the unused top bit
    found = caught(check(output_with_pixels(arr, bits_stored=12, signed=False)), "hidden-data")
    assert any("above Bits Stored" in f and "200 pixel" in f for f in found)


def test_signed_values_outside_the_range_of_bits_stored_are_a_problem() -> None:
    arr = np.full((32, 32), -1000, np.int16)
    arr[0, 0], arr[0, 1] = -2048, 2047  # the extremes of 12 signed bits
    assert not problems_of(
        check(output_with_pixels(arr, bits_stored=12, signed=True)), "hidden-data"
    )
    arr[5, 5:9] = 3000  # sign bit clear, but bits above the high bit set
    arr[6, 5] = -3000
    found = caught(check(output_with_pixels(arr, bits_stored=12, signed=True)), "hidden-data")
    assert any("5 pixel" in f for f in found)


def test_bits_above_bits_stored_are_checked_in_big_endian_files() -> None:
    arr = np.full((16, 16), 7, np.uint16)
    arr[3, 3] = 0x1007
    ds = output_with_pixels(arr, bits_stored=12, signed=False)
    ds.file_meta.TransferSyntaxUID = ExplicitVRBigEndian
    ds.PixelData = arr.astype(">u2").tobytes()
    ds["PixelData"].VR = "OW"
    out = io.BytesIO()
    dcmwrite(out, ds, implicit_vr=False, little_endian=False, force_encoding=True)
    caught(check(out.getvalue(), residual_text=False), "hidden-data", "1 pixel")


# -- 2. RLE Lossless


def rle_output(tamper: bytes | None = None, *, tail: bytes = b"") -> FileDataset:
    ds = clean_output()
    arr = ds.pixel_array
    ds.compress(RLELossless, arr, encoding_plugin="pydicom")
    frame = next(generate_frames(ds.PixelData, number_of_frames=1))
    header = bytearray(frame[:64])
    (segments,) = struct.unpack_from("<I", header, 0)
    if tamper is not None:
        header[4 + 4 * segments : 4 + 4 * segments + len(tamper)] = tamper
    ds.PixelData = encapsulate([bytes(header) + frame[64:] + tail])
    return ds


def test_a_clean_rle_image_passes() -> None:
    verdict = check(rle_output())
    assert verdict.ok, verdict.reasons()


def test_text_in_the_unused_offsets_of_an_rle_header_is_caught() -> None:
    verdict = check(rle_output(b"ZEBRAFISH^QUENTIN 93817465"))
    caught(verdict, "hidden-data", "RLE header", "fragment 1")
    caught(verdict, "identifier", "RLE header")


def test_rle_segment_offsets_that_do_not_fit_the_fragment_are_a_problem() -> None:
    assert check(rle_output(struct.pack("<I", 0))).ok  # an unused slot that is zero
    ds = rle_output()
    frame = next(generate_frames(ds.PixelData, number_of_frames=1))
    header = bytearray(frame[:64])
    struct.pack_into("<I", header, 4, 40)  # the first segment must start at 64
    ds.PixelData = encapsulate([bytes(header) + frame[64:]])
    caught(check(ds, residual_text=False), "hidden-data", "RLE header")


# -- 3. UTF-16 text in binary values


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_printable_runs_find_utf16_text(encoding: str) -> None:
    data = b"\x00\x00\x01\x00mluc" + "Zebrafish Quentin 93817465".encode(encoding) + b"\x00\x00"
    texts = [text for _, text in printable_runs(data)]
    assert any("Zebrafish Quentin 93817465" in text for text in texts), texts


def test_printable_runs_find_utf16_text_with_accents() -> None:
    data = b"\x10\x20" + "Łukasz Wójcik".encode("utf-16-le") + b"\x00\x00"
    texts = [text for _, text in printable_runs(data)]
    assert any("Łukasz Wójcik" in text for text in texts), texts


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_a_name_in_utf16_inside_an_icc_profile_is_caught(encoding: str) -> None:
    ds = clean_output()
    ds.ICCProfile = b"\x00\x00\x01\x00mluc" + NAME.encode(encoding) + b"\x00\x00"
    caught(check(ds), "identifier", "ICCProfile")


def test_a_name_in_utf16_inside_palette_lut_data_is_caught() -> None:
    ds = clean_output()
    payload = "MRN93817465".encode("utf-16-le")
    ds.RedPaletteColorLookupTableData = payload
    caught(check(ds, residual_text=False), "identifier", "RedPaletteColorLookupTableData")


def test_utf16_in_private_binary_values_is_fingerprinted() -> None:
    ds = dirty_ct()
    ds.add_new(0x00291010, "OB", "SECRETCODENAME".encode("utf-16-le"))
    ds.add_new(0x00290010, "LO", "ACME")
    fp = original_fingerprint(ds)
    out = clean_output()
    out.ICCProfile = b"SECRETCODENAME"
    caught(check(out, fp), "identifier", "ICCProfile")


# -- 6. identifier digits in numbers, identifying words inside code strings


def test_the_digits_of_a_mixed_patient_id_in_an_integer_string_are_caught() -> None:
    assert PLANTED["PatientID"] == "MRN93817465"
    ds = clean_output()
    ds.AcquisitionNumber = 93817465
    caught(check(ds), "identifier", "AcquisitionNumber", "PatientID")


def test_the_digits_of_a_mixed_patient_id_in_a_binary_number_are_caught() -> None:
    ds = clean_output()
    ds.InStackPositionNumber = 93817465
    caught(check(ds), "identifier", "InStackPositionNumber", "PatientID")


def test_five_digits_of_a_mixed_identifier_in_a_number_are_caught() -> None:
    original = dirty_ct()
    original.StudyID = "ST48213"
    ds = clean_output()
    ds.AcquisitionNumber = 48213
    caught(check(ds, original_fingerprint(original)), "identifier", "StudyID")


def test_ordinary_numbers_and_decimals_pass() -> None:
    ds = clean_output()
    ds.AcquisitionNumber = 3
    ds.InStackPositionNumber = 12
    ds.SliceLocation = "-0.93817465"  # a fraction's digits are not the integer
    assert check(ds).ok, check(ds).reasons()


@pytest.mark.parametrize(
    ("keyword", "value"),
    [
        ("BodyPartExamined", "ZEBRAFISHQ"),
        ("ScanOptions", "QZEBRAFISHX"),
        ("ImageType", ["ORIGINAL", "PRIMARY", "AXIAL", "QUENTINZEBRAF"]),
        ("SeriesDescription", "AXIALXYLOPHONEX"),
    ],
)
def test_an_identifying_word_glued_into_a_code_string_is_caught(
    keyword: str, value: str | list[str]
) -> None:
    ds = clean_output()
    setattr(ds, keyword, value)
    caught(check(ds, residual_text=False), "identifier", keyword)


@pytest.mark.parametrize(
    ("keyword", "value"),
    [
        ("BodyPartExamined", "CHEST"),
        ("ScanOptions", "HELICAL MODE"),
        ("ImageType", ["ORIGINAL", "PRIMARY", "AXIAL", "CT_SOM5 SPI"]),
        ("SeriesDescription", "AXIAL 2.5 mm"),
        ("SequenceVariant", "SKINNY"),
    ],
)
def test_ordinary_code_strings_pass(keyword: str, value: str | list[str]) -> None:
    ds = clean_output()
    setattr(ds, keyword, value)
    verdict = check(ds)
    assert verdict.ok, verdict.reasons()


def test_a_word_glued_into_a_code_string_of_a_nested_item_is_caught() -> None:
    ds = clean_output()
    ds.DeidentificationMethodCodeSequence[0].CodeMeaning = "PROFILEMARMADUKE"
    caught(check(ds, residual_text=False), "identifier", "CodeMeaning")


def test_native_ybr_full_422_pixel_data_has_the_size_of_two_samples_per_pixel() -> None:
    ds = output_with_pixels(np.full((4, 6), 90, np.uint8), bits_stored=8, signed=False)
    ds.SamplesPerPixel, ds.PlanarConfiguration = 3, 0
    ds.PhotometricInterpretation = "YBR_FULL_422"
    ds.PixelData = bytes([90, 90, 128, 128]) * 12  # Y Y Cb Cr for each pair of pixels
    verdict = check(ds, residual_text=False)
    assert not problems_of(verdict, "hidden-data") and not problems_of(verdict, "unreadable")
    ds.PixelData = ds.PixelData + b"ABCD"
    caught(check(ds, residual_text=False), "hidden-data", "4 bytes more")
