"""Uploads go through the same first pass; pictures lose every bit of their metadata."""

import io

import pydicom
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, PngImagePlugin

from cases.models import Instance, QuarantineItem
from cases.services import case_create
from cases.uploads import uploads_ingest
from tests.anonymizer.dirty import dirty_ct, to_bytes

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


def test_pictures_and_dicom_files_become_de_identified_instances(author):
    case = case_create(author=author)
    files = [
        SimpleUploadedFile("ZEBRAFISH_photo.jpg", _jpeg_with_exif()),
        SimpleUploadedFile("figure.png", _png_with_text()),
        SimpleUploadedFile("slice.dcm", to_bytes(dirty_ct(1))),
        SimpleUploadedFile("notes.txt", b"just some notes"),
    ]
    job, outcome = uploads_ingest(case=case, by=author, files=files)
    assert (outcome.instances, outcome.quarantined) == (3, 1)
    assert job.status == "done"
    for instance in Instance.objects.filter(series__case=case):
        data = (settings.WORKING_ROOT / instance.working_file).read_bytes()
        for planted in (b"ZEBRAFISH", b"MRN93817465", b"WALLABYWAY", b"QUENTIN"):
            assert planted not in data
    pictures = Instance.objects.filter(series__case=case, sop_class_uid="1.2.840.10008.5.1.4.1.1.7")
    assert pictures.count() == 2
    assert all(p.status == "needs-review" for p in pictures)
    ds = pydicom.dcmread(settings.WORKING_ROOT / pictures.first().working_file)
    assert ds.PatientName == case.pseudonym
    assert "could not be read" in QuarantineItem.objects.get(case=case).reason
    assert not list((settings.INCOMING_ROOT / "uploads" / str(job.pk)).iterdir())


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
    _job, outcome = uploads_ingest(case=case, by=author, files=files)
    assert (outcome.instances, outcome.quarantined) == (0, 3)
    assert not Instance.objects.filter(series__case=case).exists()
    reasons = sorted(QuarantineItem.objects.filter(case=case).values_list("reason", flat=True))
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
    from cases.ingest import files_ingest
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
