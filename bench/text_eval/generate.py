"""Synthetic DICOM images with planted burned-in text and its ground truth, made by code.

Every image is built from one integer seed (``generate_sample(seed)``); the same seed gives
the same image on a machine with the same fonts and library versions. Nothing is read from
disk except the TrueType fonts under ``/usr/share/fonts`` and Pillow's built-in bitmap font.

Splits
------
Seeds below ``HOLDOUT_FROM`` (1000) form the **tune** split; seeds from 1000 up form the
**holdout** split. Detector thresholds and heuristics may be tuned on "tune" only; "holdout"
is measured and reported, never tuned on. ``split_seeds(split)`` lists ``SPLIT_SIZE`` (280)
seeds of a split. Within a split, image ``i`` (``seed % 1000``) is of kind
``KINDS[i % len(KINDS)]`` and has no text when ``i % 5 == 4``, so every run of 70 seeds holds
every kind with and without text; a split of 280 holds 224 images with text and 56 without.

What varies
-----------
- Image kinds (``KINDS``): 8-bit MONOCHROME2; 12-bit and 16-bit unsigned; 16-bit signed
  CT (Rescale Intercept -1024, Pixel Padding Value outside the field of view, with and
  without a window); MR; MONOCHROME1; RGB; PALETTE COLOR with a 16-bit LUT; YBR_FULL;
  YBR_FULL_422 in JPEG Baseline; multi-frame cines (10-30 frames, capped by
  ``max_frames``) in RLE Lossless, JPEG Baseline and native encoding, where the text is
  static and the anatomy moves; ultrasound with a Sequence of Ultrasound Regions
  (PS3.3 C.8.5.5) whose text lies outside the regions. Most use SOP classes and modalities
  that the first pass flags (US, SC, XA, OT); CT and MR carry text as well.
- Backgrounds: noise, ellipses and gradients; ultrasound speckle fans (with colour Doppler on
  some RGB images); angiography-like vessels under a collimator; CT discs in HU.
- Text: every TrueType font found plus Pillow's bitmap font (scaled x1-x3), 8-40 px;
  white, grey on a grey band, coloured, dark on a light band, low contrast (40/255 over a
  flat patch); four corners, top and bottom bands, over the anatomy, partly over an edge;
  one to four blocks of one to four lines; names (DICOM ``LAST^FIRST`` and plain), MRNs and
  ID codes, birth and exam dates in several formats, accession numbers, hospitals, "Dr ...",
  plus technical annotations (which are text too and must be covered as well).

Ground truth: ``Sample.mask`` marks the pixels that are at least half ink, the same on every
frame; ``Sample.texts`` lists each planted line with its font, size, contrast and place.
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from faker import Faker
from PIL import Image, ImageDraw, ImageFilter, ImageFont
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.pixels.processing import convert_color_space
from pydicom.sequence import Sequence
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    UID,
    ExplicitVRLittleEndian,
    JPEGBaseline8Bit,
    RLELossless,
)

__all__ = [
    "HOLDOUT_FROM",
    "KINDS",
    "SPLIT_SIZE",
    "PlantedText",
    "Sample",
    "generate_sample",
    "generate_split",
    "plan",
    "split_of",
    "split_seeds",
]

HOLDOUT_FROM = 1000
SPLIT_SIZE = 280

KINDS = (
    "mono8",
    "mono12",
    "mono16",
    "ct_signed",
    "mr16",
    "mono1",
    "rgb",
    "palette",
    "ybr_full",
    "jpeg_ybr",
    "cine_rle",
    "cine_jpeg",
    "cine_native",
    "us_regions",
)

SECONDARY_CAPTURE = UID("1.2.840.10008.5.1.4.1.1.7")
ULTRASOUND = UID("1.2.840.10008.5.1.4.1.1.6.1")
ULTRASOUND_MULTIFRAME = UID("1.2.840.10008.5.1.4.1.1.3.1")
XRAY_ANGIO = UID("1.2.840.10008.5.1.4.1.1.12.1")
CT_IMAGE = UID("1.2.840.10008.5.1.4.1.1.2")
MR_IMAGE = UID("1.2.840.10008.5.1.4.1.1.4")

#: A pixel is planted text when at least this share of it is ink.
INK_THRESHOLD = 0.5

FONT_DIR = Path("/usr/share/fonts")
BITMAP_FONT = "bitmap"


@functools.cache
def fonts() -> tuple[str, ...]:
    """Every TrueType font on the machine, then Pillow's bitmap font."""
    return (*sorted(str(p) for p in FONT_DIR.rglob("*.ttf")), BITMAP_FONT)


@dataclass(frozen=True)
class PlantedText:
    """One planted line; its box is where the ink lies (may reach past the image's edge)."""

    text: str
    font: str
    size: int
    contrast: str
    position: str
    x: int
    y: int
    width: int
    height: int


@dataclass
class Sample:
    """One generated image with its ground truth."""

    seed: int
    split: str
    kind: str
    ds: FileDataset
    mask: np.ndarray  # bool (rows, columns): planted text pixels, on every frame
    texts: tuple[PlantedText, ...]
    frames: int
    encoding: str
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def has_text(self) -> bool:
        return bool(self.texts)

    @property
    def strings(self) -> tuple[str, ...]:
        return tuple(t.text for t in self.texts)

    @property
    def label(self) -> str:
        return f"{self.kind}-{self.seed}"


def split_of(seed: int) -> str:
    return "holdout" if seed >= HOLDOUT_FROM else "tune"


def split_seeds(split: str, count: int = SPLIT_SIZE) -> list[int]:
    """The first ``count`` seeds of a split ("tune" or "holdout")."""
    if split not in ("tune", "holdout"):
        raise ValueError(f"unknown split {split!r}")
    if not 0 <= count <= HOLDOUT_FROM:
        raise ValueError(f"a split has at most {HOLDOUT_FROM} seeds")
    start = HOLDOUT_FROM if split == "holdout" else 0
    return list(range(start, start + count))


def plan(seed: int) -> tuple[str, bool]:
    """(kind, has_text) of a seed."""
    i = seed % HOLDOUT_FROM
    return KINDS[i % len(KINDS)], i % 5 != 4


