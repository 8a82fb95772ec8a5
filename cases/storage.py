"""The storage roots and safe file placement inside them.

Raw incoming files and quarantined files may hold PHI: their roots are created mode 0700
and files in them 0600. Nothing here is reachable from a URL.
"""

import os
from pathlib import Path

from django.conf import settings


def all_roots() -> tuple[Path, ...]:
    return (
        settings.INCOMING_ROOT,
        settings.QUARANTINE_ROOT,
        settings.WORKING_ROOT,
        settings.PUBLISHED_ROOT,
    )


def ensure_root(root: Path) -> Path:
    """Create ``root`` if missing; private roots are owner-only."""
    private = root in settings.PRIVATE_STORAGE_ROOTS
    root.mkdir(parents=True, exist_ok=True, mode=0o700 if private else 0o750)
    if private:
        os.chmod(root, 0o700)
    return root


def resolve_inside(root: Path, relative: str) -> Path:
    """``root / relative``, refusing anything that escapes ``root``."""
    path = (root / relative).resolve()
    if not path.is_relative_to(root.resolve()):
        raise ValueError(f"{relative!r} is outside {root}")
    return path


def write_atomic(path: Path, data: bytes, *, private: bool) -> Path:
    """Write ``data`` to ``path`` via a temporary file and rename (never half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700 if private else 0o750)
    tmp = path.with_name(f".{path.name}.part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o640)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
