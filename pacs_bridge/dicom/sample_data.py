"""Synthetic demo studies, made by the project itself, for the built-in demo PACS.

Every patient is invented and says so ("DEMO^CHEST CT", "DEMO-0001"). Pixel data comes
from pydicom's bundled CT_small and MR_small (resampled), or is drawn here (ultrasound).
Always ``get_testdata_file(name, download=False)``: without it pydicom tries the
internet for files that are not bundled.

The set (defaults, about 40 MB, built in a few seconds):

- DEMO-0001 "DEMO^CHEST CT": one CT series, 48 slices 256x256 16-bit, with slice
  positions 5 mm apart.
- DEMO-0002 "DEMO^BRAIN MR": two MR series (T1-like and T2-like), 20 slices each.
- DEMO-0003 "DEMO^ULTRASOUND": a single-frame ultrasound image and a 30-frame cine
  (640x480 RGB) with the patient's name, ID and birth date burned into the top band of
  every frame (BurnedInAnnotation YES) and a Sequence of Ultrasound Regions
  (PS3.3 C.8.5.5), so that the pixel pass has something to find.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from PIL import Image, ImageDraw, ImageFont
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import (
    CTImageStorage,
    ExplicitVRLittleEndian,
    MRImageStorage,
    UltrasoundImageStorage,
    UltrasoundMultiFrameImageStorage,
)

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf")
_MARKER = ".demo-studies.json"
_VERSION = 1


@dataclass(frozen=True)
class DemoPatient:
    name: str
    patient_id: str
    birth_date: str
    sex: str
    accession_number: str
    study_date: str
    study_time: str
    study_description: str


CT_PATIENT = DemoPatient(
    "DEMO^CHEST CT", "DEMO-0001", "19600101", "M", "DEMOACC0001", "20240115", "093000",
    "CT CHEST WITH CONTRAST",
)  # fmt: skip
MR_PATIENT = DemoPatient(
    "DEMO^BRAIN MR", "DEMO-0002", "19850101", "F", "DEMOACC0002", "20240302", "141500",
    "MR BRAIN WITHOUT CONTRAST",
)  # fmt: skip
US_PATIENT = DemoPatient(
    "DEMO^ULTRASOUND", "DEMO-0003", "19700101", "F", "DEMOACC0003", "20240610", "101000",
    "US ABDOMEN",
)  # fmt: skip


def demo_uid(label: str) -> str:
    """A deterministic UID: ``2.25.`` + a 128-bit hash of ``label`` (PS3.5 B.2)."""
    return "2.25." + str(int(hashlib.sha256(label.encode()).hexdigest()[:32], 16))


def _template(name: str) -> pydicom.FileDataset:
    path = get_testdata_file(name, download=False)
    if path is None:
        raise RuntimeError(f"pydicom's bundled test file {name} is missing")
    return pydicom.dcmread(path)


def _set_patient(ds: Dataset, patient: DemoPatient, study_uid: str) -> None:
    ds.PatientName = patient.name
    ds.PatientID = patient.patient_id
    ds.PatientBirthDate = patient.birth_date
    ds.PatientSex = patient.sex
    ds.StudyInstanceUID = study_uid
    ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = patient.study_date
    ds.StudyTime = ds.SeriesTime = ds.AcquisitionTime = ds.ContentTime = patient.study_time
    ds.AccessionNumber = patient.accession_number
    ds.StudyDescription = patient.study_description
    ds.StudyID = patient.accession_number[-4:]
    ds.ReferringPhysicianName = "DEMO^REFERRER"
    ds.InstitutionName = "DEMO GENERAL HOSPITAL"
    ds.StationName = "DEMO-STATION"
    for keyword in ("OtherPatientIDsSequence", "InstanceCreationDate", "InstanceCreationTime"):
        if keyword in ds:
            delattr(ds, keyword)


def _save(ds: Dataset, path: Path) -> Path:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def _resample(image: np.ndarray, size: int, scale: float, fill: int) -> np.ndarray:
    """``image`` zoomed by ``scale`` (bilinear) into a ``size`` square, centred."""
    inner = max(8, round(size * scale))
    resized = Image.fromarray(image.astype(np.int32)).resize(
        (inner, inner), Image.Resampling.BILINEAR
    )
    arr = np.asarray(resized, dtype=np.int32)
    out = np.full((size, size), fill, dtype=np.int32)
    if inner <= size:
        off = (size - inner) // 2
        out[off : off + inner, off : off + inner] = arr
    else:
        off = (inner - size) // 2
        out = arr[off : off + size, off : off + size]
    return out


def _slices(
    template: str,
    *,
    n: int,
    size: int,
    patient: DemoPatient,
    label: str,
    sop_class_uid: str,
    series_number: int,
    series_description: str,
    invert: bool = False,
) -> Iterator[Dataset]:
    """``n`` slices of a volume made from one bundled slice: the anatomy grows and
    shrinks along z (a zoom per slice), positions step by the slice thickness."""
    ds = _template(template)
    base = ds.pixel_array.astype(np.int32)
    if invert:
        base = base.max() + base.min() - base
    fill = int(np.median(np.concatenate([base[0], base[-1]])))
    spacing = float(ds.PixelSpacing[0]) * base.shape[0] / size
    thickness = float(ds.SliceThickness)
    x0, y0, z0 = (float(v) for v in ds.ImagePositionPatient)
    study_uid = demo_uid(f"{label}/study")
    series_uid = demo_uid(f"{label}/series/{series_number}")
    _set_patient(ds, patient, study_uid)
    ds.SOPClassUID = sop_class_uid
    ds.SeriesInstanceUID = series_uid
    ds.SeriesNumber = series_number
    ds.SeriesDescription = series_description
    ds.FrameOfReferenceUID = demo_uid(f"{label}/frame-of-reference")
    ds.Rows = ds.Columns = size
    ds.PixelSpacing = [round(spacing, 6), round(spacing, 6)]
    for keyword in ("SmallestImagePixelValue", "LargestImagePixelValue"):
        if keyword in ds:
            delattr(ds, keyword)
    dtype = np.int16 if ds.PixelRepresentation == 1 else np.uint16
    cache: dict[int, bytes] = {}
    for i in range(n):
        scale = 0.75 + 0.25 * np.sin(np.pi * (i + 0.5) / n)
        key = round(scale * 100)
        if key not in cache:
            cache[key] = _resample(base, size, key / 100, fill).astype(dtype).tobytes()
        ds.PixelData = cache[key]
        ds.SOPInstanceUID = demo_uid(f"{label}/series/{series_number}/instance/{i + 1}")
        ds.InstanceNumber = i + 1
        z = z0 + i * thickness
        ds.ImagePositionPatient = [x0, y0, round(z, 3)]
        ds.SliceLocation = round(z, 3)
        yield ds


def build_ct_series(
    folder: Path,
    n: int,
    *,
    size: int = 512,
    patient: DemoPatient = CT_PATIENT,
    label: str = "ct",
) -> list[Path]:
    """``n`` CT slices (``size`` square, 16-bit) from CT_small, one file each."""
    paths = []
    for ds in _slices(
        "CT_small.dcm",
        n=n,
        size=size,
        patient=patient,
        label=label,
        sop_class_uid=CTImageStorage,
        series_number=2,
        series_description="AXIAL 5MM",
    ):
        paths.append(_save(ds, folder / f"CT{ds.InstanceNumber:04d}.dcm"))
    return paths


def _mr_series(folder: Path, n: int, size: int) -> list[Path]:
    paths = []
    for number, description, invert in ((3, "AX T1", False), (4, "AX T2", True)):
        for ds in _slices(
            "MR_small.dcm",
            n=n,
            size=size,
            patient=MR_PATIENT,
            label="mr",
            sop_class_uid=MRImageStorage,
            series_number=number,
            series_description=description,
            invert=invert,
        ):
            paths.append(_save(ds, folder / f"series{number}" / f"MR{ds.InstanceNumber:04d}.dcm"))
    return paths


# -- ultrasound ------------------------------------------------------------------------
US_ROWS, US_COLUMNS = 480, 640
US_BAND = 40  # rows of burned-in text at the top
US_HEADER_TEXT = "DEMO^ULTRASOUND  ID DEMO-0003  DOB 1970-01-01"


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if FONT.exists():
        return ImageFont.truetype(str(FONT), size)
    return ImageFont.load_default()


def _sector_geometry() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows, cols = np.mgrid[0:US_ROWS, 0:US_COLUMNS].astype(np.float32)
    apex_y, apex_x = US_BAND + 4.0, US_COLUMNS / 2
    dy, dx = rows - apex_y, cols - apex_x
    radius = np.hypot(dx, dy)
    angle = np.degrees(np.arctan2(dx, dy))
    inside = (np.abs(angle) < 38) & (radius > 30) & (radius < US_ROWS - US_BAND - 12)
    return inside, radius, angle


def _us_frames(n: int, seed: int) -> Iterator[np.ndarray]:
    """RGB frames: speckled sector, a pulsing dark 'cyst', burned-in patient header."""
    rng = np.random.default_rng(seed)
    inside, radius, angle = _sector_geometry()
    tissue = 0.55 + 0.25 * np.sin(radius / 23.0) * np.cos(angle / 9.0)
    header = Image.new("L", (US_COLUMNS, US_BAND), 0)
    draw = ImageDraw.Draw(header)
    draw.text((10, 10), US_HEADER_TEXT, fill=255, font=_font(18))
    band = np.asarray(header)
    cy, cx = US_BAND + 220.0, US_COLUMNS / 2 + 40
    rows, cols = np.mgrid[0:US_ROWS, 0:US_COLUMNS]
    for t in range(n):
        r = 38 + 10 * np.sin(2 * np.pi * t / max(n, 1))
        cyst = (
            (rows - cy) ** 2 + (cols - cx - 20 * np.sin(2 * np.pi * t / max(n, 1))) ** 2
        ) < r * r
        speckle = rng.rayleigh(0.45, size=(US_ROWS, US_COLUMNS)).astype(np.float32)
        gray = np.clip(tissue * speckle * np.where(cyst, 0.15, 1.0) * 255, 0, 255)
        gray = np.where(inside, gray, 0).astype(np.uint8)
        gray[:US_BAND] = band
        rgb = np.repeat(gray[:, :, None], 3, axis=2)
        rgb[US_BAND + 8 : US_ROWS - 20 : 40, US_COLUMNS - 30 : US_COLUMNS - 22] = (255, 210, 0)
        yield rgb


def _us_dataset(label: str, sop_class_uid: str, number: int, description: str) -> Dataset:
    ds = Dataset()
    _set_patient(ds, US_PATIENT, demo_uid("us/study"))
    ds.SOPClassUID = sop_class_uid
    ds.SOPInstanceUID = demo_uid(f"us/{label}/instance")
    ds.SeriesInstanceUID = demo_uid(f"us/{label}/series")
    ds.Modality = "US"
    ds.Manufacturer = "DEMO"
    ds.SeriesNumber = number
    ds.InstanceNumber = 1
    ds.SeriesDescription = description
    ds.ImageType = ["ORIGINAL", "PRIMARY", "ABDOMINAL"]
    ds.BurnedInAnnotation = "YES"
    ds.Rows, ds.Columns = US_ROWS, US_COLUMNS
    ds.SamplesPerPixel = 3
    ds.PhotometricInterpretation = "RGB"
    ds.PlanarConfiguration = 0
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.LossyImageCompression = "00"
    region = Dataset()
    region.RegionSpatialFormat = 1  # 2D tissue image
    region.RegionDataType = 1
    region.RegionFlags = 0
    region.RegionLocationMinX0 = 80
    region.RegionLocationMinY0 = US_BAND
    region.RegionLocationMaxX1 = US_COLUMNS - 80
    region.RegionLocationMaxY1 = US_ROWS - 1
    region.ReferencePixelX0 = US_COLUMNS // 2
    region.ReferencePixelY0 = US_BAND + 4
    region.PhysicalUnitsXDirection = 3  # cm
    region.PhysicalUnitsYDirection = 3
    region.PhysicalDeltaX = 0.03
    region.PhysicalDeltaY = 0.03
    ds.SequenceOfUltrasoundRegions = Sequence([region])
    return ds


def _us_studies(folder: Path, cine_frames: int) -> list[Path]:
    single = _us_dataset("single", UltrasoundImageStorage, 1, "LIVER")
    single.PixelData = next(_us_frames(1, seed=3)).tobytes()
    paths = [_save(single, folder / "series1" / "US0001.dcm")]
    cine = _us_dataset("cine", UltrasoundMultiFrameImageStorage, 2, "LIVER CINE")
    cine.NumberOfFrames = cine_frames
    cine.FrameTime = 33.3
    cine.CineRate = 30
    cine.FrameIncrementPointer = pydicom.tag.Tag("FrameTime")
    cine.PixelData = b"".join(frame.tobytes() for frame in _us_frames(cine_frames, seed=4))
    paths.append(_save(cine, folder / "series2" / "US0001.dcm"))
    return paths


def build_demo_studies(
    folder: Path,
    *,
    ct_slices: int = 48,
    mr_slices: int = 20,
    cine_frames: int = 30,
    size: int = 256,
) -> list[Path]:
    """Write the demo studies under ``folder`` and return their paths.

    Idempotent: when a previous build with the same parameters is complete, nothing is
    written and its paths are returned.
    """
    folder = Path(folder)
    params = {"version": _VERSION, "ct": ct_slices, "mr": mr_slices, "cine": cine_frames}
    params["size"] = size
    marker = folder / _MARKER
    if marker.exists():
        try:
            saved = json.loads(marker.read_text())
            paths = [folder / p for p in saved["files"]]
            if saved["params"] == params and all(p.exists() for p in paths):
                return paths
        except (ValueError, KeyError, TypeError):
            pass
    paths = [
        *build_ct_series(folder / "ct-chest", ct_slices, size=size),
        *_mr_series(folder / "mr-brain", mr_slices, size),
        *_us_studies(folder / "us-abdomen", cine_frames),
    ]
    marker.write_text(
        json.dumps({"params": params, "files": [str(p.relative_to(folder)) for p in paths]})
    )
    return paths


__all__ = [
    "CT_PATIENT",
    "MR_PATIENT",
    "US_HEADER_TEXT",
    "US_PATIENT",
    "build_ct_series",
    "build_demo_studies",
    "demo_uid",
]
