"""Fuzz target: the first pass over damaged files (run by ``test_fuzz`` in a child).

Every damaged file must end as a result: de-identified (and then readable again) or
quarantined with a reason in plain words. No exception escapes, nothing hangs.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from hypothesis import given

from anonymizer.keys import Keys
from anonymizer.pipeline import Status, first_pass, read_dicom
from tests.fuzz.mutations import damaged_files, fuzz

KEYS = Keys(b"fuzz-only-secret-0123456789abcdef")
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))


@fuzz(EXAMPLES)
@given(damaged_files)
def first_pass_ends_with_a_result(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "in.dcm"
        source.write_bytes(data)
        out = Path(tmp) / "out"
        out.mkdir()
        result = first_pass(source, out, keys=KEYS, pseudonym="FUZZ")
        assert result.status in (Status.CLEAN, Status.NEEDS_REVIEW, Status.QUARANTINED)
        if result.status == Status.QUARANTINED:
            assert result.reasons and all(isinstance(r, str) and r for r in result.reasons)
            assert "Traceback" not in " ".join(result.reasons)
            assert result.output is None
        else:
            assert result.output is not None
            read_dicom(result.output)


if __name__ == "__main__":
    sys.setrecursionlimit(3000)  # as in a worker: deep input must not need a deeper stack
    first_pass_ends_with_a_result()
    print(f"first pass: {EXAMPLES} damaged files, each ended with a result")
