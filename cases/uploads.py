"""Images from other sources: DICOM files, and photographs or figures as JPEG/PNG.

An upload is an import job, like a PACS pull. The web request only stores the files:
:class:`UploadLimitHandler` streams each one to a private file under
``INCOMING_ROOT/uploads/.partial`` (never into memory, never outside the incoming store),
refusing more files or bytes than the ``UPLOAD_MAX_*`` settings allow; then
:func:`upload_job_create` moves them into the job's folder and queues
``cases.tasks.upload_task``. The worker (:func:`upload_job_run`) takes each file on its
own: a picture becomes a DICOM Secondary Capture, then every file goes through the same
first pass as a pull. Whatever a file does (a decompression bomb, sequences nested
thousands deep, running out of memory, any error), that file alone is quarantined with a
reason a person can act on, the others go through, and the job ends.

A JPEG or PNG becomes a Secondary Capture built from its pixels alone: EXIF, XMP, ICC and
text chunks are never read into the new file (a photograph's metadata can hold names,
dates and GPS). Its size is checked from its header before a pixel is decoded.
"""

from __future__ import annotations

import os
import secrets
import shutil
import struct
import tempfile
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.uploadedfile import TemporaryUploadedFile, UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from PIL import Image, UnidentifiedImageError
from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

from cases import storage
from cases.heartbeat import job_heartbeat
from cases.ingest import files_ingest, first_pass_failure, quarantine_file
from cases.models import Case, ImportJob, QuarantineItem
from cases.services import audit_record

#: Files the first pass takes at a time (one re-identification key per batch).
BATCH_SIZE = 16
#: Pixels converted at a time from a decoded picture into the DICOM file.
_STRIP_BYTES = 8 * 1024 * 1024
#: Room for the form's other fields and the multipart headers around the files.
_FORM_OVERHEAD_BYTES = 1024 * 1024
_RAW, _DICOM = ".upload", ".dcm"


class UploadRefused(ValueError):
    """The upload or one of its files is refused; the message says why, in plain words."""


# ---------------------------------------------------------------------------------------
# The web request: store the files, queue the job


def _megabytes(size: int) -> str:
    return f"{size / 2**20:,.0f} MB"


def upload_length_refusal(content_length: int) -> str:
    """Why a request body of ``content_length`` bytes is refused before it is read ("" if
    it is not)."""
    if content_length > settings.UPLOAD_MAX_TOTAL_BYTES + _FORM_OVERHEAD_BYTES:
        return (
            f"The upload is larger than {_megabytes(settings.UPLOAD_MAX_TOTAL_BYTES)} in "
            "total. Upload the files in smaller groups."
        )
    return ""


def _file_refusal(*, count: int, size: int, total: int) -> str:
    if count > settings.UPLOAD_MAX_FILES:
        return (
            f"At most {settings.UPLOAD_MAX_FILES} files can be uploaded at once. "
            "Upload the files in smaller groups."
        )
    if size > settings.UPLOAD_MAX_FILE_BYTES:
        return (
            f"A file is larger than {_megabytes(settings.UPLOAD_MAX_FILE_BYTES)}, the limit "
            "for one file. Nothing was uploaded."
        )
    if total > settings.UPLOAD_MAX_TOTAL_BYTES:
        return (
            f"The upload is larger than {_megabytes(settings.UPLOAD_MAX_TOTAL_BYTES)} in "
            "total. Upload the files in smaller groups."
        )
    return ""


def partial_dir() -> Path:
    """Where files being received are streamed to (inside the incoming store)."""
    folder = storage.ensure_root(settings.INCOMING_ROOT) / "uploads" / ".partial"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


class _IncomingUploadedFile(TemporaryUploadedFile):
    """A file being received, written to an owner-only temporary file in the incoming
    store (Django's own goes to the system's temporary folder) and named after nothing
    the client sent."""

    def __init__(
        self,
        name: str,
        content_type: str,
        charset: str | None,
        content_type_extra: dict[str, Any] | None,
    ) -> None:
        # Closed (so deleted, unless moved) when the request ends, like Django's own.
        file = tempfile.NamedTemporaryFile(  # noqa: SIM115
            dir=partial_dir(), prefix=".", suffix=".part"
        )
        UploadedFile.__init__(self, file, name, content_type, 0, charset, content_type_extra)