def generate_split(
    split: str, *, count: int = SPLIT_SIZE, max_frames: int = 30
) -> Iterator[Sample]:
    for seed in split_seeds(split, count):
        yield generate_sample(seed, max_frames=max_frames)


# --- Text content ----------------------------------------------------------------------

_LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "nl_NL", "it_IT")


@functools.cache
def _faker(locale: str) -> Faker:
    return Faker(locale)


_DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%m/%d/%Y", "%d-%b-%Y", "%Y%m%d", "%d %b %Y", "%d/%m/%y")


@dataclass(frozen=True)
class _Identity:
    last: str
    first: str
    middle: str
    sex: str
    birth: date
    exam: datetime
    mrn: str
    accession: str
    hospital: str
    doctor: str


def _identity(rng: np.random.Generator) -> _Identity:
    fake = _faker(_LOCALES[int(rng.integers(len(_LOCALES)))])
    fake.seed_instance(int(rng.integers(1 << 31)))
    sex = "F" if rng.random() < 0.5 else "M"
    first = fake.first_name_female() if sex == "F" else fake.first_name_male()
    birth = date(1930, 1, 1) + timedelta(days=int(rng.integers(0, 85 * 365)))
    exam = datetime(2012, 1, 1) + timedelta(seconds=int(rng.integers(0, 12 * 365 * 86400)))
    digits = "".join(str(d) for d in rng.integers(0, 10, 12))
    letters = "".join(chr(65 + int(c)) for c in rng.integers(0, 26, 4))
    mrn = [
        digits[: int(rng.integers(6, 10))],
        f"{letters[0]}{digits[:7]}",
        f"{letters[:2]}{digits[2:8]}",
        f"{digits[:3]}-{digits[3:6]}-{digits[6:9]}",
        f"{digits[:2]}{letters[1]}{letters[2]}{digits[4:8]}",
    ][int(rng.integers(5))]
    accession = [
        f"A{exam:%y}-{digits[4:10]}",
        f"{exam:%Y%m%d}.{digits[:4]}",
        digits[1:9],
        f"{letters[2:]}{digits[3:9]}",
    ][int(rng.integers(4))]
    hospital = [
        f"{fake.city()} General Hospital",
        f"St. {fake.first_name()}'s Hospital",
        f"Klinikum {fake.city()}",
        f"{fake.last_name()} Medical Center",
        f"{fake.city()} University Hospital",
        f"{fake.last_name()} Imaging Clinic",
    ][int(rng.integers(6))]
    doctor = fake.last_name()
    return _Identity(
        last=fake.last_name(),
        first=first,
        middle=chr(65 + int(rng.integers(26))),
        sex=sex,
        birth=birth,
        exam=exam,
        mrn=mrn,
        accession=accession,
        hospital=hospital,
        doctor=doctor,
    )


def _pick(rng: np.random.Generator, options: list[str] | tuple[str, ...]) -> str:
    return options[int(rng.integers(len(options)))]


def _field(rng: np.random.Generator, who: _Identity, what: str) -> str:
    fmt = _pick(rng, _DATE_FORMATS)
    if what == "name":
        return _pick(
            rng,
            [
                f"{who.last.upper()}^{who.first.upper()}",
                f"{who.last.upper()}^{who.first.upper()}^{who.middle}",
                f"{who.first} {who.last}",
                f"{who.last.upper()}, {who.first}",
                f"Name: {who.first} {who.last}",
                f"Pt: {who.last.upper()} {who.first.upper()}",
            ],
        )
    if what == "id":
        return _pick(rng, ["MRN: ", "ID ", "Pat-ID: ", "PID ", "", "Patient ID "]) + who.mrn
    if what == "dob":
        prefix = _pick(rng, ["DOB ", "DOB: ", "Born ", "*", "", "Geb. "])
        return prefix + who.birth.strftime(fmt)
    if what == "exam":
        when = who.exam.strftime(fmt)
        clock = _pick(rng, ["", " %H:%M", " %H:%M:%S"])
        return when + (who.exam.strftime(clock) if clock else "")
    if what == "accession":
        return _pick(rng, ["ACC# ", "Acc: ", "Accession ", "ACC "]) + who.accession
    if what == "hospital":
        return who.hospital
    if what == "doctor":
        return _pick(
            rng,
            [
                f"Dr {who.doctor}",
                f"Dr. {who.first[0]}. {who.doctor}",
                f"Ref: Dr {who.doctor}",
                f"Referring: Dr. {who.doctor}",
            ],
        )
    if what == "age":
        age = (who.exam.date() - who.birth).days // 365
        return _pick(rng, [f"{who.sex} {age}Y", f"{age:03d}Y {who.sex}", f"Age {age}"])
    return _pick(
        rng,
        [
            "MI 1.1  TIs 0.3",
            "C5-1 Abdomen",
            f"FR {int(rng.integers(8, 60))} Hz",
            f"Gain {int(rng.integers(20, 80))} dB",
            f"kV 120 mAs {int(rng.integers(50, 400))}",
            "W 400 L 40",
            f"Se {int(rng.integers(1, 12))} Im {int(rng.integers(1, 300))}",
            f"{rng.uniform(1, 20):.1f} cm",
            "LEFT KIDNEY",
            "Sag Long",
        ],
    )


_IDENTIFYING = ("name", "id", "dob", "exam", "accession", "hospital", "doctor", "age")


def _block_lines(rng: np.random.Generator, who: _Identity, count: int) -> list[str]:
    first = _pick(rng, ("name", "id", "name", "dob", "accession"))
    rest = [_pick(rng, (*_IDENTIFYING, "tech")) for _ in range(count - 1)]
    return [_field(rng, who, what) for what in (first, *rest)]


def _band_line(rng: np.random.Generator, who: _Identity) -> str:
    count = int(rng.integers(2, 5))
    parts = [_field(rng, who, "name")] + [
        _field(rng, who, _pick(rng, (*_IDENTIFYING[1:], "tech"))) for _ in range(count - 1)
    ]
    return _pick(rng, ("   ", "  ", " | ", "    ")).join(parts)


# --- Rendering text --------------------------------------------------------------------


