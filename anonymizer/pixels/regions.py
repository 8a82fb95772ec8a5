"""Rectangles, blackouts and crops on stored pixel data, and their JSON form.

Coordinates are those of the image as stored (PS3.3 C.7.6.3, Image Pixel Module): ``x`` counts
columns from the left, ``y`` counts rows from the top, both 0-based; ``width`` and ``height``
are in pixels. Frame numbers are 0-based (frame 0 is the first frame of Pixel Data).

The JSON shape shared with the viewer::

    {"regions": [{"x": 0, "y": 0, "width": 640, "height": 40, "frames": "all" | [0, 3]}],
     "crop": {"x": 0, "y": 40, "width": 640, "height": 440} | null}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Blackout",
    "Edits",
    "ProposedRegion",
    "Rect",
    "edits_from_json",
    "edits_to_json",
]


def _require_int(value: object, name: str) -> int:
    """Return ``value`` as an int; integral floats (``10.0``, as JavaScript sends) are accepted."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer, not {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    # numpy integers and similar
    if hasattr(value, "__index__"):
        return int(value.__index__())
    raise ValueError(f"{name} must be an integer, not {value!r}")


class EditsDoNotFit(ValueError):
    """Edits that do not fit the image; the message names rectangles and sizes only."""


@dataclass(frozen=True)
class Rect:
    """A rectangle of pixels: columns ``x .. x+width-1``, rows ``y .. y+height-1``."""

    x: int
    y: int
    width: int
    height: int

    def __post_init__(self) -> None:
        for name in ("x", "y", "width", "height"):
            object.__setattr__(self, name, _require_int(getattr(self, name), name))
        if self.x < 0 or self.y < 0:
            raise ValueError(f"rectangle {self} has a negative origin")
        if self.width < 1 or self.height < 1:
            raise ValueError(f"rectangle {self} is empty (width and height must be >= 1)")

    def __str__(self) -> str:
        return f"{self.x},{self.y} {self.width}x{self.height}"

    @property
    def right(self) -> int:
        """One past the last column."""
        return self.x + self.width

    @property
    def bottom(self) -> int:
        """One past the last row."""
        return self.y + self.height

    def fits(self, columns: int, rows: int) -> bool:
        """True if the whole rectangle lies inside a ``columns`` x ``rows`` image."""
        return self.right <= columns and self.bottom <= rows

    def clip(self, columns: int, rows: int) -> Rect | None:
        """The part of the rectangle inside a ``columns`` x ``rows`` image, or None if none."""
        right, bottom = min(self.right, columns), min(self.bottom, rows)
        if right <= self.x or bottom <= self.y:
            return None
        return Rect(self.x, self.y, right - self.x, bottom - self.y)

    def to_json(self) -> dict[str, int]:
        return {"x": self.x, "y": self.y, "width": self.width, "height": self.height}

    @classmethod
    def from_json(cls, obj: Mapping[str, Any], *, what: str = "rectangle") -> Rect:
        if not isinstance(obj, Mapping):
            raise ValueError(f"{what} must be an object with x, y, width and height")
        missing = [key for key in ("x", "y", "width", "height") if key not in obj]
        if missing:
            raise ValueError(f"{what} is missing {', '.join(missing)}")
        return cls(
            _require_int(obj["x"], f"{what} x"),
            _require_int(obj["y"], f"{what} y"),
            _require_int(obj["width"], f"{what} width"),
            _require_int(obj["height"], f"{what} height"),
        )


@dataclass(frozen=True)
class Blackout:
    """Paint ``rect`` black on ``frames`` (0-based; None means every frame)."""

    rect: Rect
    frames: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.frames is None:
            return
        frames = tuple(_require_int(f, "frame") for f in self.frames)
        if not frames:
            raise ValueError("a blackout needs at least one frame (use None for every frame)")
        if min(frames) < 0:
            raise ValueError(f"frame numbers are 0-based and cannot be negative: {frames}")
        object.__setattr__(self, "frames", tuple(sorted(set(frames))))


