"""Synthetic "dirty" DICOM files with invented identifiers planted everywhere they hide.

Every planted value is listed in ``PLANTED`` so a test can assert that none of them
survives, anywhere in the output bytes. All data is invented.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from pydicom import Dataset, FileMetaDataset
from pydicom.dataset import FileDataset
from pydicom.sequence import Sequence
from pydicom.uid import (
    CTImageStorage,
    ExplicitVRLittleEndian,
    UltrasoundMultiFrameImageStorage,
)

# Distinctive invented values: long enough that finding one in the output is no accident.
PLANTED = {
    "PatientName": "ZEBRAFISH^QUENTIN^MARMADUKE",
    "PatientID": "MRN93817465",
    "OtherPatientID": "ALTID55502194",
    "IssuerOfPatientID": "SAINTELSEWHEREHOSP",
    "PatientBirthDate": "19471103",
    "PatientAddress": "42 WALLABY WAY SYDNEY",
    "PatientTelephoneNumbers": "5550198234",
    "PatientMotherBirthName": "GRIMSDOTTIR^HELGA",
    "AccessionNumber": "ACC77120938",
    "InstitutionName": "XYLOPHONE MEMORIAL INFIRMARY",
    "InstitutionAddress": "9 QUIXOTE BOULEVARD",
    "InstitutionalDepartmentName": "VORTEXRADIOLOGY",
    "ReferringPhysicianName": "PLUMTREE^ARCHIBALD",
    "PerformingPhysicianName": "SNODGRASS^BEATRIX",
    "OperatorsName": "WIGGLESWORTH^CEDRIC",
    "NameOfPhysiciansReadingStudy": "FOTHERINGAY^DELPHINE",
    "StationName": "CTSCANNERQX7",
    "StudyID": "STUDY8837261",
    "StudyDescription": "CT CHEST ZEBRAFISH MRN93817465",
    "SeriesDescription": "AXIAL ZEBRAFISH 19471103",
    "ImageComments": "patient QUENTIN ZEBRAFISH called 5550198234",
    "RequestingPhysician": "HUMPERDINCK^ENGELBERT",
    "PrivateText": "PRIVATEZEBRAFISH MRN93817465",
    "NestedName": "NESTEDGOBLIN^OSWALD",
    "SourceAE": "PACSLEAKAET",
}
PLANTED_UIDS = {
    "StudyInstanceUID": "1.2.826.0.1.3680043.8.498.19471103.93817465.1",
    "SeriesInstanceUID": "1.2.826.0.1.3680043.8.498.19471103.93817465.2",
    "FrameOfReferenceUID": "1.2.826.0.1.3680043.8.498.19471103.93817465.3",
}
STUDY_DATE = "20240315"


def _meta(sop_class: str, sop_instance: str) -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_instance
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = "1.2.826.0.1.3680043.8.498.1"
    meta.SourceApplicationEntityTitle = PLANTED["SourceAE"]
    return meta


def _identify(ds: Dataset) -> None:
    p = PLANTED
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.PatientName = p["PatientName"]
    ds.PatientID = p["PatientID"]
    ds.IssuerOfPatientID = p["IssuerOfPatientID"]
    ds.PatientBirthDate = p["PatientBirthDate"]
    ds.PatientSex = "F"
    ds.PatientAge = "076Y"
    ds.PatientWeight = "61.5"
    ds.PatientAddress = p["PatientAddress"]
    ds.PatientTelephoneNumbers = p["PatientTelephoneNumbers"]
    ds.PatientMotherBirthName = p["PatientMotherBirthName"]
    ds.PatientIdentityRemoved = "YES"  # falsely claims to be clean already
    other = Dataset()
    other.PatientID = PLANTED["OtherPatientID"]
    other.TypeOfPatientID = "TEXT"
    ds.OtherPatientIDsSequence = Sequence([other])
    ds.AccessionNumber = p["AccessionNumber"]
    ds.InstitutionName = p["InstitutionName"]
    ds.InstitutionAddress = p["InstitutionAddress"]
    ds.InstitutionalDepartmentName = p["InstitutionalDepartmentName"]
    ds.ReferringPhysicianName = p["ReferringPhysicianName"]
    ds.PerformingPhysicianName = p["PerformingPhysicianName"]
    ds.OperatorsName = p["OperatorsName"]
    ds.NameOfPhysiciansReadingStudy = p["NameOfPhysiciansReadingStudy"]
    ds.StationName = p["StationName"]
    ds.StudyID = p["StudyID"]
    ds.StudyDescription = p["StudyDescription"]
    ds.SeriesDescription = p["SeriesDescription"]
    ds.ImageComments = p["ImageComments"]
    ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = STUDY_DATE
    ds.StudyTime = "101500"
    ds.AcquisitionDateTime = STUDY_DATE + "101502.123456"
    ds.StudyInstanceUID = PLANTED_UIDS["StudyInstanceUID"]
    ds.SeriesInstanceUID = PLANTED_UIDS["SeriesInstanceUID"]
    ds.FrameOfReferenceUID = PLANTED_UIDS["FrameOfReferenceUID"]
    # Identifiers nested two levels down.
    request = Dataset()
    request.RequestingPhysician = p["RequestingPhysician"]
    request.AccessionNumber = p["AccessionNumber"]
    code = Dataset()
    code.CodeValue = "X1"
    code.CodingSchemeDesignator = "99LOCAL"
    code.CodeMeaning = p["NestedName"]
    request.RequestedProcedureCodeSequence = Sequence([code])
    ds.RequestAttributesSequence = Sequence([request])
    ref = Dataset()
    ref.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.3.1"
    ref.ReferencedSOPInstanceUID = PLANTED_UIDS["StudyInstanceUID"] + ".7"
    ds.ReferencedStudySequence = Sequence([ref])
    # A private block with text, and a private sequence with a name inside.
    block = ds.private_block(0x0029, "ACME IMAGING 1.0", create=True)
    block.add_new(0x10, "LO", p["PrivateText"])
    inner = Dataset()
    inner.PatientName = p["NestedName"]
    block.add_new(0x11, "SQ", Sequence([inner]))
    # An overlay and a curve-era comment.
    ds.add_new(0x60000010, "US", 16)
    ds.add_new(0x60000011, "US", 16)
    ds.add_new(0x60004000, "LT", p["PatientName"])
    ds.add_new(0x60003000, "OW", b"\xff" * 32)


def dirty_ct(index: int = 1, *, rows: int = 64, columns: int = 64) -> FileDataset:
    """A CT slice with identifiers in the header, nested sequences, private and meta."""
    sop_instance = f"{PLANTED_UIDS['SeriesInstanceUID']}.{index}"
    ds = FileDataset(
        "", Dataset(), file_meta=_meta(CTImageStorage, sop_instance), preamble=b"\0" * 128
    )
    ds.preamble = (b"PREAMBLE " + PLANTED["PatientName"].encode()).ljust(128, b"\0")
    _identify(ds)
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = sop_instance
    ds.Modality = "CT"
    ds.BodyPartExamined = "CHEST"
    ds.InstanceNumber = index
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.ImagePositionPatient = [-160.0, -160.0, -50.0 + 2.5 * index]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing = [0.7, 0.7]
    ds.SliceThickness = 2.5
    ds.KVP = 120
    ds.WindowCenter = 40
    ds.WindowWidth = 400
    ds.RescaleIntercept = -1024
    ds.RescaleSlope = 1
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = rows, columns
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
    ds.PixelRepresentation = 0
    arr = np.arange(rows * columns, dtype=np.uint16).reshape(rows, columns) % 4096
    ds.PixelData = arr.tobytes()
    ds.DataSetTrailingPadding = PLANTED["PatientName"].encode() + b"\0"
    return ds


def dirty_us_cine(*, frames: int = 4, rows: int = 120, columns: int = 160) -> FileDataset:
    """A multi-frame RGB ultrasound cine with the same header identifiers."""
    sop_instance = f"{PLANTED_UIDS['SeriesInstanceUID']}.900"
    ds = FileDataset(
        "",
        Dataset(),
        file_meta=_meta(UltrasoundMultiFrameImageStorage, sop_instance),
        preamble=b"\0" * 128,
    )
    _identify(ds)
    ds.SOPClassUID = UltrasoundMultiFrameImageStorage
    ds.SOPInstanceUID = sop_instance
    ds.Modality = "US"
    ds.BurnedInAnnotation = "YES"
    ds.NumberOfFrames = frames
    ds.FrameTime = 33.3
    ds.SamplesPerPixel = 3
    ds.PhotometricInterpretation = "RGB"
    ds.PlanarConfiguration = 0
    ds.Rows, ds.Columns = rows, columns
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
    ds.PixelRepresentation = 0
    region = Dataset()
    region.RegionSpatialFormat = 1
    region.RegionDataType = 1
    region.RegionFlags = 0
    region.RegionLocationMinX0, region.RegionLocationMinY0 = 10, 20
    region.RegionLocationMaxX1, region.RegionLocationMaxY1 = columns - 10, rows - 5
    region.PhysicalUnitsXDirection = region.PhysicalUnitsYDirection = 3
    region.PhysicalDeltaX = region.PhysicalDeltaY = 0.02
    ds.SequenceOfUltrasoundRegions = Sequence([region])
    arr = np.zeros((frames, rows, columns, 3), dtype=np.uint8)
    arr[:, 20:, :, :] = 90
    ds.PixelData = arr.tobytes()
    return ds


def to_bytes(ds: FileDataset) -> bytes:
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def write(ds: FileDataset, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(to_bytes(ds))
    return path


def planted_byte_patterns() -> list[bytes]:
    """Every planted value and its distinctive parts, as bytes to search output for."""
    patterns: set[bytes] = set()
    for value in [*PLANTED.values(), *PLANTED_UIDS.values()]:
        patterns.add(value.encode())
        for part in value.replace("^", " ").split():
            if len(part) >= 6:
                patterns.add(part.encode())
    return sorted(patterns)


FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"


def us_cine_with_name(*, frames: int = 3, rows: int = 240, columns: int = 320) -> FileDataset:
    """A cine whose top band shows the patient's name, as ultrasound machines do (OCR reads
    it and the first pass proposes a box matching PatientName)."""
    from PIL import Image, ImageDraw, ImageFont

    ds = dirty_us_cine(frames=frames, rows=rows, columns=columns)
    frame = Image.new("RGB", (columns, rows))
    draw = ImageDraw.Draw(frame)
    draw.text((8, 6), "ZEBRAFISH QUENTIN", fill=(255, 255, 255), font=ImageFont.truetype(FONT, 20))
    draw.rectangle((20, 60, columns - 20, rows - 10), fill=(90, 90, 90))
    ds.PixelData = np.stack([np.asarray(frame)] * frames).tobytes()
    return ds