@functools.cache
def _truetype(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


@functools.cache
def _bitmap() -> ImageFont.ImageFont:
    return ImageFont.load_default_imagefont()


@dataclass
class _Block:
    lines: list[str]
    font: str
    size: int
    alpha: np.ndarray  # float32 (h, w), 0..1
    line_boxes: list[tuple[int, int, int, int]]  # (x, y, w, h) inside the block
    x: int = 0
    y: int = 0
    position: str = ""
    contrast: str = ""
    ink: Any = None  # value-space level (float), an RGB triple, or ("index", n) for palette
    band: tuple[int, int, int, int] | None = None  # (x0, y0, x1, y1) in image coordinates
    band_value: Any = None

    @property
    def width(self) -> int:
        return int(self.alpha.shape[1])

    @property
    def height(self) -> int:
        return int(self.alpha.shape[0])


def _render_block(lines: list[str], font: str, size: int) -> _Block:
    if font == BITMAP_FONT:
        scale = max(1, round(size / 11))
        bitmap = _bitmap()
        boxes = [bitmap.getbbox(line) for line in lines]
        spacing = 13
        width = max(int(b[2]) for b in boxes) + 2
        height = spacing * (len(lines) - 1) + max(int(b[3]) for b in boxes) + 2
        canvas = Image.new("L", (width, height), 0)
        draw = ImageDraw.Draw(canvas)
        for i, line in enumerate(lines):
            draw.text((0, i * spacing), line, font=bitmap, fill=255)
        canvas = canvas.resize((width * scale, height * scale), Image.Resampling.NEAREST)
        line_boxes = [
            (
                int(b[0]) * scale,
                (i * spacing + int(b[1])) * scale,
                int(b[2] - b[0]) * scale,
                int(b[3] - b[1]) * scale,
            )
            for i, b in enumerate(boxes)
        ]
        size = 11 * scale
    else:
        face = _truetype(font, size)
        boxes = [face.getbbox(line) for line in lines]
        spacing = round(size * 1.25)
        width = max(math.ceil(b[2]) for b in boxes) + 2
        height = spacing * (len(lines) - 1) + max(math.ceil(b[3]) for b in boxes) + 2
        canvas = Image.new("L", (width, height), 0)
        draw = ImageDraw.Draw(canvas)
        for i, line in enumerate(lines):
            draw.text((0, i * spacing), line, font=face, fill=255)
        line_boxes = [
            (
                int(b[0]),
                i * spacing + int(b[1]),
                math.ceil(b[2] - b[0]),
                math.ceil(b[3] - b[1]),
            )
            for i, b in enumerate(boxes)
        ]
    alpha = np.asarray(canvas, dtype=np.float32) / 255.0
    return _Block(lines=lines, font=font, size=size, alpha=alpha, line_boxes=line_boxes)


_CORNERS = ("top-left", "top-right", "bottom-left", "bottom-right")
_POSITIONS = (*_CORNERS, "top-band", "bottom-band", "over-anatomy", "edge")


def _place(rng: np.random.Generator, block: _Block, position: str, rows: int, cols: int) -> None:
    w, h = block.width, block.height
    m = int(rng.integers(2, 16))
    if position == "top-left":
        x, y = m, m
    elif position == "top-right":
        x, y = cols - w - m, m
    elif position == "bottom-left":
        x, y = m, rows - h - m
    elif position == "bottom-right":
        x, y = cols - w - m, rows - h - m
    elif position == "top-band":
        x = m if rng.random() < 0.6 else (cols - w) // 2
        y = int(rng.integers(0, 6))
    elif position == "bottom-band":
        x = m if rng.random() < 0.6 else (cols - w) // 2
        y = rows - h - int(rng.integers(0, 6))
    elif position == "over-anatomy":
        x = int(rng.integers(int(cols * 0.2), max(int(cols * 0.8) - w, int(cols * 0.2)) + 1))
        y = int(rng.integers(int(rows * 0.25), max(int(rows * 0.75) - h, int(rows * 0.25)) + 1))
    else:  # edge: part of the block lies outside the image
        side = _pick(rng, ("left", "right", "top", "bottom"))
        share = float(rng.uniform(0.25, 0.7))
        x = int(rng.integers(0, max(cols - w, 0) + 1))
        y = int(rng.integers(0, max(rows - h, 0) + 1))
        if side == "left":
            x = -int(w * share)
        elif side == "right":
            x = cols - int(w * (1 - share))
        elif side == "top":
            y = -int(h * share)
        else:
            y = rows - int(h * (1 - share))
        position = f"edge-{side}"
    block.x, block.y, block.position = x, y, position


def _clip_box(x: int, y: int, w: int, h: int, rows: int, cols: int) -> tuple[slice, slice] | None:
    """Image slices of a box, and None when it lies wholly outside."""
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, cols), min(y + h, rows)
    if x1 <= x0 or y1 <= y0:
        return None
    return slice(y0, y1), slice(x0, x1)


# --- Backgrounds (value space: display 0..255, or HU for CT) ---------------------------


class _Grid:
    def __init__(self, rows: int, cols: int) -> None:
        self.rows, self.cols = rows, cols
        yy, xx = np.mgrid[0:rows, 0:cols].astype(np.float32)
        self.yy, self.xx = yy, xx


def _ellipses(rng: np.random.Generator, g: _Grid, count: int) -> list[tuple[float, ...]]:
    """(cx, cy, ax, ay, level, amplitude, phase) of moving ellipses."""
    out = []
    for _ in range(count):
        out.append(
            (
                float(rng.uniform(0.2, 0.8) * g.cols),
                float(rng.uniform(0.2, 0.8) * g.rows),
                float(rng.uniform(0.05, 0.3) * g.cols),
                float(rng.uniform(0.05, 0.3) * g.rows),
                float(rng.uniform(-60, 90)),
                float(rng.uniform(2, 12)),
                float(rng.uniform(0, 2 * math.pi)),
            )
        )
    return out