@dataclass(frozen=True)
class Edits:
    """Everything a reviewer asked for on one image: blackouts first, then an optional crop.

    Blackout rectangles are in the coordinates of the original (uncropped) image.
    """

    blackouts: tuple[Blackout, ...] = ()
    crop: Rect | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "blackouts", tuple(self.blackouts))

    @property
    def is_empty(self) -> bool:
        return not self.blackouts and self.crop is None

    def output_blackouts(self) -> tuple[Blackout, ...]:
        """The blackouts in the coordinates of the edited image (after the crop), for checking
        the result with ``region_is_black``: shifted by the crop's origin, clipped to the crop,
        and left out where they lie wholly outside it."""
        crop = self.crop
        if crop is None:
            return self.blackouts
        kept = []
        for blackout in self.blackouts:
            left, top = max(blackout.rect.x, crop.x), max(blackout.rect.y, crop.y)
            right = min(blackout.rect.right, crop.right)
            bottom = min(blackout.rect.bottom, crop.bottom)
            if right > left and bottom > top:
                rect = Rect(left - crop.x, top - crop.y, right - left, bottom - top)
                kept.append(Blackout(rect, blackout.frames))
        return tuple(kept)


def edits_from_json(obj: Mapping[str, Any]) -> Edits:
    """Parse the viewer's JSON (see the module docstring); ValueError on anything malformed."""
    if not isinstance(obj, Mapping):
        raise ValueError("edits must be a JSON object with 'regions' and 'crop'")
    unknown = set(obj) - {"regions", "crop"}
    if unknown:
        raise ValueError(f"unknown keys in edits: {', '.join(sorted(unknown))}")
    regions = obj.get("regions")
    if regions is None:
        regions = []
    if not isinstance(regions, list):
        raise ValueError("'regions' must be a list")
    blackouts = []
    for number, region in enumerate(regions, start=1):
        what = f"region {number}"
        rect = Rect.from_json(region, what=what)
        frames_value = region.get("frames", "all")
        frames: tuple[int, ...] | None
        if frames_value == "all" or frames_value is None:
            frames = None
        elif isinstance(frames_value, list):
            frames = tuple(_require_int(f, f"{what} frame") for f in frames_value)
        else:
            raise ValueError(f'{what} frames must be "all" or a list of frame numbers')
        blackouts.append(Blackout(rect, frames))
    crop_value = obj.get("crop")
    crop = None if crop_value is None else Rect.from_json(crop_value, what="crop")
    return Edits(tuple(blackouts), crop)


def edits_to_json(edits: Edits) -> dict[str, Any]:
    """The JSON form of ``edits``; ``edits_from_json(edits_to_json(e)) == e``."""
    return {
        "regions": [
            {
                **blackout.rect.to_json(),
                "frames": "all" if blackout.frames is None else list(blackout.frames),
            }
            for blackout in edits.blackouts
        ],
        "crop": None if edits.crop is None else edits.crop.to_json(),
    }


@dataclass(frozen=True)
class ProposedRegion:
    """A box the first pass proposes over text in the pixels, for a reviewer to accept or
    reject. It holds no recognised text, only where and why.

    ``frame`` is None when the box applies to every frame (always, for boxes of the text
    detector), else a 0-based frame index. ``kind`` is "text" (the detector found text
    there), "static-overlay" (text that stays put while the anatomy moves, found on a
    cine's temporal median) or "outside-ultrasound-regions" (the bands outside the
    ultrasound regions, where scanners write their header). ``confidence`` is the
    detector's score, 0..1. ``matches`` names the identifying attribute whose words
    tesseract read inside the box, if any ("PatientName").
    """

    frame: int | None
    x: int
    y: int
    width: int
    height: int
    kind: str = "text"
    confidence: float = 1.0
    matches: str | None = None

    @property
    def rect(self) -> Rect:
        return Rect(self.x, self.y, self.width, self.height)

    def to_blackout(self) -> Blackout:
        return Blackout(self.rect, None if self.frame is None else (self.frame,))

    def to_json(self) -> dict[str, Any]:
        return {
            "frame": self.frame,
            "x": self.x,
            "y": self.y,
            "width": self.width,
            "height": self.height,
            "kind": self.kind,
            "matches": self.matches,
            "confidence": round(float(self.confidence), 2),
        }
