"""An upload through the web page and a real Celery worker: a decompression bomb and a
DICOM file nested 2,000 deep are quarantined with plain reasons, the good files in the same
upload become instances, the job ends and no raw file stays."""

from __future__ import annotations

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from cases import uploads
from cases.models import ImportJob, Instance, QuarantineItem
from cases.services import case_create
from tests.anonymizer.dirty import dirty_ct, to_bytes
from tests.anonymizer.test_integrity import nested_sequences
from tests.cases.test_uploads import png_header_only
from tests.services import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _photo() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (96, 64), (40, 90, 160)).save(buf, "JPEG")
    return buf.getvalue()


def test_an_upload_with_a_bomb_and_a_nested_file_ends_with_the_good_files_imported(
    celery_worker, author
):
    case = case_create(author=author)
    client = Client(enforce_csrf_checks=True)
    client.force_login(author)
    page = client.get(case.get_absolute_url()).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token
    files = [
        SimpleUploadedFile("bomb.png", png_header_only(30000, 30000)),
        SimpleUploadedFile("deep.dcm", nested_sequences(2000)),
        SimpleUploadedFile("slice.dcm", to_bytes(dirty_ct(1, rows=64, columns=64))),
        SimpleUploadedFile("photo.jpg", _photo()),
    ]
    response = client.post(
        reverse("cases:case_upload", args=[case.pk]),
        {"csrfmiddlewaretoken": token[1], "files": files},
    )
    job = ImportJob.objects.get(case=case)
    assert response.status_code == 302
    assert response["Location"] == reverse("pacs_bridge:job", args=[job.pk])

    job = wait_for(job)
    assert job.status == ImportJob.Status.DONE, job.message
    assert (job.received, job.processed, job.quarantined) == (4, 4, 2)
    assert job.message.startswith("2 image(s) added and de-identified. 2 put in quarantine")
    assert Instance.objects.filter(series__case=case).count() == 2
    reasons = sorted(QuarantineItem.objects.filter(job=job).values_list("reason", flat=True))
    assert reasons[0].startswith("the picture is larger than 25 megapixels")
    assert reasons[1].startswith("unreadable: sequences are nested 2000 deep")
    assert not uploads.job_folder(job.pk).exists()
    status = client.get(reverse("pacs_bridge:job_status", args=[job.pk])).json()
    assert (status["status"], status["finished"], status["processed"]) == ("done", True, 4)
