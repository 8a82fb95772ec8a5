"""The verifier's pixel checks: author's boxes are black after the crop; OCR finds no text."""

from __future__ import annotations

import io

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image, ImageDraw, ImageFont
from pydicom.dataset import FileDataset
from pydicom.encaps import encapsulate
from pydicom.uid import JPEGBaseline8Bit

from anonymizer.pixels.regions import Blackout, Edits, Rect
from anonymizer.verify.pixels import ocr_sample, tesseract_available
from anonymizer.verify.verifier import Verdict
from tests.anonymizer.verify import assert_no_phi, check, clean_output, problems_of
from tests.conftest import require

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"


def image_output(arr: npt.NDArray[np.generic], photometric: str = "MONOCHROME2") -> FileDataset:
    """A clean output whose pixels are ``arr``: (rows, cols), (frames, rows, cols[, 3])."""
    ds = clean_output()
    color = photometric == "RGB"
    frames = arr.shape[0] if arr.ndim == (4 if color else 3) else 1
    rows, columns = arr.shape[-3:-1] if color else arr.shape[-2:]
    ds.Rows, ds.Columns = rows, columns
    ds.PhotometricInterpretation = photometric
    ds.SamplesPerPixel = 3 if color else 1
    if color:
        ds.PlanarConfiguration = 0
    bits = arr.dtype.itemsize * 8
    ds.BitsAllocated = ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = 1 if arr.dtype.kind == "i" else 0
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.PixelData = np.ascontiguousarray(arr).tobytes()
    return ds


def box(x: int, y: int, w: int, h: int, frames: tuple[int, ...] | None = None) -> Blackout:
    return Blackout(Rect(x, y, w, h), frames)


def ramp(rows: int = 80, columns: int = 100, frames: int = 1) -> npt.NDArray[np.uint8]:
    arr = (np.arange(rows * columns) % 200 + 40).astype(np.uint8).reshape(rows, columns)
    return np.stack([arr] * frames) if frames > 1 else arr


# -- boxes


def test_a_box_painted_black_passes() -> None:
    arr = ramp()
    arr[10:20, 30:50] = 0
    assert check(image_output(arr), edits=Edits((box(30, 10, 20, 10),))).ok


def test_a_box_with_one_bright_pixel_fails_naming_the_frame() -> None:
    arr = ramp(frames=4)
    arr[:, 10:20, 30:50] = 0
    arr[2, 15, 40] = 1
    verdict = check(image_output(arr), edits=Edits((box(30, 10, 20, 10),)))
    assert problems_of(verdict, "pixels-not-black") == [
        "frame 2, box 30,10 20x10 | pixels inside the box are not black"
    ]
    assert_no_phi(verdict)


def test_a_box_is_checked_only_on_its_frames() -> None:
    arr = ramp(frames=3)
    arr[1, 10:20, 30:50] = 0
    assert check(image_output(arr), edits=Edits((box(30, 10, 20, 10, (1,)),))).ok
    verdict = check(image_output(arr), edits=Edits((box(30, 10, 20, 10),)))
    assert problems_of(verdict, "pixels-not-black") == [
        "frame 0, box 30,10 20x10 | pixels inside the box are not black on 2 of 3 frame(s)"
    ]


def test_a_box_naming_a_missing_frame_fails() -> None:
    arr = ramp(frames=2)
    arr[:, 10:20, 30:50] = 0
    verdict = check(image_output(arr), edits=Edits((box(30, 10, 20, 10, (0, 5)),)))
    assert any("frame 5" in line for line in problems_of(verdict, "pixels-not-black"))


def test_boxes_are_translated_by_the_crop() -> None:
    # Original 100x80; crop at (20,10) 60x50; box at (30,20) 10x10 lands at (10,10).
    edits = Edits((box(30, 20, 10, 10),), crop=Rect(20, 10, 60, 50))
    cropped = ramp(50, 60)
    cropped[10:20, 10:20] = 0
    assert check(image_output(cropped), edits=edits).ok
    untranslated = ramp(50, 60)
    untranslated[20:30, 30:40] = 0
    verdict = check(image_output(untranslated), edits=edits)
    assert [p.where for p in verdict.problems] == ["frame 0, box 30,20 10x10"]


def test_a_box_partly_cut_away_by_the_crop_is_checked_where_it_remains() -> None:
    edits = Edits((box(0, 0, 40, 30), box(0, 0, 5, 5)), crop=Rect(20, 10, 60, 50))
    cropped = ramp(50, 60)
    cropped[0:20, 0:20] = 0  # what is left of the first box; the second is gone
    assert check(image_output(cropped), edits=edits).ok
    cropped[19, 19] = 200
    assert not check(image_output(cropped), edits=edits).ok


def test_an_image_larger_than_the_crop_fails() -> None:
    edits = Edits((), crop=Rect(20, 10, 60, 50))
    verdict = check(image_output(ramp()), edits=edits)
    assert [p.kind for p in verdict.problems] == ["crop-mismatch"]


def test_black_is_the_maximum_on_monochrome1() -> None:
    arr = ramp()
    arr[10:20, 30:50] = 255
    assert check(image_output(arr, "MONOCHROME1"), edits=Edits((box(30, 10, 20, 10),))).ok
    arr[10:20, 30:50] = 0
    assert not check(image_output(arr, "MONOCHROME1"), edits=Edits((box(30, 10, 20, 10),))).ok


