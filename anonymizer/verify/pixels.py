"""Pixel checks of the verifier: the author's boxes are black, OCR reads no identifier,
and the verifier's own text detector (:mod:`.residual`, ADR 0003) finds no text left.

Pixels are decoded with pydicom alone (``Dataset.pixel_array``), never with the engine's
codecs, and OCR calls tesseract through pytesseract directly, so a fault in the engine's
pixel path cannot also blind the check (STYLE.md: the verifier shares no code path with
the engine). Coordinates follow PS3.3 C.7.6.3: columns from the left, rows from the top,
0-based; frames are 0-based as in :class:`anonymizer.pixels.regions.Blackout`.

*Black* (PS3.3 C.7.6.3.1.2): on a MONOCHROME2 or colour frame every pixel inside a box must
equal the frame's minimum (so nothing outside the box is darker; for unsigned and RGB data
that is 0 once anything is black); on MONOCHROME1 the maximum. Lossy transfer syntaxes
ring at edges, so there a box's brightest pixel may be 1/8 of the range above black and
its mean 1/64 (text left in a box is far brighter).
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from PIL import Image
from pydicom import Dataset

from anonymizer.verify import residual
from anonymizer.verify.fingerprint import TextRegion
from anonymizer.verify.verifier import Problem

if TYPE_CHECKING:  # the types only: importing anonymizer.pixels would load the engine's code
    from anonymizer.pixels.regions import Blackout, Edits

__all__ = ["OCR_CONFIG", "check_pixels", "ocr_sample", "residual_problems", "tesseract_available"]

#: Tesseract page segmentation mode 11: sparse text in no particular order.
OCR_CONFIG = "--psm 11"
_OCR_TIMEOUT_SECONDS = 120
_MIN_CONFIDENCE_IN_BOX = 60.0
_UPSCALE_BELOW = 1000  # images whose larger side is smaller are read at twice the size
_PIXEL_DATA = "(7FE0,0010) PixelData"
_LOSSLESS_SYNTAXES = frozenset(
    {
        "1.2.840.10008.1.2",
        "1.2.840.10008.1.2.1",
        "1.2.840.10008.1.2.1.99",
        "1.2.840.10008.1.2.2",
        "1.2.840.10008.1.2.4.57",
        "1.2.840.10008.1.2.4.70",
        "1.2.840.10008.1.2.4.80",
        "1.2.840.10008.1.2.4.90",
        "1.2.840.10008.1.2.4.92",
        "1.2.840.10008.1.2.4.201",
        "1.2.840.10008.1.2.4.202",
        "1.2.840.10008.1.2.5",
    }
)

Sources = Callable[[str], list[str]]


@dataclass(frozen=True)
class _Box:
    """An author's blackout, and where it lies in the (cropped) output image."""

    blackout: Blackout
    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def coords(self) -> tuple[int, int, int, int]:
        return self.x0, self.y0, self.x1, self.y1

    def applies_to(self, frame: int) -> bool:
        return self.blackout.frames is None or frame in self.blackout.frames

    @property
    def name(self) -> str:
        rect = self.blackout.rect
        return f"box {rect.x},{rect.y} {rect.width}x{rect.height}"


def _boxes(edits: Edits | None, rows: int, columns: int) -> list[_Box]:
    """Translate each box from the original image to the cropped one, and clip it."""
    if edits is None:
        return []
    dx, dy = (edits.crop.x, edits.crop.y) if edits.crop is not None else (0, 0)
    boxes = []
    for blackout in edits.blackouts:
        rect = blackout.rect
        x0, y0 = max(rect.x - dx, 0), max(rect.y - dy, 0)
        x1, y1 = min(rect.right - dx, columns), min(rect.bottom - dy, rows)
        boxes.append(_Box(blackout, x0, y0, max(x1, x0), max(y1, y0)))
    return boxes


_NATIVE_LE = frozenset({"1.2.840.10008.1.2", "1.2.840.10008.1.2.1"})


