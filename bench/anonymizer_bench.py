"""Benchmark of the de-identification engine, as ratios to plain pydicom read+write.

    python -m bench.anonymizer_bench [--ct 1000] [--mr 200] [--cine-frames 100]

Prints, in one run:
- first pass over a CT series (512x512 16-bit) and over small MR slices, with 1 and 2
  worker processes (the CLI's own pool), against a plain pydicom read+write of the same
  files in one process;
- on one uncompressed multi-frame RGB ultrasound cine, against its single-process
  read+write: the first pass (flagged: text detection on sampled frames and their median,
  tesseract labels) and the second pass (blackout on every frame + header allowlist +
  verifier),
  with the second pass's peak memory as a multiple of the file size.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pydicom

from bench import corpus

ROOT = Path(__file__).resolve().parents[1]


def read_write(paths: list[Path], out: Path) -> float:
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for i, path in enumerate(paths):
        pydicom.dcmread(path).save_as(out / f"{i}.dcm")
    return time.perf_counter() - start


def cli_first_pass(src: Path, out: Path, jobs: int) -> float:
    start = time.perf_counter()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "anonymizer",
            "deidentify",
            str(src),
            str(out),
            "--report",
            str(out / "report.json"),
            "--jobs",
            str(jobs),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "TEACHINGFILE_DEID_SECRET": "benchmark-secret-0123456789"},
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(result.stderr)
    return elapsed


def pool_first_pass(paths: list[Path], out: Path, jobs: int) -> float:
    """The engine in a warm, long-lived pool (as the Celery workers run it)."""
    from anonymizer.cli import _process, chunk_size, worker_pool
    from anonymizer.keys import Keys

    state = {
        "which": "first",
        "output_dir": out,
        "input_dir": paths[0].parent,
        "regions": {},
        "ocr": True,
    }
    with worker_pool(jobs, Keys(b"benchmark-secret-0123456789"), state) as pool:
        list(pool.map(abs, range(jobs * 4)))  # start every worker before the clock
        start = time.perf_counter()
        list(pool.map(_process, paths, chunksize=chunk_size(len(paths), jobs)))
        return time.perf_counter() - start


def interpreter_start() -> float:
    """The cost of starting the CLI process at all (included in the CLI figures)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import anonymizer.cli"], cwd=ROOT, check=True)
    return time.perf_counter() - start


def row(name: str, seconds: float, base: float, n: int) -> None:
    print(f"  {name:<34} {seconds:7.2f} s  {n / seconds:7.1f} files/s  {seconds / base:5.2f}x")


def bench_series(label: str, paths: list[Path], tmp: Path) -> None:
    base = read_write(paths, tmp / f"{label}-rw")
    print(f"{label}: {len(paths)} files, {sum(p.stat().st_size for p in paths) / 1e6:.0f} MB")
    row("pydicom read+write (1 process)", base, base, len(paths))
    for jobs in (1, 2):
        t = pool_first_pass(paths, tmp / f"{label}-pool{jobs}", jobs)
        row(f"first pass, warm pool of {jobs}", t, base, len(paths))
    for jobs in (1, 2):
        t = cli_first_pass(paths[0].parent, tmp / f"{label}-fp{jobs}", jobs)
        row(f"first pass, CLI --jobs {jobs} (cold)", t, base, len(paths))


def bench_cine(frames: int, tmp: Path) -> None:
    path = corpus.build_us_cine(tmp / "cine", frames=frames)
    size = path.stat().st_size
    base = read_write([path], tmp / "cine-rw")
    probe_dir = tmp / "cine-out"
    probe_dir.mkdir()
    for args in (["first", str(path), str(probe_dir)], ["second", str(probe_dir)]):
        out = subprocess.run(
            [sys.executable, "-m", "bench.second_pass_probe", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if out.returncode != 0:
            raise SystemExit(out.stderr)
    probe = json.loads(out.stdout.strip().splitlines()[-1])
    first = json.loads((probe_dir / "first.json").read_text())
    print(f"US cine: {frames} frames, {size / 1e6:.0f} MB")
    print(f"  {'pydicom read+write (1 process)':<34} {base:7.2f} s  1.00x")
    t = first["first_pass_seconds"]
    label = f"first pass (detect + label, {first['proposals']} boxes)"
    print(f"  {label:<34} {t:7.2f} s  {t / base:5.2f}x")
    t = probe["second_pass_seconds"]
    print(f"  {'second pass (blackout all frames)':<34} {t:7.2f} s  {t / base:5.2f}x")
    print(
        f"  peak memory of the second pass: {probe['peak_bytes'] / 1e6:.0f} MB"
        f" = {probe['peak_bytes'] / size:.2f}x the file; status {probe['status']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ct", type=int, default=1000)
    parser.add_argument("--mr", type=int, default=200)
    parser.add_argument("--cine-frames", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tf-bench-") as name:
        tmp = Path(name)
        print(f"python start + import anonymizer: {interpreter_start():.2f} s (in CLI figures)")
        if args.ct:
            bench_series("CT", corpus.build_ct(tmp / "ct", args.ct), tmp)
        if args.mr:
            bench_series("MR", corpus.build_mr(tmp / "mr", args.mr), tmp)
        if args.cine_frames:
            bench_cine(args.cine_frames, tmp)


if __name__ == "__main__":
    main()