def test_black_on_signed_data_is_the_smallest_value_in_the_frame() -> None:
    arr = (ramp().astype(np.int16) * 10) - 1024
    arr[10:20, 30:50] = -2048
    assert check(image_output(arr), edits=Edits((box(30, 10, 20, 10),))).ok
    arr[10:20, 30:50] = -1024  # air, but something else in the frame is darker
    arr[0, 0] = -3000
    assert not check(image_output(arr), edits=Edits((box(30, 10, 20, 10),))).ok


def test_rgb_cine_boxes_must_be_black_in_every_channel() -> None:
    arr = np.full((3, 48, 64, 3), 90, dtype=np.uint8)
    arr[:, 0:10, 0:64] = 0
    edits = Edits((box(0, 0, 64, 10),))
    assert check(image_output(arr, "RGB"), edits=edits).ok
    arr[1, 5, 5, 2] = 1
    verdict = check(image_output(arr, "RGB"), edits=edits)
    assert [p.where for p in verdict.problems] == ["frame 1, box 0,0 64x10"]


def _jpeg(arr: npt.NDArray[np.uint8], quality: int) -> FileDataset:
    ds = image_output(arr)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "JPEG", quality=quality)
    ds.PixelData = encapsulate([buf.getvalue()])
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    return ds


def test_lossy_ringing_at_a_box_edge_is_tolerated_but_text_is_not() -> None:
    rng = np.random.default_rng(1)
    arr = rng.integers(128, 256, (64, 64)).astype(np.uint8)
    arr[10:30, 13:37] = 0
    edits = Edits((box(13, 10, 24, 20),))
    assert check(_jpeg(arr, 75), edits=edits).ok
    arr[18:22, 16:34] = 255  # a line of text left in the box
    assert not check(_jpeg(arr, 75), edits=edits).ok


def test_undecodable_pixel_data_is_unreadable() -> None:
    ds = image_output(ramp())
    ds.PixelData = ds.PixelData[:100]
    verdict = check(ds, edits=Edits((box(0, 0, 5, 5),)))
    assert [p.kind for p in verdict.problems] == ["unreadable"]


# -- OCR


@pytest.fixture
def tesseract() -> None:
    """OCR tests skip on a developer machine without tesseract, and fail under CI."""
    require(tesseract_available(), "the tesseract binary (apt: tesseract-ocr tesseract-ocr-eng)")


def text_image(text: str, xy: tuple[int, int] = (40, 40)) -> npt.NDArray[np.uint8]:
    image = Image.new("L", (640, 480), 0)
    ImageDraw.Draw(image).text(xy, text, fill=255, font=ImageFont.truetype(FONT, 24))
    arr = np.asarray(image).copy()
    arr[200:400, 100:500] = np.maximum(arr[200:400, 100:500], 70)  # some anatomy
    return arr


def test_ocr_samples_first_middle_and_last_frames() -> None:
    assert ocr_sample(1) == [0]
    assert ocr_sample(2) == [0, 1]
    assert ocr_sample(100) == [0, 49, 99]


@pytest.mark.usefixtures("tesseract")
def test_ocr_finds_an_identifier_burned_into_the_pixels() -> None:
    verdict = check(image_output(text_image("ZEBRAFISH")), flagged=True)
    found = problems_of(verdict, "ocr-text")
    assert len(found) == 1
    assert found[0].startswith("frame 0, box ")
    assert "PatientName" in found[0]
    assert_no_phi(verdict)


@pytest.mark.usefixtures("tesseract")
def test_ocr_passes_once_the_text_is_painted_over() -> None:
    arr = text_image("ZEBRAFISH")
    arr[30:80, 30:220] = 0
    edits = Edits((box(30, 30, 190, 50),))
    verdict = check(image_output(arr), edits=edits, flagged=True)
    assert verdict.ok, verdict.reasons()


@pytest.mark.usefixtures("tesseract")
def test_ocr_reports_any_text_inside_an_authors_box() -> None:
    edits = Edits((box(30, 30, 250, 50),))
    verdict = check(image_output(text_image("HELLO WORLD")), edits=edits, flagged=True)
    assert any("inside the author's box" in line for line in problems_of(verdict, "ocr-text"))
    assert problems_of(verdict, "pixels-not-black")


@pytest.mark.usefixtures("tesseract")
def test_ocr_reads_the_middle_frame_of_a_cine() -> None:
    blank = np.zeros((480, 640), dtype=np.uint8)
    grey = np.stack([blank, blank, text_image("QUENTIN", (300, 400)), blank, blank])
    rgb = np.repeat(grey[..., None], 3, axis=-1)
    verdict = check(image_output(rgb, "RGB"), flagged=True)
    ocr = [p for p in verdict.problems if p.kind == "ocr-text"]
    assert [p.where.split(",")[0] for p in ocr] == ["frame 2"]
    # The residual text gate finds the same unboxed text on the same frame.
    residual = [p for p in verdict.problems if p.kind == "residual-text"]
    assert [p.region["frame"] for p in residual if p.region] == [2]


def test_without_the_flag_there_is_no_ocr() -> None:
    verdict: Verdict = check(image_output(text_image("ZEBRAFISH")), residual_text=False)
    assert verdict.ok


def test_without_the_flag_unboxed_text_is_still_blocked_by_the_residual_gate() -> None:
    verdict: Verdict = check(image_output(text_image("ZEBRAFISH")))
    assert [p.kind for p in verdict.problems] == ["residual-text"]


def test_a_flagged_file_fails_when_ocr_cannot_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("anonymizer.verify.pixels.tesseract_available", lambda: False)
    verdict = check(image_output(ramp()), flagged=True)
    assert [p.kind for p in verdict.problems] == ["ocr-failed"]
