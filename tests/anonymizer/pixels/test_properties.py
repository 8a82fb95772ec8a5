"""Property: after apply_edits every box pixel is black, every other pixel is unchanged, and the
crop has the requested shape, for random images, boxes, frames and transfer syntaxes."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.uid import (
    UID,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGLSLossless,
    RLELossless,
)

from anonymizer.pixels import Blackout, Edits, Rect, apply_edits, black_value, decoded_frames

from .synthetic import encode, new_dataset, reread

# (dtype, bits stored, photometric)
KINDS = [
    ("uint8", 8, "MONOCHROME2"),
    ("uint8", 6, "MONOCHROME1"),
    ("uint16", 12, "MONOCHROME2"),
    ("uint16", 16, "MONOCHROME1"),
    ("int16", 16, "MONOCHROME2"),
    ("int16", 12, "MONOCHROME1"),
    ("uint8", 8, "RGB"),
    ("uint16", 16, "RGB"),
    ("uint8", 8, "PALETTE COLOR"),
]
SYNTAXES = [
    ExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    RLELossless,
    JPEGLSLossless,
    JPEG2000Lossless,
]


@st.composite
def rects(draw: st.DrawFn, rows: int, columns: int, *, inside: bool) -> Rect:
    x = draw(st.integers(0, columns - 1))
    y = draw(st.integers(0, rows - 1))
    extra = 0 if inside else 3  # blackouts may run past the edge and are clipped
    width = draw(st.integers(1, columns - x + extra))
    height = draw(st.integers(1, rows - y + extra))
    return Rect(x, y, width, height)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple:
    dtype, bits_stored, photometric = draw(st.sampled_from(KINDS))
    syntax: UID = draw(st.sampled_from(SYNTAXES))
    frames = draw(st.integers(1, 3))
    # J2K needs >= 32 pixels a side and JPEG-LS >= 8 to encode; smaller images are written
    # native (covered too).
    sizes = st.integers(1, 12) | st.integers(32, 44)
    rows, columns = draw(sizes), draw(sizes)
    samples = 3 if photometric == "RGB" else 1
    signed = np.iinfo(dtype).min < 0
    low = -(1 << (bits_stored - 1)) if signed else 0
    high = (1 << (bits_stored - 1)) - 1 if signed else (1 << bits_stored) - 1
    shape = (frames, rows, columns) + ((samples,) if samples > 1 else ())
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    # a smooth ramp (compressible) with some pixels anywhere in the stored range
    ramp = np.indices(shape).sum(axis=0) * draw(st.integers(1, 7))
    arr = low + ramp % (high - low + 1)
    noisy = rng.random(shape) < 0.1
    arr[noisy] = rng.integers(low, high, size=int(noisy.sum()), endpoint=True)
    arr = arr.astype(dtype)
    blackouts = []
    for _ in range(draw(st.integers(0, 3))):
        rect = draw(rects(rows, columns, inside=False))
        chosen = draw(st.none() | st.sets(st.integers(0, frames - 1), min_size=1))
        blackouts.append(Blackout(rect, None if chosen is None else tuple(chosen)))
    crop = draw(st.none() | rects(rows, columns, inside=True))
    return arr, bits_stored, photometric, syntax, Edits(tuple(blackouts), crop)


def _with_palette(ds) -> None:
    ramp = np.arange(256, dtype=np.uint16) * 257
    ds.RedPaletteColorLookupTableDescriptor = [256, 0, 16]
    ds.GreenPaletteColorLookupTableDescriptor = [256, 0, 16]
    ds.BluePaletteColorLookupTableDescriptor = [256, 0, 16]
    # darkest entry at index 200, not 0
    ds.RedPaletteColorLookupTableData = np.roll(ramp, 200).tobytes()
    ds.GreenPaletteColorLookupTableData = np.roll(ramp, 200).tobytes()
    ds.BluePaletteColorLookupTableData = np.roll(ramp, 200).tobytes()


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(scenarios())
def test_apply_edits_blacks_out_boxes_and_keeps_everything_else(scenario):
    arr, bits_stored, photometric, syntax, edits = scenario
    ds = new_dataset(arr, photometric=photometric, bits_stored=bits_stored)
    if photometric == "PALETTE COLOR":
        _with_palette(ds)
    try:
        encode(ds, arr, syntax)
    except (ValueError, RuntimeError):
        encode(ds, arr, ExplicitVRLittleEndian)  # not every syntax takes every image
    ds = reread(ds)
    np.testing.assert_array_equal(decoded_frames(ds), arr)

    black = black_value(ds)
    expected = arr.copy()
    for blackout in edits.blackouts:
        r = blackout.rect
        which = slice(None) if blackout.frames is None else list(blackout.frames)
        expected[which, r.y : r.bottom, r.x : r.right] = black
    if edits.crop is not None:
        c = edits.crop
        expected = expected[:, c.y : c.bottom, c.x : c.right]

    apply_edits(ds, edits)
    result = reread(ds)
    if not edits.is_empty:
        assert result.file_meta.TransferSyntaxUID != ExplicitVRBigEndian
    assert (int(result.Rows), int(result.Columns)) == expected.shape[1:3]
    np.testing.assert_array_equal(decoded_frames(result), expected)
