"""A study with planted identifiers, built apart from the engine's own test data.

One invented patient with identifiers burned into the pixels of four kinds of image, and
names and codes in descriptors that appear nowhere else in the header:

- an RGB ultrasound capture with a header line and a second band at the bottom;
- a 16-bit greyscale secondary capture with a text band;
- a palette-colour ultrasound with an ID line;
- a CT slice (not flagged by its header) with the name burned into a corner.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

PATIENT = {
    "PatientName": "QUIGLEY^MARGARET",
    "PatientID": "QX-55821",
    "PatientBirthDate": "19610203",
    "AccessionNumber": "ACQ99123",
}
#: Every string that must not reach a published byte, the database or the library.
PLANTED = (
    "QUIGLEY",
    "MARGARET",
    "QX-55821",
    "55821",
    "19610203",
    "1961-02-03",
    "ACQ99123",
    "Hartmann",
    "ZK47Q",
)

STUDY_UID = generate_uid(entropy_srcs=["planted-study"])


def _text(image: Image.Image, xy: tuple[int, int], text: str, size: int, fill: object) -> None:
    ImageDraw.Draw(image).text(xy, text, font=ImageFont.truetype(FONT, size), fill=fill)


def _base(sop_class: str, modality: str, series: int, description: str) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = generate_uid(entropy_srcs=["planted", str(series)])
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.StudyInstanceUID = STUDY_UID
    ds.SeriesInstanceUID = generate_uid(entropy_srcs=["planted-series", str(series)])
    for keyword, value in PATIENT.items():
        setattr(ds, keyword, value)
    ds.PatientSex = "F"
    ds.StudyDate = ds.SeriesDate = "20240610"
    ds.StudyTime = "101530"
    ds.StudyID = "1"
    ds.StudyDescription = "US ABDOMEN for Dr Hartmann"
    ds.SeriesDescription = description
    ds.Modality = modality
    ds.SeriesNumber = series
    ds.InstanceNumber = 1
    return ds


def _pixels(ds: Dataset, arr: np.ndarray, photometric: str) -> Dataset:
    ds.Rows, ds.Columns = arr.shape[:2]
    ds.SamplesPerPixel = 3 if arr.ndim == 3 else 1
    ds.PhotometricInterpretation = photometric
    if arr.ndim == 3:
        ds.PlanarConfiguration = 0
    bits = arr.dtype.itemsize * 8
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = bits, bits, bits - 1
    ds.PixelRepresentation = 1 if arr.dtype.kind == "i" else 0
    ds.PixelData = np.ascontiguousarray(arr).tobytes()
    return ds


def _speckle(rows: int, columns: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:rows, 0:columns]
    fan = np.hypot(yy - 10, xx - columns / 2) < rows * 0.9
    img = rng.gamma(2.0, 30.0, (rows, columns)) * fan
    return np.clip(img, 0, 200).astype(np.uint8)


def ultrasound_rgb() -> Dataset:
    grey = _speckle(240, 320, 1)
    grey[:24] = 0
    grey[-22:] = 0
    image = Image.fromarray(np.repeat(grey[..., None], 3, axis=2))
    _text(image, (6, 5), "QUIGLEY^MARGARET   ID QX-55821", 13, (255, 255, 255))
    _text(image, (6, 221), "DOB 1961-02-03  ACQ99123", 12, (255, 230, 0))
    ds = _base("1.2.840.10008.5.1.4.1.1.6.1", "US", 1, "LIVER ZK47Q")
    return _pixels(ds, np.asarray(image), "RGB")


def secondary_capture_16bit() -> Dataset:
    rng = np.random.default_rng(2)
    arr = rng.normal(1000, 60, (256, 256)).clip(0, 4095).astype(np.uint16)
    layer = Image.new("L", (256, 256), 0)
    _text(layer, (8, 228), "QUIGLEY MARGARET 1961", 14, 255)
    arr[np.asarray(layer) > 100] = 4000
    ds = _base("1.2.840.10008.5.1.4.1.1.7", "OT", 2, "Screen capture")
    ds.BitsStored = 12
    ds = _pixels(ds, arr, "MONOCHROME2")
    ds.BitsStored, ds.HighBit = 12, 11
    return ds


def ultrasound_palette() -> Dataset:
    indices = _speckle(200, 320, 3)
    layer = Image.fromarray(indices)
    _text(layer, (200, 180), "QX-55821", 13, 250)
    ds = _base("1.2.840.10008.5.1.4.1.1.6.1", "US", 3, "Thyroid")
    ds = _pixels(ds, np.asarray(layer), "PALETTE COLOR")
    ramp = np.arange(256, dtype=np.uint16)
    for colour, lut in (("Red", ramp * 257), ("Green", ramp * 200), ("Blue", ramp * 120)):
        setattr(ds, f"{colour}PaletteColorLookupTableDescriptor", [256, 0, 16])
        setattr(ds, f"{colour}PaletteColorLookupTableData", lut.astype("<u2").tobytes())
    return ds


def ct_with_name_in_corner() -> Dataset:
    yy, xx = np.mgrid[0:256, 0:256]
    body = np.hypot(yy - 128, xx - 128) < 110
    arr = np.where(body, 40, -1000).astype(np.int16)
    arr[np.hypot(yy - 140, xx - 100) < 20] = 700  # a bone
    layer = Image.new("L", (256, 256), 0)
    _text(layer, (4, 4), "QUIGLEY", 12, 255)
    arr[np.asarray(layer) > 100] = 1500
    ds = _base("1.2.840.10008.5.1.4.1.1.2", "CT", 4, "Abdomen portal venous")
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.RescaleIntercept, ds.RescaleSlope = 0, 1
    ds.WindowCenter, ds.WindowWidth = 40, 400
    return _pixels(ds, arr, "MONOCHROME2")


def build(folder: Path) -> list[Path]:
    """Write the four files into ``folder``; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    kinds = (ultrasound_rgb, secondary_capture_16bit, ultrasound_palette, ct_with_name_in_corner)
    for number, build_one in enumerate(kinds):
        ds = build_one()
        path = folder / f"planted{number}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths
