"""Synthetic DICOM images for the pixel tests: numpy patterns, Pillow text, pydicom encoders.

Nothing here reads patient data; pydicom's bundled test files are loaded with
``download=False`` only.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from PIL import Image, ImageDraw, ImageFont
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    UID,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    JPEGBaseline8Bit,
)

FONT_PATH = Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf")

SECONDARY_CAPTURE = UID("1.2.840.10008.5.1.4.1.1.7")
ULTRASOUND = UID("1.2.840.10008.5.1.4.1.1.6.1")
ULTRASOUND_MULTIFRAME = UID("1.2.840.10008.5.1.4.1.1.3.1")
CT_IMAGE = UID("1.2.840.10008.5.1.4.1.1.2")
ENHANCED_CT = UID("1.2.840.10008.5.1.4.1.1.2.1")
MR_IMAGE = UID("1.2.840.10008.5.1.4.1.1.4")


def bundled(name: str) -> FileDataset:
    """One of pydicom's bundled test files (never downloaded)."""
    path = get_testdata_file(name, download=False)
    if path is None:
        raise FileNotFoundError(f"pydicom does not bundle {name}")
    return pydicom.dcmread(path)


def stored_range(dtype: np.dtype, bits_stored: int) -> tuple[int, int]:
    if dtype.kind == "i":
        return -(1 << (bits_stored - 1)), (1 << (bits_stored - 1)) - 1
    return 0, (1 << bits_stored) - 1


def gradient(
    frames: int,
    rows: int,
    columns: int,
    *,
    dtype: str | np.dtype = "uint8",
    bits_stored: int | None = None,
    samples: int = 1,
    seed: int = 0,
) -> np.ndarray:
    """A smooth per-frame gradient with mild noise, spanning most of the stored range.

    Shaped (frames, rows, columns[, samples]), like ``decoded_frames``.
    """
    dt = np.dtype(dtype)
    bits = bits_stored or dt.itemsize * 8
    low, high = stored_range(dt, bits)
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:rows, 0:columns]
    base = (xx / max(columns - 1, 1) + yy / max(rows - 1, 1)) / 2
    shape = (frames, rows, columns) + ((samples,) if samples > 1 else ())
    out = np.empty(shape, dtype=dt)
    for f in range(frames):
        plane = (base + f / (frames + 1)) % 1.0
        if samples > 1:
            plane = np.stack([(plane + s / 3) % 1.0 for s in range(samples)], axis=-1)
        values = low + plane * (high - low) * 0.9 + rng.normal(0, (high - low) * 0.01, plane.shape)
        out[f] = np.clip(np.rint(values), low, high).astype(dt)
    return out


def stamp_pattern(arr: np.ndarray, x: int, y: int, width: int, height: int, seed: int = 7) -> None:
    """Write a distinctive random pattern (avoiding the extremes) into a box on every frame."""
    low, high = (np.iinfo(arr.dtype).min, np.iinfo(arr.dtype).max)
    rng = np.random.default_rng(seed)
    box = arr[:, y : y + height, x : x + width]
    box[...] = rng.integers(low + 1, high, size=box.shape, endpoint=False, dtype=arr.dtype)


