"""Uploads are import jobs: the request stores the files and queues them; the worker takes
each file on its own, quarantines what fails with a plain reason, and always ends the job.
Pictures lose every bit of their metadata."""

import io
import re
import shutil
import struct
import zlib
from pathlib import Path

import pydicom
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image, PngImagePlugin

from cases import uploads
from cases.ingest import files_ingest
from cases.models import AuditEvent, ImportJob, Instance, QuarantineItem
from cases.services import case_create
from cases.uploads import upload_job_create, upload_job_run
from tests.anonymizer.dirty import dirty_ct, to_bytes
from tests.anonymizer.test_integrity import nested_sequences

pytestmark = pytest.mark.django_db


def _jpeg_with_exif() -> bytes:
    image = Image.new("RGB", (64, 48), (120, 60, 30))
    exif = Image.Exif()
    exif[0x013B] = "ZEBRAFISH QUENTIN"  # Artist
    exif[0x010E] = "MRN93817465"  # ImageDescription
    buf = io.BytesIO()
    image.save(buf, "JPEG", exif=exif.tobytes(), comment=b"WALLABYWAY")
    return buf.getvalue()


def _png_with_text() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "ZEBRAFISH QUENTIN")
    buf = io.BytesIO()
    Image.new("L", (32, 32), 200).save(buf, "PNG", pnginfo=info)
    return buf.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims ``width`` × ``height`` RGB pixels in a few hundred bytes (a
    decompression bomb as far as anyone reading its header can tell)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 4096))
        + chunk(b"IEND", b"")
    )


def _good_dicom() -> SimpleUploadedFile:
    return SimpleUploadedFile("slice.dcm", to_bytes(dirty_ct(1, rows=32, columns=32)))


def _run(case, author, files) -> ImportJob:
    """The request's part (store, queue) and the worker's, as the task would run it."""
    job = upload_job_create(case=case, by=author, files=files)
    assert job.status == ImportJob.Status.QUEUED
    upload_job_run(job.pk)
    job.refresh_from_db()
    return job


def _assert_ended_clean(job: ImportJob) -> None:
    assert job.status == ImportJob.Status.DONE, job.message
    assert job.finished_at is not None
    assert job.processed == job.received == job.expected
    assert not uploads.job_folder(job.pk).exists()  # no raw file left behind


def _reasons(job: ImportJob) -> list[str]:
    return sorted(QuarantineItem.objects.filter(job=job).values_list("reason", flat=True))


def test_pictures_and_dicom_files_become_de_identified_instances(author):
    case = case_create(author=author)
    files = [
        SimpleUploadedFile("ZEBRAFISH_photo.jpg", _jpeg_with_exif()),
        SimpleUploadedFile("figure.png", _png_with_text()),
        SimpleUploadedFile("slice.dcm", to_bytes(dirty_ct(1))),
        SimpleUploadedFile("notes.txt", b"just some notes"),
    ]
    job = _run(case, author, files)
    _assert_ended_clean(job)
    assert (job.processed - job.quarantined, job.quarantined) == (3, 1)
    assert job.message.startswith("3 image(s) added and de-identified. 1 put in quarantine")
    for instance in Instance.objects.filter(series__case=case):
        data = (settings.WORKING_ROOT / instance.working_file).read_bytes()
        for planted in (b"ZEBRAFISH", b"MRN93817465", b"WALLABYWAY", b"QUENTIN"):
            assert planted not in data
    pictures = Instance.objects.filter(series__case=case, sop_class_uid="1.2.840.10008.5.1.4.1.1.7")
    assert pictures.count() == 2
    assert all(p.status == "needs-review" for p in pictures)
    ds = pydicom.dcmread(settings.WORKING_ROOT / pictures.first().working_file)
    assert ds.PatientName == case.pseudonym
    assert ds.Rows in (48, 32) and ds.SamplesPerPixel == 3
    assert _reasons(job) == ["the file could not be read as DICOM, JPEG or PNG"]
    event = AuditEvent.objects.get(action="upload", case=case)
    assert event.detail == {"files": 4, "quarantined": 1}


def test_a_converted_picture_keeps_its_pixels_row_by_row(author, tmp_path):
    """Written in strips: every row, in order, RGB (odd sizes padded to an even length)."""
    image = Image.new("RGBA", (333, 517))
    for y in range(517):
        image.paste((y % 256, 255 - y % 256, 7, 128), (0, y, 333, y + 1))
    source = tmp_path / "picture.png"
    image.save(source)
    uploads.picture_to_secondary_capture(source, tmp_path / "out.dcm")
    ds = pydicom.dcmread(tmp_path / "out.dcm")
    assert (ds.Rows, ds.Columns, ds.PhotometricInterpretation) == (517, 333, "RGB")
    assert (ds.pixel_array == __import__("numpy").asarray(image.convert("RGB"))).all()


