"""The residual text gate: the verifier's own text detector on the pixels it publishes."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from PIL import Image, ImageDraw
from pydicom.data import get_testdata_file
from pydicom.dataset import FileDataset

from anonymizer.pixels.regions import Blackout, Edits, Rect
from anonymizer.verify import residual
from anonymizer.verify.pixels import check_pixels
from anonymizer.verify.verifier import Problem
from tests.anonymizer.verify import check, clean_output
from tests.anonymizer.verify.text_images import (
    Planted,
    anatomy,
    blend,
    dataset,
    text_alpha,
    without_text,
)
from tests.anonymizer.verify.text_images import font as text_font

NAME = "DOE^JOHN 03/11/1947"


def problems(
    ds: FileDataset,
    *,
    edits: Edits | None = None,
    safe_regions: tuple[Blackout, ...] = (),
) -> list[Problem]:
    found = check_pixels(
        ds, edits=edits, flagged=False, sources=lambda _: [], safe_regions=safe_regions
    )
    return [p for p in found if p.kind == "residual-text"]


def image_with_text(
    kind: str,
    *,
    font: str = "DejaVuSans.ttf",
    size: int = 18,
    at: tuple[int, int] = (40, 40),
    value: float | tuple[float, ...] = 1.0,
    rows: int = 256,
    columns: int = 320,
    frames: int = 1,
    seed: int = 5,
    text: str = NAME,
) -> tuple[FileDataset, Planted]:
    base = anatomy(kind, rows, columns, np.random.default_rng(seed))
    alpha, box = text_alpha(rows, columns, text, *at, name=font, size=size)
    assert box is not None
    blend(base, alpha, value)
    return dataset(kind, [base.copy() for _ in range(frames)]), box


def overlaps(region: dict[str, int | None], box: Planted) -> bool:
    x, y = int(region["x"] or 0), int(region["y"] or 0)
    width, height = int(region["width"] or 0), int(region["height"] or 0)
    return (
        x < box.x + box.width
        and box.x < x + width
        and y < box.y + box.height
        and box.y < y + height
    )


# -- text is found


@pytest.mark.parametrize(
    ("kind", "font", "size", "value"),
    [
        ("ct", "DejaVuSans.ttf", 14, 1.0),  # 16-bit signed, windowed
        ("ct", "DejaVuSansMono-Bold.ttf", 30, 0.9),
        ("mr", "DejaVuSerif.ttf", 20, 1.0),  # 12-bit unsigned
        ("cr", "DejaVuSansCondensed.ttf", 16, 1.0),  # MONOCHROME1
        ("us", "DejaVuSansMono.ttf", 10, 0.8),  # 8-bit, small font
        ("us", "DejaVuSans-Bold.ttf", 38, 0.7),  # large font
        ("sc", "DejaVuSerif-Italic.ttf", 18, 0.05),  # dark text on a light gradient
        ("palette", "DejaVuSans.ttf", 16, 1.0),
        ("us-rgb", "DejaVuSans.ttf", 16, (1.0, 1.0, 0.0)),  # yellow
        ("ybr", "DejaVuSansMono.ttf", 14, (0.0, 1.0, 1.0)),  # cyan, YBR_FULL
    ],
)
def test_text_of_any_font_size_contrast_and_photometric_is_found(
    kind: str, font: str, size: int, value: float | tuple[float, ...]
) -> None:
    # In the dark margin of an ultrasound image, over the body elsewhere.
    at = (8, 256 - size - 10) if kind in ("us", "us-rgb", "palette", "ybr") else (30, 200)
    ds, box = image_with_text(kind, font=font, size=size, value=value, at=at)
    found = problems(ds)
    assert found, f"no text found on {kind}"
    assert any(p.region and overlaps(p.region, box) for p in found)


def test_text_over_anatomy_is_found() -> None:
    ds, box = image_with_text("ct", size=20, at=(120, 100), value=1.0)
    assert any(p.region and overlaps(p.region, box) for p in problems(ds))


def test_text_on_one_frame_of_a_cine_is_found_on_a_sampled_frame() -> None:
    rows, columns = 160, 240
    rng = np.random.default_rng(2)
    images = [anatomy("us", rows, columns, rng) for _ in range(30)]
    alpha, box = text_alpha(rows, columns, NAME, 10, 120, size=14)
    assert box is not None
    blend(images[17], alpha, 1.0)
    found = problems(dataset("us", images))
    assert [p.region["frame"] for p in found if p.region] == [17]


def test_text_on_one_unsampled_frame_of_a_long_cine_is_found_on_that_frame() -> None:
    rows, columns, count = 128, 192, 40
    assert 20 not in residual.sample_frames(count)
    rng = np.random.default_rng(3)
    images = [anatomy("us", rows, columns, rng) for _ in range(count)]
    alpha, box = text_alpha(rows, columns, "ROE^JANE 1947", 8, 100, size=14)
    assert box is not None
    blend(images[20], alpha, 1.0)
    found = problems(dataset("us", images))
    assert [p.region["frame"] for p in found if p.region] == [20]
    assert found[0].region is not None and overlaps(found[0].region, box)


def test_dark_text_on_one_unsampled_frame_of_a_long_cine_is_found() -> None:
    rows, columns, count = 128, 192, 30
    rng = np.random.default_rng(4)
    images = [anatomy("sc", rows, columns, rng) for _ in range(count)]
    alpha, box = text_alpha(rows, columns, "ROE^JANE 1947", 30, 40, size=14)
    assert box is not None and 13 not in residual.sample_frames(count)
    blend(images[13], alpha, 0.0)
    found = problems(dataset("sc", images))
    assert [p.region["frame"] for p in found if p.region] == [13]


def test_text_on_one_unsampled_frame_marked_safe_passes() -> None:
    rows, columns, count = 128, 192, 40
    rng = np.random.default_rng(3)
    images = [anatomy("us", rows, columns, rng) for _ in range(count)]
    alpha, box = text_alpha(rows, columns, "5 cm 10 cm 15 cm", 8, 100, size=14)
    assert box is not None
    blend(images[20], alpha, 1.0)
    ds = dataset("us", images)
    safe = (Blackout(Rect(box.x - 4, box.y - 4, box.width + 8, box.height + 8), (20,)),)
    assert problems(ds)
    assert not problems(ds, safe_regions=safe)


@pytest.mark.parametrize("kind", ["us", "ct", "us-rgb", "mr"])
def test_text_free_long_cines_pass(kind: str) -> None:
    """Frames that all differ (new speckle and noise on each): their maximum and minimum
    are not taken for text."""
    assert not problems(without_text(kind, 7, rows=192, columns=192, frames=24))


def rotated_text(text: str, size: int, angle: int) -> tuple[np.ndarray, int, int]:
    canvas = Image.new("L", (400, 60), 0)
    ImageDraw.Draw(canvas).text(
        (4, 4), text, font=text_font("DejaVuSansMono-Bold.ttf", size), fill=255
    )
    canvas = canvas.crop(canvas.getbbox()).rotate(angle, expand=True)
    alpha = np.asarray(canvas, dtype=np.float32) / 255.0
    return alpha, alpha.shape[0], alpha.shape[1]


def stacked_text(text: str, size: int) -> np.ndarray:
    canvas = Image.new("L", (size + 8, int(len(text) * size * 1.05) + 8), 0)
    draw = ImageDraw.Draw(canvas)
    for i, letter in enumerate(text):
        draw.text(
            (2, 2 + int(i * size * 1.05)),
            letter,
            font=text_font("DejaVuSansMono-Bold.ttf", size),
            fill=255,
        )
    return np.asarray(canvas, dtype=np.float32) / 255.0


@pytest.mark.parametrize("angle", [90, 270])
def test_text_rotated_by_a_right_angle_on_a_ct_is_found(angle: int) -> None:
    rows = columns = 256
    base = anatomy("ct", rows, columns, np.random.default_rng(8))
    alpha, height, width = rotated_text("ROE JANE 1947", 14, angle)
    full = np.zeros((rows, columns), np.float32)
    full[20 : 20 + height, 6 : 6 + width] = alpha
    blend(base, full, 1.0)
    box = Planted(6, 20, width, height)
    found = problems(dataset("ct", [base]))
    assert any(p.region and overlaps(p.region, box) for p in found)


def test_letters_stacked_one_per_line_on_a_ct_are_found() -> None:
    rows = columns = 256
    base = anatomy("ct", rows, columns, np.random.default_rng(7))
    alpha = stacked_text("ROEJANE", 16)
    full = np.zeros((rows, columns), np.float32)
    height, width = alpha.shape
    full[6 : 6 + height, 232 : 232 + width] = alpha
    blend(base, full, 1.0)
    found = problems(dataset("ct", [base]))
    assert any(p.region and overlaps(p.region, Planted(232, 6, width, height)) for p in found)


def test_static_text_on_a_cine_is_reported_once_for_every_frame() -> None:
    ds, _ = image_with_text("us", frames=12, rows=160, columns=240, at=(10, 120), size=14)
    found = problems(ds)
    assert len(found) == 1
    assert found[0].region is not None and found[0].region["frame"] is None
    assert "every frame checked" in found[0].detail


def test_long_cines_are_sampled_first_last_and_evenly_between() -> None:
    assert residual.sample_frames(1) == [0]
    assert residual.sample_frames(8) == list(range(8))
    sample = residual.sample_frames(100)
    assert len(sample) == residual.MAX_FRAMES
    assert sample[0] == 0 and sample[-1] == 99
    assert np.ptp(np.diff(sample)) <= 1


# -- what the author dealt with passes


def test_text_inside_a_black_box_passes() -> None:
    ds, box = image_with_text("ct", size=18, at=(30, 200))
    arr = ds.pixel_array.copy()
    black = int(arr.min())
    x, y, w, h = box.x - 2, box.y - 2, box.width + 4, box.height + 4
    arr[y : y + h, x : x + w] = black
    ds.PixelData = arr.astype("<i2").tobytes()
    edits = Edits((Blackout(Rect(x, y, w, h)),))
    assert not [p for p in check_pixels(ds, edits=edits, flagged=False, sources=lambda _: [])]


def test_text_half_covered_by_a_box_is_still_found() -> None:
    ds, box = image_with_text("us", size=24, at=(20, 200), text="PATIENT NAME SMITH")
    arr = ds.pixel_array.copy()
    half = box.width // 2
    arr[box.y - 2 : box.y + box.height + 2, box.x - 2 : box.x + half] = 0
    ds.PixelData = arr.tobytes()
    edits = Edits((Blackout(Rect(box.x - 2, box.y - 2, half + 2, box.height + 4)),))
    found = problems(ds, edits=edits)
    assert found
    assert all(p.region and int(p.region["x"] or 0) >= box.x + half - 4 for p in found)


def test_text_inside_a_safe_region_passes() -> None:
    ds, box = image_with_text("us", size=16, at=(20, 200), text="5 cm 10 cm 15 cm")
    safe = (Blackout(Rect(box.x - 4, box.y - 4, box.width + 8, box.height + 8)),)
    assert problems(ds)
    assert not problems(ds, safe_regions=safe)


def test_a_safe_region_for_other_frames_does_not_hide_text() -> None:
    ds, box = image_with_text("us", frames=2, rows=160, columns=240, at=(10, 120), size=14)
    safe = (Blackout(Rect(box.x - 4, box.y - 4, box.width + 8, box.height + 8), (0,)),)
    found = problems(ds, safe_regions=safe)
    assert [p.region["frame"] for p in found if p.region] == [1]


def test_text_cropped_away_passes_and_places_are_in_original_coordinates() -> None:
    rows, columns = 256, 320
    base = anatomy("us", rows, columns, np.random.default_rng(1))
    top, _ = text_alpha(rows, columns, NAME, 20, 8, size=16)
    blend(base, top, 1.0)
    # The author crops the top 40 rows (with the name) away: the output is what is left.
    cropped = dataset("us", [base[40:]])
    edits = Edits(crop=Rect(0, 40, columns, rows - 40))
    assert not problems(cropped, edits=edits)
    # Text left inside the crop is reported where it is in the original image.
    alpha, box = text_alpha(rows, columns, NAME, 30, 200, size=16)
    blend(base, alpha, 1.0)
    found = problems(dataset("us", [base[40:]]), edits=edits)
    assert found and found[0].region is not None
    assert overlaps(found[0].region, box)


# -- clean images pass


@pytest.mark.parametrize("kind", ["ct", "mr", "us", "us-rgb", "cr", "palette", "ybr", "sc"])
@pytest.mark.parametrize("seed", [101, 102])
def test_text_free_synthetic_images_pass(kind: str, seed: int) -> None:
    assert not problems(without_text(kind, seed))


@pytest.mark.parametrize(
    "name",
    ["CT_small.dcm", "MR_small.dcm", "examples_overlay.dcm", "SC_rgb_jpeg.dcm", "JPEG2000.dcm"],
)
def test_pydicom_images_without_text_pass(name: str) -> None:
    path = get_testdata_file(name, download=False)
    if path is None:
        pytest.skip(f"pydicom does not bundle {name}")
    ds = pydicom.dcmread(path)
    try:
        ds.pixel_array  # noqa: B018
    except Exception:
        pytest.skip(f"no decoder for {name}")
    assert not problems(ds)


def test_pydicom_ultrasound_with_burned_in_text_is_blocked() -> None:
    path = get_testdata_file("examples_palette.dcm", download=False)
    if path is None:
        pytest.skip("pydicom does not bundle examples_palette.dcm")
    assert problems(pydicom.dcmread(path))


# -- through verify(): every image, flagged or not


def ct_output_with_name() -> FileDataset:
    """A plain CT output (not flagged for burned-in text) with a name in the corner."""
    ds = clean_output()
    rows = columns = 256
    base = anatomy("ct", rows, columns, np.random.default_rng(9))
    alpha, _ = text_alpha(rows, columns, "SMITH^ANNA", 8, 8, size=14)
    blend(base, alpha, 1.0)
    arr = (np.rint(base * 4095)).astype(np.uint16)
    ds.Rows, ds.Columns = rows, columns
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
    ds.PixelRepresentation = 0
    ds.PixelData = arr.tobytes()
    return ds


def test_an_unflagged_ct_with_a_burned_in_name_is_blocked_naming_the_place() -> None:
    verdict = check(ct_output_with_name())
    assert not verdict.ok
    found = [p for p in verdict.problems if p.kind == "residual-text"]
    assert len(found) == 1
    region = found[0].region
    assert region is not None and region["frame"] is None
    place = f"{region['x']},{region['y']} {region['width']}x{region['height']}"
    reason = " ".join(verdict.reasons())
    assert f"text-like marks at {place} are not blacked out" in reason
    assert "add a box there, mark the area as safe, or leave the image out" in reason
    assert "SMITH" not in reason and "ANNA" not in reason


def test_a_safe_region_given_to_verify_lets_the_image_pass() -> None:
    verdict = check(ct_output_with_name())
    region = next(p.region for p in verdict.problems if p.region)
    assert region is not None
    rect = Rect(
        int(region["x"] or 0),
        int(region["y"] or 0),
        int(region["width"] or 0),
        int(region["height"] or 0),
    )
    assert check(ct_output_with_name(), safe_regions=(Blackout(rect),)).ok


def test_the_gate_can_be_skipped_for_unsampled_images_of_a_long_series() -> None:
    assert check(ct_output_with_name(), residual_text=False).ok
