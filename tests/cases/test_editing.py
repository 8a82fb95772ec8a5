"""Edits are stored as data, validated against the image, and close once published."""

import json

import pytest
from django.conf import settings
from django.urls import reverse

from cases.editing import (
    EditsInvalid,
    instance_edits_save,
    series_crop_save,
    series_key_image_save,
)
from cases.ingest import files_ingest
from cases.models import AuditEvent, Case, Instance, Series
from cases.services import case_create
from tests.anonymizer.dirty import dirty_us_cine, write

pytestmark = pytest.mark.django_db


@pytest.fixture
def cine(author, tmp_path) -> Instance:
    case = case_create(author=author, title="Cine")
    path = write(dirty_us_cine(frames=4), settings.INCOMING_ROOT / f"ed-{tmp_path.name}" / "c.dcm")
    files_ingest(case=case, paths=[path])
    return Instance.objects.get(series__case=case)


def test_saving_boxes_keeps_them_as_data_and_does_not_confirm_the_image(cine, author):
    box = {"x": 0, "y": 0, "width": 160, "height": 20, "frames": "all"}
    instance_edits_save(instance=cine, by=author, blackouts=[box])
    cine.refresh_from_db()
    assert cine.blackouts[0] == box and cine.reviewed_at is None


def test_a_box_outside_the_image_or_on_a_missing_frame_is_refused(cine, author):
    with pytest.raises(EditsInvalid, match="does not fit"):
        instance_edits_save(
            instance=cine, by=author,
            blackouts=[{"x": 150, "y": 0, "width": 50, "height": 10, "frames": "all"}],
        )  # fmt: skip
    with pytest.raises(EditsInvalid, match="4 frame"):
        instance_edits_save(
            instance=cine, by=author,
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
        instance_edits_save(instance=cine, by=author, blackouts=[])


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


ARROW = {"type": "arrow", "x1": 100, "y1": 80, "x2": 60, "y2": 40.25, "frame": 2}
ELLIPSE = {"type": "ellipse", "x": 20, "y": 30, "width": 40, "height": 20, "frame": 0}
LABEL = {"type": "text", "x": 10, "y": 50, "text": " Mass ", "frame": 0}


def test_annotations_are_kept_as_data_and_shown_on_the_cropped_published_image(cine, author):
    from cases.editing import instance_annotations_save
    from cases.selectors import viewer_config

    instance_annotations_save(instance=cine, by=author, annotations=[ARROW, ELLIPSE, LABEL])
    cine.refresh_from_db()
    assert cine.annotations == [
        {**ARROW, "x1": 100.0, "y1": 80.0, "x2": 60.0, "y2": 40.2},
        {**ELLIPSE, "x": 20.0, "y": 30.0, "width": 40.0, "height": 20.0},
        {**LABEL, "x": 10.0, "y": 50.0, "text": "Mass"},
    ]
    assert cine.blackouts == [] and cine.reviewed_at is None  # not an edit of the pixels
    series_crop_save(
        series=cine.series, by=author, crop={"x": 5, "y": 20, "width": 150, "height": 90}
    )
    Case.objects.filter(pk=cine.series.case_id).update(status=Case.Status.PUBLISHED)
    Instance.objects.filter(pk=cine.pk).update(status=Instance.Status.PUBLISHED)
    config = viewer_config(case=Case.objects.get(pk=cine.series.case_id))
    (shown,) = config["series"][0]["instances"]
    assert (shown["rows"], shown["columns"], shown["frames"]) == (90, 150, 4)
    assert shown["annotations"][0] == {
        **cine.annotations[0],
        "x1": 95.0,
        "y1": 60.0,
        "x2": 55.0,
        "y2": 20.2,
    }
    assert shown["annotations"][2]["text"] == "Mass"


@pytest.mark.parametrize(
    ("annotation", "match"),
    [
        ({**ARROW, "x2": 9999}, "does not fit"),
        ({**ELLIPSE, "width": 200}, "does not fit"),
        ({**ARROW, "frame": 4}, "4 frame"),
        ({**LABEL, "text": ""}, "characters"),
        ({**LABEL, "text": "x" * 81}, "characters"),
        ({**ARROW, "y1": "1"}, "not a number"),
        ({"type": "polygon"}, "arrow, an ellipse"),
    ],
)
def test_an_annotation_that_does_not_fit_is_refused(cine, author, annotation, match):
    from cases.editing import instance_annotations_save

    with pytest.raises(EditsInvalid, match=match):
        instance_annotations_save(instance=cine, by=author, annotations=[annotation])


def test_the_annotations_endpoint_is_for_drafts_only(client, cine, author):
    client.force_login(author)
    url = reverse("cases:instance_annotations", args=[cine.series.case_id, cine.pk])
    body = json.dumps({"annotations": [LABEL]})
    assert client.put(url, data=body, content_type="application/json").status_code == 200
    Case.objects.filter(pk=cine.series.case_id).update(status=Case.Status.PUBLISHED)
    response = client.put(url, data=body, content_type="application/json")
    assert response.status_code == 400 and "closed" in response.json()["error"]


@pytest.fixture
def ct_series(author, tmp_path):
    from tests.anonymizer.dirty import dirty_ct

    case = case_create(author=author, title="Two slices")
    root = settings.INCOMING_ROOT / f"key-{tmp_path.name}"
    files_ingest(case=case, paths=[write(dirty_ct(i), root / f"ct{i}.dcm") for i in (1, 2)])
    (series,) = Series.objects.filter(case=case)
    assert series.instances.count() == 2
    return series


def test_a_key_image_is_set_and_cleared(ct_series, author):
    second = ct_series.instances.all()[1]
    series_key_image_save(series=ct_series, by=author, instance_id=second.pk)
    ct_series.refresh_from_db()
    assert ct_series.key_instance == second
    event = AuditEvent.objects.filter(action="series.key_image").latest("pk")
    assert event.target == f"series:{ct_series.pk}"
    series_key_image_save(series=ct_series, by=author, instance_id=None)
    ct_series.refresh_from_db()
    assert ct_series.key_instance is None


def test_a_key_image_of_another_series_or_a_published_case_is_refused(ct_series, cine, author):
    with pytest.raises(EditsInvalid, match="not an image of this series"):
        series_key_image_save(series=ct_series, by=author, instance_id=cine.pk)
    with pytest.raises(EditsInvalid, match="image id"):
        series_key_image_save(series=ct_series, by=author, instance_id="1")
    Case.objects.filter(pk=ct_series.case_id).update(status=Case.Status.PUBLISHED)
    ct_series.refresh_from_db()
    with pytest.raises(EditsInvalid, match="closed"):
        series_key_image_save(
            series=ct_series, by=author, instance_id=ct_series.instances.first().pk
        )
    ct_series.refresh_from_db()
    assert ct_series.key_instance is None


def test_the_key_image_endpoint_and_the_editor_and_viewer_configs(client, ct_series, author):
    from cases.selectors import editor_config, viewer_config

    first, second = ct_series.instances.all()
    client.force_login(author)
    url = reverse("cases:series_key_image", args=[ct_series.case_id, ct_series.pk])

    def put(body):
        return client.put(url, data=json.dumps(body), content_type="application/json")

    assert put({"instance": second.pk}).status_code == 200
    case = Case.objects.get(pk=ct_series.case_id)
    (series,) = editor_config(case=case)["series"]
    assert series["key_instance"] == second.pk and series["key_image_url"] == url
    Instance.objects.filter(series=ct_series).update(status=Instance.Status.PUBLISHED)
    assert viewer_config(case=case)["series"][0]["key_instance"] == second.pk
    response = put({})
    assert response.status_code == 400 and response.json()["error"]
    assert put({"instance": first.pk + second.pk + 999}).status_code == 400
    assert put({"instance": None}).status_code == 200
    ct_series.refresh_from_db()
    assert ct_series.key_instance is None