_MEASURE = """
import resource, sys, django
from pathlib import Path
django.setup()
from cases.uploads import picture_to_secondary_capture
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
picture_to_secondary_capture(Path(sys.argv[1]), Path(sys.argv[2]))
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024)
"""


def test_converting_a_large_picture_decodes_it_once_and_copies_nothing_whole(tmp_path):
    """A 5000 × 5000 RGBA PNG (100 MB decoded): the conversion's peak stays near the decoded
    picture itself (converting the whole image, then copying it into an array, bytes and
    a file buffer took four times that)."""
    import os
    import subprocess
    import sys

    import numpy as np

    side = 5000
    small = np.random.default_rng(0).integers(0, 255, (side // 50, side // 50, 4), np.uint8)
    source = tmp_path / "large.png"
    Image.fromarray(small).resize((side, side), Image.Resampling.NEAREST).save(source)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "teachingfile.test_settings"}
    measured = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(source), str(tmp_path / "large.dcm")],
        env=env, capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    grown = int(measured.stdout.split()[-1])
    decoded = side * side * 4
    assert grown < 1.6 * decoded, f"{grown / 2**20:.0f} MB for {decoded / 2**20:.0f} MB decoded"
    assert (tmp_path / "large.dcm").stat().st_size > side * side * 3


def test_a_malformed_dicom_upload_is_quarantined_with_the_reason(author):
    """A value that runs past the end of the file, or a missing UID or pixel data: the
    upload is quarantined with a reason naming the element, and no instance is made."""
    from tests.anonymizer.test_integrity import overrun_study_description

    case = case_create(author=author)
    overrun, available = overrun_study_description(5000)
    no_series = dirty_ct(2, rows=16, columns=16)
    del no_series.SeriesInstanceUID
    no_pixels = dirty_ct(3, rows=16, columns=16)
    del no_pixels.PixelData
    files = [
        SimpleUploadedFile("a.dcm", overrun),
        SimpleUploadedFile("b.dcm", to_bytes(no_series)),
        SimpleUploadedFile("c.dcm", to_bytes(no_pixels)),
    ]
    job = _run(case, author, files)
    _assert_ended_clean(job)
    assert job.quarantined == 3
    assert not Instance.objects.filter(series__case=case).exists()
    reasons = _reasons(job)
    assert reasons == sorted(
        [
            "unreadable: the value of (0008,1030) StudyDescription declares 5000 bytes "
            f"but the file ends after {available}",
            "unreadable: the data set has no SeriesInstanceUID",
            "unreadable: this CT Image Storage instance has no PixelData, "
            "which its SOP class requires",
        ]
    )
    for reason in reasons:
        assert "ZEBRAFISH" not in reason and "93817465" not in reason


def test_a_malformed_file_from_the_listener_is_quarantined_with_the_reason(author):
    """The listener's path (raw spool file → files_ingest → first pass) refuses it too."""
    from tests.anonymizer.test_integrity import overrun_study_description

    case = case_create(author=author)
    overrun, available = overrun_study_description(5000)
    path = settings.INCOMING_ROOT / f"spool-{case.pk}" / "overrun.dcm"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(overrun)
    outcome = files_ingest(case=case, paths=[path])
    assert (outcome.instances, outcome.quarantined) == (0, 1)
    assert not path.exists()
    item = QuarantineItem.objects.get(case=case)
    assert item.reason == (
        "unreadable: the value of (0008,1030) StudyDescription declares 5000 bytes "
        f"but the file ends after {available}"
    )
    assert (settings.QUARANTINE_ROOT / item.file).read_bytes() == overrun


# --- every failure is one file's, and the job ends -----------------------------------------


