"""Names hidden in JPEG and JPEG 2000 frames are dropped; the pixels decode the same."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.encaps import encapsulate, generate_frames
from pydicom.uid import (
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGLSLossless,
    SecondaryCaptureImageStorage,
)

from anonymizer.header.bitstream import (
    clean_encapsulated_pixel_data,
    clean_j2k_frame,
    clean_jpeg_frame,
)

from . import reread, run, write

NAME = b"ZEBRAFISH^QUENTIN"
OTHER = b"XYLOPHONEMEMORIAL"


def _image(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    arr = (np.add.outer(np.arange(64), np.arange(48)) * 2).astype(np.uint8)
    return arr + rng.integers(0, 8, arr.shape, dtype=np.uint8)


def _jpeg(arr: np.ndarray) -> bytes:
    exif = Image.Exif()
    exif[0x013B] = NAME.decode()  # Artist
    exif[0x010E] = OTHER.decode()  # ImageDescription
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "JPEG", quality=90, comment=NAME, exif=exif.tobytes())
    return buf.getvalue()


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + (len(payload) + 2).to_bytes(2, "big") + payload


def _j2k_with_comments(arr: np.ndarray) -> tuple[bytes, bytes]:
    """(a J2K codestream, the same with COM in the main and the tile-part header)."""
    import openjpeg

    clean = bytes(openjpeg.encode(arr, photometric_interpretation=2, codec_format=0))
    assert clean[:2] == b"\xff\x4f"
    siz_end = 4 + int.from_bytes(clean[4:6], "big")
    com = _segment(0x64, b"\x00\x01" + NAME)
    dirty = clean[:siz_end] + com + clean[siz_end:]
    sot = dirty.index(b"\xff\x90", siz_end)
    psot = int.from_bytes(dirty[sot + 6 : sot + 10], "big")
    tile_com = _segment(0x64, b"\x00\x01" + OTHER)
    new_psot = (psot + len(tile_com) if psot else 0).to_bytes(4, "big")
    dirty = dirty[: sot + 6] + new_psot + dirty[sot + 10 : sot + 12] + tile_com + dirty[sot + 12 :]
    return clean, dirty


def _jpeg_ls(arr: np.ndarray) -> bytes:
    import jpeg_ls

    stream = bytes(jpeg_ls.encode_array(arr))
    extra = _segment(0xFE, NAME) + _segment(0xE1, b"Exif\x00\x00" + OTHER)
    return stream[:2] + extra + stream[2:]


def _dataset(
    syntax: str, frames: list[bytes], arr: np.ndarray, *, fragments: int = 1
) -> FileDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = "1.2.826.0.1.3680043.8.498.55"
    meta.TransferSyntaxUID = syntax
    ds = FileDataset("", Dataset(), file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.8.498.55"
    ds.PatientName = NAME.decode()
    ds.Modality = "OT"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = arr.shape
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.NumberOfFrames = len(frames)
    ds.PixelData = encapsulate(frames, fragments_per_frame=fragments)
    ds["PixelData"].VR = "OB"
    return ds


def _roundtrip(ds: FileDataset) -> tuple[bytes, np.ndarray, np.ndarray, int]:
    before = reread(_to_bytes(ds))
    expected = before.pixel_array.copy()
    report = run(before)
    out = write(before)
    after = reread(out)
    return out, expected, after.pixel_array, report.counts["bitstream_segments_removed"]


def _to_bytes(ds: FileDataset) -> bytes:
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


@pytest.mark.parametrize("fragments", [1, 2])
def test_jpeg_comments_and_exif_are_dropped_and_pixels_decode_the_same(fragments):
    arrays = [_image(i) for i in range(3)]
    frames = [_jpeg(a) for a in arrays]
    assert all(NAME in f and OTHER in f for f in frames)
    ds = _dataset(JPEGBaseline8Bit, frames, arrays[0], fragments=fragments)
    out, expected, decoded, dropped = _roundtrip(ds)
    assert NAME not in out
    assert OTHER not in out
    assert NAME.lower() not in out
    assert dropped == 6  # a COM and an APP1 per frame
    np.testing.assert_array_equal(decoded, expected)
    result = reread(out)
    assert result.file_meta.TransferSyntaxUID == JPEGBaseline8Bit
    assert len(list(generate_frames(result.PixelData, number_of_frames=3))) == 3
    assert result.PixelData[:4] == b"\xfe\xff\x00\xe0"
    offsets = int.from_bytes(result.PixelData[4:8], "little")
    assert offsets == 4 * 3  # a Basic Offset Table with one offset per frame


def test_j2k_comments_in_main_and_tile_part_headers_are_dropped():
    arrays = [_image(i) for i in range(2)]
    pairs = [_j2k_with_comments(a) for a in arrays]
    for clean, dirty in pairs:
        # the encoder's own comment goes too; the planted two on top of it
        (from_clean, own), (from_dirty, count) = clean_j2k_frame(clean), clean_j2k_frame(dirty)
        assert from_dirty == from_clean
        assert count == own + 2
    ds = _dataset(JPEG2000Lossless, [dirty for _, dirty in pairs], arrays[0])
    out, expected, decoded, dropped = _roundtrip(ds)
    assert NAME not in out
    assert OTHER not in out
    assert dropped >= 4
    np.testing.assert_array_equal(decoded, expected)
    np.testing.assert_array_equal(decoded, np.stack(arrays))


def test_jpeg_ls_comments_are_dropped():
    arrays = [_image(i) for i in range(2)]
    ds = _dataset(JPEGLSLossless, [_jpeg_ls(a) for a in arrays], arrays[0])
    out, _expected, decoded, dropped = _roundtrip(ds)
    assert NAME not in out
    assert OTHER not in out
    assert dropped == 4
    np.testing.assert_array_equal(decoded, np.stack(arrays))


def test_jfif_is_kept_without_its_thumbnail_and_jfxx_is_dropped():
    thumbnail = bytes([1, 1]) + b"\x7f\x7f\x7f"
    jfif = _segment(0xE0, b"JFIF\x00\x01\x02\x00\x00\x01\x00\x01" + thumbnail)
    jfxx = _segment(0xE0, b"JFXX\x00\x10" + b"\xff\xd8" + NAME + b"\xff\xd9")
    adobe = _segment(0xEE, b"Adobe\x00\x64\x00\x00\x00\x00\x01")
    frame = b"\xff\xd8" + jfif + jfxx + adobe + _segment(0xDB, b"\x00" * 65) + b"\xff\xd9"
    cleaned, dropped = clean_jpeg_frame(frame)
    assert dropped == 2
    assert NAME not in cleaned
    assert b"JFXX" not in cleaned
    assert _segment(0xE0, b"JFIF\x00\x01\x02\x00\x00\x01\x00\x01\x00\x00") in cleaned
    assert adobe in cleaned


def test_markers_between_scans_and_bytes_after_eoi_are_dropped():
    scan = _segment(0xDA, b"\x01\x01\x00\x00\x3f\x00") + b"\x12\xff\x00\x34\xff\xd0\x56"
    frame = b"\xff\xd8" + scan + _segment(0xFE, NAME) + scan + b"\xff\xd9" + OTHER
    cleaned, dropped = clean_jpeg_frame(frame)
    assert cleaned == b"\xff\xd8" + scan + scan + b"\xff\xd9"
    assert dropped == 1


def test_frames_that_are_not_jpeg_or_j2k_are_left_alone():
    assert clean_jpeg_frame(b"not a jpeg") == (b"not a jpeg", 0)
    assert clean_j2k_frame(b"not a j2k") == (b"not a j2k", 0)
    truncated = b"\xff\xd8" + b"\xff\xfe\x00\x40" + NAME
    assert clean_jpeg_frame(truncated) == (truncated, 0)


def test_a_jp2_wrapped_frame_becomes_its_codestream():
    arr = _image(5)
    _clean, dirty = _j2k_with_comments(arr)
    xml = b"<name>" + NAME + b"</name>"
    box = (8 + len(xml)).to_bytes(4, "big") + b"xml " + xml
    jp2c = (8 + len(dirty)).to_bytes(4, "big") + b"jp2c" + dirty
    wrapped = b"\x00\x00\x00\x0cjP  \r\n\x87\n" + box + jp2c
    cleaned, dropped = clean_j2k_frame(wrapped)
    assert NAME not in cleaned
    assert OTHER not in cleaned
    assert cleaned[:2] == b"\xff\x4f"
    assert dropped >= 3


def test_native_pixel_data_is_not_touched():
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.1"
    ds.PixelData = b"\xff\xd8\xff\xfe\x00\x04AB\xff\xd9"
    assert clean_encapsulated_pixel_data(ds) == 0
    assert ds.PixelData == b"\xff\xd8\xff\xfe\x00\x04AB\xff\xd9"


@pytest.mark.parametrize(
    "name",
    [
        "SC_rgb_jpeg_app14_dcmd.dcm",
        "SC_rgb_jpeg_dcmtk.dcm",
        "SC_rgb_small_odd_jpeg.dcm",
        "JPGExtended.dcm",
        "SC_rgb_jpeg_gdcm.dcm",
        "MR_small_jpeg_ls_lossless.dcm",
        "JPEGLSNearLossless_08.dcm",
        "JPEG2000.dcm",
        "MR_small_jp2klossless.dcm",
        "GDCMJ2K_TextGBR.dcm",
        "693_J2KI.dcm",
    ],
)
def test_real_encoder_output_decodes_the_same_after_cleaning(name):
    path = get_testdata_file(name, download=False)
    if path is None:
        pytest.skip(f"{name} is not bundled with this pydicom")
    ds = dcmread(path)
    expected = ds.pixel_array.copy()
    clean_encapsulated_pixel_data(ds)
    after = dcmread(io.BytesIO(_to_bytes(ds)))
    np.testing.assert_array_equal(after.pixel_array, expected)