def _anatomy(rng: np.random.Generator, g: _Grid, frames: int) -> Iterator[np.ndarray]:
    """Noise + soft ellipses + a gradient; the ellipses move from frame to frame."""
    a, b = rng.uniform(-40, 40, 2)
    base = 60 + a * g.xx / g.cols + b * g.yy / g.rows
    shapes = _ellipses(rng, g, int(rng.integers(3, 8)))
    noise = float(rng.uniform(3, 9))
    dark_border = rng.random() < 0.4
    radius = min(g.rows, g.cols) * float(rng.uniform(0.45, 0.6))
    outside = np.hypot(g.xx - g.cols / 2, g.yy - g.rows / 2) > radius
    for f in range(frames):
        img = base.copy()
        for cx, cy, ax, ay, level, amp, phase in shapes:
            dx = amp * math.sin(2 * math.pi * f / 12 + phase)
            d = ((g.xx - cx - dx) / ax) ** 2 + ((g.yy - cy - dx / 2) / ay) ** 2
            img += level / (1 + np.exp(np.minimum((d - 1) * 6, 50)))
        img += rng.normal(0, noise, img.shape).astype(np.float32)
        if dark_border:
            img[outside] = 0
        yield np.clip(img, 0, 235)


def _angio(rng: np.random.Generator, g: _Grid, frames: int) -> Iterator[np.ndarray]:
    """A bright field with dark, smoothly winding, blurred vessels under a round collimator."""
    vessels = []
    for _ in range(int(rng.integers(3, 7))):
        x, y = float(rng.uniform(0, g.cols)), float(rng.uniform(0, g.rows))
        heading = float(rng.uniform(0, 2 * math.pi))
        turn = 0.0
        points = [(x, y)]
        for _ in range(int(rng.integers(40, 120))):
            turn = 0.85 * turn + float(rng.normal(0, 0.04))
            heading += turn
            x, y = x + 4 * math.cos(heading), y + 4 * math.sin(heading)
            points.append((x, y))
        vessels.append((points, int(rng.integers(3, 10))))
    radius = min(g.rows, g.cols) * float(rng.uniform(0.45, 0.55))
    outside = np.hypot(g.xx - g.cols / 2, g.yy - g.rows / 2) > radius
    level = float(rng.uniform(140, 200))
    depth = float(rng.uniform(50, 100))
    for f in range(frames):
        canvas = Image.new("L", (g.cols, g.rows), 0)
        draw = ImageDraw.Draw(canvas)
        shift = 6 * math.sin(2 * math.pi * f / 10)
        for points, width in vessels:
            moved = [(px + shift, py + shift / 2) for px, py in points]
            draw.line(moved, fill=255, width=width, joint="curve")
        canvas = canvas.filter(ImageFilter.GaussianBlur(1.5))
        contrast = np.asarray(canvas, dtype=np.float32) / 255 * depth
        img = level - contrast + rng.normal(0, 6, (g.rows, g.cols)).astype(np.float32)
        img[outside] = 0
        yield np.clip(img, 0, 235)


