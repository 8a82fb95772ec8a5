"""Health of the parts the app needs: database, broker, storage roots.

The database is asked for what every request needs — a read, and the locks a write takes
— inside a transaction that is rolled back, on a connection of its own, under a deadline:
a database that is locked or does not answer is reported unavailable within
``DB_TIMEOUT_SECONDS``, never waited for.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from django.conf import settings
from django.db import connections

#: How long the database may take to answer the health probe.
DB_TIMEOUT_SECONDS = 2.0

# At most one probe waits on the database at a time: while one is stuck, the next health
# request answers "unavailable" at once instead of starting (and leaking) another thread.
_probe_running = threading.Lock()


def _probe_tables() -> list[str]:
    from django.contrib.sessions.models import Session

    from cases.models import Case

    return [Session._meta.db_table, Case._meta.db_table]


def _probe(result: dict[str, Any], timeout: float) -> None:
    """Runs in its own thread, so on its own connection (Django's are per thread)."""
    connection = connections["default"]
    try:
        tables = [connection.ops.quote_name(t) for t in _probe_tables()]
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                # The write lock, as any write takes it; a reader alone would not notice
                # a writer holding the database.
                cursor.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
                cursor.execute("BEGIN IMMEDIATE")
            else:
                cursor.execute("BEGIN")
            try:
                if connection.vendor == "postgresql":
                    milliseconds = int(timeout * 1000)
                    cursor.execute(f"SET LOCAL statement_timeout = {milliseconds}")
                    cursor.execute(f"SET LOCAL lock_timeout = {milliseconds}")
                    # The lock an INSERT or UPDATE takes: waits behind LOCK TABLE, a
                    # migration's schema change or anything else that stops writes.
                    cursor.execute(f"LOCK TABLE {', '.join(tables)} IN ROW EXCLUSIVE MODE")
                for table in tables:
                    cursor.execute(f"SELECT 1 FROM {table} LIMIT 1")  # table names from our models
                    cursor.fetchall()
            finally:
                cursor.execute("ROLLBACK")
        result.update(ok=True, vendor=connection.vendor)
    except Exception as exc:
        result.update(ok=False, error=exc.__class__.__name__)
    finally:
        connection.close()
        _probe_running.release()


def check_database(timeout: float | None = None) -> dict[str, Any]:
    timeout = DB_TIMEOUT_SECONDS if timeout is None else timeout
    if not _probe_running.acquire(blocking=False):
        return {"ok": False, "error": "an earlier probe has not finished"}
    result: dict[str, Any] = {}
    try:
        thread = threading.Thread(
            target=_probe, args=(result, timeout), name="healthz-db", daemon=True
        )
        thread.start()
    except BaseException:
        _probe_running.release()
        raise
    thread.join(timeout + 0.5)
    if thread.is_alive():
        return {"ok": False, "error": f"no answer within {timeout:g} s"}
    return dict(result) or {"ok": False, "error": "no answer"}


def check_broker() -> dict[str, Any]:
    from teachingfile.celery import app

    url = settings.CELERY_BROKER_URL
    transport = url.split("://", 1)[0]
    if transport == "filesystem":
        folder = settings.BROKER_DIR / "queue"
        folder.mkdir(parents=True, exist_ok=True)
        return {"ok": os.access(folder, os.W_OK), "transport": transport}
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        return {"ok": False, "transport": transport, "error": exc.__class__.__name__}
    return {"ok": True, "transport": transport}


def check_storage() -> dict[str, Any]:
    from cases import storage

    roots = {}
    for root in storage.all_roots():
        try:
            storage.ensure_root(root)
            roots[root.name] = os.access(root, os.W_OK)
        except OSError:
            roots[root.name] = False
    return {"ok": all(roots.values()), "roots": roots}


def health() -> dict[str, Any]:
    """The full report (for staff): each part with what it is and what went wrong."""
    checks = {
        "database": check_database(),
        "broker": check_broker(),
        "storage": check_storage(),
    }
    return {"status": "ok" if all(c["ok"] for c in checks.values()) else "error", **checks}
