"""The original UIDs an import retrieves are encrypted in the database; the code sees them."""

import pytest
from django.db import connection

from cases.models import ImportJob
from cases.services import case_create

pytestmark = pytest.mark.django_db

STUDY = "1.2.840.113619.2.55.3.604688119.969.1267201880.101"


def _stored(job: ImportJob) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT request FROM cases_importjob WHERE id = %s", [job.pk])
        return str(cursor.fetchone()[0])


def test_an_import_request_is_stored_encrypted_and_read_back_whole(author):
    request = {"study": STUDY, "series": [f"{STUDY}.2"], "instances": {f"{STUDY}.2": ["9.9"]}}
    job = ImportJob.objects.create(
        case=case_create(author=author), author=author, source="pacs", request=request
    )
    assert STUDY not in _stored(job) and "study" not in _stored(job)
    assert ImportJob.objects.get(pk=job.pk).request == request
    assert list(ImportJob.objects.values_list("request", flat=True)) == [request]


def test_an_empty_request_can_still_be_found_and_cleared(author):
    job = ImportJob.objects.create(
        case=case_create(author=author), author=author, source="pacs", request={"study": STUDY}
    )
    assert ImportJob.objects.exclude(request={}).count() == 1
    ImportJob.objects.filter(pk=job.pk).update(request={})
    assert _stored(job) == "" and ImportJob.objects.get(pk=job.pk).request == {}
    assert ImportJob.objects.exclude(request={}).count() == 0
