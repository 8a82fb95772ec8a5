"""Time the second pass alone, in a fresh process, and measure its peak memory.

    python -m bench.second_pass_probe first SOURCE OUT_DIR   # writes OUT_DIR/first.json
    python -m bench.second_pass_probe second OUT_DIR         # prints one JSON line

The second pass runs in its own process so that the peak resident set size belongs to it
alone; the figure reported is the peak minus the resident size after imports.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

from anonymizer.keys import Keys
from anonymizer.pipeline import Status, first_pass, second_pass
from anonymizer.pixels import Blackout, Edits, Rect
from anonymizer.verify import Fingerprint

KEYS = Keys(b"benchmark-secret-0123456789")


def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize()


def run_first(source: Path, out: Path) -> None:
    start = time.perf_counter()
    first = first_pass(source, out / "first", keys=KEYS)
    seconds = time.perf_counter() - start
    assert first.output and first.fingerprint and first.reidentification, first.reasons
    (out / "first.json").write_text(
        json.dumps(
            {
                "output": str(first.output),
                "fingerprint": first.fingerprint.to_json(),
                "pseudonym": first.reidentification["pseudonym"],
                "flagged": first.status is Status.NEEDS_REVIEW,
                "columns": first.info.columns if first.info else 0,
                "first_pass_seconds": seconds,
                "proposals": len(first.proposed_regions),
            }
        )
    )


def run_second(out: Path) -> None:
    state = json.loads((out / "first.json").read_text())
    edits = Edits(blackouts=(Blackout(Rect(0, 0, state["columns"], 60), None),))
    fingerprint = Fingerprint.from_json(state["fingerprint"])
    before = _rss_bytes()
    start = time.perf_counter()
    second = second_pass(
        Path(state["output"]),
        out / "second",
        keys=KEYS,
        fingerprint=fingerprint,
        pseudonym=state["pseudonym"],
        edits=edits,
        flagged=state["flagged"],
    )
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(
        json.dumps(
            {
                "second_pass_seconds": elapsed,
                "peak_bytes": max(peak - before, 0),
                "status": second.status.value,
                "reasons": second.reasons,
            }
        )
    )


if __name__ == "__main__":
    if sys.argv[1] == "first":
        run_first(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        run_second(Path(sys.argv[2]))
