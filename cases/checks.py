"""Startup checks: storage roots usable and private where they must be (the secrets are
checked in teachingfile/checks.py)."""

import os
import stat

from django.conf import settings
from django.core.checks import Error, Warning, register

from cases import storage


@register()
def check_storage_roots(app_configs: object, **kwargs: object) -> list[Error | Warning]:
    problems: list[Error | Warning] = []
    for root in storage.all_roots():
        try:
            storage.ensure_root(root)
        except OSError as exc:
            problems.append(Error(f"Storage root {root} is not usable: {exc}", id="cases.E002"))
            continue
        if not os.access(root, os.W_OK):
            problems.append(Error(f"Storage root {root} is not writable.", id="cases.E003"))
    for root in settings.PRIVATE_STORAGE_ROOTS:
        if root.exists() and stat.S_IMODE(root.stat().st_mode) & 0o077:
            problems.append(
                Warning(
                    f"{root} holds patient data but others can read it.",
                    hint=f"chmod 700 {root}",
                    id="cases.W001",
                )
            )
    return problems
