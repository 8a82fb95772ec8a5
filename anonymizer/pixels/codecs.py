"""Decode Pixel Data to arrays and write edited arrays back, never keeping the old bytes.

Transfer syntax policy after an edit (PS3.5 Section 10 and Annex A; ``output_transfer_syntax``):

=============================================  =============================================
Original transfer syntax                       Written as
=============================================  =============================================
Implicit VR LE, Explicit VR LE/BE, Deflated    Explicit VR Little Endian (native)
RLE Lossless (1.2.5)                           RLE Lossless
JPEG-LS Lossless / Near-Lossless (.80, .81)    JPEG-LS Lossless (.80)
JPEG 2000 Lossless / JPEG 2000 (.90, .91)      JPEG 2000 Lossless (.90), no colour transform
JPEG Baseline, Extended, Lossless (.50-.70)    Explicit VR Little Endian (no JPEG encoder)
anything else pydicom decodes (e.g. HTJ2K)     Explicit VR Little Endian
=============================================  =============================================

A lossless re-encode is used only if the encoder accepts the image (PS3.5 8.2 profiles, e.g.
RLE cannot hold 32-bit samples) *and* decoding the result gives back exactly the edited array;
otherwise the image is written native. A lossy syntax is never written, so a blacked-out box
stays exactly black and everything outside it stays exactly as decoded.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixels.decoders.base import Decoder, get_decoder
from pydicom.pixels.utils import pack_bits
from pydicom.uid import (
    HTJ2K,
    JPEG2000,
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    HTJ2KLossless,
    HTJ2KLosslessRPCL,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
)

__all__ = [
    "SUPPORTED_PHOTOMETRICS",
    "decode_frame",
    "decoded_frames",
    "normalise_native_pixel_data",
    "output_transfer_syntax",
    "store_pixels",
]

logger = logging.getLogger(__name__)

JPEGLossless = UID("1.2.840.10008.1.2.4.57")

NATIVE_SYNTAXES = frozenset(
    {
        ImplicitVRLittleEndian,
        ExplicitVRLittleEndian,
        ExplicitVRBigEndian,
        DeflatedExplicitVRLittleEndian,
    }
)
#: Syntaxes whose decoded pixels are exactly what the modality produced.
LOSSLESS_SYNTAXES = NATIVE_SYNTAXES | {
    RLELossless,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEG2000Lossless,
    HTJ2KLossless,
    HTJ2KLosslessRPCL,
}
#: Syntaxes that are lossy whatever the encoder was told (DCT-based JPEG).
ALWAYS_LOSSY_SYNTAXES = frozenset({JPEGBaseline8Bit, JPEGExtended12Bit})
#: LossyImageCompressionMethod (0028,2114) defined terms (PS3.3 C.7.6.1.1.5.1).
_LOSSY_METHOD = {
    JPEGBaseline8Bit: "ISO_10918_1",
    JPEGExtended12Bit: "ISO_10918_1",
    JPEGLSNearLossless: "ISO_14495_1",
    JPEG2000: "ISO_15444_1",
    HTJ2K: "ISO_15444_15",
}

#: Photometric interpretations of decoded arrays that the pixel code handles (YBR_* are
#: decoded to RGB).
SUPPORTED_PHOTOMETRICS = frozenset({"MONOCHROME1", "MONOCHROME2", "PALETTE COLOR", "RGB"})

_SWAP_WIDTH = {"OW": 2, "OL": 4, "OF": 4, "OD": 8, "OV": 8}


def output_transfer_syntax(original: str) -> UID:
    """The syntax edited pixels are written in, given the file's original syntax (see module)."""
    uid = UID(original)
    if uid == RLELossless:
        return RLELossless
    if uid in (JPEGLSLossless, JPEGLSNearLossless):
        return JPEGLSLossless
    if uid in (JPEG2000Lossless, JPEG2000):
        return JPEG2000Lossless
    return ExplicitVRLittleEndian