class UploadLimitHandler(FileUploadHandler):
    """Streams every file of the request to disk, and stops receiving as soon as a limit is
    passed (``UPLOAD_MAX_FILES``, ``UPLOAD_MAX_FILE_BYTES``, ``UPLOAD_MAX_TOTAL_BYTES``):
    ``refusal`` then says why, and the files received so far are deleted when the request
    closes them."""

    def __init__(self, request: Any = None) -> None:
        super().__init__(request)
        self.refusal = ""
        self.count = self.size = self.total = 0

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.count += 1
        self.size = 0
        self._check()
        self.file = _IncomingUploadedFile(
            self.file_name or "upload", self.content_type, self.charset, self.content_type_extra
        )

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self.size += len(raw_data)
        self.total += len(raw_data)
        self._check()
        self.file.write(raw_data)

    def file_complete(self, file_size: int) -> UploadedFile:
        self.file.seek(0)
        self.file.size = file_size
        return self.file

    def upload_interrupted(self) -> None:
        if hasattr(self, "file"):
            self.file.close()

    def _check(self) -> None:
        refusal = _file_refusal(count=self.count, size=self.size, total=self.total)
        if refusal:
            self.refusal = refusal
            raise StopUpload(connection_reset=False)


def _store(upload: UploadedFile, target: Path) -> None:
    """Move (or, from memory, write) one uploaded file to ``target``, owner-only."""
    temporary = getattr(upload, "temporary_file_path", None)
    if temporary is not None:
        try:
            os.replace(temporary(), target)
            target.chmod(0o600)
            return
        except OSError:  # another file system: copy it below
            pass
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        upload.seek(0)
        for chunk in upload.chunks():
            fh.write(chunk)


def job_folder(job_id: int) -> Path:
    return storage.ensure_root(settings.INCOMING_ROOT) / "uploads" / str(job_id)


def upload_job_create(
    *, case: Case, by: AbstractBaseUser, files: Sequence[UploadedFile]
) -> ImportJob:
    """Store the uploaded files in the incoming store and queue their processing.

    Raises :class:`UploadRefused` (nothing stored) if the case is not a draft, no file was
    sent, or a limit is passed.
    """
    if case.status != Case.Status.DRAFT:
        raise UploadRefused("Images can only be added to a draft case.")
    if not files:
        raise UploadRefused("Choose DICOM files or pictures to add to a draft case.")
    sizes = [upload.size or 0 for upload in files]
    refusal = _file_refusal(count=len(files), size=max(sizes), total=sum(sizes))
    if refusal:
        raise UploadRefused(refusal)
    with transaction.atomic():
        job = ImportJob.objects.create(
            case=case, author=by, source=ImportJob.Source.UPLOAD,
            status=ImportJob.Status.QUEUED, expected=len(files), received=len(files),
        )  # fmt: skip
        folder = job_folder(job.pk)
        try:
            folder.mkdir(mode=0o700, parents=True)
            for upload in files:
                _store(upload, folder / f"{secrets.token_hex(12)}{_RAW}")  # never its name
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        transaction.on_commit(lambda: _enqueue(job.pk))
    return job


def _enqueue(job_id: int) -> None:
    from cases.tasks import upload_task

    result = upload_task.delay(job_id)
    task_id = getattr(result, "id", None) or ""
    ImportJob.objects.filter(pk=job_id, task_id="").update(task_id=task_id)


# ---------------------------------------------------------------------------------------
# The worker: each file on its own


@dataclass
class PixelBudget:
    """Picture pixels one upload may still convert (``UPLOAD_MAX_TOTAL_PIXELS``): a few
    kilobytes of blank PNG can declare 25 megapixels, each costing the worker seconds
    and gigabytes in text detection."""

    remaining: int


