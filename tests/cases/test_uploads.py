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
