"""Can an OCR pass still read planted strings? Rendering as a viewer shows it, tesseract --psm 11.

This is the bench's own rendering, independent of the detector's: greyscale through the
Modality LUT and the first window (if any) then stretched between limits taken from the
original image (so a black box does not change how the rest is shown), MONOCHROME1
inverted; colour and palette images as the brightest sample of each pixel.
"""

from __future__ import annotations

import os
import re
import unicodedata
from difflib import SequenceMatcher

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.pixels.decoders.base import get_decoder
from pydicom.pixels.processing import apply_color_lut, apply_modality_lut, apply_voi_lut

os.environ.setdefault("OMP_THREAD_LIMIT", "1")

import pytesseract  # after OMP_THREAD_LIMIT, which tesseract inherits

__all__ = ["frames_to_read", "ocr_words", "read_tokens", "render", "tokens"]

MIN_TOKEN = 3


def _normal(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return ascii_text.upper()


def tokens(strings: tuple[str, ...] | list[str]) -> set[str]:
    """Planted tokens of at least ``MIN_TOKEN`` letters or digits, upper case, ASCII."""
    found = set()
    for text in strings:
        found.update(t for t in re.split(r"[^A-Z0-9]+", _normal(text)) if len(t) >= MIN_TOKEN)
    return found


def frames_to_read(number_of_frames: int) -> list[int]:
    """The first frame, and for a cine one in the middle (text is static)."""
    if number_of_frames <= 1:
        return [0]
    return sorted({0, min(number_of_frames // 2 + 1, number_of_frames - 1)})


def render(
    ds: Dataset, index: int, limits: tuple[float, float] | None = None
) -> tuple[np.ndarray, tuple[float, float]]:
    """Frame ``index`` as 8-bit greyscale, and the (low, high) limits used for the stretch."""
    arr, props = get_decoder(ds.file_meta.TransferSyntaxUID).as_array(ds, index=index)
    photometric = str(props["photometric_interpretation"])
    if photometric == "PALETTE COLOR":
        bits = int(ds.RedPaletteColorLookupTableDescriptor[2])
        values = apply_color_lut(arr, ds)[..., :3].astype(np.float64) / (257 if bits > 8 else 1)
        values = values.max(axis=-1)
    elif arr.ndim == 3:
        values = arr.max(axis=-1).astype(np.float64)
    else:
        values = np.asarray(apply_modality_lut(arr, ds), dtype=np.float64)
        if "WindowCenter" in ds:
            values = np.asarray(apply_voi_lut(values, ds), dtype=np.float64)
    if limits is None:
        limits = (float(values.min()), float(values.max()))
    low, high = limits
    out = (values - low) * (255.0 / (high - low)) if high > low else np.zeros_like(values)
    if photometric == "MONOCHROME1":
        out = 255.0 - out
    return np.clip(np.rint(out), 0, 255).astype(np.uint8), limits


def ocr_words(image: np.ndarray) -> list[str]:
    """Words tesseract (--psm 11) reads in the image, upscaled x2 if small, in both polarities."""
    rows, columns = image.shape
    if max(rows, columns) <= 1024:
        image = np.asarray(
            Image.fromarray(image).resize((columns * 2, rows * 2), Image.Resampling.LANCZOS)
        )
    words = []
    for view in (image, 255 - image):  # light text on dark and dark text on light
        data = pytesseract.image_to_data(
            Image.fromarray(view), config="--psm 11", output_type=pytesseract.Output.DICT
        )
        words += [w for w in data["text"] if w.strip()]
    return words


#: Tokens up to this long must be read exactly: with one letter of slack, OCR garbage on
#: speckle ("NEA", "NAE") reads as a four-letter label ("NAME").
EXACT_UP_TO = 4


def _matches(token: str, piece: str) -> bool:
    if len(token) <= EXACT_UP_TO:
        return token == piece
    if token in piece:
        return True
    return len(piece) >= MIN_TOKEN and SequenceMatcher(None, token, piece).ratio() >= 0.8


def read_tokens(planted: set[str], words: list[str]) -> set[str]:
    """The planted tokens that OCR words spell (fuzzily; tokens of up to 4 characters
    exactly)."""
    pieces = {p for w in words for p in re.split(r"[^A-Z0-9]+", _normal(w)) if p}
    return {t for t in planted if any(_matches(t, p) for p in pieces)}
