"""Decoding to arrays and the lossless write-back policy."""

import logging

import numpy as np
import pytest
from pydicom.pixels import apply_color_lut
from pydicom.uid import (
    HTJ2K,
    JPEG2000,
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
)

from anonymizer.pixels import decoded_frames, output_transfer_syntax, store_pixels

from .synthetic import bundled, encode, gradient, jpeg_baseline, new_dataset, reread


@pytest.mark.parametrize(
    ("original", "written"),
    [
        (ImplicitVRLittleEndian, ExplicitVRLittleEndian),
        (ExplicitVRLittleEndian, ExplicitVRLittleEndian),
        (ExplicitVRBigEndian, ExplicitVRLittleEndian),
        (DeflatedExplicitVRLittleEndian, ExplicitVRLittleEndian),
        (JPEGBaseline8Bit, ExplicitVRLittleEndian),
        (JPEGExtended12Bit, ExplicitVRLittleEndian),
        (UID("1.2.840.10008.1.2.4.57"), ExplicitVRLittleEndian),
        (JPEGLosslessSV1, ExplicitVRLittleEndian),
        (JPEGLSLossless, JPEGLSLossless),
        (JPEGLSNearLossless, JPEGLSLossless),
        (JPEG2000Lossless, JPEG2000Lossless),
        (JPEG2000, JPEG2000Lossless),
        (RLELossless, RLELossless),
        (HTJ2K, ExplicitVRLittleEndian),
    ],
    ids=lambda uid: uid.name if isinstance(uid, UID) else str(uid),
)
def test_edited_pixels_are_written_in_a_lossless_or_native_syntax(original, written):
    assert output_transfer_syntax(original) == written


@pytest.mark.parametrize(
    ("name", "shape"),
    [
        ("CT_small.dcm", (1, 128, 128)),
        ("SC_rgb_small_odd.dcm", (1, 3, 3, 3)),
        ("SC_rgb_rle_2frame.dcm", (2, 100, 100, 3)),
        ("rtdose.dcm", (15, 10, 10)),
        ("examples_ybr_color.dcm", (30, 240, 320, 3)),
    ],
)
def test_decoded_frames_always_has_a_frame_axis_and_is_writable(name, shape):
    arr = decoded_frames(bundled(name))
    assert arr.shape == shape
    assert arr.flags.writeable
    arr[0, 0, 0] = 0


def test_ybr_full_422_is_decoded_to_rgb_like_pydicom():
    ds = bundled("SC_ybr_full_422_uncompressed.dcm")
    expected = bundled("SC_ybr_full_422_uncompressed.dcm").pixel_array  # as_rgb=True
    np.testing.assert_array_equal(decoded_frames(ds)[0], expected)


def test_big_endian_pixels_come_back_in_native_byte_order():
    arr = decoded_frames(bundled("MR_small_bigendian.dcm"))
    assert arr.dtype.isnative
    np.testing.assert_array_equal(arr[0], bundled("MR_small.dcm").pixel_array)


def test_store_writes_rgb_with_planar_configuration_0_for_ybr_input():
    ds = bundled("SC_rgb_dcmtk_+eb+cy+np.dcm")  # JPEG Baseline, YBR_FULL_422
    arr = decoded_frames(ds)
    store_pixels(ds, arr, original_transfer_syntax=ds.file_meta.TransferSyntaxUID)
    result = reread(ds)
    assert result.PhotometricInterpretation == "RGB"
    assert result.PlanarConfiguration == 0
    assert result.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    np.testing.assert_array_equal(decoded_frames(result), arr)


def test_jpeg_2000_rgb_is_written_without_a_colour_transform():
    ds = bundled("GDCMJ2K_TextGBR.dcm")  # YBR_RCT
    arr = decoded_frames(ds)
    store_pixels(ds, arr, original_transfer_syntax=ds.file_meta.TransferSyntaxUID)
    result = reread(ds)
    assert result.file_meta.TransferSyntaxUID == JPEG2000Lossless
    assert result.PhotometricInterpretation == "RGB"
    np.testing.assert_array_equal(decoded_frames(result), arr)


def test_rle_that_cannot_hold_32_bit_samples_falls_back_to_native(caplog):
    ds = bundled("rtdose_rle.dcm")
    arr = decoded_frames(ds)
    with caplog.at_level(logging.INFO, logger="anonymizer.pixels.codecs"):
        store_pixels(ds, arr, original_transfer_syntax=RLELossless)
    assert "writing native pixels" in caplog.text
    result = reread(ds)
    assert result.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    np.testing.assert_array_equal(decoded_frames(result), arr)


