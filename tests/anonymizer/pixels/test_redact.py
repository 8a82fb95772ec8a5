"""Blackouts and crops: exact black boxes, untouched pixels elsewhere, no trace of the original."""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pydicom
import pytest
from pydicom.dataset import FileDataset
from pydicom.encaps import generate_frames
from pydicom.pixels.processing import apply_color_lut, convert_color_space
from pydicom.uid import (
    JPEG2000,
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
)

from anonymizer.pixels import (
    Blackout,
    Edits,
    Rect,
    apply_edits,
    black_value,
    decoded_frames,
    region_is_black,
)
from anonymizer.pixels.codecs import LOSSLESS_SYNTAXES

from .synthetic import (
    bundled,
    encode,
    gradient,
    independent_decode,
    jpeg_baseline,
    new_dataset,
    reread,
    stamp_pattern,
    to_bytes,
)

JPEGLossless = UID("1.2.840.10008.1.2.4.57")


def box_for(rows: int, columns: int) -> Rect:
    """The box every round-trip case blacks out (and where synthetic cases stamp a pattern)."""
    return Rect(columns // 4, rows // 4, max(columns // 2, 1), max(rows // 3, 1))


def synthetic(
    frames: int,
    rows: int,
    columns: int,
    *,
    dtype: str,
    photometric: str = "MONOCHROME2",
    bits_stored: int | None = None,
    samples: int = 1,
    transfer_syntax: UID = ExplicitVRLittleEndian,
    **encode_kwargs: object,
) -> Callable[[], FileDataset]:
    def make() -> FileDataset:
        arr = gradient(frames, rows, columns, dtype=dtype, bits_stored=bits_stored, samples=samples)
        box = box_for(rows, columns)
        if bits_stored is None:
            stamp_pattern(arr, box.x, box.y, box.width, box.height)
        ds = new_dataset(arr, photometric=photometric, bits_stored=bits_stored)
        encode(ds, arr, transfer_syntax, **encode_kwargs)
        return reread(ds)

    return make


def from_file(name: str, relabel: UID | None = None) -> Callable[[], FileDataset]:
    def make() -> FileDataset:
        ds = bundled(name)
        if relabel is not None:
            ds.file_meta.TransferSyntaxUID = relabel
        return ds

    return make


def jpeg(frames: int, colour: bool) -> Callable[[], FileDataset]:
    def make() -> FileDataset:
        arr = gradient(frames, 96, 128, dtype="uint8", samples=3 if colour else 1)
        ds = new_dataset(arr, photometric="RGB" if colour else "MONOCHROME2")
        jpeg_baseline(ds, arr)
        return reread(ds)

    return make


def ybr_full(transfer_syntax: UID) -> Callable[[], FileDataset]:
    def make() -> FileDataset:
        rgb = gradient(2, 30, 40, dtype="uint8", samples=3)
        ybr = convert_color_space(rgb, "RGB", "YBR_FULL")
        ds = new_dataset(ybr, photometric="YBR_FULL")
        encode(ds, ybr, transfer_syntax)
        return reread(ds)

    return make


def deflated() -> FileDataset:
    arr = gradient(2, 40, 50, dtype="uint16", bits_stored=None)
    box = box_for(40, 50)
    stamp_pattern(arr, box.x, box.y, box.width, box.height)
    ds = new_dataset(arr, photometric="MONOCHROME2")
    ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    return reread(ds)


@dataclass(frozen=True)
class Case:
    id: str
    make: Callable[[], FileDataset]
    output: UID
    lossy_input: bool = False
    stamped: bool = False


NATIVE = ExplicitVRLittleEndian
CASES = [
    # Native input: written as Explicit VR Little Endian
    Case("explicit-le-int16-2f", synthetic(2, 48, 64, dtype="int16"), NATIVE, stamped=True),
    Case(
        "explicit-le-uint16-12bit-mono1",
        synthetic(1, 30, 40, dtype="uint16", bits_stored=12, photometric="MONOCHROME1"),
        NATIVE,
    ),
    Case("implicit-le-mr", from_file("MR_small_implicit.dcm"), NATIVE),
    Case("explicit-be-mr", from_file("MR_small_bigendian.dcm"), NATIVE),
    Case("explicit-be-rgb", from_file("ExplVR_BigEnd.dcm"), NATIVE),
    Case(
        "explicit-be-int16-3f",
        synthetic(3, 20, 30, dtype="int16", transfer_syntax=ExplicitVRBigEndian),
        NATIVE,
        stamped=True,
    ),
    Case("deflated-synthetic", deflated, NATIVE, stamped=True),
    Case("deflated-bundled", from_file("image_dfl.dcm"), NATIVE),
    Case("ybr-full-422-native", from_file("SC_ybr_full_422_uncompressed.dcm"), NATIVE),
    Case("ybr-full-native", ybr_full(ExplicitVRLittleEndian), NATIVE),
    Case("odd-length-uint8", synthetic(1, 5, 5, dtype="uint8"), NATIVE, stamped=False),
    Case("palette-colour", from_file("examples_palette.dcm"), NATIVE),
    Case("one-bit-seg", from_file("liver_1frame.dcm"), NATIVE),
    # RLE Lossless stays RLE (or native when RLE cannot hold it)
    Case(
        "rle-rgb8-4f",
        synthetic(
            4, 32, 48, dtype="uint8", photometric="RGB", samples=3, transfer_syntax=RLELossless
        ),
        RLELossless,
        stamped=True,
    ),
    Case(
        "rle-int16",
        synthetic(1, 40, 40, dtype="int16", transfer_syntax=RLELossless),
        RLELossless,
        stamped=True,
    ),
    Case("rle-mr", from_file("MR_small_RLE.dcm"), RLELossless),
    Case("rle-ybr-full", ybr_full(RLELossless), RLELossless),
    Case("rle-rgb16-2f", from_file("SC_rgb_rle_16bit_2frame.dcm"), RLELossless),
    Case("rle-32bit-falls-back-to-native", from_file("rtdose_rle.dcm"), NATIVE),
    # JPEG-LS (any) becomes JPEG-LS Lossless
    Case(
        "jpegls-lossless-int16-3f",
        synthetic(3, 40, 48, dtype="int16", transfer_syntax=JPEGLSLossless),
        JPEGLSLossless,
        stamped=True,
    ),
    Case("jpegls-lossless-mr", from_file("MR_small_jpeg_ls_lossless.dcm"), JPEGLSLossless),
    Case(
        "jpegls-near-rgb8",
        synthetic(
            1,
            40,
            48,
            dtype="uint8",
            photometric="RGB",
            samples=3,
            transfer_syntax=JPEGLSNearLossless,
            jls_error=2,
        ),
        JPEGLSLossless,
        lossy_input=True,
    ),
    Case("jpegls-near-16", from_file("JPEGLSNearLossless_16.dcm"), JPEGLSLossless, True),
    Case("jpegls-near-rgb", from_file("SC_rgb_jls_lossy_line.dcm"), JPEGLSLossless, True),
    # JPEG 2000 (any) becomes JPEG 2000 Lossless
    Case(
        "j2k-lossless-uint16-12bit",
        synthetic(2, 40, 48, dtype="uint16", bits_stored=12, transfer_syntax=JPEG2000Lossless),
        JPEG2000Lossless,
    ),
    Case("j2k-lossless-mr", from_file("MR_small_jp2klossless.dcm"), JPEG2000Lossless),
    Case("j2k-lossless-ybr-rct", from_file("GDCMJ2K_TextGBR.dcm"), JPEG2000Lossless),
    Case(
        "j2k-lossy-uint8",
        synthetic(1, 64, 64, dtype="uint8", transfer_syntax=JPEG2000, j2k_cr=[20]),
        JPEG2000Lossless,
        lossy_input=True,
    ),
    Case("j2k-lossy-nm-int16", from_file("JPEG2000.dcm"), JPEG2000Lossless, True),
    Case("j2k-lossy-rgb", from_file("SC_rgb_gdcm_KY.dcm"), JPEG2000Lossless, True),
    # JPEG (no encoder in pydicom) becomes native
    Case("jpeg-baseline-rgb-3f", jpeg(3, colour=True), NATIVE, lossy_input=True),
    Case("jpeg-baseline-grey", jpeg(1, colour=False), NATIVE, lossy_input=True),
    Case("jpeg-baseline-ybr-full", from_file("SC_rgb_jpeg_dcmtk.dcm"), NATIVE, True),
    Case("jpeg-baseline-us-30f", from_file("examples_ybr_color.dcm"), NATIVE, True),
    Case("jpeg-extended-12bit", from_file("JPGExtended.dcm"), NATIVE, True),
    Case("jpeg-lossless-sv1", from_file("SC_rgb_jpeg_gdcm.dcm"), NATIVE),
    Case("jpeg-lossless-p14", from_file("SC_rgb_jpeg_gdcm.dcm", relabel=JPEGLossless), NATIVE),
]


def _fragments(ds: FileDataset) -> list[bytes]:
    if not ds.file_meta.TransferSyntaxUID.is_encapsulated:
        return []
    frames = int(ds.get("NumberOfFrames") or 1)
    return [bytes(f) for f in generate_frames(ds.PixelData, number_of_frames=frames)]


def _expected(before: np.ndarray, rect: Rect, black: int, frames: object = None) -> np.ndarray:
    expected = before.copy()
    which = slice(None) if frames is None else list(frames)  # type: ignore[call-overload]
    expected[which, rect.y : rect.bottom, rect.x : rect.right] = black
    return expected


def _row_patterns(row: np.ndarray) -> list[bytes]:
    """How a row of pixels can appear in a file: as little- or big-endian values, or as the
    byte planes RLE Lossless stores (PS3.5 G.2)."""
    values = np.ascontiguousarray(row).reshape(row.shape[0], -1)  # (pixels, samples)
    le = values.astype(values.dtype.newbyteorder("<"))
    patterns = [le.tobytes(), le.byteswap().tobytes()]
    planes = le.view(np.uint8).reshape(values.shape[0], values.shape[1], -1)
    for sample in range(planes.shape[1]):
        for byte in range(planes.shape[2]):
            patterns.append(planes[:, sample, byte].tobytes())
    return [p for p in patterns if len(p) >= 8]


def _distinctive_piece(fragment: bytes, size: int = 32) -> bytes:
    """The run of ``size`` bytes of the fragment with the most different byte values."""
    starts = range(0, max(len(fragment) - size, 0) + 1, 7)
    start = max(starts, key=lambda i: len(set(fragment[i : i + size])))
    piece = fragment[start : start + size]
    assert len(set(piece)) >= 16, "no distinctive piece in this fragment"
    return piece


def _pixel_data_is_exactly_sized(ds: FileDataset) -> bool:
    frames = int(ds.get("NumberOfFrames") or 1)
    if ds.file_meta.TransferSyntaxUID.is_encapsulated:
        return len(_fragments(ds)) == frames
    bits = frames * int(ds.Rows) * int(ds.Columns) * int(ds.SamplesPerPixel)
    bits *= int(ds.BitsAllocated)
    length = (bits + 7) // 8
    return len(ds.PixelData) == length + length % 2


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_blackout_survives_a_round_trip_through_the_file(case: Case):
    ds = case.make()
    fragments = _fragments(ds)
    sop_instance_uid = ds.SOPInstanceUID
    before = decoded_frames(ds)
    rows, columns = before.shape[1:3]
    rect = box_for(rows, columns)
    patterns = _row_patterns(before[0, rect.y, rect.x : rect.right])
    if case.stamped and ds.file_meta.TransferSyntaxUID in (
        NATIVE,
        ExplicitVRBigEndian,
        RLELossless,
    ):
        # the distinctive pattern really is in the original file
        original = to_bytes(ds)
        assert any(p in original for p in patterns)

    apply_edits(ds, Edits((Blackout(rect),)))
    out = to_bytes(ds)
    result = pydicom.dcmread(pydicom.filebase.DicomBytesIO(out))

    assert result.file_meta.TransferSyntaxUID == case.output
    assert result.file_meta.TransferSyntaxUID in LOSSLESS_SYNTAXES
    assert result.SOPInstanceUID == sop_instance_uid
    assert _pixel_data_is_exactly_sized(result)
    assert "DataSetTrailingPadding" not in result
    black = black_value(result, "RGB" if before.ndim == 4 else None)
    expected = _expected(before, rect, black)
    # pydicom decodes exactly the edit: box black, everything else as decoded before
    np.testing.assert_array_equal(decoded_frames(result), expected)
    assert region_is_black(result, rect, None)
    if (
        result.file_meta.TransferSyntaxUID
        in (
            NATIVE,
            RLELossless,
            JPEGLSLossless,
            JPEG2000Lossless,
        )
        and int(result.BitsAllocated) > 1
    ):
        # ... and so does a decoder that is not pydicom's
        np.testing.assert_array_equal(independent_decode(result), expected)
    for fragment in fragments:  # no frame of the original survives (every frame was edited)
        assert fragment not in out
        if result.file_meta.TransferSyntaxUID != case.make().file_meta.TransferSyntaxUID:
            # re-encoded in another syntax: not even a distinctive piece survives
            assert _distinctive_piece(fragment) not in out
    if case.stamped:
        assert not any(p in out for p in patterns)
    if case.lossy_input:
        assert result.LossyImageCompression == "01"


def cine_rgb(transfer_syntax: UID = ExplicitVRLittleEndian) -> FileDataset:
    arr = gradient(10, 24, 32, dtype="uint8", samples=3, seed=1)
    ds = new_dataset(arr, photometric="RGB", modality="US")
    encode(ds, arr, transfer_syntax)
    return reread(ds)


def signed_multiframe(transfer_syntax: UID = ExplicitVRLittleEndian) -> FileDataset:
    arr = gradient(6, 20, 24, dtype="int16", bits_stored=12, seed=2)
    ds = new_dataset(arr, photometric="MONOCHROME2", bits_stored=12, modality="CT")
    ds.RescaleIntercept, ds.RescaleSlope = -1024, 1
    encode(ds, arr, transfer_syntax)
    return reread(ds)


@pytest.mark.parametrize("frames", [(3,), (1, 4, 7), (0, 9), None], ids=str)
@pytest.mark.parametrize("transfer_syntax", [ExplicitVRLittleEndian, RLELossless], ids=str)
def test_blackout_applies_to_exactly_the_chosen_frames_of_an_rgb_cine(frames, transfer_syntax):
    ds = cine_rgb(transfer_syntax)
    before = decoded_frames(ds)
    rect = Rect(5, 3, 10, 6)
    apply_edits(ds, Edits((Blackout(rect, frames),)))
    result = reread(ds)
    assert int(result.NumberOfFrames) == 10
    np.testing.assert_array_equal(decoded_frames(result), _expected(before, rect, 0, frames))
    assert region_is_black(result, rect, frames)
    untouched = [f for f in range(10) if frames is not None and f not in frames]
    if untouched:
        assert not region_is_black(result, rect, (untouched[0],))


@pytest.mark.parametrize("frames", [(2,), (0, 5), None], ids=str)
@pytest.mark.parametrize("transfer_syntax", [RLELossless, JPEGLSLossless], ids=str)
def test_blackout_on_signed_12_bit_multiframe_uses_the_images_lowest_value(frames, transfer_syntax):
    ds = signed_multiframe(transfer_syntax)
    before = decoded_frames(ds)
    black = int(before.min())  # over all frames, not only the boxed ones
    rect = Rect(0, 0, 24, 4)
    apply_edits(ds, Edits((Blackout(rect, frames),)))
    result = reread(ds)
    assert result.file_meta.TransferSyntaxUID == transfer_syntax
    np.testing.assert_array_equal(decoded_frames(result), _expected(before, rect, black, frames))
    np.testing.assert_array_equal(
        independent_decode(result), _expected(before, rect, black, frames)
    )


def _image(
    values: tuple[int, int], *, dtype: str, bits_stored: int, photometric: str, frames: int = 1
) -> np.ndarray:
    """Frames whose values span exactly ``values`` (low, high), well inside the type's range;
    the lowest value is on the last frame only, the highest on the second (outside boxes)."""
    low, high = values
    shape = (frames, 12, 16) + ((3,) if photometric == "RGB" else ())
    rng = np.random.default_rng(5)
    arr = rng.integers(low + 1, high, size=shape, endpoint=False).astype(dtype)
    arr[-1, 5, 7] = low
    arr[min(1, frames - 1), 6, 12] = high
    return arr


# (dtype, bits stored, photometric, rescale slope, intercept, value range, expected black)
BLACK_CASES = {
    "signed-ct": ("int16", 16, "MONOCHROME2", 1, -1024, (-1024, 2400), -1024),
    "signed-ct-padding": ("int16", 16, "MONOCHROME2", 1, -1024, (-2000, 2400), -2000),
    "signed-12-bit": ("int16", 12, "MONOCHROME2", 1, 0, (-900, 1500), -900),
    "unsigned-12-bit": ("uint16", 12, "MONOCHROME2", 1, 0, (100, 3000), 100),
    "unsigned-8-bit": ("uint8", 8, "MONOCHROME2", 1, 0, (16, 235), 16),
    "monochrome1": ("uint16", 12, "MONOCHROME1", 1, 0, (100, 3000), 3000),
    "monochrome1-signed": ("int16", 16, "MONOCHROME1", 1, 0, (-500, 800), 800),
    "negative-slope": ("uint16", 16, "MONOCHROME2", -1, 0, (100, 3000), 3000),
    "rgb": ("uint8", 8, "RGB", 1, 0, (40, 200), 0),
}


@pytest.mark.parametrize("frames", [1, 4], ids=["single", "multiframe"])
@pytest.mark.parametrize("case", BLACK_CASES, ids=str)
def test_black_value_is_the_images_lowest_value_or_highest_for_monochrome1(case, frames):
    """Not the type's minimum: -32768 on a CT stretches the range and washes the image out."""
    dtype, bits, photometric, slope, intercept, values, black = BLACK_CASES[case]
    arr = _image(values, dtype=dtype, bits_stored=bits, photometric=photometric, frames=frames)
    ds = reread(new_dataset(arr, photometric=photometric, bits_stored=bits))
    if photometric != "RGB":
        ds.RescaleSlope, ds.RescaleIntercept = slope, intercept
    assert black_value(ds) == black
    assert black_value(ds, arr=decoded_frames(ds)) == black


@pytest.mark.parametrize("case", BLACK_CASES, ids=str)
def test_boxes_get_the_black_value_and_the_verifier_finds_them_black(case):
    """A box on the first frame only gets the lowest value of all frames (it lies on the
    last): the verifier's check, that a box equals its frame's minimum, agrees."""
    from anonymizer.keys import Keys
    from anonymizer.verify import fingerprint, verify

    dtype, bits, photometric, slope, intercept, values, black = BLACK_CASES[case]
    arr = _image(values, dtype=dtype, bits_stored=bits, photometric=photometric, frames=3)
    ds = reread(new_dataset(arr, photometric=photometric, bits_stored=bits))
    if photometric != "RGB":
        ds.RescaleSlope, ds.RescaleIntercept = slope, intercept
        vr = "SS" if dtype.startswith("int") else "US"
        ds.add_new(0x00280106, vr, values[0])  # Smallest Image Pixel Value
        ds.add_new(0x00280107, vr, values[1])  # Largest Image Pixel Value
    keys = Keys(b"black-value-test-secret-0123456789")
    original_fingerprint = fingerprint(ds, keys)
    edits = Edits((Blackout(Rect(2, 1, 8, 4), (0,)), Blackout(Rect(0, 8, 16, 4))))
    apply_edits(ds, edits)
    result = reread(ds)
    out = decoded_frames(result)
    assert np.all(out[0, 1:5, 2:10] == black)
    assert np.all(out[:, 8:12, :] == black)
    np.testing.assert_array_equal(out[1:, 1:5, 2:10], arr[1:, 1:5, 2:10])  # other frames kept
    if photometric != "RGB":  # the displayed range is the image's own, not the type's
        assert (result.SmallestImagePixelValue, result.LargestImagePixelValue) == values
    verdict = verify(
        to_bytes(result), fingerprint=original_fingerprint, keys=keys, allowlist=None, edits=edits
    )
    assert not [p for p in verdict.problems if p.kind == "pixels-not-black"], verdict.reasons()


def test_palette_colour_box_uses_the_darkest_palette_entry():
    ds = bundled("examples_palette.dcm")
    black = black_value(ds)
    lut = apply_color_lut(np.arange(256, dtype=np.uint8), ds).astype(float)
    luminance = lut @ np.array([0.299, 0.587, 0.114])
    assert luminance[black] == luminance.min()
    rect = Rect(100, 50, 200, 100)
    apply_edits(ds, Edits((Blackout(rect),)))
    result = reread(ds)
    assert result.PhotometricInterpretation == "PALETTE COLOR"
    shown = apply_color_lut(decoded_frames(result)[0], result)
    assert np.all(shown[50:150, 100:300] == lut[black].astype(shown.dtype))


def test_blackouts_use_original_coordinates_and_the_crop_comes_after():
    ds = cine_rgb()
    before = decoded_frames(ds)
    blackout = Rect(0, 0, 12, 5)  # partly outside the crop
    crop = Rect(8, 2, 20, 18)
    apply_edits(ds, Edits((Blackout(blackout, (4,)),), crop=crop))
    result = reread(ds)
    assert (result.Rows, result.Columns) == (18, 20)
    expected = _expected(before, blackout, 0, (4,))[:, 2:20, 8:28]
    np.testing.assert_array_equal(decoded_frames(result), expected)
    # in the cropped image the remaining part of the box is at the origin
    assert region_is_black(result, Rect(0, 0, 4, 3), (4,))


def test_crop_alone_re_encodes_without_changing_kept_pixels():
    ds = signed_multiframe(JPEGLSLossless)
    before = decoded_frames(ds)
    apply_edits(ds, Edits(crop=Rect(2, 3, 10, 7)))
    result = reread(ds)
    assert result.file_meta.TransferSyntaxUID == JPEGLSLossless
    np.testing.assert_array_equal(decoded_frames(result), before[:, 3:10, 2:12])


def test_blackout_rectangle_past_the_edge_is_clipped():
    ds = cine_rgb()
    apply_edits(ds, Edits((Blackout(Rect(30, 20, 100, 100)),)))
    assert np.all(decoded_frames(reread(ds))[:, 20:, 30:] == 0)


@pytest.mark.parametrize(
    ("edits", "message"),
    [
        (
            Edits(crop=Rect(10, 10, 600, 600)),
            "crop rectangle 10,10 600x600 lies outside the 32x24 image",
        ),
        (
            Edits((Blackout(Rect(32, 0, 5, 5)),)),
            "blackout rectangle 32,0 5x5 lies outside the 32x24 image",
        ),
        (Edits((Blackout(Rect(0, 0, 5, 5), (10,)),)), "names frame 10, but the image has 10 frame"),
    ],
)
def test_edits_that_do_not_fit_the_image_are_refused(edits, message):
    ds = cine_rgb()
    original = to_bytes(ds)
    with pytest.raises(ValueError, match=message):
        apply_edits(ds, edits)
    assert to_bytes(ds) == original  # nothing was changed


def test_empty_edits_do_not_decode_or_change_anything():
    ds = cine_rgb()
    ds.PixelData = b"\x00" * 10  # would fail to decode
    original = to_bytes(ds)
    apply_edits(ds, Edits())
    assert to_bytes(ds) == original


def test_burned_in_annotation_is_left_for_the_caller():
    ds = cine_rgb()
    ds.BurnedInAnnotation = "YES"
    apply_edits(ds, Edits((Blackout(Rect(0, 0, 3, 3)),)))
    assert ds.BurnedInAnnotation == "YES"


def test_region_is_black_detects_a_box_that_is_not_black():
    ds = cine_rgb()
    assert not region_is_black(ds, Rect(0, 0, 5, 5), None)
    with pytest.raises(ValueError, match="lies outside"):
        region_is_black(ds, Rect(40, 0, 5, 5), None)


@pytest.mark.parametrize(
    "name", ["MR_small.dcm", "MR_small_implicit.dcm", "MR_small_bigendian.dcm"]
)
def test_smallest_and_largest_pixel_values_describe_the_edited_image(name):
    ds = bundled(name)
    assert (ds.SmallestImagePixelValue, ds.LargestImagePixelValue) == (0, 4000)
    black = int(decoded_frames(ds).min())  # the image's lowest value, maybe cropped away
    apply_edits(ds, Edits((Blackout(Rect(0, 0, 64, 10)),), crop=Rect(0, 0, 64, 32)))
    result = reread(ds)
    arr = decoded_frames(result)
    assert result.SmallestImagePixelValue == arr.min() == black
    assert result.LargestImagePixelValue == arr.max()


def test_output_blackouts_are_in_the_cropped_image_coordinates():
    edits = Edits(
        (
            Blackout(Rect(0, 0, 12, 5), (4,)),  # partly inside the crop
            Blackout(Rect(30, 30, 5, 5)),  # wholly outside
            Blackout(Rect(10, 4, 2, 2)),  # wholly inside
        ),
        crop=Rect(8, 2, 20, 18),
    )
    assert edits.output_blackouts() == (
        Blackout(Rect(0, 0, 4, 3), (4,)),
        Blackout(Rect(2, 2, 2, 2)),
    )
    assert Edits((Blackout(Rect(1, 1, 1, 1)),)).output_blackouts() == (Blackout(Rect(1, 1, 1, 1)),)


def test_bits_above_bits_stored_are_cleared_so_old_overlay_bits_do_not_survive():
    arr = gradient(1, 16, 16, dtype="uint16", bits_stored=12)
    ds = new_dataset(arr, photometric="MONOCHROME2", bits_stored=12)
    raw = arr.copy()
    raw[0, 8:, :] |= 0x8000  # an overlay plane kept in bit 15 (retired PS3.5 8.1.2 usage)
    ds.PixelData = raw.tobytes()
    ds = reread(ds)
    apply_edits(ds, Edits((Blackout(Rect(0, 0, 2, 2)),)))
    stored = np.frombuffer(reread(ds).PixelData, dtype="<u2")
    assert not np.any(stored & 0xF000)
