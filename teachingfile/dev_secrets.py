"""Secrets the app invents for itself in dev mode, kept in one owner-only file.

Only used when ``TEACHINGFILE_DEV`` is set: a newcomer's first run needs no configuration,
and the UID/date mappings stay the same across restarts. Production reads every secret
from the environment.
"""

import base64
import json
import os
import secrets
from pathlib import Path


def _new_secret(name: str) -> str:
    if name == "TEACHINGFILE_REID_KEY":  # a Fernet key
        return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    return secrets.token_urlsafe(48)


def dev_secret(path: Path, name: str) -> str:
    """Return the secret ``name`` from ``path``, creating it (mode 0600) on first use."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        stored = json.loads(path.read_text())
    except FileNotFoundError:
        stored = {}
    if name not in stored:
        stored[name] = _new_secret(name)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(stored, fh, indent=2)
        os.replace(tmp, path)
    return str(stored[name])