def picture_to_secondary_capture(
    source: Path, target: Path, budget: PixelBudget | None = None
) -> None:
    """A JPEG/PNG file as a DICOM Secondary Capture file (PS3.3 A.8.1), pixels only.

    The picture's size is read from its header and checked against
    ``UPLOAD_MAX_IMAGE_PIXELS`` before anything is decoded; it is then decoded once and
    written in strips of rows straight into the file (no copy of the whole image besides
    the decoded one). Raises :class:`UploadRefused` with a reason a person can act on.
    """
    limit = settings.UPLOAD_MAX_IMAGE_PIXELS
    too_large = (
        f"the picture is larger than {limit / 1e6:.0f} megapixels, the limit for an "
        "uploaded picture: scale it down and upload it again"
    )
    with warnings.catch_warnings():
        # Pillow warns above its own MAX_IMAGE_PIXELS and refuses at twice that; both
        # while opening, from the header, before decoding.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(source, formats=("JPEG", "PNG"))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise UploadRefused(too_large) from None
        except (UnidentifiedImageError, OSError):
            raise UploadRefused("the file could not be read as DICOM, JPEG or PNG") from None
    with image:
        width, height = image.size
        if width * height > limit:
            raise UploadRefused(
                f"the picture is {width} × {height} pixels ({width * height / 1e6:.0f} "
                f"megapixels); at most {limit / 1e6:.0f} megapixels are accepted: scale it "
                "down and upload it again"
            )
        if budget is not None:
            if width * height > budget.remaining:
                total = settings.UPLOAD_MAX_TOTAL_PIXELS / 1e6
                raise UploadRefused(
                    f"the pictures of this upload pass {total:.0f} megapixels in all, the "
                    "limit for one upload: upload this picture separately"
                )
            budget.remaining -= width * height
        try:
            image.load()  # decoded once; metadata is never copied into the new file
        except OSError:
            raise UploadRefused("the picture is damaged or truncated") from None
        _write_secondary_capture(image, target)


