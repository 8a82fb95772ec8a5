"""Where text is in an image, whether or not it can be read: a learned text detector.

The detector is PP-OCRv4's text detection network (a Differentiable Binarization model,
4.7 MB) that ships inside the ``rapidocr-onnxruntime`` wheel, run with onnxruntime on one
thread. Only the model file is used: the package itself, and the OpenCV it would import, are
never loaded. The network gives every pixel a probability of lying inside a text line; the
lines are the connected areas above ``_THRESHOLD``, grown back by the shrink the model was
trained with (DB's "unclip"), then merged into whole lines and bands (``merge_boxes``).

Recognition (tesseract, :mod:`anonymizer.pixels.ocr`) plays no part here: it only labels
the boxes found.
"""

from __future__ import annotations

import functools
import importlib.util
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

__all__ = ["DetectorUnavailable", "TextBox", "detect_text", "detector_available", "merge_boxes"]

_MODEL = "models/ch_PP-OCRv4_det_infer.onnx"
_THRESHOLD = 0.3  # per-pixel probability of text (the model's own default)
_BOX_THRESHOLD = 0.5  # mean probability inside a component for it to count
_UNCLIP_RATIO = 1.6
#: Shape of a line's kernel (see ``_line_shaped``): the share of its box it fills, and
#: the height (pixels of the original image) above which a kernel must be long.
_MIN_FILL = 0.4
_TALL_KERNEL = 18
#: Images are scaled so that their shorter side is at least this (the model's training
#: scale); larger images are read at full resolution in overlapping tiles.
_MIN_SIDE = 736
_TILE = 1024
_EDGE_MARGIN = 16
_OVERLAP = 96


class DetectorUnavailable(RuntimeError):
    """The text detection model or onnxruntime is missing."""


@dataclass(frozen=True)
class TextBox:
    """A rectangle of text: columns ``x0 .. x1-1``, rows ``y0 .. y1-1``; ``score`` 0..1."""

    x0: int
    y0: int
    x1: int
    y1: int
    score: float

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def area(self) -> int:
        return (self.x1 - self.x0) * (self.y1 - self.y0)


def _model_path() -> Path:
    # find_spec locates the package without running its __init__ (which imports OpenCV).
    spec = importlib.util.find_spec("rapidocr_onnxruntime")
    if spec is None or not spec.submodule_search_locations:
        raise DetectorUnavailable("the text detection model (rapidocr-onnxruntime) is missing")
    path = Path(next(iter(spec.submodule_search_locations))) / _MODEL
    if not path.is_file():
        raise DetectorUnavailable("the text detection model file is missing")
    return path


@functools.cache
def _text_model() -> Any:
    try:
        import onnxruntime as ort
    except ImportError:
        raise DetectorUnavailable("onnxruntime is not installed") from None
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(str(_model_path()), options, providers=["CPUExecutionProvider"])


def detector_available() -> bool:
    """True if the model loads (checked once per process)."""
    try:
        _text_model()
    except (DetectorUnavailable, OSError, RuntimeError):
        return False
    return True


def _probability(image: np.ndarray) -> np.ndarray:
    """The model's text probability map for an (h, w, 3) uint8 image, same size."""
    rows, columns = image.shape[:2]
    height = max(32, math.ceil(rows / 32) * 32)
    width = max(32, math.ceil(columns / 32) * 32)
    if (height, width) != (rows, columns):
        padded = np.zeros((height, width, 3), np.uint8)
        padded[:rows, :columns] = image
        image = padded
    x = (image.astype(np.float32) / 127.5 - 1.0).transpose(2, 0, 1)[None]
    model = _text_model()
    out = model.run(None, {model.get_inputs()[0].name: np.ascontiguousarray(x)})[0]
    prob: np.ndarray = np.asarray(out[0, 0], dtype=np.float32)[:rows, :columns]
    return prob


def _probability_tiled(image: np.ndarray) -> np.ndarray:
    rows, columns = image.shape[:2]
    if rows <= _TILE and columns <= _TILE:
        return _probability(image)
    prob = np.zeros((rows, columns), np.float32)
    step = _TILE - _OVERLAP
    for top in range(0, max(rows - _OVERLAP, 1), step):
        for left in range(0, max(columns - _OVERLAP, 1), step):
            tile = image[top : top + _TILE, left : left + _TILE]
            part = _probability(tile)
            view = prob[top : top + tile.shape[0], left : left + tile.shape[1]]
            np.maximum(view, part, out=view)
    return prob


