"""Secrets the app invents for itself in dev mode, kept in one owner-only file.

Only used when ``TEACHINGFILE_DEV`` is set: a newcomer's first run needs no configuration,
and the UID/date mappings stay the same across restarts. Production reads every secret
from the environment. The ``var/`` folder that holds them (and the dev database, the
broker's folders and the storage roots) is owner-only too.
"""

import base64
import json
import os
import secrets
import stat
from pathlib import Path


def _new_secret(name: str) -> str:
    if name == "TEACHINGFILE_REID_KEY":  # a Fernet key
        return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    return secrets.token_urlsafe(48)


def owner_only_dir(path: Path) -> None:
    """Create ``path`` (mode 0700), or take group and other access away from our own
    folder. A shared sticky folder such as /tmp is left as it is."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.stat()
    ours = info.st_uid == os.getuid() and not info.st_mode & stat.S_ISVTX
    if ours and stat.S_IMODE(info.st_mode) & 0o077:
        path.chmod(0o700)


def owner_only_file(path: Path) -> None:
    """Create ``path`` empty (mode 0600) if it is missing, else take group and other
    access away from it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        if stat.S_IMODE(os.fstat(fd).st_mode) & 0o077:
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def dev_secret(path: Path, name: str) -> str:
    """Return the secret ``name`` from ``path``, creating it (mode 0600) on first use."""
    owner_only_dir(path.parent)
    try:
        stored = json.loads(path.read_text())
    except FileNotFoundError:
        stored = {}
    else:
        owner_only_file(path)  # a file from an older run may be readable by others
    if name not in stored:
        stored[name] = _new_secret(name)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # a leftover .tmp keeps its mode through O_CREAT
        with os.fdopen(fd, "w") as fh:
            json.dump(stored, fh, indent=2)
        os.replace(tmp, path)
    return str(stored[name])
