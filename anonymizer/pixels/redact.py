"""Black out rectangles and crop Pixel Data, in place (PS3.15 E.1-1, Clean Pixel Data Option).

Black-value policy (the stored value written into every box):

* RGB (including images stored as YBR_*, which are decoded to RGB and written back as RGB):
  0 in every sample.
* MONOCHROME2: the image's own lowest stored value, over all frames (air on a CT, about
  -1024 HU; 0 on most ultrasound). Through any Modality LUT with a positive Rescale Slope
  and any window it displays as dark as the darkest pixel of the image, so the box shows
  black, and it does not stretch the image's range: the type's minimum (-32768 on a signed
  CT) would, and viewers that window from the pixel range would show a washed-out image.
  The verifier checks exactly this: a box equals its frame's minimum
  (``anonymizer.verify.pixels``).
* MONOCHROME1: the image's highest stored value over all frames, which MONOCHROME1
  displays darkest.
* A negative Rescale Slope swaps the two, since it reverses the grey scale.
* PALETTE COLOR: the index whose palette entry is darkest (lowest luminance, first on ties);
  the image stays palette colour. With a palette that holds no pure black the box shows the
  darkest colour the palette has; either way the original values are gone.

VOI LUT sequences and Presentation LUT Shape are not consulted: a constant box cannot hide
anything whatever it displays as.
"""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset
from pydicom.pixels.decoders.base import get_decoder
from pydicom.pixels.processing import apply_color_lut
from pydicom.uid import UID

from anonymizer.pixels.codecs import _decode, _transfer_syntax, store_pixels
from anonymizer.pixels.geometry import apply_crop_geometry
from anonymizer.pixels.regions import Edits, EditsDoNotFit, Rect

__all__ = ["apply_edits", "black_value", "region_is_black"]


def _stored_range(ds: Dataset) -> tuple[int, int]:
    bits_stored = int(ds.get("BitsStored") or ds.BitsAllocated)
    if int(ds.get("PixelRepresentation", 0)) == 1:
        return -(1 << (bits_stored - 1)), (1 << (bits_stored - 1)) - 1
    return 0, (1 << bits_stored) - 1


def black_value(
    ds: Dataset, photometric: str | None = None, *, arr: np.ndarray | None = None
) -> int:
    """The stored value that displays as black (see the module docstring).

    ``photometric`` is the interpretation of the *decoded* array (RGB for YBR_* images);
    it defaults to the data set's. ``arr`` holds every decoded frame, before any box is
    drawn; without it the pixel data is decoded here, one frame at a time.
    """
    interpretation = photometric or str(ds.PhotometricInterpretation)
    if interpretation == "RGB" or interpretation.startswith("YBR"):
        return 0
    if interpretation == "PALETTE COLOR":
        return _darkest_palette_index(ds, *_stored_range(ds))
    if interpretation not in ("MONOCHROME1", "MONOCHROME2"):
        raise NotImplementedError(f"no black value for {interpretation}")
    invert = interpretation == "MONOCHROME1"
    if float(ds.get("RescaleSlope", 1) or 1) < 0:
        invert = not invert
    lowest, highest = _value_range(ds) if arr is None else (int(arr.min()), int(arr.max()))
    return highest if invert else lowest


def _value_range(ds: Dataset) -> tuple[int, int]:
    """The lowest and highest stored value over every frame of ``ds``."""
    lowest: int | None = None
    highest: int | None = None
    for frame, _props in get_decoder(_transfer_syntax(ds)).iter_array(ds):
        low, high = int(frame.min()), int(frame.max())
        lowest = low if lowest is None else min(lowest, low)
        highest = high if highest is None else max(highest, high)
    if lowest is None or highest is None:
        raise ValueError("the image has no frames")
    return lowest, highest


def _darkest_palette_index(ds: Dataset, lowest: int, highest: int) -> int:
    lowest, highest = max(lowest, 0), min(highest, 0xFFFF)
    indices = np.arange(lowest, highest + 1, dtype=np.uint16 if highest > 0xFF else np.uint8)
    rgb = apply_color_lut(indices, ds)[..., :3].astype(np.float64)
    luminance = rgb @ np.array([0.299, 0.587, 0.114])
    return lowest + int(np.argmin(luminance))


def _validate(ds: Dataset, edits: Edits) -> list[tuple[Rect, list[int] | None]]:
    rows, columns = int(ds.Rows), int(ds.Columns)
    number_of_frames = int(ds.get("NumberOfFrames") or 1)
    boxes: list[tuple[Rect, list[int] | None]] = []
    for blackout in edits.blackouts:
        rect = blackout.rect.clip(columns, rows)
        if rect is None:
            raise EditsDoNotFit(
                f"blackout rectangle {blackout.rect} lies outside the {columns}x{rows} image"
            )
        if blackout.frames is not None and blackout.frames[-1] >= number_of_frames:
            raise EditsDoNotFit(
                f"blackout rectangle {blackout.rect} names frame {blackout.frames[-1]}, but the "
                f"image has {number_of_frames} frame(s), numbered from 0"
            )
        boxes.append((rect, None if blackout.frames is None else list(blackout.frames)))
    if edits.crop is not None and not edits.crop.fits(columns, rows):
        raise EditsDoNotFit(f"crop rectangle {edits.crop} lies outside the {columns}x{rows} image")
    return boxes


