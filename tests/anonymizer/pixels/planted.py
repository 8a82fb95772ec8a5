"""A small seeded subset of the planted-text evaluation set (``bench.text_eval``) for tests.

Twenty images from the "tune" split (seeds below 1000; the "holdout" split is never used
here): one with text of every kind (8/12/16-bit, signed CT, MR, MONOCHROME1, RGB, palette,
YBR_FULL, JPEG YBR_FULL_422, RLE/JPEG/native cines, ultrasound regions) and six without
text. Images are scaled to at most 512 pixels a side and cines to at most 8 frames, so the
whole set runs in seconds.
"""

from __future__ import annotations

from bench.text_eval.generate import Sample, generate_sample, plan

#: One seed with planted text per image kind.
TEXT_SEEDS = (0, 1, 2, 3, 18, 5, 6, 7, 8, 23, 10, 11, 12, 13)
#: Seeds of images without any text (mr16, jpeg_ybr, mono8, mono1, cine_rle, rgb).
TEXT_FREE_SEEDS = (4, 9, 14, 19, 24, 34)

MAX_SIDE = 512
MAX_FRAMES = 8


def planted(seed: int) -> Sample:
    """A fresh sample (its data set may be edited in place by the caller)."""
    return generate_sample(seed, max_frames=MAX_FRAMES, max_side=MAX_SIDE)


def label(seed: int) -> str:
    kind, has_text = plan(seed)
    return f"{kind}-{seed}" + ("" if has_text else "-no-text")
