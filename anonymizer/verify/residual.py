"""The verifier's own text detector: classic morphology on the pixels about to be published.

The engine proposes boxes with a learned detector (PP-OCR); this one shares nothing with it
(no model, no engine code), so one blind spot does not hide in both (ADR 0003). It looks for
the shape of rendered text, not for words:

1. Each frame is rendered to 8 bits here, from the decoded values (PS3.3 C.11.2.1.2 for
   greyscale: the first window in the header if any, and robust percentiles of the frame;
   MONOCHROME1 inverted; colour as the per-pixel maximum and minimum of its channels, so
   text that differs from its background in any channel shows in one of them).
2. A white top-hat (light strokes) and a black-hat (dark strokes) keep structures thinner
   than a character's stroke box; hysteresis thresholds turn them into marks.
3. Connected marks with the size of a character (or of several touching characters) are
   chained into horizontal lines: similar heights, overlapping rows, small gaps, and the
   same ink (text is drawn in one colour, anatomy and speckle are not). The same marks
   are chained into vertical lines too (the lines of the transposed image): text turned
   by 90 degrees, or letters stacked one per line down an edge.
4. Lines of at least three marks (or one long mark with the rhythm of letters) are text.

A cine is searched on up to :data:`MAX_FRAMES` sampled frames and, when that leaves frames
out, on the per-pixel maximum and minimum of all its frames (:func:`find_text`).

Coordinates follow PS3.3 C.7.6.3: ``x`` columns from the left, ``y`` rows from the top,
0-based; frames 0-based.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from pydicom import Dataset
from pydicom.multival import MultiValue
from scipy import ndimage

__all__ = ["TextBox", "find_text", "render", "sample_frames", "text_boxes"]

#: Most frames of a cine that are searched: first, last and evenly spaced between.
MAX_FRAMES = 8

_STROKE_BOX = 15  # structures narrower than this (in both directions) count as strokes
_MIN_HEIGHT = 4  # a character's mark is at least this tall ...
_MAX_HEIGHT = 90  # ... and at most this tall
_LEVELS = (30, 60, 100, 150)  # how far a stroke stands out from its surroundings (of 255)
_STROKE_RATIO = 0.45  # a character's widest stroke, relative to its height
_MIN_MARKS = 4

Plane = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class TextBox:
    """A place that looks like text: a line or a block of lines, on one frame."""

    frame: int
    x: int
    y: int
    width: int
    height: int

    @property
    def right(self) -> int:
        return self.x + self.width

    @property
    def bottom(self) -> int:
        return self.y + self.height


def sample_frames(count: int, limit: int = MAX_FRAMES) -> list[int]:
    """The frames searched: all of them up to ``limit``, else first, last, evenly between."""
    if count <= limit:
        return list(range(count))
    return sorted({round(i * (count - 1) / (limit - 1)) for i in range(limit)})


# ---------------------------------------------------------------------------------------
# Rendering


def _first(value: object) -> float | None:
    """The first number of a (possibly multi-valued) DS/IS value, or None."""
    if isinstance(value, MultiValue | list | tuple):
        value = value[0] if len(value) else None
    if value is None:
        return None
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _window(ds: Dataset) -> tuple[float, float] | None:
    """The first VOI window of the header in stored values: (lowest, highest)."""
    center, width = _first(ds.get("WindowCenter")), _first(ds.get("WindowWidth"))
    if center is None or width is None or width < 1:
        return None
    slope = _first(ds.get("RescaleSlope")) or 1.0
    intercept = _first(ds.get("RescaleIntercept")) or 0.0
    low = (center - 0.5 - (width - 1) / 2 - intercept) / slope
    high = (center - 0.5 + (width - 1) / 2 - intercept) / slope
    low, high = min(low, high), max(low, high)
    return (low, high) if high > low else None


def _stretch(values: npt.NDArray[np.float32], low: float, high: float) -> Plane:
    scaled = (values - np.float32(low)) * np.float32(255.0 / (high - low))
    out: Plane = np.clip(scaled + 0.5, 0, 255).astype(np.uint8)
    return out


def _percentiles(values: npt.NDArray[np.float32]) -> tuple[float, float]:
    step = max(1, values.size // 65536)  # a sample is enough for a percentile
    sample = values.reshape(-1)[::step]
    low, high = (float(v) for v in np.percentile(sample, (0.5, 99.5)))
    if high <= low:
        low, high = float(values.min()), float(values.max())
    return low, high


def render(ds: Dataset, frame: npt.NDArray[np.generic]) -> list[Plane]:
    """8-bit planes of one decoded frame ``(rows, columns[, samples])`` to search for text.

    Greyscale of 8 bits or fewer: the values (scaled to 8 bits), inverted for MONOCHROME1.
    More bits or signed: the header's first window (if any) and the 0.5-99.5 percentiles.
    Colour (pydicom decodes YBR to RGB; palette colour must be expanded by the caller):
    the maximum and the minimum of the channels, each stretched to its percentiles.
    """
    arr = frame if frame.ndim == 3 else frame[..., np.newaxis]
    if arr.shape[-1] >= 3:
        values = arr[..., :3]
        if values.dtype == np.uint8:
            return [values.max(axis=-1), values.min(axis=-1)]
        planes = []
        for plane in (values.max(axis=-1), values.min(axis=-1)):
            as_float = plane.astype(np.float32)
            planes.append(_stretch(as_float, *_percentiles(as_float)))
        return planes
    grey = arr[..., 0]
    monochrome1 = str(ds.get("PhotometricInterpretation", "")) == "MONOCHROME1"
    bits = int(ds.get("BitsStored") or ds.get("BitsAllocated") or 8)
    out: list[Plane]
    if grey.dtype == np.uint8 and bits >= 8:
        out = [grey.astype(np.uint8, copy=False)]
    elif grey.dtype.kind == "u" and bits <= 8:
        out = [_stretch(grey.astype(np.float32), 0.0, float((1 << bits) - 1))]
    else:
        as_float = grey.astype(np.float32)
        out = [_stretch(as_float, *_percentiles(as_float))]
        window = _window(ds)
        if window is not None:
            out.append(_stretch(as_float, *window))
    return [255 - plane for plane in out] if monochrome1 else out


# ---------------------------------------------------------------------------------------
# Detection on one 8-bit plane


@dataclass(frozen=True)
class _Mark:
    x0: int
    y0: int
    x1: int
    y1: int
    ink: int  # the most extreme value of the mark (brightest if light, darkest if dark)
    label: int

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def width(self) -> int:
        return self.x1 - self.x0


def _hats(plane: Plane) -> tuple[npt.NDArray[np.int16], npt.NDArray[np.int16]]:
    """White top-hat (light strokes) and black-hat (dark strokes) of ``plane``."""
    size = (_STROKE_BOX, _STROKE_BOX)
    signed = plane.astype(np.int16)
    light = signed - ndimage.grey_opening(signed, size=size)
    dark = ndimage.grey_closing(signed, size=size) - signed
    return light, dark


def _marks(
    plane: Plane, hat: npt.NDArray[np.int16], level: int, light: bool
) -> tuple[list[_Mark], npt.NDArray[np.int32]]:
    """Marks where ``hat`` reaches ``level``, with the size of characters, and the labels."""
    labels, count = ndimage.label(hat >= level)
    if count == 0:
        return [], labels
    boxes = ndimage.find_objects(labels)
    spans = np.array(
        [(b[0].start, b[0].stop, b[1].start, b[1].stop) if b else (0, 0, 0, 0) for b in boxes]
    ).reshape(-1, 4)
    heights, widths = spans[:, 1] - spans[:, 0], spans[:, 3] - spans[:, 2]
    sized = (heights >= _MIN_HEIGHT) & (heights <= _MAX_HEIGHT) & (widths <= 40 * heights)
    inside = labels > 0
    which = labels[inside]
    peaks = np.zeros(count + 1, np.int16)
    np.maximum.at(peaks, which, hat[inside])
    inks = np.full(count + 1, 0 if light else 255, np.uint8)
    (np.maximum if light else np.minimum).at(inks, which, plane[inside])
    # Crisp marks only: a mark must rise well above the level that cut it out.
    keep = np.flatnonzero(sized & (peaks[1:] >= 1.6 * level))
    marks = [
        _Mark(int(x0), int(y0), int(x1), int(y1), int(inks[i + 1]), int(i) + 1)
        for i, (y0, y1, x0, x1) in zip(keep, spans[keep], strict=True)
    ]
    return marks, labels


def _stroke_like(mark: _Mark, labels: npt.NDArray[np.int32]) -> bool:
    """Is the mark made of strokes thin for its height (a character), not a blob or a bar?

    The widest stroke is twice the largest distance from the mark's inside to its edge;
    characters have strokes at most about a third of their height (bold ones too).
    """
    own = labels[mark.y0 : mark.y1, mark.x0 : mark.x1] == mark.label
    padded = np.pad(own, 1)
    widest = 2.0 * float(ndimage.distance_transform_edt(padded).max())
    if widest > _STROKE_RATIO * mark.height + 1.0:
        return False
    fill = float(own.mean())
    return not (mark.width > mark.height and fill > 0.85)


def _pairs(marks: list[_Mark], spread: int) -> list[tuple[int, int]]:
    """Pairs ``(i, j)`` of marks (sorted by left edge) where ``j`` may follow ``i`` on a line:
    similar heights, overlapping rows, a gap of at most about a character, the same ink."""
    x0, y0, x1, y1, ink = (
        np.array([getattr(m, name) for m in marks], dtype=np.int64)
        for name in ("x0", "y0", "x1", "y1", "ink")
    )
    height = y1 - y0
    reach = x1 + (3 * height) + 1
    stops = np.searchsorted(x0, reach, side="right")
    starts = np.arange(len(marks)) + 1
    counts = np.maximum(stops - starts, 0)
    first = np.repeat(np.arange(len(marks)), counts)
    if not first.size:
        return []
    offsets = np.arange(first.size) - np.repeat(np.cumsum(counts) - counts, counts)
    second = np.repeat(starts, counts) + offsets
    low = np.minimum(height[first], height[second])
    high = np.maximum(height[first], height[second])
    overlap = np.minimum(y1[first], y1[second]) - np.maximum(y0[first], y0[second])
    gap = x0[second] - x1[first]
    ok = (
        (high <= 2.5 * low)
        & (overlap >= 0.6 * low)
        & (gap <= 1.2 * high)
        & (gap >= -0.5 * low)
        & (np.abs(ink[first] - ink[second]) <= spread)
    )
    return list(zip(first[ok].tolist(), second[ok].tolist(), strict=True))


def _lines(
    marks: list[_Mark], hat: npt.NDArray[np.int16], labels: npt.NDArray[np.int32], level: int
) -> list[tuple[int, int, int, int]]:
    """Chain marks into horizontal lines; return the boxes of lines that look like text."""
    if len(marks) < _MIN_MARKS:
        return []
    spread = max(10, level // 3)
    order = sorted(range(len(marks)), key=lambda i: marks[i].x0)
    parent = list(range(len(marks)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in _pairs([marks[i] for i in order], spread):
        parent[find(order[j])] = find(order[i])
    groups: dict[int, list[_Mark]] = {}
    for i in range(len(marks)):
        groups.setdefault(find(i), []).append(marks[i])
    boxes = []
    for group in groups.values():
        if len(group) < _MIN_MARKS:
            continue
        letters = [m for m in group if _stroke_like(m, labels)]
        if len(letters) < _MIN_MARKS or len(letters) * 3 < len(group) * 2:
            continue
        if not _on_a_baseline(letters):
            continue
        x0, y0 = min(m.x0 for m in group), min(m.y0 for m in group)
        x1, y1 = max(m.x1 for m in group), max(m.y1 for m in group)
        height = float(np.median([m.height for m in group]))
        if x1 - x0 < 1.5 * height:
            continue
        if not _clean_between(hat, labels, group, (x0, y0, x1, y1), level):
            continue
        boxes.append((x0, y0, x1, y1))
    return boxes


def _on_a_baseline(marks: list[_Mark]) -> bool:
    """Do enough marks of about the same height share a bottom edge (a baseline) or a top
    edge, as letters do?"""
    heights = np.array([m.height for m in marks], dtype=np.float64)
    tolerance = max(2.0, 0.15 * float(np.median(heights)))
    alike = np.maximum(heights[:, None], heights[None, :]) <= 1.4 * np.minimum(
        heights[:, None], heights[None, :]
    )
    for edges in (np.array([m.y1 for m in marks]), np.array([m.y0 for m in marks])):
        near = (np.abs(edges[:, None] - edges[None, :]) <= tolerance) & alike
        if int(near.sum(axis=1).max()) >= _MIN_MARKS:
            return True
    return False


def _clean_between(
    hat: npt.NDArray[np.int16],
    labels: npt.NDArray[np.int32],
    group: list[_Mark],
    box: tuple[int, int, int, int],
    level: int,
) -> bool:
    """Is the background between the marks plain (text on a background), not texture?"""
    x0, y0, x1, y1 = box
    inside = np.isin(labels[y0:y1, x0:x1], [m.label for m in group])
    rest = hat[y0:y1, x0:x1][~inside]
    if rest.size == 0:
        return True
    peak = float(np.median([hat[m.y0 : m.y1, m.x0 : m.x1].max() for m in group]))
    return float(np.percentile(rest, 90)) <= max(0.5 * level, 0.4 * peak)


def text_boxes(
    plane: Plane, ignore: npt.NDArray[np.bool_] | None = None
) -> list[tuple[int, int, int, int]]:
    """Boxes ``(x0, y0, x1, y1)`` of text-like lines on one 8-bit plane: horizontal lines,
    and vertical ones (text rotated by 90 degrees, or letters stacked one per line).

    Marks whose centre lies where ``ignore`` is True (black boxes, safe areas) are left out
    before lines are formed. Vertical lines are the horizontal lines of the transposed
    image: the top-hats are symmetric, so the same marks and labels serve both ways.
    """
    boxes = []
    for light, hat in zip((True, False), _hats(plane), strict=True):
        top = int(hat.max())
        for level in _LEVELS:
            if level > top:
                break
            marks, labels = _marks(plane, hat, level, light)
            if ignore is not None:
                marks = [m for m in marks if not ignore[(m.y0 + m.y1) // 2, (m.x0 + m.x1) // 2]]
            boxes += _lines(marks, hat, labels, level)
            turned = [
                _Mark(m.y0, m.x0, m.y1, m.x1, m.ink, m.label)
                for m in marks
                if _MIN_HEIGHT <= m.width <= _MAX_HEIGHT and m.height <= 40 * m.width
            ]
            boxes += [(y0, x0, y1, x1) for x0, y0, x1, y1 in _lines(turned, hat.T, labels.T, level)]
    return boxes


def _merge(boxes: list[tuple[int, int, int, int]], pad: int = 4) -> list[tuple[int, int, int, int]]:
    """Merge boxes that touch (after ``pad``) into blocks."""
    merged = [list(b) for b in boxes]
    changed = True
    while changed:
        changed = False
        out: list[list[int]] = []
        for box in merged:
            for other in out:
                if (
                    box[0] <= other[2] + pad
                    and other[0] <= box[2] + pad
                    and box[1] <= other[3] + pad
                    and other[1] <= box[3] + pad
                ):
                    other[0], other[1] = min(other[0], box[0]), min(other[1], box[1])
                    other[2], other[3] = max(other[2], box[2]), max(other[3], box[3])
                    changed = True
                    break
            else:
                out.append(box)
        merged = out
    return [(b[0], b[1], b[2], b[3]) for b in merged]


def find_text(
    ds: Dataset,
    frames: npt.NDArray[np.generic],
    *,
    frame_indices: Sequence[int] | None = None,
    ignore: dict[int, npt.NDArray[np.bool_]] | None = None,
    projection_ignore: npt.NDArray[np.bool_] | None = None,
) -> list[TextBox]:
    """Text-like places on the sampled frames of ``frames`` ``(frames, rows, columns, samples)``.

    ``ignore`` maps a frame to a mask of pixels (the author's boxes, safe areas) whose marks
    do not count.

    When frames are left out of the sample, the per-pixel maximum and minimum over every
    frame are searched too: text on one frame of a long cine stands out in one or the
    other. A place found only there is searched again on the few frames that differ most
    from the others at that place, and reported on the frame where text is found (marks
    of several frames piled up in a projection, such as moving vessels, are not text on
    any one frame). ``projection_ignore`` is the mask used for the projections.
    """
    count = frames.shape[0]
    indices = sample_frames(count) if frame_indices is None else frame_indices
    found = []
    for index in indices:
        mask = ignore.get(index) if ignore else None
        found += _boxes_on(ds, frames[index], mask, index)
    if len(set(indices)) < count:
        for projection in (frames.max(axis=0), frames.min(axis=0)):
            for box in _boxes_on(ds, projection, projection_ignore, -1):
                if any(_same_place(box, other) for other in found):
                    continue
                confirmed = _on_its_frame(ds, box, frames, projection_ignore)
                if confirmed is not None:
                    found.append(confirmed)
    return found


def _boxes_on(
    ds: Dataset, frame: npt.NDArray[np.generic], mask: npt.NDArray[np.bool_] | None, index: int
) -> list[TextBox]:
    boxes = []
    for plane in render(ds, frame):
        boxes += text_boxes(plane, mask)
    return [TextBox(index, x0, y0, x1 - x0, y1 - y0) for x0, y0, x1, y1 in _merge(boxes)]


def _same_place(a: TextBox, b: TextBox) -> bool:
    width = min(a.right, b.right) - max(a.x, b.x)
    height = min(a.bottom, b.bottom) - max(a.y, b.y)
    if width <= 0 or height <= 0:
        return False
    return width * height * 2 >= min(a.width * a.height, b.width * b.height)


_CONFIRM_FRAMES = 3  # frames searched again for a place found on a projection


def _on_its_frame(
    ds: Dataset,
    box: TextBox,
    frames: npt.NDArray[np.generic],
    mask: npt.NDArray[np.bool_] | None,
) -> TextBox | None:
    """The text of ``box`` (found on a projection) on one frame: the frames whose pixels
    there differ most from the others' are searched around the place; None if none has
    text there."""
    region = frames[:, box.y : box.bottom, box.x : box.right]
    totals = region.reshape(frames.shape[0], -1).sum(axis=1, dtype=np.float64)
    order = np.argsort(-np.abs(totals - np.median(totals)), kind="stable")
    pad = max(16, box.height)
    rows, columns = frames.shape[1:3]
    x0, y0 = max(0, box.x - pad), max(0, box.y - pad)
    x1, y1 = min(columns, box.right + pad), min(rows, box.bottom + pad)
    part = mask[y0:y1, x0:x1] if mask is not None else None
    for index in order[:_CONFIRM_FRAMES].tolist():
        for plane in render(ds, frames[index]):
            for bx0, by0, bx1, by1 in text_boxes(plane[y0:y1, x0:x1], part):
                found = TextBox(index, bx0 + x0, by0 + y0, bx1 - bx0, by1 - by0)
                if _same_place(found, box):
                    return found
    return None