def _transfer_syntax(ds: Dataset) -> UID:
    file_meta = getattr(ds, "file_meta", None)
    uid = file_meta.get("TransferSyntaxUID") if file_meta is not None else None
    if not uid:
        raise ValueError("the data set has no Transfer Syntax UID (0002,0010) in its file meta")
    return UID(uid)


def _decode(ds: Dataset, index: int | None = None) -> tuple[np.ndarray, str]:
    """Decode all frames (or one) and return the array and its photometric interpretation."""
    if "PixelData" not in ds:
        raise ValueError("the data set has no Pixel Data (7FE0,0010)")
    tsyntax = _transfer_syntax(ds)
    try:
        decoder = get_decoder(tsyntax)
    except NotImplementedError as exc:
        raise NotImplementedError(f"cannot decode pixel data in {tsyntax.name}") from exc
    # as_rgb (the default) converts YBR_FULL/YBR_FULL_422 to RGB exactly as ds.pixel_array does;
    # JPEG and JPEG 2000 decoders already undo their own colour transforms.
    number_of_frames = int(ds.get("NumberOfFrames") or 1)
    if index is None and tsyntax.is_encapsulated and number_of_frames > 1:
        # Frame by frame into one array: decoding all frames at once peaks at ~9x the size
        # of the decoded pixels for JPEG cines (pydicom 3.0).
        arr, props = _decode_frames_into_one_array(decoder, ds, number_of_frames)
    else:
        arr, props = decoder.as_array(ds, index=index)
    photometric = str(props["photometric_interpretation"])
    if photometric not in SUPPORTED_PHOTOMETRICS:
        raise NotImplementedError(
            f"photometric interpretation {photometric} is not supported for pixel edits"
        )
    if not arr.dtype.isnative:
        # Explicit VR Big Endian: swap in place rather than copy
        arr = arr.byteswap(inplace=True).view(arr.dtype.newbyteorder())
    if not arr.flags.writeable:
        arr = arr.copy()
    samples = int(props["samples_per_pixel"])
    rows, columns = int(props["rows"]), int(props["columns"])
    frames = 1 if index is not None else int(props["number_of_frames"] or 1)
    shape: tuple[int, ...] = (frames, rows, columns) + ((samples,) if samples > 1 else ())
    arr = arr.reshape(shape)
    return (arr[0] if index is not None else arr), photometric


def _decode_frames_into_one_array(
    decoder: Decoder, ds: Dataset, number_of_frames: int
) -> tuple[np.ndarray, dict[str, str | int]]:
    arr: np.ndarray | None = None
    first: dict[str, str | int] = {}
    count = 0
    for count, (frame, props) in enumerate(decoder.iter_array(ds), start=1):
        if arr is None:
            arr, first = np.empty((number_of_frames, *frame.shape), frame.dtype), props
        if count > number_of_frames:
            break
        arr[count - 1] = frame
    if arr is None or count < number_of_frames:
        raise ValueError(f"Pixel Data holds {count} of {number_of_frames} frames")
    return arr, {**first, "number_of_frames": number_of_frames}


def decoded_frames(ds: Dataset) -> np.ndarray:
    """Every frame of Pixel Data as a writable array shaped (frames, rows, cols[, samples]).

    YBR_FULL/YBR_FULL_422 (and the JPEG 2000 colour transforms) come back as RGB, palette colour
    images as their stored indices, 1-bit images as 0/1 uint8; big-endian data is returned in
    native byte order. The array is not cached on ``ds`` (unlike ``ds.pixel_array``).
    """
    return _decode(ds)[0]


def decode_frame(ds: Dataset, index: int) -> tuple[np.ndarray, str]:
    """One frame, shaped (rows, cols[, samples]), and the photometric interpretation it has."""
    number_of_frames = int(ds.get("NumberOfFrames") or 1)
    if not 0 <= index < number_of_frames:
        raise ValueError(f"frame {index} does not exist; the image has {number_of_frames}")
    return _decode(ds, index)


