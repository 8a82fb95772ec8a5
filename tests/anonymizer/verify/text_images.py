"""Synthetic images for the residual text gate: made-up anatomy, with or without text.

Anatomy is drawn with numpy (a CT slice with lungs and vessels, an MR slice with a bias
field, an ultrasound sector with speckle, smooth gradients, circles, a ruler); text is drawn
with Pillow in DejaVu fonts and blended in at any value, so every bit depth and photometric
interpretation gets the same text. Nothing here reads patient data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.pixels.processing import convert_color_space
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian

FONT_DIR = "/usr/share/fonts/truetype/dejavu/"
FONTS = (
    "DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSansMono.ttf",
    "DejaVuSansMono-Bold.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSerif-Italic.ttf",
    "DejaVuSansCondensed.ttf",
    "DejaVuSans-ExtraLight.ttf",
)
KINDS = ("ct", "mr", "us", "us-rgb", "cr", "sc", "palette", "ybr")
_WORDS = (
    "DOE^JOHN",
    "SMITH, MARY",
    "ID 4829173",
    "DOB 03/11/1947",
    "ACC A77812",
    "St Elsewhere Hospital",
    "Dr. K. Novak",
    "2019-04-02 10:15",
    "MRN: 00482913",
    "Jane Q. Public",
)


@dataclass(frozen=True)
class Planted:
    """Where text was drawn: pixel box, on every frame (``frame`` None) or one."""

    x: int
    y: int
    width: int
    height: int
    frame: int | None = None


def font(name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(FONT_DIR + name, size)


def text_alpha(
    rows: int, columns: int, text: str, x: int, y: int, *, name: str = FONTS[0], size: int = 16
) -> tuple[np.ndarray, Planted | None]:
    """Coverage (0..1) of ``text`` drawn at ``x, y``, and its box clipped to the image."""
    canvas = Image.new("L", (columns, rows), 0)
    draw = ImageDraw.Draw(canvas)
    draw.text((x, y), text, font=font(name, size), fill=255)
    alpha = np.asarray(canvas, dtype=np.float32) / 255.0
    ys, xs = np.nonzero(alpha > 0.25)
    if not len(xs):
        return alpha, None
    x0, y0, x1, y1 = int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1
    return alpha, Planted(x0, y0, x1 - x0, y1 - y0)


def blend(image: np.ndarray, alpha: np.ndarray, value: float | tuple[float, ...]) -> None:
    """Blend ``value`` into ``image`` (2-D or rows x columns x 3, float) where ``alpha``."""
    if image.ndim == 3:
        image[...] = image * (1 - alpha[..., None]) + np.asarray(value) * alpha[..., None]
    else:
        image[...] = image * (1 - alpha) + float(np.asarray(value).mean()) * alpha


# ---------------------------------------------------------------------------------------
# Anatomy (float images in a 0..1 range; the dataset builder maps them to stored values)


def _ellipse(rows: int, columns: int, cy: float, cx: float, ry: float, rx: float) -> np.ndarray:
    yy, xx = np.mgrid[0:rows, 0:columns]
    return ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0


def _smooth(rng: np.random.Generator, rows: int, columns: int, scale: int) -> np.ndarray:
    small = rng.normal(0, 1, (max(2, rows // scale), max(2, columns // scale)))
    image = Image.fromarray(small.astype(np.float32), mode="F")
    return np.asarray(image.resize((columns, rows), Image.Resampling.BICUBIC), dtype=np.float32)


def anatomy(kind: str, rows: int, columns: int, rng: np.random.Generator) -> np.ndarray:
    """A text-free image in 0..1 (rows x columns, or x 3 for colour kinds)."""
    if kind in ("ct", "cr"):
        image = np.zeros((rows, columns), np.float32)
        body = _ellipse(rows, columns, rows * 0.5, columns * 0.5, rows * 0.38, columns * 0.45)
        image[body] = 0.5 + 0.03 * _smooth(rng, rows, columns, 16)[body]
        for side in (-1, 1):
            lung = _ellipse(
                rows,
                columns,
                rows * 0.45,
                columns * (0.5 + side * 0.2),
                rows * 0.25,
                columns * 0.14,
            )
            image[lung] = 0.1
            for _ in range(int(rows * columns / 4000)):
                cy = rng.uniform(rows * 0.25, rows * 0.65)
                cx = columns * (0.5 + side * 0.2) + rng.uniform(-0.12, 0.12) * columns
                r = rng.uniform(1.0, 4.0)
                vessel = _ellipse(rows, columns, cy, cx, r, r) & lung
                image[vessel] = rng.uniform(0.4, 0.6)
        spine = _ellipse(rows, columns, rows * 0.75, columns * 0.5, rows * 0.06, columns * 0.05)
        ring = spine & ~_ellipse(
            rows, columns, rows * 0.75, columns * 0.5, rows * 0.04, columns * 0.03
        )
        image[ring] = 0.95
        image[int(rows * 0.92) : int(rows * 0.94), int(columns * 0.1) : int(columns * 0.9)] = 0.6
        image += rng.normal(0, 0.01, image.shape).astype(np.float32)
        return np.clip(image, 0, 1)
    if kind == "mr":
        image = np.zeros((rows, columns), np.float32)
        head = _ellipse(rows, columns, rows * 0.5, columns * 0.5, rows * 0.42, columns * 0.36)
        brain = _ellipse(rows, columns, rows * 0.5, columns * 0.5, rows * 0.36, columns * 0.30)
        image[head] = 0.7
        image[brain] = 0.45 + 0.08 * _smooth(rng, rows, columns, 12)[brain]
        vent = _ellipse(rows, columns, rows * 0.5, columns * 0.5, rows * 0.1, columns * 0.04)
        image[vent] = 0.15
        bias = 0.8 + 0.2 * _smooth(rng, rows, columns, max(rows, columns) // 2)
        image = image * bias + rng.normal(0, 0.02, image.shape).astype(np.float32)
        return np.clip(image, 0, 1)
    if kind in ("us", "us-rgb", "palette", "ybr"):
        image = np.zeros((rows, columns), np.float32)
        yy, xx = np.mgrid[0:rows, 0:columns]
        cy, cx = rows * 0.08, columns * 0.5
        angle = np.arctan2(xx - cx, yy - cy)
        radius = np.hypot(xx - cx, yy - cy)
        sector = (np.abs(angle) < 0.6) & (radius > rows * 0.1) & (radius < rows * 0.85)
        speckle = rng.rayleigh(0.25, (rows, columns)).astype(np.float32)
        tissue = 0.5 + 0.3 * _smooth(rng, rows, columns, 20)
        image[sector] = np.clip(speckle[sector] * tissue[sector], 0, 1)
        cyst = _ellipse(rows, columns, rows * 0.5, columns * 0.5, rows * 0.08, columns * 0.06)
        image[cyst & sector] *= 0.1
        if kind in ("us-rgb", "ybr"):
            return np.repeat(image[..., None], 3, axis=-1)
        return image
    # "sc": a smooth gradient with a circle and a ruler
    yy, xx = np.mgrid[0:rows, 0:columns]
    image = (0.2 + 0.5 * (xx / columns) * (yy / rows)).astype(np.float32)
    image[_ellipse(rows, columns, rows * 0.5, columns * 0.5, rows * 0.2, rows * 0.2)] += 0.2
    tick_y = int(rows * 0.9)
    image[tick_y, columns // 4 : 3 * columns // 4] = 0.95
    for x in range(columns // 4, 3 * columns // 4, max(4, columns // 40)):
        image[tick_y - 4 : tick_y, x] = 0.95
    return np.clip(image + rng.normal(0, 0.01, image.shape).astype(np.float32), 0, 1)


# ---------------------------------------------------------------------------------------
# Data sets


def dataset(kind: str, frames: list[np.ndarray]) -> FileDataset:
    """An uncompressed data set of ``kind`` holding the 0..1 ``frames``."""
    rows, columns = frames[0].shape[:2]
    stack = np.stack(frames)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    meta.MediaStorageSOPInstanceUID = "2.25.4242"
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds = FileDataset("", Dataset(), file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Rows, ds.Columns = rows, columns
    ds.SamplesPerPixel = 1
    ds.PixelRepresentation = 0
    if len(frames) > 1:
        ds.NumberOfFrames = len(frames)
    if kind == "ct":
        hu = stack * 2000 - 1000  # air -1000, tissue 0, bone 900
        arr = np.rint(hu + 1024).astype(np.int16) - 1024
        ds.RescaleIntercept, ds.RescaleSlope = 0, 1
        ds.WindowCenter, ds.WindowWidth = 40, 400
        ds.PixelRepresentation = 1
        photometric, bits = "MONOCHROME2", 16
    elif kind in ("mr", "cr"):
        arr = np.rint(stack * 4095).astype(np.uint16)
        photometric, bits = ("MONOCHROME1", 12) if kind == "cr" else ("MONOCHROME2", 12)
        if kind == "cr":
            arr = (4095 - arr).astype(np.uint16)
    elif kind in ("us", "sc"):
        arr = np.rint(stack * 255).astype(np.uint8)
        photometric, bits = "MONOCHROME2", 8
    elif kind == "palette":
        arr = np.rint(stack * 255).astype(np.uint8)
        photometric, bits = "PALETTE COLOR", 8
        ramp = np.arange(256, dtype=np.uint16)
        for colour, lut in (
            ("Red", np.minimum(ramp * 2, 255)),
            ("Green", ramp),
            ("Blue", ramp // 2),
        ):
            setattr(ds, f"{colour}PaletteColorLookupTableDescriptor", [256, 0, 16])
            setattr(ds, f"{colour}PaletteColorLookupTableData", (lut * 257).astype("<u2").tobytes())
    else:  # RGB, or YBR_FULL computed from it
        rgb = np.rint(stack * 255).astype(np.uint8)
        ds.SamplesPerPixel = 3
        ds.PlanarConfiguration = 0
        if kind == "ybr":
            arr = convert_color_space(rgb, "RGB", "YBR_FULL")
            photometric = "YBR_FULL"
        else:
            arr, photometric = rgb, "RGB"
        bits = 8
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated = arr.dtype.itemsize * 8
    ds.BitsStored, ds.HighBit = bits, bits - 1
    ds.PixelData = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
    ds["PixelData"].VR = "OB" if arr.dtype.itemsize == 1 else "OW"
    return ds


def ink(kind: str, rng: np.random.Generator, background: float) -> float | tuple[float, ...]:
    """A text value that stands out from ``background`` by a varied contrast."""
    contrast = rng.uniform(0.3, 0.8)
    light = background < 0.5 if rng.random() < 0.8 else background >= 0.5
    value = background + contrast if light else background - contrast
    if not 0.0 <= value <= 1.0:  # no room on that side: the other side of the background
        value = background - contrast if light else background + contrast
    value = float(np.clip(value, 0.0, 1.0))
    if kind in ("us-rgb", "ybr") and rng.random() < 0.5:
        colours = ((1.0, 1.0, 0.0), (0.0, 1.0, 1.0), (1.0, 0.5, 0.0), (0.3, 1.0, 0.3))
        return colours[int(rng.integers(len(colours)))]
    return value


def with_text(
    kind: str, seed: int, *, rows: int = 512, columns: int = 512, frames: int = 1, lines: int = 2
) -> tuple[FileDataset, list[Planted]]:
    """An image of ``kind`` with ``lines`` lines of text in varied fonts, sizes and places."""
    rng = np.random.default_rng(seed)
    base = anatomy(kind, rows, columns, rng)
    planted = []
    for _ in range(lines):
        size = int(rng.integers(9, 41))
        name = FONTS[int(rng.integers(len(FONTS)))]
        text = _WORDS[int(rng.integers(len(_WORDS)))]
        width = int(font(name, size).getlength(text))
        x = int(rng.integers(0, max(1, columns - width)))
        y = int(rng.integers(0, max(1, rows - size - 4)))
        alpha, box = text_alpha(rows, columns, text, x, y, name=name, size=size)
        if box is None:
            continue
        grey = base if base.ndim == 2 else base.mean(axis=-1)
        background = float(np.median(grey[box.y : box.y + box.height, box.x : box.x + box.width]))
        blend(base, alpha, ink(kind, rng, background))
        planted.append(box)
    images = [base.copy() for _ in range(frames)]
    return dataset(kind, images), planted


def without_text(
    kind: str, seed: int, *, rows: int = 512, columns: int = 512, frames: int = 1
) -> FileDataset:
    rng = np.random.default_rng(seed)
    images = [anatomy(kind, rows, columns, rng) for _ in range(frames)]
    return dataset(kind, images)
