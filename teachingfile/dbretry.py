"""Riding out short database locks.

The web process, the worker and the listener share one database. With SQLite (the
embedded default) a writer that waits too long gets "database is locked"; PostgreSQL
answers a row lock held past ``lock_timeout`` with a lock timeout (SQLSTATE 55P03), and may
pick a transaction as a deadlock victim (40P01) or fail it on serialization (40001). All
of these are worth a few more tries after a pause; any other error is not.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.db import OperationalError, transaction

log = logging.getLogger(__name__)

T = TypeVar("T")

#: lock_not_available, deadlock_detected, serialization_failure (PostgreSQL Appendix A).
LOCK_SQLSTATES = frozenset({"55P03", "40P01", "40001"})
_LOCK_WORDS = ("database is locked", "database table is locked", "lock timeout")


def is_lock_error(exc: BaseException) -> bool:
    """Whether ``exc`` is a database lock that may clear by itself."""
    if not isinstance(exc, OperationalError):
        return False
    if getattr(exc.__cause__, "sqlstate", None) in LOCK_SQLSTATES:
        return True
    text = str(exc).lower()
    return any(words in text for words in _LOCK_WORDS)


def retry_on_lock(fn: Callable[[], T], *, what: str = "a database write", atomic: bool = True) -> T:
    """``fn()``, tried again while it fails on a database lock (``DB_LOCK_TRIES`` in all,
    waiting ``DB_LOCK_BACKOFF_SECONDS`` × 1, 2, 4… between tries); the last error is raised.

    With ``atomic`` each try runs in its own transaction (a savepoint inside an outer one),
    so a failed try leaves nothing half-written and never poisons the caller's transaction;
    pass ``atomic=False`` for work that must commit as it goes (it must be safe to repeat).
    """
    tries = max(1, settings.DB_LOCK_TRIES)
    for attempt in range(tries):
        try:
            if atomic:
                with transaction.atomic():
                    return fn()
            return fn()
        except OperationalError as exc:
            if not is_lock_error(exc) or attempt == tries - 1:
                raise
            wait = settings.DB_LOCK_BACKOFF_SECONDS * 2**attempt
            log.warning("%s met a database lock; trying again in %.2f s", what, wait)
            time.sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover
