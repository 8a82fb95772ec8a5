"""Rectangles, blackouts, edits and their JSON form."""

import pytest

from anonymizer.pixels import (
    Blackout,
    Edits,
    ProposedRegion,
    Rect,
    edits_from_json,
    edits_to_json,
)


def test_rect_accepts_integral_floats_from_javascript():
    assert Rect(10.0, 2, 3.0, 4) == Rect(10, 2, 3, 4)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((-1, 0, 5, 5), "negative origin"),
        ((0, -3, 5, 5), "negative origin"),
        ((0, 0, 0, 5), "empty"),
        ((0, 0, 5, -2), "empty"),
        ((0.5, 0, 5, 5), "must be an integer"),
        ((True, 0, 5, 5), "must be an integer"),
        (("3", 0, 5, 5), "must be an integer"),
    ],
)
def test_rect_rejects_invalid_values(args, message):
    with pytest.raises(ValueError, match=message):
        Rect(*args)


def test_rect_clips_to_the_image_and_reports_nothing_outside_it():
    assert Rect(600, 400, 100, 100).clip(640, 480) == Rect(600, 400, 40, 80)
    assert Rect(640, 0, 10, 10).clip(640, 480) is None
    assert Rect(0, 0, 640, 480).fits(640, 480)
    assert not Rect(10, 10, 600, 600).fits(640, 480)
    assert str(Rect(10, 10, 600, 600)) == "10,10 600x600"


def test_blackout_frames_are_sorted_unique_and_checked():
    assert Blackout(Rect(0, 0, 1, 1), (3, 1, 3)).frames == (1, 3)
    with pytest.raises(ValueError, match="at least one frame"):
        Blackout(Rect(0, 0, 1, 1), ())
    with pytest.raises(ValueError, match="cannot be negative"):
        Blackout(Rect(0, 0, 1, 1), (-1,))


def test_edits_json_round_trips():
    edits = Edits(
        (
            Blackout(Rect(0, 0, 640, 40)),
            Blackout(Rect(5, 6, 7, 8), (0, 3)),
        ),
        crop=Rect(0, 40, 640, 440),
    )
    obj = edits_to_json(edits)
    assert obj == {
        "regions": [
            {"x": 0, "y": 0, "width": 640, "height": 40, "frames": "all"},
            {"x": 5, "y": 6, "width": 7, "height": 8, "frames": [0, 3]},
        ],
        "crop": {"x": 0, "y": 40, "width": 640, "height": 440},
    }
    assert edits_from_json(obj) == edits


def test_edits_json_without_crop_or_regions_is_empty():
    edits = edits_from_json({"regions": [], "crop": None})
    assert edits == Edits()
    assert edits.is_empty
    assert edits_to_json(edits) == {"regions": [], "crop": None}


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ([], "must be a JSON object"),
        ({"regions": {}}, "'regions' must be a list"),
        ({"regions": [{"x": 0, "y": 0, "width": 5}]}, "region 1 is missing height"),
        (
            {"regions": [{"x": 0, "y": 0, "width": 5, "height": 5, "frames": "some"}]},
            "region 1 frames must be",
        ),
        ({"regions": [{"x": 0, "y": 0, "width": 5, "height": 5.5}]}, "region 1 height"),
        ({"crop": {"x": 0, "y": 0, "width": 0, "height": 5}}, "empty"),
        ({"regions": [], "crop": None, "extra": 1}, "unknown keys in edits: extra"),
    ],
)
def test_malformed_edits_json_is_rejected_with_a_reason(obj, message):
    with pytest.raises(ValueError, match=message):
        edits_from_json(obj)


def test_proposed_region_json_holds_where_and_why_but_no_text():
    region = ProposedRegion(None, 18, 12, 91, 21, "static-overlay", 0.934, "PatientName")
    assert region.to_json() == {
        "frame": None,
        "x": 18,
        "y": 12,
        "width": 91,
        "height": 21,
        "kind": "static-overlay",
        "matches": "PatientName",
        "confidence": 0.93,
    }
    assert region.to_blackout() == Blackout(Rect(18, 12, 91, 21))
    assert ProposedRegion(2, 0, 0, 1, 1).to_blackout().frames == (2,)