def _as_rgb(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return np.repeat(image[..., None], 3, axis=2)
    return np.ascontiguousarray(image[..., :3])


def detect_text(image: np.ndarray) -> list[TextBox]:
    """Boxes of text lines in an 8-bit (rows, cols) or (rows, cols, 3) image.

    Raises :class:`DetectorUnavailable` when the model cannot be loaded.
    """
    from scipy import ndimage

    if image.dtype != np.uint8 or image.ndim not in (2, 3):
        raise ValueError(f"expected an 8-bit image, got {image.dtype} {image.shape}")
    rows, columns = image.shape[:2]
    if rows < 4 or columns < 4:
        return []
    rgb = _as_rgb(image)
    scale = min(max(1.0, _MIN_SIDE / min(rows, columns)), max(1.0, 4096 / max(rows, columns)))
    if scale > 1.0:
        size = (round(columns * scale), round(rows * scale))
        scaled = np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BILINEAR))
    else:
        scale, scaled = 1.0, rgb
    # A margin of repeated edge pixels lets the model see text cut by the image's edge.
    margin = _EDGE_MARGIN
    prob = _probability_tiled(np.pad(scaled, ((margin, margin), (margin, margin), (0, 0)), "edge"))
    prob = prob[margin:-margin, margin:-margin]
    labels, _ = ndimage.label(prob > _THRESHOLD)
    boxes: list[TextBox] = []
    for index, where in enumerate(ndimage.find_objects(labels), start=1):
        if where is None:
            continue
        component = labels[where] == index
        score = float(prob[where][component].mean())
        if score < _BOX_THRESHOLD:
            continue
        y0, y1 = where[0].start, where[0].stop
        x0, x1 = where[1].start, where[1].stop
        if not _line_shaped(component, (x1 - x0) / scale, (y1 - y0) / scale, rows, columns):
            continue
        # DB's unclip: the model marks a shrunk kernel of each line; grow it back by
        # area * ratio / perimeter on every side.
        w, h = x1 - x0, y1 - y0
        grow = (w * h * _UNCLIP_RATIO) / (2 * (w + h))
        boxes.append(
            TextBox(
                x0=max(0, math.floor((x0 - grow) / scale)),
                y0=max(0, math.floor((y0 - grow) / scale)),
                x1=min(columns, math.ceil((x1 + grow) / scale)),
                y1=min(rows, math.ceil((y1 + grow) / scale)),
                score=score,
            )
        )
    return boxes


def _line_shaped(
    component: np.ndarray, width: float, height: float, rows: int, columns: int
) -> bool:
    """Whether a kernel looks like a line of text rather than a vessel, a catheter or an
    edge the model scored high: lines fill most of their bounding box; a kernel of text
    taller than about 30 pixels is at least 1.5 times as long as it is high, and one of
    text taller than about 60 pixels five times (limits grow on large images): a row of
    bright organs is not a line of giant letters."""
    if float(component.mean()) < _MIN_FILL:
        return False
    side = min(rows, columns)
    if height > max(_TALL_KERNEL, 0.03 * side) and width < 1.5 * height:
        return False
    return height <= max(2 * _TALL_KERNEL, 0.06 * side) or width >= 5 * height


def merge_boxes(boxes: list[TextBox], *, pad: int = 2) -> list[TextBox]:
    """Whole lines: boxes on one line with gaps under two line heights (plus ``pad``) are
    joined, and boxes that mostly overlap become one, until nothing changes. Lines above
    one another stay separate boxes hugging their text, so that accepting them blacks out
    little of the image around it."""
    merged = list(boxes)
    changed = True
    while changed:
        changed = False
        result: list[TextBox] = []
        for box in sorted(merged, key=lambda b: (b.y0, b.x0)):
            for i, other in enumerate(result):
                if _joins(box, other, pad):
                    result[i] = TextBox(
                        min(box.x0, other.x0),
                        min(box.y0, other.y0),
                        max(box.x1, other.x1),
                        max(box.y1, other.y1),
                        max(box.score, other.score),
                    )
                    changed = True
                    break
            else:
                result.append(box)
        merged = result
    return merged


def _joins(a: TextBox, b: TextBox, pad: int) -> bool:
    height = max(min(a.height, b.height), 1)
    overlap_y = min(a.y1, b.y1) - max(a.y0, b.y0)
    gap_x = max(a.x0, b.x0) - min(a.x1, b.x1)
    if overlap_y >= 0.5 * height and gap_x <= 2 * height + pad:
        return True  # the same line
    # Boxes that overlap by most of the smaller one's area: one box.
    overlap_x = -gap_x
    return overlap_x > 0 and overlap_y > 0 and overlap_x * overlap_y >= 0.5 * min(a.area, b.area)
