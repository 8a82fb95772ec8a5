"""Flagging images for pixel review from the header, and proposing boxes with OCR."""

import os

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from anonymizer.pixels import (
    Edits,
    apply_edits,
    burned_in_text_reasons,
    propose_regions,
    region_is_black,
)
from anonymizer.pixels.detect import display_frame, sample_frames
from anonymizer.pixels.ocr import ocr_array

from .synthetic import (
    CT_IMAGE,
    SECONDARY_CAPTURE,
    bundled,
    draw_text,
    gradient,
    new_dataset,
    reread,
    ultrasound_with_text,
)


def header_only(name: str) -> pydicom.FileDataset:
    return pydicom.dcmread(get_testdata_file(name, download=False), stop_before_pixels=True)


@pytest.mark.parametrize("name", ["CT_small.dcm", "MR_small.dcm", "MR_small_jp2klossless.dcm"])
def test_plain_cross_sectional_images_are_not_flagged(name):
    assert burned_in_text_reasons(header_only(name)) == []


def test_burned_in_annotation_yes_is_a_reason_even_on_ct():
    ds = header_only("CT_small.dcm")
    ds.BurnedInAnnotation = "YES"
    assert burned_in_text_reasons(ds) == ["Burned In Annotation (0028,0301) is YES."]
    ds.BurnedInAnnotation = "NO"
    assert burned_in_text_reasons(ds) == []


def test_ultrasound_is_flagged_by_modality_class_and_missing_burned_in_annotation():
    reasons = burned_in_text_reasons(header_only("examples_ybr_color.dcm"))
    text = " ".join(reasons)
    assert "Modality US" in text
    assert "Burned In Annotation (0028,0301) is absent." in reasons
    assert "Multi-frame colour" in text


def test_ultrasound_stating_no_burned_in_text_is_still_flagged():
    ds, _ = ultrasound_with_text(1, colour=False)
    ds.BurnedInAnnotation = "NO"
    reasons = burned_in_text_reasons(ds)
    assert any("Ultrasound Image Storage" in r for r in reasons)
    assert not any("Burned In Annotation" in r for r in reasons)


def test_secondary_capture_is_flagged_with_its_image_type():
    ds = new_dataset(gradient(1, 4, 4, dtype="uint8"), photometric="MONOCHROME2")
    ds.SOPClassUID, ds.Modality = SECONDARY_CAPTURE, "OT"
    ds.ImageType = ["DERIVED", "SECONDARY"]
    text = " ".join(burned_in_text_reasons(ds))
    assert "Modality OT" in text
    assert "Secondary Capture Image Storage" in text
    assert "Image Type DERIVED\\SECONDARY" in text


def test_colour_ct_screen_save_is_flagged():
    ds = new_dataset(gradient(1, 4, 4, dtype="uint8", samples=3), photometric="RGB")
    ds.SOPClassUID, ds.Modality = CT_IMAGE, "CT"
    ds.ImageType = ["DERIVED", "SECONDARY", "SCREEN SAVE"]
    text = " ".join(burned_in_text_reasons(ds))
    assert "Colour (RGB)" in text
    assert "screen capture" in text


@pytest.mark.parametrize(
    ("frames", "max_frames", "picked"),
    [(1, 5, [0]), (3, 5, [0, 1, 2]), (10, 5, [0, 2, 5, 7, 9]), (100, 1, [0]), (2, 5, [0, 1])],
)
def test_frames_sampled_for_ocr_include_first_and_last(frames, max_frames, picked):
    assert sample_frames(frames, max_frames) == picked


def test_display_frame_windows_and_inverts_monochrome1():
    ds = new_dataset(gradient(1, 8, 8, dtype="uint16", bits_stored=12), photometric="MONOCHROME1")
    frame = np.zeros((8, 8), dtype=np.uint16)
    frame[0, 0] = 4095
    shown = display_frame(frame, ds, "MONOCHROME1")
    assert shown.dtype == np.uint8
    assert shown[0, 0] == 0  # the highest MONOCHROME1 value is black
    assert shown[1, 1] == 255


def test_ocr_array_only_takes_8_bit_greyscale():
    with pytest.raises(ValueError, match="2-D uint8"):
        ocr_array(np.zeros((4, 4), dtype=np.uint16))


def test_tesseract_runs_single_threaded():
    assert os.environ["OMP_THREAD_LIMIT"] == "1"


def _covers(region, drawn) -> bool:
    return (
        region.x <= drawn.x
        and region.y <= drawn.y
        and region.x + region.width >= drawn.x + drawn.width
        and region.y + region.height >= drawn.y + drawn.height
    )


@pytest.mark.parametrize("colour", [True, False], ids=["rgb", "grey"])
def test_detector_boxes_every_line_of_an_ultrasound_header(colour):
    ds, drawn = ultrasound_with_text(1, colour=colour)
    regions = propose_regions(ds)
    for text in drawn:
        assert any(_covers(r, text) for r in regions), f"no box covers {text}: {regions}"
    assert all(r.frame is None and r.kind == "text" for r in regions)
    assert len(regions) <= len(drawn)  # no boxes on the speckle
    assert not any(hasattr(r, "text") for r in regions)  # no recognised text, ever