def _native_view(ds: Dataset, buf: Any) -> npt.NDArray[np.generic] | None:
    """Uncompressed little-endian pixels as a read-only view of the file's own bytes:
    nothing is copied, and only the pages under the boxes are ever read."""
    bits = int(ds.get("BitsAllocated", 0))
    photometric = str(ds.get("PhotometricInterpretation", ""))
    samples = int(ds.get("SamplesPerPixel", 1))
    syntax = str(ds.file_meta.get("TransferSyntaxUID", ""))
    if (
        buf is None
        or syntax not in _NATIVE_LE
        or bits not in (8, 16, 32)
        or photometric not in ("MONOCHROME1", "MONOCHROME2", "RGB")
        or (samples > 1 and int(ds.get("PlanarConfiguration", 0)) != 0)
    ):
        return None
    count, rows, columns = int(ds.get("NumberOfFrames") or 1), int(ds.Rows), int(ds.Columns)
    signed = int(ds.get("PixelRepresentation", 0)) == 1
    dtype = np.dtype(f"<{'i' if signed else 'u'}{bits // 8}")
    size = count * rows * columns * samples
    offset = _pixel_value_offset(buf, size * dtype.itemsize, explicit=syntax.endswith(".1"))
    if offset is None:
        return None  # let pydicom decode it (and say what is wrong)
    arr = np.frombuffer(buf, dtype=dtype, count=size, offset=offset)
    stored = int(ds.get("BitsStored") or bits)
    if stored < bits:  # bits above Bits Stored are not part of the value
        return None
    return arr.reshape(count, rows, columns, samples)


def _pixel_value_offset(buf: Any, nbytes: int, *, explicit: bool) -> int | None:
    """Where the top-level Pixel Data value starts in ``buf``: the last (7FE0,0010)
    header whose length field is exactly the size the image needs (PS3.5 7.1.2)."""
    tag = b"\xe0\x7f\x10\x00"
    end = len(buf)
    for _ in range(4):  # the element is last or nearly last; look at a few candidates
        at = int(buf.rfind(tag, 0, end))
        if at < 0:
            return None
        if explicit and bytes(buf[at + 4 : at + 6]) in (b"OB", b"OW"):
            length, start = int.from_bytes(buf[at + 8 : at + 12], "little"), at + 12
        elif not explicit:
            length, start = int.from_bytes(buf[at + 4 : at + 8], "little"), at + 8
        else:
            length, start = -1, 0
        if length in (nbytes, nbytes + 1) and start + nbytes <= len(buf):
            return int(start)
        end = at
    return None


def _frames(ds: Dataset, buf: Any = None) -> npt.NDArray[np.generic]:
    """Every frame as ``(frames, rows, columns, samples)``; palette colour as RGB."""
    view = _native_view(ds, buf)
    if view is not None:
        return view
    arr = ds.pixel_array
    if str(ds.get("PhotometricInterpretation", "")) == "PALETTE COLOR":
        from pydicom.pixels.processing import apply_color_lut

        arr = apply_color_lut(arr, ds)
    count = int(ds.get("NumberOfFrames") or 1)
    rows, columns = int(ds.Rows), int(ds.Columns)
    samples = arr.size // (count * rows * columns)
    return arr.reshape(count, rows, columns, samples)


def _tolerance(ds: Dataset) -> tuple[float, float]:
    """How far above black a box's brightest pixel and its mean may be: 0 unless lossy.

    Lossy coding rings at a box's edges (up to a block away); the brightest pixel may be
    1/8 of the range above black and the mean 1/64, while text left in the box is not.
    """
    syntax = str(getattr(ds, "file_meta", Dataset()).get("TransferSyntaxUID", ""))
    if syntax in _LOSSLESS_SYNTAXES:
        return 0.0, 0.0
    bits = int(ds.get("BitsStored") or ds.get("BitsAllocated") or 8)
    return (1 << bits) / 8, (1 << bits) / 64


def _check_crop(ds: Dataset, edits: Edits) -> list[Problem]:
    crop = edits.crop
    if crop is None:
        return []
    rows, columns = int(ds.Rows), int(ds.Columns)
    if columns <= crop.width and rows <= crop.height:
        return []
    detail = f"the image is {columns}x{rows} pixels but the author cropped it to {crop}"
    return [Problem("crop-mismatch", "image size", detail)]


