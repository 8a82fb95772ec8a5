"""Publishing: the review gate, the second pass over every instance, all or nothing."""

import numpy as np
import pydicom
import pytest
from django.conf import settings

from cases import review
from cases.editing import instance_edits_save
from cases.ingest import files_ingest
from cases.models import Case, Instance, QuarantineItem
from cases.publish import CHECKLIST, PublishBlocked, case_publish_request, case_publish_run
from cases.services import case_create
from tests.anonymizer.dirty import dirty_ct, planted_byte_patterns, us_cine_with_name, write
from tests.cases.freetext_review import accept_all_text
from tests.cases.image_review import confirm_all_images

pytestmark = pytest.mark.django_db
CONFIRMED = dict.fromkeys(CHECKLIST, True)
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"


@pytest.fixture
def case(author, tmp_path):
    case = case_create(author=author, title="Pneumothorax")
    root = settings.INCOMING_ROOT / f"pub-{tmp_path.name}"
    paths = [write(dirty_ct(i), root / f"ct{i}.dcm") for i in (1, 2)]
    paths.append(write(us_cine_with_name(), root / "us.dcm"))
    files_ingest(case=case, paths=paths)
    accept_all_text(case, author)
    return case


def _cine(case) -> Instance:
    return Instance.objects.get(series__case=case, number_of_frames=3)


def test_a_case_with_unreviewed_images_or_an_unconfirmed_checklist_is_not_published(case, author):
    with pytest.raises(PublishBlocked) as blocked:
        case_publish_request(case=case, by=author, checklist={}, enqueue=False)
    text = " ".join(blocked.value.reasons)
    assert "1 image(s) still need review" in text
    assert "Confirm: Every image was checked for burned-in text." in text
    case.refresh_from_db()
    assert case.status == Case.Status.DRAFT


def test_a_reviewed_case_is_published_with_the_boxes_burned_in_and_nothing_identifying(
    case, author
):
    cine = _cine(case)
    name_box = next(r for r in cine.proposed_regions if r["matches"] == "PatientName")
    confirm_all_images(case, author)  # every proposal accepted, every image confirmed
    case_publish_request(case=case, by=author, checklist=CONFIRMED, enqueue=False)
    case = case_publish_run(case.pk)
    assert case.status == Case.Status.PUBLISHED, case.publish_error
    assert case.deidentification["allowlist"]
    for instance in Instance.objects.filter(series__case=case):
        assert instance.status == Instance.Status.PUBLISHED
        data = (settings.PUBLISHED_ROOT / instance.published_file).read_bytes()
        assert not any(p in data for p in planted_byte_patterns())
    published = pydicom.dcmread(settings.PUBLISHED_ROOT / _cine(case).published_file)
    x, y, w, h = (name_box[k] for k in ("x", "y", "width", "height"))
    assert np.all(published.pixel_array[:, y : y + h, x : x + w] == 0)
    assert published.BurnedInAnnotation == "NO"
    assert not list((settings.PUBLISHED_ROOT / ".staging").glob("*/*"))


def test_a_name_left_in_the_pixels_stops_the_whole_case_and_quarantines_that_image(case, author):
    cine = _cine(case)
    # "Reviewed", but every proposal rejected: the name was not blacked out.
    rejected = {p["id"]: "rejected" for p in cine.proposed_regions}
    instance_edits_save(instance=cine, by=author, blackouts=[], decisions=rejected)
    review.instance_review_confirm(instance=cine, by=author)
    case_publish_request(case=case, by=author, checklist=CONFIRMED, enqueue=False)
    case = case_publish_run(case.pk)
    assert case.status == Case.Status.DRAFT
    assert "did not pass the final check" in case.publish_error
    assert "PatientName" in case.publish_error
    assert not Instance.objects.filter(series__case=case, status="published").exists()
    assert not list((settings.PUBLISHED_ROOT / str(case.pk)).glob("*.dcm"))
    item = QuarantineItem.objects.get(case=case, stage="second-pass")
    assert "neither blacked out nor cropped away" in item.reason
    assert (settings.WORKING_ROOT / cine.working_file).exists()  # the draft keeps its copy