def test_text_on_one_frame_of_a_cine_is_boxed_on_every_frame():
    texts = (
        ("DOE^JOHN", 20, 12, None),
        ("ACC 123456", 440, 12, None),
        ("ID 998877", 20, 450, 0),
    )
    ds, drawn = ultrasound_with_text(10, texts=texts)
    regions = propose_regions(ds)
    assert all(r.frame is None for r in regions)
    assert all(any(_covers(r, d) for r in regions) for d in drawn)


def test_detector_finds_dark_text_on_a_light_monochrome1_label():
    arr = np.full((1, 200, 300), 60, dtype=np.uint8)
    drawn = draw_text(arr[0], "SMITH 1234567", 30, 80, size=18, value=250)
    ds = new_dataset(arr, photometric="MONOCHROME1", modality="DX")
    (region,) = propose_regions(ds)
    x, y, w, h = drawn
    assert region.x <= x
    assert region.y <= y
    assert region.x + region.width >= x + w
    assert region.y + region.height >= y + h


def test_a_three_word_line_gets_one_box_over_the_whole_line():
    arr = np.zeros((1, 240, 400), dtype=np.uint8)
    x, y, w, h = draw_text(arr[0], "DOE JOHN  MRN 4471  1950-01-01", 10, 20, size=14)
    ds = new_dataset(arr, photometric="MONOCHROME2", modality="OT")
    regions = propose_regions(ds)
    assert len(regions) == 1
    assert _covers(regions[0], type("B", (), {"x": x, "y": y, "width": w, "height": h}))


def test_low_contrast_text_in_16_bit_greyscale_is_found():
    rng = np.random.default_rng(5)
    arr = rng.normal(1000, 40, (1, 256, 256)).clip(0, 4095).astype(np.uint16)
    arr[0, 100:140, 20:236] = 1000
    layer = np.zeros((256, 256), np.uint8)
    x, y, w, h = draw_text(layer, "PATIENT 7781", 30, 110, size=16)
    arr[0][layer > 128] = 1120  # 120 of 4095 above the band: invisible in a min-max view
    arr[0, 0, 0] = 4095
    ds = new_dataset(arr, photometric="MONOCHROME2", modality="OT", bits_stored=12)
    regions = propose_regions(ds)
    drawn = type("B", (), {"x": x, "y": y, "width": w, "height": h})
    assert any(_covers(r, drawn) for r in regions), regions


def test_text_in_a_palette_colour_image_is_found():
    arr = np.zeros((1, 200, 320), dtype=np.uint8)
    x, y, w, h = draw_text(arr[0], "JANE ROE 19700101", 12, 150, size=16, value=200)
    ds = new_dataset(arr, photometric="PALETTE COLOR", modality="US")
    lut = (np.arange(256, dtype=np.uint16) * 257).tobytes()
    for colour in ("Red", "Green", "Blue"):
        setattr(ds, f"{colour}PaletteColorLookupTableDescriptor", [256, 0, 16])
        setattr(ds, f"{colour}PaletteColorLookupTableData", lut)
    regions = propose_regions(ds)
    drawn = type("B", (), {"x": x, "y": y, "width": w, "height": h})
    assert any(_covers(r, drawn) for r in regions), regions


def test_both_bands_of_an_rgb_capture_are_found():
    arr = np.zeros((1, 300, 400, 3), dtype=np.uint8)
    arr[0, 60:240, 60:340] = (90, 40, 40)
    top = draw_text(arr[0], "ROE^RICHARD", 10, 8, size=14)
    bottom = draw_text(arr[0], "St Elsewhere Hospital 2024-06-10", 10, 270, size=14)
    ds = new_dataset(arr, photometric="RGB", modality="OT")
    regions = propose_regions(ds)
    for x, y, w, h in (top, bottom):
        drawn = type("B", (), {"x": x, "y": y, "width": w, "height": h})
        assert any(_covers(r, drawn) for r in regions), regions


def test_the_area_outside_the_ultrasound_regions_is_proposed():
    ds, _ = ultrasound_with_text(1)
    region = pydicom.Dataset()
    region.RegionLocationMinX0, region.RegionLocationMinY0 = 100, 40
    region.RegionLocationMaxX1, region.RegionLocationMaxY1 = 540, 479
    ds.SequenceOfUltrasoundRegions = [region]
    regions = propose_regions(ds)
    band = [r for r in regions if r.kind == "outside-ultrasound-regions"]
    assert any((r.x, r.y, r.width, r.height) == (0, 0, 640, 40) for r in band), band


def test_proposed_regions_blacked_out_leave_nothing_to_detect():
    ds, _ = ultrasound_with_text(1)
    regions = propose_regions(ds)
    apply_edits(ds, Edits(tuple(r.to_blackout() for r in regions)))
    result = reread(ds)
    assert all(region_is_black(result, r.rect, None) for r in regions)
    assert propose_regions(result) == []


def test_bundled_ultrasound_with_burned_in_text_gets_proposals():
    ds = bundled("examples_jpeg2k.dcm")  # US, JPEG 2000 (YBR_RCT), institution name at the top
    regions = propose_regions(ds)
    assert regions
    for region in regions:
        assert region.frame is None
        assert 0 <= region.x < region.x + region.width <= ds.Columns
        assert 0 <= region.y < region.y + region.height <= ds.Rows
