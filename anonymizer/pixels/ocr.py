"""A thin wrapper over pytesseract: words with boxes and confidences from an 8-bit image.

``OMP_THREAD_LIMIT=1`` is set (if unset) before tesseract is ever started: with OpenMP's
default threads it spin-waits and takes 3-4 times longer on a 2-core machine.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

import numpy as np
from PIL import Image

os.environ.setdefault("OMP_THREAD_LIMIT", "1")

import pytesseract  # after setting the environment, which it passes on to tesseract

__all__ = ["DEFAULT_CONFIG", "Word", "image_to_words", "ocr_array", "tesseract_available"]

#: Page segmentation mode 11: sparse text, find as much text as possible in no particular order.
DEFAULT_CONFIG = "--psm 11"
_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class Word:
    """One word tesseract found; coordinates in the pixels of the image it was given."""

    text: str
    confidence: float  # 0..100
    left: int
    top: int
    width: int
    height: int

    @property
    def right(self) -> int:
        return self.left + self.width

    @property
    def bottom(self) -> int:
        return self.top + self.height


@functools.cache
def tesseract_available() -> bool:
    """True if the tesseract binary runs (checked once per process)."""
    try:
        pytesseract.get_tesseract_version()
    except (pytesseract.TesseractNotFoundError, OSError):
        return False
    return True


def image_to_words(image: Image.Image, *, config: str = DEFAULT_CONFIG) -> list[Word]:
    """Every non-blank word tesseract reports for ``image``."""
    data = pytesseract.image_to_data(
        image, config=config, output_type=pytesseract.Output.DICT, timeout=_TIMEOUT_SECONDS
    )
    words = []
    for i, text in enumerate(data["text"]):
        text = str(text).strip()
        confidence = float(data["conf"][i])
        if not text or confidence < 0:
            continue
        words.append(
            Word(
                text=text,
                confidence=confidence,
                left=int(data["left"][i]),
                top=int(data["top"][i]),
                width=int(data["width"][i]),
                height=int(data["height"][i]),
            )
        )
    return words


def ocr_array(arr: np.ndarray, *, config: str = DEFAULT_CONFIG) -> list[Word]:
    """OCR a 2-D uint8 array (rows, columns)."""
    if arr.ndim != 2 or arr.dtype != np.uint8:
        raise ValueError(f"expected a 2-D uint8 array, got {arr.dtype} {arr.shape}")
    return image_to_words(Image.fromarray(arr), config=config)