@pytest.mark.parametrize(
    ("width", "height", "reason"),
    [
        # Pillow itself refuses this one while opening (DecompressionBombError).
        (30000, 30000, "the picture is larger than 25 megapixels, the limit for an uploaded"),
        # Pillow warns (DecompressionBombWarning): taken as a refusal.
        (10000, 10000, "the picture is larger than 25 megapixels, the limit for an uploaded"),
        # Pillow says nothing: our limit, from the header.
        (7900, 7900, "the picture is 7900 × 7900 pixels (62 megapixels); at most 25"),
    ],
)
def test_a_picture_too_large_is_refused_from_its_header_and_the_rest_goes_through(
    author, width, height, reason
):
    case = case_create(author=author)
    files = [SimpleUploadedFile("bomb.png", png_header_only(width, height)), _good_dicom()]
    job = _run(case, author, files)
    _assert_ended_clean(job)
    assert job.quarantined == 1
    assert Instance.objects.filter(series__case=case).count() == 1
    [item] = QuarantineItem.objects.filter(job=job)
    assert item.reason.startswith(reason), item.reason
    assert item.reason.endswith("scale it down and upload it again")
    assert item.stage == "upload"
    assert (settings.QUARANTINE_ROOT / item.file).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_damaged_picture_is_quarantined_and_the_rest_goes_through(author):
    case = case_create(author=author)
    files = [SimpleUploadedFile("cut.png", png_header_only(200, 200)), _good_dicom()]
    job = _run(case, author, files)
    _assert_ended_clean(job)
    assert _reasons(job) == ["the picture is damaged or truncated"]
    assert Instance.objects.filter(series__case=case).count() == 1


def test_sequences_nested_2000_deep_are_quarantined_and_the_rest_goes_through(author):
    case = case_create(author=author)
    files = [SimpleUploadedFile("deep.dcm", nested_sequences(2000)), _good_dicom()]
    job = _run(case, author, files)
    _assert_ended_clean(job)
    assert _reasons(job) == [
        "unreadable: sequences are nested 2000 deep; at most 16 levels are accepted "
        "(real images need fewer than 10)"
    ]
    assert Instance.objects.filter(series__case=case).count() == 1


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (MemoryError(), "could not be de-identified: the file needs more memory than the"),
        (RecursionError(), "unreadable: the data set is nested too deeply to be read"),
        (ValueError("ZEBRAFISH^QUENTIN"), "could not be de-identified (ValueError while"),
    ],
)
def test_any_error_in_one_file_s_first_pass_quarantines_that_file_only(
    author, monkeypatch, error, reason
):
    """Never the exception's text (it may quote the file): a reason a person can act on."""
    import cases.ingest

    real = cases.ingest.first_pass

    def first_pass(path, *args, **kwargs):
        if pydicom.dcmread(path, stop_before_pixels=True).get("InstanceNumber") == 2:
            raise error
        return real(path, *args, **kwargs)

    monkeypatch.setattr(cases.ingest, "first_pass", first_pass)
    case = case_create(author=author)
    bad = SimpleUploadedFile("bad.dcm", to_bytes(dirty_ct(2, rows=32, columns=32)))
    job = _run(case, author, [bad, _good_dicom()])
    _assert_ended_clean(job)
    [found] = _reasons(job)
    assert found.startswith(reason) and "ZEBRAFISH" not in found
    assert Instance.objects.filter(series__case=case).count() == 1


@pytest.mark.parametrize("error", [MemoryError(), Image.DecompressionBombError("x")])
def test_any_error_converting_one_picture_quarantines_that_picture_only(author, monkeypatch, error):
    def convert(image, target):
        raise error

    monkeypatch.setattr(uploads, "_write_secondary_capture", convert)
    case = case_create(author=author)
    job = _run(case, author, [SimpleUploadedFile("p.jpg", _jpeg_with_exif()), _good_dicom()])
    _assert_ended_clean(job)
    [found] = _reasons(job)
    assert found.startswith("could not be de-identified (") or "memory" in found
    assert Instance.objects.filter(series__case=case).count() == 1


