"""Burned-in text detection on the synthetic evaluation set (``bench.text_eval``).

    python -m bench.burned_text_bench [--split tune|holdout|all] [--limit N] [--ocr-input]
    python -m bench.burned_text_bench --first-pass-cine SEED [--cine-frames N]

For every image: ``anonymizer.pixels.detect.propose_regions(ds)``, every proposal accepted
(blacked out with ``apply_edits``; ``frame: null`` = every frame), then, per split and per
image kind:

- share of planted text pixels covered (target >= 99.5 %);
- images whose planted strings tesseract (--psm 11, the bench's own rendering) still reads
  in the output: any planted token of >= 3 letters/digits, fuzzily (target 0);
- share of proposed area that is not text: proposed pixels farther than 3 px from planted
  ink over all proposed pixels (target <= 30 %);
- proposed area on text-free images, as a share of the image (target <= 2 %);
- seconds per image and per frame spent in ``propose_regions``;
and the 10 worst images. ``--ocr-input`` also counts images legible before redaction.

``--first-pass-cine SEED`` times ``anonymizer.pipeline.first_pass`` on the cine of that seed
(written to a temporary file), against a plain pydicom read + write of the same file.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset

os.environ.setdefault("OMP_THREAD_LIMIT", "1")

from bench.text_eval import legibility
from bench.text_eval.generate import (
    KINDS,
    SPLIT_SIZE,
    generate_sample,
    plan,
    split_seeds,
)
from bench.text_eval.metrics import Score, boxes_of, edits_of, score

TARGET_COVERAGE = 0.995
TARGET_NOT_TEXT = 0.30
TARGET_FREE_AREA = 0.02


@dataclass
class Outcome:
    seed: int
    kind: str
    frames: int
    has_text: bool
    score: Score
    seconds: float
    proposals: int
    read_after: set[str] = field(default_factory=set)
    read_before: set[str] | None = None
    error: str | None = None


def load_detector(spec: str) -> Callable[[Dataset], Iterable[Any]]:
    """``module:function`` (default: the engine's ``propose_regions``)."""
    module, _, name = spec.partition(":")
    detector: Callable[[Dataset], Iterable[Any]] = getattr(
        importlib.import_module(module), name or "propose_regions"
    )
    return detector


def evaluate(
    seed: int,
    *,
    ocr: bool,
    ocr_input: bool,
    max_frames: int,
    propose_regions: Callable[[Dataset], Iterable[Any]],
) -> Outcome:
    from anonymizer.pixels.redact import apply_edits

    sample = generate_sample(seed, max_frames=max_frames)
    ds = sample.ds
    planted = legibility.tokens(sample.strings)
    indices = legibility.frames_to_read(sample.frames)
    limits: dict[int, tuple[float, float]] = {}
    read_before: set[str] | None = None
    if ocr and planted:
        read_before = set()
        for index in indices:
            image, limits[index] = legibility.render(ds, index)
            if ocr_input:
                read_before |= legibility.read_tokens(planted, legibility.ocr_words(image))

    error = None
    start = time.perf_counter()
    try:
        proposals = list(propose_regions(ds))
    except Exception as exc:  # a failing detector is a result, not the end of the run
        proposals, error = [], f"{type(exc).__name__}"
    seconds = time.perf_counter() - start

    rows, columns = sample.mask.shape
    boxes = boxes_of(proposals)
    result = Outcome(
        seed=seed,
        kind=sample.kind,
        frames=sample.frames,
        has_text=sample.has_text,
        score=score(sample, proposals),
        seconds=seconds,
        proposals=len(proposals),
        read_before=read_before if ocr_input else None,
        error=error,
    )
    if ocr and planted:
        apply_edits(ds, edits_of(boxes, sample.frames, rows, columns))
        for index in indices:
            image, _ = legibility.render(ds, index, limits.get(index))
            result.read_after |= legibility.read_tokens(planted, legibility.ocr_words(image))
    return result


def _percent(value: float | None) -> str:
    return "     -" if value is None else f"{100 * value:6.2f}"


def _summary(outcomes: list[Outcome]) -> dict[str, object]:
    text = [o for o in outcomes if o.has_text]
    free = [o for o in outcomes if not o.has_text]
    planted = sum(o.score.text for o in text)
    proposed = sum(o.score.proposed for o in text)
    frames = sum(o.frames for o in outcomes)
    seconds = sum(o.seconds for o in outcomes)
    return {
        "n_text": len(text),
        "coverage": sum(o.score.covered for o in text) / planted if planted else None,
        "not_text": sum(o.score.proposed_not_text for o in text) / proposed if proposed else None,
        "read": sum(1 for o in text if o.read_after),
        "read_before": (
            sum(1 for o in text if o.read_before)
            if text and all(o.read_before is not None for o in text)
            else None
        ),
        "n_free": len(free),
        "free_area": (sum(o.score.proposed_share for o in free) / len(free)) if free else None,
        "free_max": max((o.score.proposed_share for o in free), default=None),
        "per_image": seconds / len(outcomes) if outcomes else 0.0,
        "per_frame": seconds / frames if frames else 0.0,
        "errors": sum(1 for o in outcomes if o.error),
    }


def report(split: str, outcomes: list[Outcome]) -> None:
    print(f"\n== {split}: {len(outcomes)} images ==")
    header = (
        f"{'kind':<12} {'text':>4} {'cover%':>6} {'!text%':>6} {'read':>4} {'before':>6}"
        f" {'free':>4} {'area%':>6} {'max%':>6} {'s/img':>6} {'s/frm':>6} {'err':>3}"
    )
    print(header)
    print("-" * len(header))
    by_kind: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        by_kind[outcome.kind].append(outcome)
    rows = [(kind, by_kind[kind]) for kind in KINDS if by_kind[kind]] + [("ALL", outcomes)]
    for name, group in rows:
        s = _summary(group)
        before = "     -" if s["read_before"] is None else f"{s['read_before']:6d}"
        if name == "ALL":
            print("-" * len(header))
        print(
            f"{name:<12} {s['n_text']:>4} {_percent(s['coverage'])} {_percent(s['not_text'])}"
            f" {s['read']:>4} {before} {s['n_free']:>4} {_percent(s['free_area'])}"
            f" {_percent(s['free_max'])} {s['per_image']:6.2f} {s['per_frame']:6.3f}"
            f" {s['errors']:>3}"
        )
    s = _summary(outcomes)
    verdict = [
        ("covered", s["coverage"], f">= {100 * TARGET_COVERAGE:.1f} %"),
        ("still legible", s["read"], "0"),
        ("not text", s["not_text"], f"<= {100 * TARGET_NOT_TEXT:.0f} %"),
        ("text-free area", s["free_area"], f"<= {100 * TARGET_FREE_AREA:.0f} %"),
    ]
    print("targets: " + "; ".join(f"{name} {target}" for name, _, target in verdict))
    worst = sorted((o for o in outcomes if o.has_text), key=lambda o: o.score.coverage)[:10]
    print("worst 10 by coverage:")
    for o in worst:
        print(
            f"  {o.kind:<12} seed {o.seed:<5} coverage {100 * o.score.coverage:6.2f} %"
            f"  proposals {o.proposals:<3} legible tokens {len(o.read_after)}"
            + (f"  error {o.error}" if o.error else "")
        )


def first_pass_cine(seed: int, frames: int | None) -> None:
    import pydicom

    from anonymizer.keys import Keys
    from anonymizer.pipeline import first_pass

    kind, _ = plan(seed)
    if not kind.startswith("cine"):
        raise SystemExit(f"seed {seed} is a {kind}, not a cine")
    sample = generate_sample(seed, cine_frames=frames, max_frames=frames or 30)
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "cine.dcm"
        sample.ds.save_as(source, enforce_file_format=True)
        start = time.perf_counter()
        pydicom.dcmread(source).save_as(Path(tmp) / "copy.dcm")
        base = time.perf_counter() - start
        out = Path(tmp) / "out"
        out.mkdir()
        start = time.perf_counter()
        result = first_pass(source, out, keys=Keys(b"benchmark-secret-0123456789"))
        elapsed = time.perf_counter() - start
    size = source.stat().st_size if source.exists() else 0
    print(
        f"first pass of {sample.label} ({sample.frames} frames, {sample.notes['size']},"
        f" {sample.encoding}{', ' + str(size) if size else ''}): {elapsed:.2f} s"
        f" = {elapsed / base:.1f} x read+write ({base:.3f} s); status {result.status},"
        f" {len(result.proposed_regions)} proposals"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=("tune", "holdout", "all"), default="all")
    parser.add_argument(
        "--limit", type=int, default=SPLIT_SIZE, help="images per split (first N seeds)"
    )
    parser.add_argument("--max-frames", type=int, default=30, help="cap on cine frames")
    parser.add_argument("--no-ocr", action="store_true", help="skip the legibility check")
    parser.add_argument("--ocr-input", action="store_true", help="also OCR the input")
    parser.add_argument("--first-pass-cine", type=int, metavar="SEED")
    parser.add_argument("--cine-frames", type=int, help="frames of the --first-pass-cine cine")
    parser.add_argument("--verbose", action="store_true", help="one line per image")
    parser.add_argument(
        "--detector",
        default="anonymizer.pixels.detect:propose_regions",
        help="module:function taking a data set and returning proposals (to compare detectors)",
    )
    args = parser.parse_args()

    if args.first_pass_cine is not None:
        first_pass_cine(args.first_pass_cine, args.cine_frames)
        return
    detector = load_detector(args.detector)
    splits = ("tune", "holdout") if args.split == "all" else (args.split,)
    for split in splits:
        outcomes = []
        for seed in split_seeds(split, min(args.limit, SPLIT_SIZE)):
            outcome = evaluate(
                seed,
                ocr=not args.no_ocr,
                ocr_input=args.ocr_input,
                max_frames=args.max_frames,
                propose_regions=detector,
            )
            outcomes.append(outcome)
            if args.verbose:
                print(
                    f"{outcome.kind:<12} {seed:<5} text={outcome.has_text!s:<5}"
                    f" cover={100 * outcome.score.coverage:6.2f}"
                    f" !text={100 * outcome.score.not_text_share:6.2f}"
                    f" area={100 * outcome.score.proposed_share:6.2f}"
                    f" read={len(outcome.read_after)} t={outcome.seconds:.2f}s",
                    file=sys.stderr,
                    flush=True,
                )
        report(f"{split} ({args.detector})", outcomes)


if __name__ == "__main__":
    main()