def _negative_slope(ds: Dataset) -> bool:
    try:
        return float(ds.get("RescaleSlope", 1) or 1) < 0
    except (TypeError, ValueError):
        return False


def _check_black(ds: Dataset, frames: npt.NDArray[np.generic], boxes: list[_Box]) -> list[Problem]:
    count = frames.shape[0]
    photometric = str(ds.get("PhotometricInterpretation", ""))
    # Black is the frame's maximum on MONOCHROME1, and on MONOCHROME2 with a negative
    # Rescale Slope (it reverses the grey scale); otherwise the frame's minimum.
    reversed_scale = photometric.startswith("MONOCHROME") and _negative_slope(ds)
    monochrome1 = (photometric == "MONOCHROME1") != reversed_scale
    max_tolerance, mean_tolerance = _tolerance(ds)

    @functools.cache
    def black(index: int) -> int:
        frame = frames[index]
        return int(frame.max() if monochrome1 else frame.min())

    problems = []
    for box in boxes:
        wanted = range(count) if box.blackout.frames is None else box.blackout.frames
        missing = [f for f in wanted if f >= count]
        if missing:
            detail = f"the box names frame {missing[0]} but the image has {count} frame(s)"
            problems.append(Problem("pixels-not-black", box.name, detail))
        if box.x1 <= box.x0 or box.y1 <= box.y0:
            continue  # the crop removed the whole box
        bad = []
        for index in (f for f in wanted if f < count):
            region = frames[index, box.y0 : box.y1, box.x0 : box.x1]
            if monochrome1:
                excess = black(index) - int(region.min())
                mean_excess = black(index) - float(region.mean()) if mean_tolerance else 0.0
            else:
                excess = int(region.max()) - black(index)
                mean_excess = float(region.mean()) - black(index) if mean_tolerance else 0.0
            if excess > max_tolerance or mean_excess > mean_tolerance:
                bad.append(index)
        if bad:
            where = f"frame {bad[0]}, {box.name}"
            detail = (
                f"pixels inside the box are not black on {len(bad)} of {len(wanted)} frame(s)"
                if len(bad) > 1
                else "pixels inside the box are not black"
            )
            problems.append(Problem("pixels-not-black", where, detail))
    return problems


# ---------------------------------------------------------------------------------------
# OCR


@functools.cache
def tesseract_available() -> bool:
    """True if the tesseract binary runs (checked once per process)."""
    pytesseract = _pytesseract()
    try:
        pytesseract.get_tesseract_version()
    except (pytesseract.TesseractNotFoundError, OSError):
        return False
    return True


def _pytesseract() -> ModuleType:
    # With OpenMP's default threads tesseract spin-waits and runs several times slower.
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    import pytesseract

    module: ModuleType = pytesseract
    return module