def _fan_geometry(g: _Grid, top: float, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    apex_x = g.cols / 2
    half = float(rng.uniform(28, 42))
    angle = np.degrees(np.arctan2(g.xx - apex_x, g.yy - top))
    radius = np.hypot(g.xx - apex_x, g.yy - top)
    outer = (g.rows - top) * float(rng.uniform(0.85, 0.98))
    sector = (np.abs(angle) < half) & (radius > 8) & (radius < outer)
    return sector, radius


def _ultrasound(
    rng: np.random.Generator, g: _Grid, frames: int, top: float
) -> Iterator[np.ndarray]:
    """A speckle fan whose texture and structures change from frame to frame; black outside."""
    sector, radius = _fan_geometry(g, top, rng)
    shape = float(rng.uniform(1.5, 3))
    scale = float(rng.uniform(18, 32))
    cyst = (float(rng.uniform(0.35, 0.65) * g.cols), float(rng.uniform(0.45, 0.8) * g.rows))
    for f in range(frames):
        speckle = rng.gamma(shape, scale, (g.rows, g.cols)).astype(np.float32)
        bands = 35 * np.sin(radius / 14 + f * 0.4)
        cx = cyst[0] + 15 * math.sin(f / 3)
        hole = np.hypot(g.xx - cx, g.yy - cyst[1]) < g.rows * 0.08
        img = np.clip(speckle + bands + 15, 0, 210)
        img[hole] *= 0.15
        img[~sector] = 0
        yield img


def _ct(rng: np.random.Generator, g: _Grid, padding: bool) -> np.ndarray:
    """One axial CT slice in HU: air, fat rim, soft tissue, organs, spine; padding outside."""
    cx, cy = g.cols / 2, g.rows / 2

    def ellipse(x: float, y: float, ax: float, ay: float) -> np.ndarray:
        return ((g.xx - x) / ax) ** 2 + ((g.yy - y) / ay) ** 2 <= 1

    hu = np.full((g.rows, g.cols), -1000.0, dtype=np.float32)
    ax, ay = g.cols * float(rng.uniform(0.3, 0.4)), g.rows * float(rng.uniform(0.22, 0.3))
    hu[ellipse(cx, cy, ax, ay)] = -100
    hu[ellipse(cx, cy, ax * 0.93, ay * 0.9)] = 35
    hu[ellipse(cx - ax * 0.35, cy - ay * 0.1, ax * 0.35, ay * 0.5)] = 60
    for side in (-1, 1):
        hu[ellipse(cx + side * ax * 0.45, cy + ay * 0.3, ax * 0.1, ay * 0.18)] = 150
    hu[ellipse(cx, cy + ay * 0.55, ax * 0.12, ay * 0.22)] = 700
    hu[ellipse(cx, cy + ay * 0.55, ax * 0.06, ay * 0.12)] = 250
    hu[ellipse(cx + ax * 0.1, cy + ay * 0.2, ax * 0.06, ay * 0.09)] = 200
    hu += rng.normal(0, 12, hu.shape).astype(np.float32)
    if padding:
        fov = np.hypot(g.xx - cx, g.yy - cy) > min(g.rows, g.cols) * 0.49
        hu[fov] = -3024  # stored -2000 with intercept -1024
    return hu


# --- Value spaces and storage ----------------------------------------------------------


@dataclass
class _Space:
    """How display levels (0..255) map to the composited values of a kind."""

    low: float = 0.0  # value shown black
    high: float = 255.0  # value shown white
    white: float | None = None  # value of "white" ink, if not ``high``

    def value(self, display: float) -> float:
        return self.low + display / 255.0 * (self.high - self.low)

    def display(self, value: float) -> float:
        return (value - self.low) * 255.0 / (self.high - self.low)


_COLOURS = (
    (255, 255, 0),
    (0, 255, 255),
    (80, 255, 80),
    (255, 160, 0),
    (255, 80, 255),
    (120, 170, 255),
    (255, 60, 60),
)


def _style(
    rng: np.random.Generator,
    block: _Block,
    contrast: str,
    space: _Space,
    local: float,
    colour_mode: str,
) -> None:
    """Set the block's ink and band (value space) for a contrast mode.

    ``local`` is the median background under the block, in display levels.
    """
    bx0, by0 = block.x - int(rng.integers(2, 7)), block.y - int(rng.integers(1, 5))
    bx1, by1 = block.x + block.width + int(rng.integers(2, 7)), block.y + block.height + 2
    band = (bx0, by0, bx1, by1)
    if block.position in ("top-band", "bottom-band") and rng.random() < 0.6:
        band = (0, by0, 10**6, by1)  # a full-width band
    if contrast == "colour" and colour_mode == "grey":
        contrast = "white"
    block.contrast = contrast
    if contrast == "white":
        level = float(rng.uniform(215, 255))
        block.ink = space.white if space.white is not None else space.value(level)
        if local > 120:  # white on bright anatomy would not be visible: a dark patch behind
            block.band, block.band_value = band, space.value(float(rng.uniform(0, 30)))
    elif contrast == "colour":
        colour = _COLOURS[int(rng.integers(len(_COLOURS)))]
        if colour_mode == "palette":
            block.ink = ("index", 200 + _COLOURS.index(colour))
        else:
            block.ink = tuple(float(c) for c in colour)
        if local > 100:
            block.band, block.band_value = band, space.value(float(rng.uniform(0, 25)))
    elif contrast == "grey-on-grey":
        grey = float(rng.uniform(60, 140))
        block.band, block.band_value = band, space.value(grey)
        block.ink = space.value(grey + float(rng.uniform(50, 95)))
    elif contrast == "dark-on-light":
        light = float(rng.uniform(190, 240))
        block.band, block.band_value = band, space.value(light)
        block.ink = space.value(float(rng.uniform(0, 40)))
    else:  # low: 40 levels from a flat patch at the local background
        base = float(np.clip(local, 20, 200))
        block.band, block.band_value = band, space.value(base)
        block.ink = space.value(base + 40 if base < 128 else base - 40)


def _composite(img: np.ndarray, blocks: list[_Block], colour: bool) -> np.ndarray:
    """Draw bands and text of every block onto one frame (value space), in place."""
    rows, cols = img.shape[:2]
    for block in blocks:
        if block.band is not None:
            x0, y0, x1, y1 = block.band
            where = _clip_box(x0, y0, x1 - x0, y1 - y0, rows, cols)
            if where is not None:
                img[where] = block.band_value
        if isinstance(block.ink, tuple) and block.ink and block.ink[0] == "index":
            continue  # palette colour: stamped on the indices after quantisation
        where = _clip_box(block.x, block.y, block.width, block.height, rows, cols)
        if where is None:
            continue
        a = block.alpha[
            where[0].start - block.y : where[0].stop - block.y,
            where[1].start - block.x : where[1].stop - block.x,
        ]
        ink = np.asarray(block.ink, dtype=np.float32)
        if colour:
            a = a[..., np.newaxis]
            if ink.ndim == 0:
                ink = np.repeat(ink, 3)
        elif ink.ndim == 1:
            ink = ink.max()
        img[where] = img[where] * (1 - a) + ink * a
    return img


def _mask(blocks: list[_Block], rows: int, cols: int) -> np.ndarray:
    mask = np.zeros((rows, cols), dtype=bool)
    for block in blocks:
        if block.band is not None:
            x0, y0, x1, y1 = block.band
            where = _clip_box(x0, y0, x1 - x0, y1 - y0, rows, cols)
            if where is not None:
                mask[where] = False  # a later band hides earlier text
        where = _clip_box(block.x, block.y, block.width, block.height, rows, cols)
        if where is None:
            continue
        a = block.alpha[
            where[0].start - block.y : where[0].stop - block.y,
            where[1].start - block.x : where[1].stop - block.x,
        ]
        mask[where] |= a >= INK_THRESHOLD
    return mask


def _palette_lut() -> np.ndarray:
    """256 entries (16-bit): a grey ramp on 0..199, the text and Doppler colours from 200."""
    lut = np.zeros((256, 3), dtype=np.float64)
    lut[:200] = np.linspace(0, 255, 200)[:, np.newaxis]
    for i, colour in enumerate(_COLOURS):
        lut[200 + i] = colour
    for i in range(len(_COLOURS), 56):  # a red-to-yellow flow scale
        t = (i - len(_COLOURS)) / (55 - len(_COLOURS))
        lut[200 + i] = (255, 255 * t, 0)
    return np.rint(lut * 257).astype(np.uint16)


# --- The sample ------------------------------------------------------------------------


@dataclass
class _Kind:
    photometric: str  # as stored
    colour: str  # "grey", "rgb" or "palette" (how text colours are drawn)
    dtype: str
    bits_stored: int
    frames: int
    rows: int
    cols: int
    sop_class: UID
    modality: str
    encoding: str  # "native", "rle" or "jpeg"
    background: str
    space: _Space
    attrs: dict[str, Any] = field(default_factory=dict)


def _choose_kind(
    rng: np.random.Generator,
    kind: str,
    max_frames: int,
    max_side: int | None,
    frames: int | None = None,
) -> _Kind:
    def size(*options: tuple[int, int]) -> tuple[int, int]:
        rows, cols = options[int(rng.integers(len(options)))]
        if max_side is not None and max(rows, cols) > max_side:
            factor = max_side / max(rows, cols)
            rows, cols = int(rows * factor) // 2 * 2, int(cols * factor) // 2 * 2
        return rows, cols

    encode_rle = rng.random() < 0.35
    us_sizes = ((480, 640), (600, 800), (434, 636), (768, 1024), (480, 720))
    sc_sizes = ((512, 512), (600, 800), (768, 1024), (480, 640), (1024, 768))
    cine_sizes = ((240, 320), (360, 480), (480, 640), (300, 400))
    cine_frames = min(int(rng.integers(10, 31)), max_frames)
    if frames is not None:
        cine_frames = frames
    sc = (SECONDARY_CAPTURE, _pick(rng, ("OT", "SC", "OT")))
    rows, cols = size(*sc_sizes)
    native_or_rle = "rle" if encode_rle else "native"
    if kind == "mono8":
        sop, modality = [sc, (XRAY_ANGIO, "XA"), (ULTRASOUND, "US")][int(rng.integers(3))]
        background = {"XA": "angio", "US": "us"}.get(modality, "anatomy")
        return _Kind("MONOCHROME2", "grey", "uint8", 8, 1, rows, cols, sop, modality,
                     native_or_rle, background, _Space())  # fmt: skip
    if kind in ("mono12", "mono16", "mono1"):
        bits = 12 if kind in ("mono12", "mono1") else 16
        top = (1 << bits) - 1
        span = top if rng.random() < 0.5 else float(rng.uniform(0.3, 1.0)) * top
        offset = float(rng.uniform(0, top - span))
        sop, modality = sc if kind != "mono12" or rng.random() < 0.5 else (XRAY_ANGIO, "XA")
        attrs: dict[str, Any] = {}
        if kind == "mono16" and rng.random() < 0.5:
            attrs = {"WindowCenter": round(offset + span / 2), "WindowWidth": round(span)}
        if kind == "mono1":
            modality = _pick(rng, ("CR", "DX", "OT"))
        background = "angio" if modality == "XA" else "anatomy"
        photometric = "MONOCHROME1" if kind == "mono1" else "MONOCHROME2"
        space = _Space(offset, offset + span)
        return _Kind(photometric, "grey", "uint16", bits, 1, rows, cols, sop, modality,
                     native_or_rle, background, space, attrs)  # fmt: skip
    if kind == "ct_signed":
        padding = rng.random() < 0.6
        windowed = rng.random() < 0.8
        wc, ww = (40, 400) if rng.random() < 0.7 else (300, 1500)
        attrs = {"RescaleIntercept": -1024, "RescaleSlope": 1, "RescaleType": "HU"}
        if windowed:
            attrs |= {"WindowCenter": wc, "WindowWidth": ww}
        if padding:
            attrs["PixelPaddingValue"] = -2000
        white = _pick(rng, ("3071", "1000", "window"))
        space = _Space(wc - ww / 2, wc + ww / 2, None if white == "window" else float(white))
        return _Kind("MONOCHROME2", "grey", "int16", 16, 1, 512, 512, CT_IMAGE, "CT",
                     native_or_rle, "ct-pad" if padding else "ct", space, attrs)  # fmt: skip
    if kind == "mr16":
        span = float(rng.uniform(800, 4000))
        rows, cols = size((256, 256), (384, 384), (512, 512), (320, 256))
        attrs = {"WindowCenter": round(span / 2), "WindowWidth": round(span)}
        if rng.random() < 0.5:
            attrs = {}
        bits = 12 if span < 4096 and rng.random() < 0.5 else 16
        return _Kind("MONOCHROME2", "grey", "uint16", bits, 1, rows, cols, MR_IMAGE, "MR",
                     "native", "anatomy", _Space(0, span), attrs)  # fmt: skip
    us_rows, us_cols = size(*us_sizes)
    if kind == "rgb":
        sop, modality = (ULTRASOUND, "US") if rng.random() < 0.6 else sc
        background = "us-doppler" if modality == "US" else "anatomy"
        return _Kind("RGB", "rgb", "uint8", 8, 1, us_rows, us_cols, sop, modality,
                     native_or_rle, background, _Space())  # fmt: skip
    if kind == "palette":
        return _Kind("PALETTE COLOR", "palette", "uint8", 8, 1, us_rows, us_cols, ULTRASOUND,
                     "US", native_or_rle, "us", _Space())  # fmt: skip
    if kind == "ybr_full":
        return _Kind("YBR_FULL", "rgb", "uint8", 8, 1, us_rows, us_cols, ULTRASOUND, "US",
                     "native", "us-doppler", _Space())  # fmt: skip
    if kind == "jpeg_ybr":
        sop, modality = (ULTRASOUND, "US") if rng.random() < 0.7 else sc
        background = "us-doppler" if modality == "US" else "anatomy"
        return _Kind("YBR_FULL_422", "rgb", "uint8", 8, 1, us_rows, us_cols, sop, modality,
                     "jpeg", background, _Space())  # fmt: skip
    cine_rows, cine_cols = size(*cine_sizes)
    colour_cine = rng.random() < 0.6
    if kind in ("cine_rle", "cine_jpeg", "cine_native"):
        encoding = {"cine_rle": "rle", "cine_jpeg": "jpeg", "cine_native": "native"}[kind]
        if colour_cine:
            photometric = "YBR_FULL_422" if encoding == "jpeg" else "RGB"
            return _Kind(photometric, "rgb", "uint8", 8, cine_frames, cine_rows, cine_cols,
                         ULTRASOUND_MULTIFRAME, "US", encoding, "us-doppler", _Space())  # fmt: skip
        return _Kind("MONOCHROME2", "grey", "uint8", 8, cine_frames, cine_rows, cine_cols,
                     XRAY_ANGIO, "XA", encoding, "angio", _Space())  # fmt: skip
    if kind == "us_regions":
        encoding = "jpeg" if rng.random() < 0.3 else "native"
        photometric = "YBR_FULL_422" if encoding == "jpeg" else "RGB"
        return _Kind(photometric, "rgb", "uint8", 8, 1, us_rows, us_cols, ULTRASOUND, "US",
                     encoding, "us-regions", _Space())  # fmt: skip
    raise ValueError(f"unknown kind {kind!r}")


def _layout(rng: np.random.Generator, who: _Identity, spec: _Kind, regions: bool) -> list[_Block]:
    rows, cols = spec.rows, spec.cols
    count = int(rng.choice([1, 2, 3, 4], p=[0.3, 0.35, 0.25, 0.1]))
    options = ("top-left", "top-right", "top-band") if regions else _POSITIONS
    positions = list(rng.choice(options, size=min(count, len(options)), replace=False))
    blocks = []
    for position in positions:
        font = _pick(rng, fonts())
        upper = min(40, max(12, rows // 9))
        if regions:
            upper = min(upper, 22)
        size = int(rng.integers(8, upper + 1))
        if position in ("top-band", "bottom-band"):
            lines = [_band_line(rng, who) for _ in range(1 if rng.random() < 0.7 else 2)]
        else:
            most = 2 if regions or position in ("over-anatomy", "edge") else 4
            lines = _block_lines(rng, who, int(rng.integers(1, most + 1)))
        block = _render_block(lines, font, size)
        _place(rng, block, str(position), rows, cols)
        blocks.append(block)
    return blocks


def _contrast(rng: np.random.Generator) -> str:
    return str(
        rng.choice(
            ["white", "colour", "grey-on-grey", "dark-on-light", "low"],
            p=[0.35, 0.15, 0.15, 0.15, 0.2],
        )
    )


def _uid(seed: int, part: int) -> str:
    return f"2.25.{(seed + 1) * 7919 + 10**30 + part}"


def _header(ds: Dataset, seed: int, spec: _Kind, who: _Identity, rng: np.random.Generator) -> None:
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = spec.sop_class
    ds.SOPInstanceUID = _uid(seed, 3)
    ds.StudyInstanceUID = _uid(seed, 1)
    ds.SeriesInstanceUID = _uid(seed, 2)
    ds.Modality = spec.modality
    ds.StudyDate = who.exam.strftime("%Y%m%d")
    ds.StudyTime = who.exam.strftime("%H%M%S")
    ds.InstanceNumber = 1
    if rng.random() < 0.7:  # the burned-in text repeats the header
        ds.PatientName = f"{who.last}^{who.first}^{who.middle}"
        ds.PatientID = who.mrn
        ds.PatientBirthDate = who.birth.strftime("%Y%m%d")
        ds.AccessionNumber = who.accession
        ds.InstitutionName = who.hospital
        ds.ReferringPhysicianName = f"{who.doctor}^"
    else:  # ... or does not (a name that appears nowhere else)
        ds.PatientName = "ANON^PATIENT"
        ds.PatientID = f"X{seed:07d}"
        ds.PatientBirthDate = ""
        ds.AccessionNumber = ""
    ds.PatientSex = who.sex
    if spec.modality == "CT":
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    elif spec.sop_class == SECONDARY_CAPTURE:
        ds.ImageType = ["DERIVED", "SECONDARY"]
        ds.ConversionType = "WSD"
    else:
        ds.ImageType = ["ORIGINAL", "PRIMARY"]


def _new_dataset(spec: _Kind) -> FileDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = spec.sop_class
    meta.MediaStorageSOPInstanceUID = "2.25.1"
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    return FileDataset("", Dataset(), file_meta=meta, preamble=b"\0" * 128)


def _store(ds: FileDataset, spec: _Kind, arr: np.ndarray, rng: np.random.Generator) -> None:
    """Pixel attributes and Pixel Data of ``arr`` (frames, rows, cols[, 3]) in the kind's
    photometric interpretation and encoding."""
    frames = arr.shape[0]
    samples = 3 if arr.ndim == 4 else 1
    ds.SamplesPerPixel = samples
    ds.PhotometricInterpretation = "RGB" if spec.photometric == "YBR_FULL_422" else spec.photometric
    if samples == 3:
        ds.PlanarConfiguration = 0
    if frames > 1:
        ds.NumberOfFrames = frames
        ds.FrameTime = 40.0
        ds.FrameIncrementPointer = 0x00181063
    ds.Rows, ds.Columns = arr.shape[1:3]
    ds.BitsAllocated = arr.dtype.itemsize * 8
    ds.BitsStored = spec.bits_stored
    ds.HighBit = spec.bits_stored - 1
    ds.PixelRepresentation = 1 if arr.dtype.kind == "i" else 0
    for key, value in spec.attrs.items():
        setattr(ds, key, value)
    if spec.photometric == "PALETTE COLOR":
        lut = _palette_lut()
        for i, colour in enumerate(("Red", "Green", "Blue")):
            setattr(ds, f"{colour}PaletteColorLookupTableDescriptor", [256, 0, 16])
            setattr(ds, f"{colour}PaletteColorLookupTableData", lut[:, i].astype("<u2").tobytes())
    if spec.photometric == "YBR_FULL":
        arr = np.stack([convert_color_space(frame, "RGB", "YBR_FULL") for frame in arr])
    if spec.encoding == "rle":
        ds.PixelData = arr.tobytes()
        ds.compress(RLELossless, arr[0] if frames == 1 else arr, generate_instance_uid=False)
    elif spec.encoding == "jpeg":
        quality = int(rng.integers(75, 96))
        fragments = []
        for frame in arr:
            bio = io.BytesIO()
            if samples == 3:
                Image.fromarray(frame, "RGB").save(bio, "JPEG", quality=quality, subsampling=1)
            else:
                Image.fromarray(frame, "L").save(bio, "JPEG", quality=quality)
            fragments.append(bio.getvalue())
        ds.PixelData = encapsulate(fragments)
        ds["PixelData"].VR = "OB"
        ds["PixelData"].is_undefined_length = True
        ds.PhotometricInterpretation = "YBR_FULL_422" if samples == 3 else "MONOCHROME2"
        ds.LossyImageCompression = "01"
        ds.LossyImageCompressionRatio = round(arr[0].nbytes / len(fragments[0]), 1)
        ds.LossyImageCompressionMethod = "ISO_10918_1"
        ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    else:
        data = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
        ds.PixelData = data + (b"\0" if len(data) % 2 else b"")
        ds["PixelData"].VR = "OB" if arr.dtype.itemsize == 1 else "OW"


def _to_stored(img: np.ndarray, spec: _Kind) -> np.ndarray:
    """One composited frame (value space) as stored values."""
    if spec.photometric == "MONOCHROME1":
        top = (1 << spec.bits_stored) - 1
        img = spec.space.low + spec.space.high - img  # bright shows dark
        return np.clip(np.rint(img), 0, top).astype(spec.dtype)
    if spec.background.startswith("ct"):
        return np.clip(np.rint(img + 1024), -2000, 4095).astype(np.int16)
    if spec.photometric == "PALETTE COLOR":
        return np.clip(np.rint(img * 199 / 255), 0, 199).astype(np.uint8)
    top = (1 << spec.bits_stored) - 1
    return np.clip(np.rint(img), 0, top).astype(spec.dtype)


def _regions_item(x0: int, y0: int, x1: int, y1: int) -> Dataset:
    item = Dataset()
    item.RegionSpatialFormat = 1  # 2D
    item.RegionDataType = 1  # tissue
    item.RegionFlags = 0
    item.RegionLocationMinX0 = x0
    item.RegionLocationMinY0 = y0
    item.RegionLocationMaxX1 = x1
    item.RegionLocationMaxY1 = y1
    item.PhysicalUnitsXDirection = 3  # cm
    item.PhysicalUnitsYDirection = 3
    item.PhysicalDeltaX = 0.02
    item.PhysicalDeltaY = 0.02
    item.ReferencePixelX0 = (x1 - x0) // 2
    item.ReferencePixelY0 = 0
    return item


def _backgrounds(rng: np.random.Generator, spec: _Kind, top: float) -> Iterator[np.ndarray]:
    g = _Grid(spec.rows, spec.cols)
    kind = spec.background
    if kind.startswith("ct"):
        yield _ct(rng, g, padding=kind == "ct-pad")
        return
    if kind == "anatomy":
        frames = _anatomy(rng, g, spec.frames)
    elif kind == "angio":
        frames = _angio(rng, g, spec.frames)
    else:
        frames = _ultrasound(rng, g, spec.frames, top)
    doppler = kind == "us-doppler" and rng.random() < 0.6
    blob = (float(rng.uniform(0.35, 0.65)) * g.cols, float(rng.uniform(0.4, 0.7)) * g.rows)
    for f, grey in enumerate(frames):
        if spec.colour == "grey" or spec.colour == "palette":
            yield grey
            continue
        img = np.repeat(grey[..., np.newaxis], 3, axis=-1)
        if doppler:
            cx = blob[0] + 10 * math.sin(f / 2)
            inside = (np.hypot(g.xx - cx, g.yy - blob[1]) < g.rows * 0.07) & (grey > 0)
            img[inside] = (220.0, 40.0, 30.0) if f % 2 == 0 else (30.0, 60.0, 230.0)
        yield img


def generate_sample(
    seed: int,
    *,
    max_frames: int = 30,
    max_side: int | None = None,
    cine_frames: int | None = None,
) -> Sample:
    """The image of ``seed``: a data set (read back from its encoded bytes) and its truth.

    ``max_frames`` caps the frames of cines (10-30 otherwise) and ``cine_frames`` sets them
    (to time a long cine); ``max_side`` scales the image down (for quick tests). They change
    the image's size, not its kind or its text content.
    """
    kind, has_text = plan(seed)
    rng = np.random.default_rng([seed, 8])
    who = _identity(rng)
    spec = _choose_kind(rng, kind, max_frames, max_side, cine_frames)
    regions = spec.background == "us-regions"
    blocks = _layout(rng, who, spec, regions) if has_text else []
    contrasts = [_contrast(rng) for _ in blocks]
    top = spec.rows * float(rng.uniform(0.05, 0.12))
    if regions:
        text_bottom = max((b.y + b.height for b in blocks), default=0)
        top = max(top, text_bottom + 6.0)

    ds = _new_dataset(spec)
    _header(ds, seed, spec, who, rng)
    backgrounds = _backgrounds(rng, spec, top)
    first = next(backgrounds)
    hu = spec.background.startswith("ct")
    display_first = first.max(axis=-1) if first.ndim == 3 else first
    for block, contrast in zip(blocks, contrasts, strict=True):
        where = _clip_box(block.x, block.y, block.width, block.height, spec.rows, spec.cols)
        local = 0.0
        if where is not None:
            local = float(np.median(display_first[where]))
            local = spec.space.display(local) if hu else local
        _style(rng, block, contrast, spec.space, local, spec.colour)

    shape = (spec.frames, spec.rows, spec.cols) + ((3,) if spec.colour == "rgb" else ())
    arr = np.empty(shape, dtype=spec.dtype)
    colour = spec.colour == "rgb"
    for f, img in enumerate([first] if spec.frames == 1 else _chain(first, backgrounds)):
        values = img.astype(np.float32)
        if not hu:  # display levels of the background to the kind's values
            values = spec.space.low + values * ((spec.space.high - spec.space.low) / 255)
        stored = _to_stored(_composite(values, blocks, colour), spec)
        if spec.colour == "palette":
            for block in blocks:
                if isinstance(block.ink, tuple) and block.ink[0] == "index":
                    where = _clip_box(
                        block.x, block.y, block.width, block.height, spec.rows, spec.cols
                    )
                    if where is not None:
                        a = block.alpha[
                            where[0].start - block.y : where[0].stop - block.y,
                            where[1].start - block.x : where[1].stop - block.x,
                        ]
                        stored[where][a >= INK_THRESHOLD] = block.ink[1]
        arr[f] = stored
    mask = _mask(blocks, spec.rows, spec.cols)

    if regions:
        y0 = math.ceil(top)
        below = arr[0, y0:]
        sector_cols = np.nonzero((below.max(axis=-1) if below.ndim == 3 else below).max(axis=0))[0]
        x0 = int(sector_cols.min()) if sector_cols.size else spec.cols // 4
        x1 = int(sector_cols.max()) if sector_cols.size else spec.cols * 3 // 4
        item = _regions_item(x0, y0, x1, spec.rows - 1)
        ds.SequenceOfUltrasoundRegions = Sequence([item])
    _store(ds, spec, arr, rng)
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    bio = io.BytesIO()
    ds.save_as(bio, enforce_file_format=True)
    read = pydicom.dcmread(io.BytesIO(bio.getvalue()))

    texts = []
    for block in blocks:
        for line, (lx, ly, lw, lh) in zip(block.lines, block.line_boxes, strict=True):
            texts.append(
                PlantedText(
                    text=line,
                    font=Path(block.font).stem,
                    size=block.size,
                    contrast=block.contrast,
                    position=block.position,
                    x=block.x + lx,
                    y=block.y + ly,
                    width=lw,
                    height=lh,
                )
            )
    return Sample(
        seed=seed,
        split=split_of(seed),
        kind=kind,
        ds=read,
        mask=mask,
        texts=tuple(texts),
        frames=spec.frames,
        encoding=spec.encoding,
        notes={
            "photometric": spec.photometric,
            "modality": spec.modality,
            "size": f"{spec.cols}x{spec.rows}",
            "background": spec.background,
        },
    )


def _chain(first: np.ndarray, rest: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    yield first
    yield from rest