def test_the_job_ends_even_when_the_run_itself_fails(author, monkeypatch):
    """An error outside any one file (here the first pass as a whole): the files not done
    are quarantined with a reason, the job is done with its counts, no raw file stays."""

    def broken(**kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr(uploads, "files_ingest", broken)
    case = case_create(author=author)
    job = upload_job_create(case=case, by=author, files=[_good_dicom(), _good_dicom()])
    with pytest.raises(RuntimeError):
        upload_job_run(job.pk)
    job.refresh_from_db()
    _assert_ended_clean(job)
    assert job.quarantined == 2
    assert set(_reasons(job)) == {"the import stopped on an error before this file was processed"}


def test_a_redelivered_task_skips_what_an_earlier_run_finished(author):
    """A run killed after the pictures were converted and one file recorded: the next
    delivery finishes the rest, nothing doubled; a delivery after the end does nothing."""
    case = case_create(author=author)
    files = [
        SimpleUploadedFile("p.jpg", _jpeg_with_exif()),
        _good_dicom(),
        SimpleUploadedFile("two.dcm", to_bytes(dirty_ct(2, rows=32, columns=32))),
    ]
    job = upload_job_create(case=case, by=author, files=files)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.PROCESSING)
    for path in sorted(uploads.job_folder(job.pk).glob("*.upload")):
        uploads._upload_prepare(job, path)
    first = sorted(uploads.job_folder(job.pk).glob("*.dcm"))[0]
    files_ingest(case=case, paths=[first], job=job, stage="upload")  # then the worker died

    upload_job_run(job.pk)
    job.refresh_from_db()
    _assert_ended_clean(job)
    assert (job.processed, job.quarantined) == (3, 0)
    instances = Instance.objects.filter(series__case=case)
    assert instances.count() == 3
    upload_job_run(job.pk)  # delivered once more after the end
    assert Instance.objects.filter(series__case=case).count() == 3
    assert AuditEvent.objects.filter(action="upload", case=case).count() == 1


def test_files_are_not_added_once_the_case_stopped_being_a_draft(author):
    """Published while the upload waited in the queue: nothing is added, the raw files go,
    and the job says why."""
    case = case_create(author=author)
    job = upload_job_create(case=case, by=author, files=[_good_dicom(), _good_dicom()])
    case.status = case.Status.PUBLISHED
    case.save(update_fields=["status"])
    upload_job_run(job.pk)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE
    assert job.message.startswith(uploads.NOT_A_DRAFT)
    assert (job.processed, job.quarantined) == (0, 0)
    assert not Instance.objects.filter(series__case=case).exists()
    assert not uploads.job_folder(job.pk).exists()


# --- the request: store, limit, queue ----------------------------------------------------


@pytest.fixture
def author_client(author) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(author)
    return client


def _post(client: Client, case, files: list[SimpleUploadedFile]):
    """Post the case page's upload form, with the token the page gave."""
    page = client.get(case.get_absolute_url()).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    url = reverse("cases:case_upload", args=[case.pk])
    return client.post(url, {"csrfmiddlewaretoken": token and token[1], "files": files})


@pytest.fixture
def left_behind():
    """The files that appear under the incoming store's uploads folder during the test."""
    root = settings.INCOMING_ROOT / "uploads"

    def files() -> set[Path]:
        return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()

    before = files()
    return lambda: sorted(files() - before)


def test_the_request_stores_the_files_queues_the_job_and_shows_its_page(
    author, author_client, monkeypatch, django_capture_on_commit_callbacks
):
    from cases import tasks

    queued: list[int] = []
    monkeypatch.setattr(tasks.upload_task, "delay", lambda job_id: queued.append(job_id))
    stored: list[str] = []
    real_store = uploads._store

    def store(upload, target):
        stored.append(upload.temporary_file_path())  # streamed to a file, never in memory
        real_store(upload, target)

    monkeypatch.setattr(uploads, "_store", store)
    case = case_create(author=author)
    png = Image.new("RGB", (8, 8))
    buf = io.BytesIO()
    png.save(buf, "PNG")
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(
            author_client, case, [SimpleUploadedFile("x.png", buf.getvalue()), _good_dicom()]
        )
    job = ImportJob.objects.get(case=case)
    assert response.status_code == 302
    assert response["Location"] == reverse("pacs_bridge:job", args=[job.pk])
    assert (job.status, job.source, job.expected) == ("queued", "upload", 2)
    assert queued == [job.pk]
    assert all(Path(p).parent == uploads.partial_dir() for p in stored)
    raw = sorted(uploads.job_folder(job.pk).iterdir())
    assert len(raw) == 2 and all(p.stat().st_mode & 0o077 == 0 for p in raw)
    assert not list(uploads.partial_dir().iterdir())
    page = author_client.get(response["Location"])
    assert page.status_code == 200 and b"data-job-status-url" in page.content
    status = author_client.get(reverse("pacs_bridge:job_status", args=[job.pk])).json()
    assert (status["status"], status["finished"]) == ("queued", False)
    upload_job_run(job.pk)  # what the queued task does
    job.refresh_from_db()
    _assert_ended_clean(job)
    assert Instance.objects.filter(series__case=case).count() == 2


