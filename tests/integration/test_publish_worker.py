"""Publishing runs in the Celery worker and switches the case over in one step."""

import time

import pytest
from django.conf import settings

from cases.ingest import files_ingest
from cases.models import Case, Instance
from cases.publish import CHECKLIST, case_publish_request
from cases.services import case_create
from tests.anonymizer.dirty import dirty_ct, write
from tests.cases.freetext_review import accept_all_text

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_the_worker_publishes_a_reviewed_case(celery_worker, author, tmp_path):
    case = case_create(author=author, title="Chest CT")
    root = settings.INCOMING_ROOT / f"w-{tmp_path.name}"
    files_ingest(case=case, paths=[write(dirty_ct(i), root / f"{i}.dcm") for i in (1, 2, 3)])
    accept_all_text(case, author)
    case_publish_request(case=case, by=author, checklist=dict.fromkeys(CHECKLIST, True))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        case.refresh_from_db()
        if case.status != Case.Status.PUBLISHING:
            break
        time.sleep(0.2)
    assert case.status == Case.Status.PUBLISHED, case.publish_error
    assert Instance.objects.filter(series__case=case, status="published").count() == 3
