"""Run a fuzz target in a child process under an address-space limit (setrlimit).

A target that tries to allocate what a hostile input declares gets a MemoryError in the
child instead of taking the machine; the parent test sees the child's verdict.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_bounded(
    module: str, *, memory_mb: int, timeout: float, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    def limit() -> None:
        limit_bytes = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))

    return subprocess.run(
        [sys.executable, "-m", module],
        cwd=ROOT,
        env={**os.environ, "OMP_THREAD_LIMIT": "1", **(env or {})},
        preexec_fn=limit,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