def store_pixels(ds: Dataset, arr: np.ndarray, *, original_transfer_syntax: UID) -> None:
    """Replace Pixel Data with ``arr`` (as ``decoded_frames`` returns it), in place.

    The old Pixel Data (and any Extended Offset Table and Data Set Trailing Padding) is
    deleted first, so no compressed fragment of the original survives. The output transfer
    syntax follows ``output_transfer_syntax``. Rows, Columns, Samples per Pixel, Number of
    Frames, Photometric Interpretation (RGB for three samples) and Planar Configuration (0)
    are updated; Bits Allocated/Stored, High Bit and Pixel Representation are kept. If the
    original syntax may have been lossy, Lossy Image Compression (0028,2110) is set to "01"
    unless the file explicitly says "00" for a syntax that can also be lossless
    (PS3.3 C.7.6.1.1.5: the history must not be lost). The SOP Instance UID is not changed.
    """
    original = UID(original_transfer_syntax)
    if arr.ndim == 2:
        arr = arr[np.newaxis]
    if arr.ndim not in (3, 4):
        raise ValueError(f"expected (frames, rows, cols[, samples]), got shape {arr.shape}")
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    frames, rows, columns = (int(n) for n in arr.shape[:3])
    samples = 1 if arr.ndim == 3 else int(arr.shape[3])
    if samples not in (1, 3):
        raise ValueError(f"{samples} samples per pixel are not supported")
    bits_allocated = int(ds.BitsAllocated)
    if bits_allocated not in (1, 8, 16, 32, 64):
        raise NotImplementedError(f"Bits Allocated {bits_allocated} is not supported")
    if bits_allocated > 1:
        signed = int(ds.get("PixelRepresentation", 0)) == 1
        expected = np.dtype(f"{'i' if signed else 'u'}{bits_allocated // 8}")
        if arr.dtype != expected:
            arr = arr.astype(expected)

    for keyword in (
        "PixelData",
        "ExtendedOffsetTable",
        "ExtendedOffsetTableLengths",
        "DataSetTrailingPadding",
    ):
        if keyword in ds:
            del ds[keyword]

    ds.Rows, ds.Columns, ds.SamplesPerPixel = rows, columns, samples
    if samples == 3:
        ds.PhotometricInterpretation = "RGB"
        ds.PlanarConfiguration = 0
    if frames > 1 or "NumberOfFrames" in ds:
        ds.NumberOfFrames = frames
    _record_lossy_history(ds, original)

    if not hasattr(ds, "file_meta"):
        ds.file_meta = FileMetaDataset()
    if original == ExplicitVRBigEndian or ds.original_encoding[1] is False:
        _convert_to_little_endian(ds)

    target = output_transfer_syntax(original)
    if target.is_compressed and _store_compressed(ds, arr, target):
        return
    _store_native(ds, arr)


def _store_native(ds: Dataset, arr: np.ndarray) -> None:
    bits_allocated = int(ds.BitsAllocated)
    if bits_allocated == 1:
        data = pack_bits(np.ascontiguousarray(arr, dtype=np.uint8).ravel(), pad=False)
    else:
        data = arr.tobytes()
    if len(data) % 2:
        data += b"\x00"  # PS3.5 7.1.1: values have even length
    ds.add_new(0x7FE00010, "OB" if bits_allocated <= 8 else "OW", data)
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian


def _store_compressed(ds: Dataset, arr: np.ndarray, target: UID) -> bool:
    """Encode losslessly with pydicom's encoders; False (and no Pixel Data) if that fails."""
    source = arr[0] if arr.shape[0] == 1 else arr  # compress() wants single frames unstacked
    try:
        ds.compress(target, source, generate_instance_uid=False)
    except Exception as exc:  # any encoder failure falls back to the always-safe native form
        logger.info("cannot encode %s losslessly (%s); writing native pixels", target.name, exc)
        _drop_pixel_data(ds)
        return False
    try:
        decoder = get_decoder(target)
        for index, (frame, _) in enumerate(decoder.iter_array(ds, raw=True)):
            if not np.array_equal(frame, arr[index]):
                raise ValueError(f"frame {index} differs after decoding")
    except Exception as exc:
        logger.warning("%s round trip is not exact (%s); writing native pixels", target.name, exc)
        _drop_pixel_data(ds)
        return False
    return True


