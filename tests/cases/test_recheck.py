"""Re-checking published cases with today's gate; withdrawing those that fail."""

import numpy as np
import pydicom
import pytest
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from PIL import Image, ImageDraw, ImageFont

from cases.ingest import files_ingest
from cases.models import AuditEvent, Case, Instance
from cases.publish import CHECKLIST, case_publish_request, case_publish_run, residual_gate_sample
from cases.recheck import published_cases_recheck
from cases.services import case_create
from tests.anonymizer.dirty import dirty_ct, write
from tests.cases.freetext_review import accept_all_text
from tests.cases.image_review import confirm_all_images

pytestmark = pytest.mark.django_db
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


@pytest.fixture
def published(author, tmp_path):
    author.email = "author@example.org"
    author.save()
    case = case_create(author=author, title="Pneumothorax")
    root = settings.INCOMING_ROOT / f"recheck-{tmp_path.name}"
    files_ingest(case=case, paths=[write(dirty_ct(i), root / f"ct{i}.dcm") for i in (1, 2)])
    accept_all_text(case, author)
    confirm_all_images(case, author)
    case_publish_request(case=case, by=author, checklist=dict.fromkeys(CHECKLIST, True),
                         enqueue=False)  # fmt: skip
    case = case_publish_run(case.pk)
    assert case.status == Case.Status.PUBLISHED, case.publish_error
    return case


def _burn_name_into(path) -> None:
    """What an older, weaker gate let through: a name burned into a published CT."""
    ds = pydicom.dcmread(path)
    arr = ds.pixel_array.copy()
    layer = Image.new("L", (arr.shape[1], arr.shape[0]), 0)
    ImageDraw.Draw(layer).text((8, 8), "HOLLOWAY JANE", font=ImageFont.truetype(FONT, 14),
                               fill=255)  # fmt: skip
    arr[np.asarray(layer) > 100] = arr.max()
    ds.PixelData = arr.tobytes()
    ds.save_as(path)


def test_cases_that_still_pass_stay_in_the_library(published):
    (outcome,) = published_cases_recheck()
    assert outcome.passed and outcome.checked == 2
    published.refresh_from_db()
    assert published.status == Case.Status.PUBLISHED


def test_a_case_that_no_longer_passes_is_withdrawn_audited_and_its_author_told(published):
    instance = Instance.objects.filter(series__case=published).first()
    _burn_name_into(settings.PUBLISHED_ROOT / instance.published_file)
    (outcome,) = published_cases_recheck()
    assert outcome.withdrawn
    published.refresh_from_db()
    assert published.status == Case.Status.WITHDRAWN
    assert "re-check" in published.publish_error
    assert "text-like marks" in published.publish_error
    assert AuditEvent.objects.filter(case=published, action="case.withdraw.recheck").exists()
    (message,) = mail.outbox
    assert message.to == ["author@example.org"]
    assert "HOLLOWAY" not in message.body


def test_the_command_reports_without_withdrawing_on_a_dry_run(published, capsys):
    instance = Instance.objects.filter(series__case=published).first()
    _burn_name_into(settings.PUBLISHED_ROOT / instance.published_file)
    call_command("recheck_published", "--dry-run")
    assert "would be withdrawn" in capsys.readouterr().out
    published.refresh_from_db()
    assert published.status == Case.Status.PUBLISHED


def test_a_long_series_is_gated_on_a_sample_plus_every_flagged_or_edited_image():
    class Fake:
        def __init__(self, pk, flagged=False):
            self.pk, self.series_id = pk, 1
            self.review_reasons = ["flagged"] if flagged else []
            self.proposed_regions = self.blackouts = self.safe_regions = self.gate_regions = []

    short = [Fake(i) for i in range(10)]
    assert residual_gate_sample(short) == set(range(10))
    long = [Fake(i, flagged=(i == 123)) for i in range(500)]
    long[321].gate_regions = [{"x": 0, "y": 0, "width": 4, "height": 4, "frame": None}]
    chosen = residual_gate_sample(long)
    assert {0, 499, 123, 321} <= chosen  # stopped before: always read again
    assert len(chosen) <= 66