def apply_edits(ds: Dataset, edits: Edits) -> None:
    """Black out, then crop, then fix the geometry, then store the pixels; all in place.

    Blackout rectangles are in the original image's coordinates and are clipped to it (one
    wholly outside is an error); a crop must lie inside the image. Empty ``edits`` leave ``ds``
    untouched (nothing is decoded). Burned In Annotation is left for the caller to set after
    verification. Raises ValueError for rectangles or frames that do not fit.
    """
    if edits.is_empty:
        return
    boxes = _validate(ds, edits)
    original_transfer_syntax = _transfer_syntax(ds)
    native = _native_frames(ds, original_transfer_syntax)
    arr, photometric = native if native is not None else _decode(ds)
    black = black_value(ds, photometric, arr=arr)
    for rect, frames in boxes:
        which: slice | list[int] = slice(None) if frames is None else frames
        arr[which, rect.y : rect.bottom, rect.x : rect.right] = black
    if edits.crop is not None:
        crop = edits.crop
        arr = arr[:, crop.y : crop.bottom, crop.x : crop.right]
        apply_crop_geometry(ds, crop)
    _update_pixel_value_range(ds, arr)
    store_pixels(ds, arr, original_transfer_syntax=original_transfer_syntax)


_NATIVE_PHOTOMETRICS = frozenset({"MONOCHROME1", "MONOCHROME2", "RGB", "PALETTE COLOR"})


def _native_frames(ds: Dataset, tsyntax: UID) -> tuple[np.ndarray, str] | None:
    """Uncompressed little-endian pixels as a writable array over one copy of their bytes.

    No decoder round trip: the only copy is the writable buffer, and the original value
    is released at once, so a 144 MB cine costs about one extra copy, not three.
    None when the layout needs a real decoder (big endian, 1-bit, planar, YBR).
    """
    photometric = str(ds.get("PhotometricInterpretation", ""))
    bits = int(ds.get("BitsAllocated", 0))
    samples = int(ds.get("SamplesPerPixel", 1))
    if (
        tsyntax.is_compressed
        or not tsyntax.is_little_endian
        or bits not in (8, 16, 32)
        or photometric not in _NATIVE_PHOTOMETRICS
        or (samples > 1 and int(ds.get("PlanarConfiguration", 0)) != 0)
    ):
        return None
    frames, rows, columns = int(ds.get("NumberOfFrames") or 1), int(ds.Rows), int(ds.Columns)
    signed = int(ds.get("PixelRepresentation", 0)) == 1
    dtype = np.dtype(f"<{'i' if signed else 'u'}{bits // 8}")
    shape = (frames, rows, columns) + ((samples,) if samples > 1 else ())
    size = int(np.prod(shape)) * dtype.itemsize
    value = ds.PixelData
    if len(value) < size:
        raise ValueError(f"Pixel Data holds {len(value)} bytes, {size} expected")
    buffer = bytearray(memoryview(value)[:size])
    del ds.PixelData, value  # the original bytes are not kept alongside the copy
    arr = np.frombuffer(buffer, dtype=dtype).reshape(shape)
    unused = bits - int(ds.get("BitsStored") or bits)
    if unused > 0:  # clear the bits above Bits Stored (old overlay planes), as decoders do
        np.left_shift(arr, unused, out=arr)
        np.right_shift(arr, unused, out=arr)  # arithmetic for signed: sign-extends
    return arr, photometric


def _update_pixel_value_range(ds: Dataset, arr: np.ndarray) -> None:
    """Keep Smallest/Largest Image Pixel Value (PS3.3 C.7.6.3) true for the edited pixels, and
    widen the series range to include them; viewers use these to scale the display."""
    if arr.ndim != 3 or arr.size == 0:
        return
    low, high = int(arr.min()), int(arr.max())
    if "SmallestImagePixelValue" in ds:
        ds.SmallestImagePixelValue = low
    if "LargestImagePixelValue" in ds:
        ds.LargestImagePixelValue = high
    if "SmallestPixelValueInSeries" in ds:
        ds.SmallestPixelValueInSeries = min(int(ds.SmallestPixelValueInSeries), low)
    if "LargestPixelValueInSeries" in ds:
        ds.LargestPixelValueInSeries = max(int(ds.LargestPixelValueInSeries), high)


def region_is_black(ds: Dataset, rect: Rect, frames: tuple[int, ...] | None) -> bool:
    """True if every pixel of ``rect`` (clipped to the image) holds the black value on
    ``frames`` (None: every frame), decoding the data set as it is now, one frame at a time
    (the black value is that of the image as it is now: its lowest value, or highest).

    Coordinates are those of ``ds`` as stored now, i.e. after any crop.
    """
    rows, columns = int(ds.Rows), int(ds.Columns)
    number_of_frames = int(ds.get("NumberOfFrames") or 1)
    box = rect.clip(columns, rows)
    if box is None:
        raise ValueError(f"rectangle {rect} lies outside the {columns}x{rows} image")
    indices = list(range(number_of_frames)) if frames is None else sorted(set(frames))
    if indices and not 0 <= indices[0] <= indices[-1] < number_of_frames:
        raise ValueError(f"frames {frames} do not exist; the image has {number_of_frames}")
    decoder = get_decoder(_transfer_syntax(ds))
    black: int | None = None
    for frame, props in decoder.iter_array(ds, indices=indices):
        if black is None:
            black = black_value(ds, str(props["photometric_interpretation"]))
        if not np.all(frame[box.y : box.bottom, box.x : box.right] == black):
            return False
    return True
