"""Images from other sources: DICOM files, and photographs or figures as JPEG/PNG.

Every upload goes through the same first pass as a PACS pull. A JPEG or PNG becomes a
DICOM Secondary Capture built from its pixels alone: EXIF, XMP, ICC and text chunks are
never read into the new file (a photograph's metadata can hold names, dates and GPS).
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from PIL import Image, UnidentifiedImageError
from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

from cases import storage
from cases.ingest import BatchOutcome, files_ingest, quarantine_file
from cases.models import Case, ImportJob
from cases.services import audit_record

MAX_PIXELS = 64_000_000  # a 8000 x 8000 photograph; beyond that, refuse rather than choke


class UploadRefused(ValueError):
    pass


def image_to_secondary_capture(data: bytes) -> bytes:
    """A JPEG/PNG as a DICOM Secondary Capture file (PS3.3 A.8.1), pixels only."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_PIXELS:
                raise UploadRefused("the picture is larger than 64 megapixels")
            rgb = image.convert("RGB")  # drops alpha and palette; metadata is not copied
    except (UnidentifiedImageError, OSError) as exc:
        raise UploadRefused(f"the picture could not be read ({type(exc).__name__})") from None
    pixels = np.asarray(rgb, dtype=np.uint8)
    ds = Dataset()
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = "OT"
    ds.ConversionType = "WSD"  # workstation: a picture from outside imaging
    ds.SeriesDescription = "Uploaded picture"
    ds.PatientName, ds.PatientID = "", ""
    ds.InstanceNumber = 1
    ds.BurnedInAnnotation = "YES"  # unknown: treat as flagged, so it is reviewed
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, "RGB", 0
    ds.Rows, ds.Columns = pixels.shape[:2]
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = pixels.tobytes()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def _is_dicom(head: bytes) -> bool:
    return len(head) >= 132 and head[128:132] == b"DICM"


def uploads_ingest(
    *, case: Case, by: AbstractBaseUser, files: Iterable[UploadedFile]
) -> tuple[ImportJob, BatchOutcome]:
    """Store the uploads in the raw store, convert pictures, and run the first pass."""
    job = ImportJob.objects.create(
        case=case, author=by, source=ImportJob.Source.UPLOAD, status=ImportJob.Status.PROCESSING
    )
    folder = storage.ensure_root(settings.INCOMING_ROOT) / "uploads" / str(job.pk)
    paths: list[Path] = []
    refused: list[str] = []
    for upload in files:
        data = upload.read()
        name = f"{secrets.token_hex(8)}.dcm"  # never the uploaded name
        if not _is_dicom(data[:132]):
            try:
                data = image_to_secondary_capture(data)
            except UploadRefused as exc:
                raw = storage.write_atomic(folder / name, data, private=True)
                quarantine_file(path=raw, reason=str(exc), stage="upload", case=case, job=job)
                refused.append(str(exc))
                continue
        paths.append(storage.write_atomic(folder / name, data, private=True))
    outcome = files_ingest(case=case, paths=paths, job=job, stage="upload")
    outcome.quarantined += len(refused)
    outcome.reasons = refused + outcome.reasons
    with transaction.atomic():
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.DONE,
            received=len(paths) + len(refused),
            quarantined=outcome.quarantined,
            finished_at=timezone.now(),
        )
        audit_record(
            actor=by, action="upload", case=case, target=f"import:{job.pk}",
            detail={"files": len(paths) + len(refused), "quarantined": outcome.quarantined},
        )  # fmt: skip
    job.refresh_from_db()
    return job, outcome
