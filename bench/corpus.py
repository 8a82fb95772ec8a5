"""Synthetic benchmark corpora, built from pydicom's bundled headers with invented data.

- CT: N slices of 512x512 16-bit, header of pydicom's CT_small (about 260 attributes,
  private blocks included) with per-slice UIDs and positions.
- MR: N small slices (pydicom's MR_small, 64x64, about 11 KB each).
- US cine: one multi-frame RGB ultrasound cine (default 100 frames of 800x600 = 144 MB).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
from PIL import Image, ImageDraw, ImageFont
from pydicom.data import get_testdata_file
from pydicom.uid import ExplicitVRLittleEndian, UltrasoundMultiFrameImageStorage

STUDY = "1.2.826.0.1.3680043.8.498.7700"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"


def _template(name: str) -> pydicom.FileDataset:
    path = get_testdata_file(name, download=False)
    if path is None:
        raise RuntimeError(f"pydicom's bundled test file {name} is missing")
    return pydicom.dcmread(path)


def _save(ds: pydicom.FileDataset, path: Path) -> None:
    if "PixelData" in ds and ds["PixelData"].VR == "OB or OW":  # read from implicit VR
        ds["PixelData"].VR = "OW" if ds.BitsAllocated > 8 else "OB"
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.save_as(path, enforce_file_format=True)


def build_ct(folder: Path, n: int = 1000) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    ds = _template("CT_small.dcm")
    ds.PatientName, ds.PatientID = "BENCHMARK^CORA", "BENCH0001"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = STUDY, STUDY + ".1"
    ds.Rows = ds.Columns = 512
    rng = np.random.default_rng(7)
    base = rng.integers(0, 2000, size=(512, 512), dtype=np.uint16)
    paths = []
    for i in range(n):
        ds.SOPInstanceUID = f"{STUDY}.1.{i + 1}"
        ds.InstanceNumber = i + 1
        ds.ImagePositionPatient = [-250.0, -250.0, -300.0 + i * 0.625]
        ds.PixelData = np.roll(base, i, axis=0).tobytes()
        path = folder / f"ct{i:04d}.dcm"
        _save(ds, path)
        paths.append(path)
    return paths


def build_mr(folder: Path, n: int = 200) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    ds = _template("MR_small.dcm")
    ds.PatientName, ds.PatientID = "BENCHMARK^MARA", "BENCH0002"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = STUDY + ".2", STUDY + ".2.1"
    paths = []
    for i in range(n):
        ds.SOPInstanceUID = f"{STUDY}.2.1.{i + 1}"
        ds.InstanceNumber = i + 1
        path = folder / f"mr{i:04d}.dcm"
        _save(ds, path)
        paths.append(path)
    return paths


def build_us_cine(
    folder: Path, *, frames: int = 100, rows: int = 600, columns: int = 800, index: int = 1
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    ds = _template("MR_small.dcm")  # borrow a patient/study header, then make it US
    for keyword in list(ds.dir()):
        if keyword not in (
            "PatientName",
            "PatientID",
            "PatientBirthDate",
            "PatientSex",
            "StudyDate",
            "StudyTime",
            "AccessionNumber",
            "ReferringPhysicianName",
            "StudyID",
            "InstitutionName",
            "StudyDescription",
            "SpecificCharacterSet",
        ):
            delattr(ds, keyword)
    ds.PatientName, ds.PatientID = "BENCHMARK^ULLA", "BENCH0003"
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = UltrasoundMultiFrameImageStorage
    ds.StudyInstanceUID, ds.SeriesInstanceUID = STUDY + ".3", STUDY + ".3.1"
    ds.SOPInstanceUID = f"{STUDY}.3.1.{index}"
    ds.Modality = "US"
    ds.BurnedInAnnotation = "YES"
    ds.NumberOfFrames = frames
    ds.FrameTime = 33.3
    ds.Rows, ds.Columns = rows, columns
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, "RGB", 0
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = np.broadcast_to(
        _us_frame(rows, columns, seed=index), (frames, rows, columns, 3)
    ).tobytes()
    path = folder / f"us{index:03d}.dcm"
    _save(ds, path)
    return path


def _us_frame(rows: int, columns: int, *, seed: int) -> np.ndarray:
    """A plausible ultrasound frame: a speckled sector on black, a header burned in."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:rows, 0:columns]
    cx, top = columns / 2, 70
    radius = np.hypot(x - cx, y - top)
    angle = np.abs(np.arctan2(x - cx, y - top + 1e-9))
    sector = (radius < rows - top - 10) & (angle < 0.6) & (y > top)
    speckle = np.clip(rng.rayleigh(40, size=(rows, columns)), 0, 255).astype(np.uint8)
    grey = np.where(sector, speckle, 0).astype(np.uint8)
    image = Image.fromarray(np.repeat(grey[..., None], 3, axis=2))
    draw = ImageDraw.Draw(image)
    try:
        font: ImageFont.ImageFont | ImageFont.FreeTypeFont = ImageFont.truetype(FONT, 20)
    except OSError:
        font = ImageFont.load_default()
    draw.text(
        (10, 10), "BENCHMARK^ULLA   ID BENCH0003   DOB 1961-02-03", fill=(255, 255, 255), font=font
    )
    return np.asarray(image)