def new_dataset(
    arr: np.ndarray,
    *,
    photometric: str,
    bits_stored: int | None = None,
    modality: str = "OT",
    sop_class: UID = SECONDARY_CAPTURE,
    multiframe_attr: bool | None = None,
) -> FileDataset:
    """An uncompressed Explicit VR Little Endian data set holding ``arr``
    (shaped (frames, rows, columns[, samples]))."""
    frames, rows, columns = arr.shape[:3]
    samples = arr.shape[3] if arr.ndim == 4 else 1
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = "2.25.1234567890"
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds = FileDataset("", Dataset(), file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = "2.25.1"
    ds.SeriesInstanceUID = "2.25.2"
    ds.Modality = modality
    ds.PatientName = "SYNTHETIC^TEST"
    ds.SamplesPerPixel = samples
    ds.PhotometricInterpretation = photometric
    if samples > 1:
        ds.PlanarConfiguration = 0
    if multiframe_attr or (multiframe_attr is None and frames > 1):
        ds.NumberOfFrames = frames
    ds.Rows, ds.Columns = rows, columns
    ds.BitsAllocated = arr.dtype.itemsize * 8
    ds.BitsStored = bits_stored or arr.dtype.itemsize * 8
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 1 if arr.dtype.kind == "i" else 0
    data = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
    ds.PixelData = data + (b"\0" if len(data) % 2 else b"")
    ds["PixelData"].VR = "OB" if arr.dtype.itemsize == 1 else "OW"
    return ds


def encode(ds: FileDataset, arr: np.ndarray, transfer_syntax: UID, **kwargs: object) -> None:
    """Re-encode ``ds`` in ``transfer_syntax`` from ``arr`` (as decoded_frames shapes it)."""
    if transfer_syntax == ExplicitVRBigEndian:
        ds.PixelData = arr.astype(arr.dtype.newbyteorder(">")).tobytes()
        ds.file_meta.TransferSyntaxUID = transfer_syntax
        ds.set_original_encoding(False, False)  # nothing was read: only PixelData is bytes
        return
    if not transfer_syntax.is_compressed:
        ds.file_meta.TransferSyntaxUID = transfer_syntax
        return
    source = arr[0] if arr.shape[0] == 1 else arr
    ds.compress(transfer_syntax, source, generate_instance_uid=False, **kwargs)  # type: ignore[arg-type]


def jpeg_baseline(ds: FileDataset, arr: np.ndarray, quality: int = 90) -> None:
    """Encode 8-bit ``arr`` as JPEG Baseline with Pillow (pydicom has no JPEG encoder)."""
    fragments = []
    for frame in arr:
        bio = io.BytesIO()
        Image.fromarray(frame).save(bio, "JPEG", quality=quality)
        fragments.append(bio.getvalue())
    ds.PixelData = encapsulate(fragments)
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    if arr.ndim == 4:
        ds.PhotometricInterpretation = "YBR_FULL_422"
    ds.LossyImageCompression = "01"
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit


def to_bytes(ds: Dataset) -> bytes:
    bio = io.BytesIO()
    ds.save_as(bio, enforce_file_format=True)
    return bio.getvalue()


def reread(ds: Dataset) -> FileDataset:
    return pydicom.dcmread(io.BytesIO(to_bytes(ds)))


@dataclass(frozen=True)
class DrawnText:
    text: str
    frame: int | None  # None: drawn on every frame
    x: int
    y: int
    width: int
    height: int


def draw_text(
    image: np.ndarray, text: str, x: int, y: int, *, size: int = 18, value: int = 255
) -> tuple[int, int, int, int]:
    """Draw ``text`` onto a 2-D uint8 or (rows, cols, 3) array in place; return its bbox."""
    font = ImageFont.truetype(str(FONT_PATH), size)
    pil = Image.fromarray(image)
    draw = ImageDraw.Draw(pil)
    fill: int | tuple[int, int, int] = value if image.ndim == 2 else (value, value, value)
    draw.text((x, y), text, font=font, fill=fill)
    image[...] = np.asarray(pil)
    left, top, right, bottom = draw.textbbox((x, y), text, font=font)
    return int(left), int(top), int(right - left), int(bottom - top)


def ultrasound_frames(
    frames: int, rows: int = 480, columns: int = 640, *, colour: bool = True, seed: int = 3
) -> np.ndarray:
    """Dark background with a speckled sector whose texture changes frame to frame."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:rows, 0:columns]
    apex_x, apex_y = columns / 2, 60.0
    angle = np.degrees(np.arctan2(xx - apex_x, yy - apex_y))
    radius = np.hypot(xx - apex_x, yy - apex_y)
    sector = (np.abs(angle) < 35) & (radius > 20) & (radius < rows - 80)
    out = np.zeros((frames, rows, columns), dtype=np.uint8)
    for f in range(frames):
        speckle = rng.gamma(2.0, 30.0, size=(rows, columns))
        band = 40 * np.sin(radius / 15 + f)
        img = np.clip(speckle + band + 20, 0, 200)
        out[f][sector] = img[sector].astype(np.uint8)
    if colour:
        return np.repeat(out[..., np.newaxis], 3, axis=-1)
    return out


def ultrasound_with_text(
    frames: int = 1,
    *,
    colour: bool = True,
    texts: tuple[tuple[str, int, int, int | None], ...] = (
        ("DOE^JOHN", 20, 12, None),
        ("ACC 123456", 440, 12, None),
    ),
) -> tuple[FileDataset, list[DrawnText]]:
    """A 640x480 US image (or cine) with white 18 px DejaVu Sans Mono text in the top band.

    ``texts`` holds (text, x, y, frame or None for every frame).
    """
    arr = ultrasound_frames(frames, colour=colour)
    drawn = []
    for text, x, y, frame in texts:
        bbox = (0, 0, 0, 0)
        for f in range(frames) if frame is None else (frame,):
            bbox = draw_text(arr[f], text, x, y)
        drawn.append(DrawnText(text, frame, *bbox))
    sop_class = ULTRASOUND_MULTIFRAME if frames > 1 else ULTRASOUND
    ds = new_dataset(
        arr, photometric="RGB" if colour else "MONOCHROME2", modality="US", sop_class=sop_class
    )
    return ds, drawn


# --- Decoding without pydicom's pixel handlers, to check what pydicom decodes -------------


def _unpack_rle_segment(segment: bytes, length: int) -> np.ndarray:
    """PackBits decoding of one RLE segment (PS3.5 G.3.1)."""
    out = bytearray()
    pos = 0
    while pos < len(segment) and len(out) < length:
        header = segment[pos]
        pos += 1
        if header < 128:
            out += segment[pos : pos + header + 1]
            pos += header + 1
        elif header > 128:
            out += bytes([segment[pos]]) * (257 - header)
            pos += 1
    return np.frombuffer(bytes(out[:length]), dtype=np.uint8)


def _decode_rle_frame(
    fragment: bytes, rows: int, columns: int, samples: int, itemsize: int
) -> np.ndarray:
    count = int.from_bytes(fragment[0:4], "little")
    offsets = [int.from_bytes(fragment[4 + 4 * i : 8 + 4 * i], "little") for i in range(count)]
    offsets.append(len(fragment))
    pixels = rows * columns
    out = np.zeros((samples, pixels), dtype=np.uint64)
    for index in range(count):
        sample, byte = divmod(index, itemsize)  # segments: sample by sample, MSB first
        plane = _unpack_rle_segment(fragment[offsets[index] : offsets[index + 1]], pixels)
        out[sample] |= plane.astype(np.uint64) << np.uint64(8 * (itemsize - 1 - byte))
    return np.moveaxis(out, 0, -1).reshape(rows, columns, samples)


def independent_decode(ds: Dataset) -> np.ndarray:
    """Decode native, RLE, JPEG-LS and JPEG 2000 Pixel Data without pydicom's decoders
    (numpy, a PackBits loop, pyjpegls and openjpeg directly); shaped like decoded_frames."""
    import jpeg_ls
    import openjpeg
    from pydicom.encaps import generate_frames
    from pydicom.uid import JPEG2000Lossless, JPEGLSLossless, RLELossless

    frames = int(ds.get("NumberOfFrames") or 1)
    rows, columns, samples = int(ds.Rows), int(ds.Columns), int(ds.SamplesPerPixel)
    signed = int(ds.PixelRepresentation) == 1
    itemsize = int(ds.BitsAllocated) // 8
    dtype = np.dtype(f"{'i' if signed else 'u'}{itemsize}")
    shape = (frames, rows, columns) + ((samples,) if samples > 1 else ())
    tsyntax = ds.file_meta.TransferSyntaxUID
    if not tsyntax.is_compressed:
        count = frames * rows * columns * samples
        return np.frombuffer(ds.PixelData, dtype=dtype.newbyteorder("<"), count=count).reshape(
            shape
        )
    decoded = []
    for fragment in generate_frames(ds.PixelData, number_of_frames=frames):
        if tsyntax == RLELossless:
            planes = _decode_rle_frame(fragment, rows, columns, samples, itemsize)
            decoded.append(planes.astype(f"u{itemsize}").view(dtype).reshape(shape[1:]))
            continue
        if tsyntax == JPEGLSLossless:
            raw = jpeg_ls.decode(np.frombuffer(fragment, dtype=np.uint8))
        elif tsyntax == JPEG2000Lossless:
            raw = openjpeg.decode(fragment)
        else:
            raise NotImplementedError(tsyntax.name)
        raw = np.asarray(raw).astype(np.int64)
        if signed:  # codecs may hand back the two's complement bit pattern as unsigned
            bits = int(ds.BitsStored)
            raw = np.where(raw >= 1 << (bits - 1), raw - (1 << bits), raw)
        decoded.append(raw.astype(dtype).reshape(shape[1:]))
    return np.stack(decoded)