def ocr_sample(count: int) -> list[int]:
    """The frames read by OCR: first, middle and last (at most 5)."""
    return sorted({0, (count - 1) // 2, count - 1})[:5]


def _render(frame: npt.NDArray[np.generic], monochrome1: bool) -> tuple[Image.Image, int]:
    """An 8-bit greyscale rendering (full range of the frame), and its scale factor."""
    values = frame.astype(np.float32)
    if values.shape[-1] == 3:
        grey = values[..., 0] * 0.299 + values[..., 1] * 0.587 + values[..., 2] * 0.114
    else:
        grey = values[..., 0]
    low, high = float(grey.min()), float(grey.max())
    scaled = (grey - low) * (255.0 / (high - low)) if high > low else np.zeros_like(grey)
    if monochrome1:
        scaled = 255.0 - scaled
    image = Image.fromarray(np.clip(scaled + 0.5, 0, 255).astype(np.uint8), mode="L")
    scale = 2 if max(image.size) < _UPSCALE_BELOW else 1
    if scale > 1:
        image = image.resize((image.width * 2, image.height * 2), Image.Resampling.BICUBIC)
    return image, scale


@dataclass(frozen=True)
class _Word:
    text: str
    confidence: float
    x0: int
    y0: int
    x1: int
    y1: int
    line: tuple[int, int, int]

    def where(self, frame: int) -> str:
        return f"frame {frame}, box {self.x0},{self.y0} {self.x1 - self.x0}x{self.y1 - self.y0}"


def _read_words(image: Image.Image, scale: int) -> Iterator[_Word]:
    pytesseract = _pytesseract()
    data = pytesseract.image_to_data(
        image,
        config=OCR_CONFIG,
        output_type=pytesseract.Output.DICT,
        timeout=_OCR_TIMEOUT_SECONDS,
    )
    for i, raw in enumerate(data["text"]):
        text = str(raw).strip()
        confidence = float(data["conf"][i])
        if not text or confidence < 0:
            continue
        left, top = int(data["left"][i]) // scale, int(data["top"][i]) // scale
        right = -(-(int(data["left"][i]) + int(data["width"][i])) // scale)
        bottom = -(-(int(data["top"][i]) + int(data["height"][i])) // scale)
        line = (int(data["block_num"][i]), int(data["par_num"][i]), int(data["line_num"][i]))
        yield _Word(text, confidence, left, top, right, bottom, line)


def _lines(words: list[_Word]) -> list[_Word]:
    """Each line of two or more words as one word, so "DOE JOHN" and "3 Nov 1947" match."""
    by_line: dict[tuple[int, int, int], list[_Word]] = {}
    for word in words:
        by_line.setdefault(word.line, []).append(word)
    return [
        _Word(
            " ".join(w.text for w in group),
            min(w.confidence for w in group),
            min(w.x0 for w in group),
            min(w.y0 for w in group),
            max(w.x1 for w in group),
            max(w.y1 for w in group),
            line,
        )
        for line, group in by_line.items()
        if len(group) > 1
    ]


def _inside(word: _Word, box: _Box) -> bool:
    """At least half of the word's area lies inside the box."""
    width = min(word.x1, box.x1) - max(word.x0, box.x0)
    height = min(word.y1, box.y1) - max(word.y0, box.y0)
    if width <= 0 or height <= 0:
        return False
    area = max(1, (word.x1 - word.x0) * (word.y1 - word.y0))
    return width * height * 2 >= area


def _check_ocr(
    ds: Dataset, frames: npt.NDArray[np.generic], boxes: list[_Box], sources: Sources
) -> list[Problem]:
    if not tesseract_available():
        detail = "the file is flagged for OCR but tesseract is not available"
        return [Problem("ocr-failed", "pixels", detail)]
    monochrome1 = str(ds.get("PhotometricInterpretation", "")) == "MONOCHROME1"
    problems: list[Problem] = []
    reported: set[tuple[int, str]] = set()
    for index in ocr_sample(frames.shape[0]):
        image, scale = _render(frames[index], monochrome1)
        try:
            words = list(_read_words(image, scale))
        except RuntimeError as exc:  # pytesseract's timeout
            detail = f"OCR did not finish ({type(exc).__name__})"
            return [*problems, Problem("ocr-failed", f"frame {index}", detail)]
        for word in [*words, *_lines(words)]:
            for source in sources(word.text):
                if (index, source) not in reported:
                    reported.add((index, source))
                    detail = f"text read in the pixels matches a word or number of {source}"
                    problems.append(Problem("ocr-text", word.where(index), detail))
        for word in words:
            alphanumerics = sum(c.isalnum() for c in word.text)
            if word.confidence < _MIN_CONFIDENCE_IN_BOX or alphanumerics < 3:
                continue
            for box in boxes:
                if box.applies_to(index) and _inside(word, box):
                    detail = f"text was read inside the author's {box.name}, which must be black"
                    problems.append(Problem("ocr-text", word.where(index), detail))
                    break
    return problems


def _covered(region: TextRegion, frame: int, edits: Edits | None) -> bool:
    """Is the part of ``region`` that survives the crop black on ``frame``?"""
    x0, y0 = region.x, region.y
    x1, y1 = x0 + region.width, y0 + region.height
    crop = edits.crop if edits is not None else None
    if crop is not None:
        x0, y0 = max(x0, crop.x), max(y0, crop.y)
        x1, y1 = min(x1, crop.x + crop.width), min(y1, crop.y + crop.height)
    if x1 <= x0 or y1 <= y0:
        return True  # cropped away
    mask = np.zeros((y1 - y0, x1 - x0), dtype=bool)
    for blackout in edits.blackouts if edits is not None else ():
        if blackout.frames is not None and frame not in blackout.frames:
            continue
        r = blackout.rect
        bx0, by0 = max(r.x, x0), max(r.y, y0)
        bx1, by1 = min(r.x + r.width, x1), min(r.y + r.height, y1)
        if bx1 > bx0 and by1 > by0:
            mask[by0 - y0 : by1 - y0, bx0 - x0 : bx1 - x0] = True
    return bool(mask.all())


def _check_text_regions(
    regions: tuple[TextRegion, ...], frame_count: int, edits: Edits | None
) -> list[Problem]:
    """Text the first pass read as identifying must be blacked out or cropped away."""
    problems = []
    for region in regions:
        frames = range(frame_count) if region.frame is None else (region.frame,)
        left = [f for f in frames if not _covered(region, f, edits)]
        if left:
            where = (
                f"frame {left[0]}{f' and {len(left) - 1} more' if len(left) > 1 else ''}, "
                f"text at {region.x},{region.y} {region.width}x{region.height}"
            )
            detail = (
                f"text of {region.source} read there at import is neither blacked out "
                "nor cropped away"
            )
            problems.append(Problem("ocr-text", where, detail))
    return problems


def check_pixels(
    ds: Dataset,
    *,
    edits: Edits | None,
    flagged: bool,
    sources: Sources,
    text_regions: tuple[TextRegion, ...] | None = None,
    buf: Any = None,
    safe_regions: Sequence[Blackout] = (),
    residual_text: bool = True,
) -> list[Problem]:
    """The box checks (if ``edits``), the OCR check (if ``flagged``) and the residual text
    gate (if ``residual_text``, on every image) of one file.

    ``text_regions``: where the first pass's OCR read identifying text (None when it
    did not read the pixels). With them, the OCR check needs no second reading: every
    such region must be covered by the boxes or the crop, and inside the boxes every
    pixel is checked black, which is stronger than OCR finding nothing there. Without
    them, sampled frames of the output are read again in full.

    The residual text gate (ADR 0003) runs the verifier's own text detector
    (:mod:`.residual`) on sampled frames of the output and on the maximum and minimum of
    all its frames; text-like marks outside the author's boxes and ``safe_regions``
    (original image coordinates) block the file.
    """
    if "PixelData" not in ds:
        if edits is not None and edits.blackouts:
            return [Problem("unreadable", _PIXEL_DATA, "boxes were drawn but there are no pixels")]
        return []
    try:
        frames = _frames(ds, buf)
    except Exception as exc:  # any decoding failure stops publication
        detail = f"the pixel data could not be decoded ({type(exc).__name__})"
        return [Problem("unreadable", _PIXEL_DATA, detail)]
    boxes = _boxes(edits, frames.shape[1], frames.shape[2])
    problems: list[Problem] = []
    if edits is not None:
        problems += _check_crop(ds, edits)
        problems += _check_black(ds, frames, boxes)
    if flagged and text_regions is not None:
        problems += _check_text_regions(text_regions, int(ds.get("NumberOfFrames", 1) or 1), edits)
    elif flagged:
        problems += _check_ocr(ds, frames, boxes, sources)
    if residual_text:
        problems += _check_residual(ds, frames, boxes, edits, safe_regions)
    return problems


# ---------------------------------------------------------------------------------------
# Residual text gate (ADR 0003)


def _ignored(
    frame: int,
    shape: tuple[int, int],
    boxes: list[_Box],
    safe_regions: Sequence[Blackout],
    origin: tuple[int, int],
) -> npt.NDArray[np.bool_] | None:
    """Pixels of the output frame whose marks do not count: the author's boxes (black,
    checked above) and the safe areas, both moved into the cropped image."""
    rows, columns = shape
    mask = np.zeros(shape, dtype=bool)
    for box in boxes:
        if box.applies_to(frame):
            mask[box.y0 : box.y1, box.x0 : box.x1] = True
    dx, dy = origin
    for safe in safe_regions:
        if safe.frames is not None and frame not in safe.frames:
            continue
        rect = safe.rect
        x0, y0 = max(rect.x - dx, 0), max(rect.y - dy, 0)
        x1, y1 = min(rect.right - dx, columns), min(rect.bottom - dy, rows)
        if x1 > x0 and y1 > y0:
            mask[y0:y1, x0:x1] = True
    return mask if mask.any() else None


def residual_problems(
    found: list[residual.TextBox], count: int, origin: tuple[int, int]
) -> list[Problem]:
    """One Problem per place, in original image coordinates; a place found at the same
    spot on several sampled frames is reported once (frame None if on all of them)."""
    frames_checked = {box.frame for box in found}
    places: list[tuple[residual.TextBox, list[int]]] = []
    for box in found:
        for first, frames in places:
            if _same_place(first, box):
                frames.append(box.frame)
                break
        else:
            places.append((box, [box.frame]))
    dx, dy = origin
    problems = []
    for box, frames in places:
        x, y = box.x + dx, box.y + dy
        every = count == 1 or (len(frames_checked) > 1 and len(frames) == len(frames_checked))
        frame = None if every else frames[0]
        if frame is None:
            on = "" if count == 1 else " on every frame checked"
        elif len(frames) > 1:
            on = f" on frame {frame} and {len(frames) - 1} more"
        else:
            on = f" on frame {frame}"
        place = f"{x},{y} {box.width}x{box.height}"
        detail = (
            f"text-like marks at {place}{on} are not blacked out: add a box there, "
            "mark the area as safe, or leave the image out"
        )
        region: dict[str, int | None] = {
            "frame": frame,
            "x": x,
            "y": y,
            "width": box.width,
            "height": box.height,
        }
        where = f"{'frame ' + str(frame) + ', ' if frame is not None else ''}pixels at {place}"
        problems.append(Problem("residual-text", where, detail, region=region))
    return problems


def _same_place(a: residual.TextBox, b: residual.TextBox) -> bool:
    width = min(a.right, b.right) - max(a.x, b.x)
    height = min(a.bottom, b.bottom) - max(a.y, b.y)
    if width <= 0 or height <= 0:
        return False
    smaller = min(a.width * a.height, b.width * b.height)
    return width * height * 2 >= smaller


def _every_frame(items: Sequence[Any]) -> list[Any]:
    """Boxes (``_Box``) or safe areas (``Blackout``) as if each applied to every frame."""
    out: list[Any] = []
    for item in items:
        if isinstance(item, _Box):
            out.append(_Box(dataclasses.replace(item.blackout, frames=None), *item.coords))
        else:
            out.append(dataclasses.replace(item, frames=None))
    return out


def _check_residual(
    ds: Dataset,
    frames: npt.NDArray[np.generic],
    boxes: list[_Box],
    edits: Edits | None,
    safe_regions: Sequence[Blackout],
) -> list[Problem]:
    count, rows, columns = frames.shape[:3]
    crop = edits.crop if edits is not None else None
    origin = (crop.x, crop.y) if crop is not None else (0, 0)
    indices = residual.sample_frames(count)
    ignore = {}
    for index in indices:
        mask = _ignored(index, (rows, columns), boxes, safe_regions, origin)
        if mask is not None:
            ignore[index] = mask
    # The projections over every frame: what any box or safe area of any frame covers.
    anywhere = _ignored(
        -1, (rows, columns), _every_frame(boxes), _every_frame(safe_regions), origin
    )
    try:
        found = residual.find_text(
            ds, frames, frame_indices=indices, ignore=ignore, projection_ignore=anywhere
        )
    except Exception as exc:  # a frame that cannot be rendered is not checked: stop
        detail = f"the pixels could not be searched for text ({type(exc).__name__})"
        return [Problem("unreadable", _PIXEL_DATA, detail)]
    return residual_problems(found, count, origin)