def test_the_request_decodes_nothing_and_de_identifies_nothing(
    author, author_client, monkeypatch, django_capture_on_commit_callbacks
):
    """Eight photographs answered at once: decoding and the first pass are the worker's."""
    import cases.ingest
    from cases import tasks

    def forbidden(*args, **kwargs):
        raise AssertionError("the web request did the worker's job")

    monkeypatch.setattr(tasks.upload_task, "delay", lambda job_id: None)
    monkeypatch.setattr(Image, "open", forbidden)
    monkeypatch.setattr(cases.ingest, "first_pass", forbidden)
    case = case_create(author=author)
    photos = [SimpleUploadedFile(f"{n}.jpg", _jpeg_with_exif()) for n in range(8)]
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(author_client, case, photos)
    job = ImportJob.objects.get(case=case)
    assert response["Location"] == reverse("pacs_bridge:job", args=[job.pk])
    assert len(list(uploads.job_folder(job.pk).iterdir())) == 8
    shutil.rmtree(uploads.job_folder(job.pk))


@pytest.mark.parametrize(
    ("setting", "value", "sizes", "message"),
    [
        ("UPLOAD_MAX_FILES", 2, [10, 10, 10], "At most 2 files can be uploaded at once."),
        ("UPLOAD_MAX_FILE_BYTES", 3000, [10, 4000], "A file is larger than 0 MB, the limit"),
        ("UPLOAD_MAX_TOTAL_BYTES", 5000, [3000, 3000], "The upload is larger than 0 MB in"),
        # Refused from the Content-Length, before the body is read.
        ("UPLOAD_MAX_TOTAL_BYTES", 2**20, [2**20] * 3, "The upload is larger than 1 MB in"),
    ],
)
def test_an_upload_over_a_limit_is_refused_with_a_message_and_nothing_kept(
    author, author_client, settings, left_behind, setting, value, sizes, message
):
    setattr(settings, setting, value)
    case = case_create(author=author)
    files = [SimpleUploadedFile(f"{n}.dcm", b"\0" * size) for n, size in enumerate(sizes)]
    response = _post(author_client, case, files)
    assert response.status_code == 302 and response["Location"] == case.get_absolute_url()
    shown = [str(m) for m in response.wsgi_request._messages]
    assert any(m.startswith(message) for m in shown), shown
    assert not ImportJob.objects.filter(case=case).exists()
    assert left_behind() == []


def test_a_file_over_the_limit_mid_stream_is_refused_and_what_came_before_is_deleted(
    author, author_client, settings, left_behind
):
    settings.UPLOAD_MAX_FILE_BYTES = 100_000
    case = case_create(author=author)
    files = [_good_dicom(), SimpleUploadedFile("big.dcm", b"\0" * 300_000)]
    response = _post(author_client, case, files)
    assert response.status_code == 302
    shown = [str(m) for m in response.wsgi_request._messages]
    assert shown and shown[0].startswith("A file is larger than 0 MB")
    assert not ImportJob.objects.filter(case=case).exists()
    assert left_behind() == []


def test_the_upload_still_needs_its_csrf_token(author, author_client, left_behind):
    case = case_create(author=author)
    url = reverse("cases:case_upload", args=[case.pk])
    response = author_client.post(url, {"files": [_good_dicom()]})
    assert response.status_code == 403
    assert not ImportJob.objects.filter(case=case).exists()
    assert left_behind() == []


def test_an_upload_without_files_or_to_a_published_case_is_refused(
    author, author_client, left_behind
):
    case = case_create(author=author)
    response = _post(author_client, case, [])
    assert response.status_code == 302
    assert [str(m) for m in response.wsgi_request._messages] == [
        "Choose DICOM files or pictures to add to a draft case."
    ]
    case.status = case.Status.PUBLISHED
    case.save(update_fields=["status"])
    response = _post(author_client, case, [_good_dicom()])
    assert [str(m) for m in response.wsgi_request._messages] == [
        "Images can only be added to a draft case."
    ]
    assert not ImportJob.objects.filter(case=case).exists()
    assert left_behind() == []


def test_the_pictures_of_one_upload_share_a_pixel_budget(author, settings):
    """Small files can declare many megapixels; past the upload's budget the rest wait."""
    settings.UPLOAD_MAX_TOTAL_PIXELS = 1_100  # one 32 x 32 picture
    case = case_create(author=author)
    files = [SimpleUploadedFile(f"p{i}.png", _png_with_text()) for i in range(3)] + [_good_dicom()]
    job = _run(case, author, files)
    _assert_ended_clean(job)
    reasons = _reasons(job)
    assert len(reasons) == 2 and all("upload this picture separately" in r for r in reasons)
    assert Instance.objects.filter(series__case=case).count() == 2