def _drop_pixel_data(ds: Dataset) -> None:
    for keyword in ("PixelData", "ExtendedOffsetTable", "ExtendedOffsetTableLengths"):
        if keyword in ds:
            del ds[keyword]


def _record_lossy_history(ds: Dataset, original: UID) -> None:
    if original in LOSSLESS_SYNTAXES:
        return
    current = str(ds.get("LossyImageCompression", "") or "").strip()
    if current == "01":
        return
    if current == "00" and original not in ALWAYS_LOSSY_SYNTAXES:
        return  # e.g. reversible wavelet in a .91 file, declared lossless by its creator
    ds.LossyImageCompression = "01"
    method = _LOSSY_METHOD.get(original)
    if method and "LossyImageCompressionMethod" not in ds:
        ds.LossyImageCompressionMethod = method


def _convert_to_little_endian(ds: Dataset) -> None:
    """Make a data set read as Explicit VR Big Endian writable as little endian.

    pydicom re-encodes parsed numeric values itself but leaves OW/OL/OF/OD/OV bytes alone
    (see ``pydicom.filewriter.dcmwrite``), so swap those here, then mark every (nested) data
    set as little endian. UN values are left untouched: their structure is unknown.
    """
    for elem in ds:  # iterating converts raw elements to DataElements
        if elem.VR == "SQ":
            for item in elem.value:
                _convert_to_little_endian(item)
            continue
        width = _SWAP_WIDTH.get(str(elem.VR))
        value: Any = elem.value
        if width and isinstance(value, bytes | bytearray) and len(value) % width == 0:
            elem.value = np.frombuffer(value, dtype=f">u{width}").astype(f"<u{width}").tobytes()
    ds.set_original_encoding(False, True, ds.original_character_set)


def normalise_native_pixel_data(ds: Dataset) -> None:
    """Leave nothing in native Pixel Data but the image itself, in place.

    - Bytes after the last pixel (beyond Rows x Columns x Samples x Frames x Bits
      Allocated, rounded up to even length) are dropped: no decoder shows them.
    - Bits above Bits Stored are cleared (unsigned) or made a copy of the sign bit
      (signed, PS3.5 8.1.1), so a viewer that ignores Bits Stored shows nothing that a
      viewer honouring it does not.

    Encapsulated, big-endian and 1-bit data, and data sets without Pixel Data, are left
    alone (the header engine cleans encapsulated frames; big endian is converted when
    written).
    """
    if "PixelData" not in ds or "Rows" not in ds or "BitsAllocated" not in ds:
        return
    syntax = _transfer_syntax(ds)
    if syntax.is_compressed or not syntax.is_little_endian:
        return
    bits = int(ds.BitsAllocated)
    size = (
        int(ds.Rows)
        * int(ds.Columns)
        * int(ds.get("SamplesPerPixel", 1) or 1)
        * int(ds.get("NumberOfFrames", 1) or 1)
        * bits
        + 7
    ) // 8
    value = ds.PixelData
    if not isinstance(value, bytes | bytearray) or len(value) < size:
        return  # short data is refused when read (pipeline.read_dicom)
    changed = len(value) > size
    data: bytes | memoryview = memoryview(value)[:size]
    unused = bits - int(ds.get("BitsStored") or bits)
    if bits in (8, 16, 32) and unused > 0:
        signed = int(ds.get("PixelRepresentation", 0)) == 1
        arr = np.frombuffer(data, dtype=f"<{'i' if signed else 'u'}{bits // 8}")
        clean = (arr << unused) >> unused  # arithmetic shift for signed: sign-extends
        if not np.array_equal(clean, arr):
            data, changed = clean.astype(arr.dtype).tobytes(), True
    if changed:
        data = bytes(data)
        vr = ds["PixelData"].VR
        ds.add_new(0x7FE00010, vr if vr in ("OB", "OW") else ("OB" if bits <= 8 else "OW"), data)
