"""Recall, false alarms and cost of the verifier's residual text detector (ADR 0003).

    .venv/bin/python -m bench.residual_gate [--seeds 100:140]

Images come from ``tests/anonymizer/verify/text_images.py`` (made-up anatomy of eight
kinds, 512x512, two lines of text in DejaVu fonts of 9-40 px at varied contrasts). The
detector was tuned on seeds 0-7 and 20-27; the default seeds are held out. A planted line
counts as found when detected boxes cover at least 30 % of its box; an image without text
is a false alarm when anything is found on it. Timing: one frame of a 512x512 CT (signed
16-bit with a window, so two renderings), best and median of 20 runs.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
from pydicom import Dataset
from pydicom.pixels.processing import apply_color_lut

from anonymizer.verify import residual
from tests.anonymizer.verify import text_images


def _frames(ds: Dataset) -> np.ndarray:
    arr = ds.pixel_array
    if ds.PhotometricInterpretation == "PALETTE COLOR":
        arr = apply_color_lut(arr, ds)
    return arr.reshape(int(ds.get("NumberOfFrames") or 1), ds.Rows, ds.Columns, -1)


def _covered(planted: text_images.Planted, found: list[residual.TextBox]) -> float:
    mask = np.zeros((planted.height, planted.width), bool)
    for box in found:
        x0, y0 = max(box.x, planted.x), max(box.y, planted.y)
        x1 = min(box.right, planted.x + planted.width)
        y1 = min(box.bottom, planted.y + planted.height)
        if x1 > x0 and y1 > y0:
            mask[y0 - planted.y : y1 - planted.y, x0 - planted.x : x1 - planted.x] = True
    return float(mask.mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="100:140", help="first:last (exclusive)")
    args = parser.parse_args()
    first, last = (int(v) for v in args.seeds.split(":"))
    warnings.filterwarnings("ignore")
    print(f"{'kind':8} {'lines found':>12} {'false alarms':>13}")
    total_found = total_lines = total_alarms = total_clean = 0
    for kind in text_images.KINDS:
        found = lines = alarms = 0
        for seed in range(first, last):
            ds, planted = text_images.with_text(kind, seed)
            boxes = residual.find_text(ds, _frames(ds))
            lines += len(planted)
            found += sum(_covered(p, boxes) >= 0.3 for p in planted)
            clean = text_images.without_text(kind, seed + 10_000)
            alarms += bool(residual.find_text(clean, _frames(clean)))
        print(f"{kind:8} {found:>5}/{lines:<6} {alarms:>6}/{last - first:<6}")
        total_found, total_lines = total_found + found, total_lines + lines
        total_alarms, total_clean = total_alarms + alarms, total_clean + last - first
    print(
        f"all      {total_found}/{total_lines} = {total_found / total_lines:.1%} of lines; "
        f"{total_alarms}/{total_clean} = {total_alarms / total_clean:.1%} of text-free images"
    )
    ct = text_images.without_text("ct", 1)
    frames = _frames(ct)
    times = []
    for _ in range(20):
        start = time.perf_counter()
        residual.find_text(ct, frames)
        times.append(time.perf_counter() - start)
    print(
        f"512x512 CT frame: best {min(times) * 1000:.0f} ms, "
        f"median {statistics.median(times) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
