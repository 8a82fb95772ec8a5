"""Edits are stored as data, validated against the image, and close once published."""

import json

import pytest
from django.conf import settings
from django.urls import reverse

from cases.editing import EditsInvalid, instance_edits_save, series_crop_save
from cases.ingest import files_ingest
from cases.models import Case, Instance
from cases.services import case_create
from tests.anonymizer.dirty import dirty_us_cine, write

pytestmark = pytest.mark.django_db


@pytest.fixture
def cine(author, tmp_path) -> Instance:
    case = case_create(author=author, title="Cine")
    path = write(dirty_us_cine(frames=4), settings.INCOMING_ROOT / f"ed-{tmp_path.name}" / "c.dcm")
    files_ingest(case=case, paths=[path])
    return Instance.objects.get(series__case=case)


def test_saving_boxes_reviews_the_image_and_keeps_the_boxes_as_data(cine, author):
    box = {"x": 0, "y": 0, "width": 160, "height": 20, "frames": "all"}
    instance_edits_save(instance=cine, by=author, blackouts=[box], reviewed=False)
    cine.refresh_from_db()
    assert cine.blackouts == [box] and cine.reviewed_at is not None


def test_a_box_outside_the_image_or_on_a_missing_frame_is_refused(cine, author):
    with pytest.raises(EditsInvalid, match="does not fit"):
        instance_edits_save(
            instance=cine, by=author, reviewed=True,
            blackouts=[{"x": 150, "y": 0, "width": 50, "height": 10, "frames": "all"}],
        )  # fmt: skip
    with pytest.raises(EditsInvalid, match="4 frame"):
        instance_edits_save(
            instance=cine, by=author, reviewed=True,
            blackouts=[{"x": 0, "y": 0, "width": 5, "height": 5, "frames": [7]}],
        )  # fmt: skip


def test_a_crop_is_checked_against_every_image_of_the_series(cine, author):
    series_crop_save(
        series=cine.series, by=author, crop={"x": 0, "y": 20, "width": 160, "height": 100}
    )
    cine.series.refresh_from_db()
    assert cine.series.crop == {"x": 0, "y": 20, "width": 160, "height": 100}
    with pytest.raises(EditsInvalid):
        series_crop_save(
            series=cine.series, by=author, crop={"x": 0, "y": 0, "width": 999, "height": 9}
        )


def test_edits_of_a_published_case_are_refused(cine, author):
    Case.objects.filter(pk=cine.series.case_id).update(status=Case.Status.PUBLISHED)
    cine.refresh_from_db()
    with pytest.raises(EditsInvalid, match="closed"):
        instance_edits_save(instance=cine, by=author, blackouts=[], reviewed=True)


def test_the_edits_endpoint_answers_json_errors_in_plain_words(client, cine, author):
    client.force_login(author)
    url = reverse("cases:instance_edits", args=[cine.series.case_id, cine.pk])
    bad = {"blackouts": [{"x": -5, "y": 0, "width": 5, "height": 5, "frames": "all"}]}
    response = client.put(url, data=json.dumps(bad), content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]


def test_the_dicom_endpoint_serves_only_the_de_identified_working_copy(
    client, cine, author, trainee
):
    url = reverse("cases:instance_dicom", args=[cine.series.case_id, cine.pk])
    client.force_login(trainee)
    assert client.get(url).status_code == 403
    client.force_login(author)
    response = client.get(url)
    data = b"".join(response.streaming_content)
    assert response["Content-Type"] == "application/dicom"
    assert data == (settings.WORKING_ROOT / cine.working_file).read_bytes()
    assert b"ZEBRAFISH" not in data