def _write_secondary_capture(image: Image.Image, target: Path) -> None:
    width, height = image.size
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
    ds.Rows, ds.Columns = height, width
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    length = width * height * 3
    tmp = target.with_name(f".{target.name}.part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            ds.save_as(fh, enforce_file_format=True)
            # Pixel Data (7FE0,0010) comes last: its header, then the rows as RGB, strip by
            # strip (PS3.5 7.1.2: OB with a 4-byte length, padded to an even length).
            fh.write(struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OB", 0, length + length % 2))
            rows = max(1, _STRIP_BYTES // (width * 3))
            for top in range(0, height, rows):
                strip = image.crop((0, top, width, min(height, top + rows)))
                if strip.mode != "RGB":
                    strip = strip.convert("RGB")  # drops alpha and palette
                fh.write(strip.tobytes())
            if length % 2:
                fh.write(b"\0")
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _is_dicom(path: Path) -> bool:
    with path.open("rb") as fh:
        head = fh.read(132)
    return len(head) == 132 and head[128:132] == b"DICM"


def _quarantine(job: ImportJob, path: Path, reason: str) -> None:
    try:
        quarantine_file(path=path, reason=reason, stage="upload", case=job.case, job=job)
    except FileNotFoundError:  # a re-delivered run alongside took it
        return
    ImportJob.objects.filter(pk=job.pk).update(
        processed=F("processed") + 1,
        quarantined=F("quarantined") + 1,
        completed=F("processed") + 1,
    )


def _upload_prepare(job: ImportJob, path: Path, budget: PixelBudget | None = None) -> None:
    """One received file ready for the first pass: a DICOM file is renamed, a picture
    converted (its raw file deleted); what cannot be is quarantined with its reason."""
    target = path.with_suffix(_DICOM)
    try:
        if _is_dicom(path):
            os.replace(path, target)
            return
        picture_to_secondary_capture(path, target, budget)
    except FileNotFoundError:  # a re-delivered run alongside took it
        return
    except UploadRefused as exc:
        _quarantine(job, path, str(exc))
        return
    except Exception as exc:  # DecompressionBomb*, MemoryError, RecursionError, anything
        target.unlink(missing_ok=True)
        _quarantine(job, path, first_pass_failure(exc))
        return
    path.unlink(missing_ok=True)


def partials_clear(*, older_than_seconds: float = 24 * 3600) -> int:
    """Delete files left half-received by a web process that died; returns how many."""
    folder = partial_dir()
    cutoff = time.time() - older_than_seconds
    gone = 0
    for path in folder.iterdir():
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                gone += 1
        except FileNotFoundError:
            continue
    return gone


#: Why the files of an upload were not imported when its case stopped being a draft.
NOT_A_DRAFT = (
    "The case was no longer a draft when these files were processed: the rest were not "
    "added (and were deleted). Upload them again to a draft case."
)


def _is_draft(job: ImportJob) -> bool:
    return Case.objects.filter(pk=job.case_id, status=Case.Status.DRAFT).exists()


def upload_job_run(job_id: int) -> None:
    """Process every file of an upload job; the job always ends.

    Idempotent: a re-delivered run skips what an earlier run finished (a processed file is
    gone from the job's folder: recorded and deleted, or quarantined) and a job that ended
    is left alone. Images are added only while the case is a draft.
    """
    with transaction.atomic():
        job = (
            ImportJob.objects.select_for_update()
            .select_related("case", "author")
            .filter(pk=job_id, source=ImportJob.Source.UPLOAD)
            .first()
        )
        if job is None or job.status not in (
            ImportJob.Status.QUEUED,
            ImportJob.Status.PROCESSING,
        ):
            return
        job.status = ImportJob.Status.PROCESSING
        job.heartbeat_at = timezone.now()
        job.save(update_fields=["status", "heartbeat_at", "updated_at"])
    folder = job_folder(job_id)
    stopped = ""
    try:
        partials_clear()
        budget = PixelBudget(settings.UPLOAD_MAX_TOTAL_PIXELS)
        for path in sorted(folder.glob(f"*{_RAW}")):
            if not job_heartbeat(job_id):
                return  # ended by the sweeper: no longer this run's to do
            _upload_prepare(job, path, budget)
        paths = sorted(folder.glob(f"*{_DICOM}"))
        for start in range(0, len(paths), BATCH_SIZE):
            if not job_heartbeat(job_id):
                return
            if not _is_draft(job):
                stopped = NOT_A_DRAFT
                break
            batch = paths[start : start + BATCH_SIZE]
            outcome = files_ingest(
                case=job.case, paths=batch, job=job, stage="upload",
                beat=lambda: job_heartbeat(job_id),
            )  # fmt: skip
            if outcome.instances or outcome.quarantined:
                ImportJob.objects.filter(pk=job_id).update(completed=F("processed"))
    finally:
        upload_job_close(job_id, stopped=stopped)


def upload_job_close(job_id: int, *, stopped: str = "") -> None:
    """End the job: any file still in its folder is quarantined (the run stopped on an
    error) or, with ``stopped`` (why the rest are not wanted), deleted; the counts and a
    summary are recorded, and the upload is audited."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().select_related("case").get(pk=job_id)
        if job.status != ImportJob.Status.PROCESSING:
            return
        folder = job_folder(job_id)
        for path in sorted(folder.glob("*")):
            if path.name.startswith(".") or stopped:
                path.unlink(missing_ok=True)  # a half-written conversion, or not wanted
            elif path.is_file():
                _quarantine(
                    job, path, "the import stopped on an error before this file was processed"
                )
        shutil.rmtree(folder, ignore_errors=True)
        job.refresh_from_db()
        added = job.processed - job.quarantined
        message = f"{stopped} " if stopped else ""
        message += f"{added} image(s) added and de-identified."
        if job.quarantined:
            reasons = list(
                QuarantineItem.objects.filter(job=job)
                .order_by("reason")
                .values_list("reason", flat=True)
                .distinct()[:5]
            )
            message += f" {job.quarantined} put in quarantine: {'; '.join(reasons)}"
        job.status = ImportJob.Status.DONE
        job.completed = job.processed
        job.message = message
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "completed", "message", "finished_at", "updated_at"])
        audit_record(
            actor=job.author, action="upload", case=job.case, target=f"import:{job.pk}",
            detail={"files": job.received, "quarantined": job.quarantined},
        )  # fmt: skip
