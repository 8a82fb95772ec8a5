"""Scoring text proposals against the planted ground truth of ``generate.Sample``.

Proposals are read by their JSON fields only (``frame``, ``x``, ``y``, ``width``,
``height``; ``frame`` None means every frame), from objects or mappings, so any shape of
``ProposedRegion`` works. Accepting a proposal blacks out its rectangle (clipped to the
image) on its frames, as ``anonymizer.pixels.redact.apply_edits`` does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage

from bench.text_eval.generate import Sample

__all__ = ["Box", "Score", "boxes_of", "coverage", "edits_of", "score"]

#: Proposed pixels within this distance of planted ink count as text (a box needs a margin).
TEXT_MARGIN = 3


@dataclass(frozen=True)
class Box:
    frame: int | None
    x: int
    y: int
    width: int
    height: int


def _field(proposal: Any, name: str) -> Any:
    if isinstance(proposal, Mapping):
        return proposal.get(name)
    return getattr(proposal, name, None)


def boxes_of(proposals: Iterable[Any]) -> list[Box]:
    """The rectangles of proposals (objects or JSON mappings)."""
    boxes = []
    for proposal in proposals:
        frame = _field(proposal, "frame")
        boxes.append(
            Box(
                None if frame is None else int(frame),
                int(_field(proposal, "x")),
                int(_field(proposal, "y")),
                int(_field(proposal, "width")),
                int(_field(proposal, "height")),
            )
        )
    return boxes


def coverage(boxes: Iterable[Box], frames: int, rows: int, columns: int) -> np.ndarray:
    """Bool (frames, rows, columns): where accepting every box blacks out the image."""
    covered = np.zeros((frames, rows, columns), dtype=bool)
    for box in boxes:
        x0, y0 = max(box.x, 0), max(box.y, 0)
        x1, y1 = min(box.x + box.width, columns), min(box.y + box.height, rows)
        if x1 <= x0 or y1 <= y0:
            continue
        if box.frame is None:
            covered[:, y0:y1, x0:x1] = True
        elif 0 <= box.frame < frames:
            covered[box.frame, y0:y1, x0:x1] = True
    return covered


def edits_of(boxes: Iterable[Box], frames: int, rows: int, columns: int) -> Any:
    """``Edits`` blacking out every box that touches the image (others are left out)."""
    from anonymizer.pixels.regions import Blackout, Edits, Rect

    blackouts = []
    for box in boxes:
        x0, y0 = max(box.x, 0), max(box.y, 0)
        x1, y1 = min(box.x + box.width, columns), min(box.y + box.height, rows)
        if x1 <= x0 or y1 <= y0 or (box.frame is not None and not 0 <= box.frame < frames):
            continue
        which = None if box.frame is None else (box.frame,)
        blackouts.append(Blackout(Rect(x0, y0, x1 - x0, y1 - y0), which))
    return Edits(tuple(blackouts))


@dataclass(frozen=True)
class Score:
    """Pixel counts over every frame of one image."""

    text: int  # planted text pixels
    covered: int  # of which a proposal blacks out
    proposed: int  # pixels some proposal blacks out
    proposed_not_text: int  # of which farther than TEXT_MARGIN from planted ink
    image: int  # all pixels

    @property
    def coverage(self) -> float:
        return self.covered / self.text if self.text else 1.0

    @property
    def not_text_share(self) -> float:
        return self.proposed_not_text / self.proposed if self.proposed else 0.0

    @property
    def proposed_share(self) -> float:
        return self.proposed / self.image if self.image else 0.0


def score(sample: Sample, proposals: Iterable[Any]) -> Score:
    rows, columns = sample.mask.shape
    covered = coverage(boxes_of(proposals), sample.frames, rows, columns)
    near_text = sample.mask
    if sample.mask.any():
        near_text = ndimage.binary_dilation(sample.mask, iterations=TEXT_MARGIN)
    text = int(sample.mask.sum()) * sample.frames
    return Score(
        text=text,
        covered=int(covered[:, sample.mask].sum()),
        proposed=int(covered.sum()),
        proposed_not_text=int(covered[:, ~near_text].sum()),
        image=covered.size,
    )