def test_old_offset_tables_and_trailing_padding_are_removed():
    arr = gradient(3, 40, 40, dtype="uint8")
    ds = new_dataset(arr, photometric="MONOCHROME2")
    encode(ds, arr, JPEG2000Lossless, encapsulate_ext=True)
    ds.add_new(0xFFFCFFFC, "OB", b"secret trailing bytes!")
    assert "ExtendedOffsetTable" in ds
    store_pixels(ds, arr, original_transfer_syntax=JPEG2000Lossless)
    assert "ExtendedOffsetTable" not in ds
    assert "ExtendedOffsetTableLengths" not in ds
    assert "DataSetTrailingPadding" not in ds
    np.testing.assert_array_equal(decoded_frames(reread(ds)), arr)


def test_sop_instance_uid_is_kept_when_re_encoding():
    ds = bundled("MR_small_RLE.dcm")
    uid = ds.SOPInstanceUID
    store_pixels(ds, decoded_frames(ds), original_transfer_syntax=RLELossless)
    assert ds.SOPInstanceUID == uid
    assert ds.file_meta.MediaStorageSOPInstanceUID == uid


def test_lossy_history_is_recorded_and_never_lost():
    arr = gradient(1, 16, 16, dtype="uint8", samples=3)
    ds = new_dataset(arr, photometric="RGB")
    jpeg_baseline(ds, arr)
    del ds.LossyImageCompression
    store_pixels(ds, decoded_frames(ds), original_transfer_syntax=JPEGBaseline8Bit)
    assert ds.LossyImageCompression == "01"
    assert ds.LossyImageCompressionMethod == "ISO_10918_1"

    # a JPEG Baseline file that claims "00" is wrong; DCT is always lossy
    ds = new_dataset(arr, photometric="RGB")
    jpeg_baseline(ds, arr)
    ds.LossyImageCompression = "00"
    store_pixels(ds, decoded_frames(ds), original_transfer_syntax=JPEGBaseline8Bit)
    assert ds.LossyImageCompression == "01"

    # JPEG 2000 (.91) may hold reversibly coded data; an explicit "00" is believed
    ds = bundled("examples_jpeg2k.dcm")
    ds.LossyImageCompression = "00"
    store_pixels(ds, decoded_frames(ds), original_transfer_syntax=JPEG2000)
    assert ds.LossyImageCompression == "00"

    # lossless input adds nothing
    ds = bundled("MR_small_RLE.dcm")
    store_pixels(ds, decoded_frames(ds), original_transfer_syntax=RLELossless)
    assert "LossyImageCompression" not in ds


def test_big_endian_binary_values_are_byte_swapped_with_the_pixels():
    palette = bundled("examples_palette.dcm")
    lut = apply_color_lut(palette.pixel_array, palette)
    # Make a big-endian copy: OW values are stored in the file's byte order.
    ds = bundled("examples_palette.dcm")
    for keyword in (
        "PixelData",  # 8-bit but OW: big-endian files swap it in 16-bit words too
        "RedPaletteColorLookupTableData",
        "GreenPaletteColorLookupTableData",
        "BluePaletteColorLookupTableData",
    ):
        if ds[keyword].VR == "OW":
            ds[keyword].value = np.frombuffer(ds[keyword].value, "<u2").astype(">u2").tobytes()
    ds.walk(lambda *_: None)  # parse every element so pydicom re-encodes them big-endian
    ds.file_meta.TransferSyntaxUID = ExplicitVRBigEndian
    ds.set_original_encoding(False, False)
    ds = reread(ds)
    assert ds.file_meta.TransferSyntaxUID == ExplicitVRBigEndian

    store_pixels(ds, decoded_frames(ds), original_transfer_syntax=ExplicitVRBigEndian)
    result = reread(ds)
    assert result.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    np.testing.assert_array_equal(apply_color_lut(decoded_frames(result)[0], result), lut)


def test_one_bit_pixels_are_packed_again():
    ds = bundled("liver_1frame.dcm")
    arr = decoded_frames(ds)
    arr[0, :10, :10] = 1
    store_pixels(ds, arr, original_transfer_syntax=ExplicitVRLittleEndian)
    np.testing.assert_array_equal(decoded_frames(reread(ds)), arr)
