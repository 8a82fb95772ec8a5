"""Health of the parts the app needs: database, broker, storage roots."""

import os
from typing import Any

from django.conf import settings
from django.db import connection


def check_database() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return {"ok": False, "error": exc.__class__.__name__}
    return {"ok": True, "vendor": connection.vendor}


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
    checks = {
        "database": check_database(),
        "broker": check_broker(),
        "storage": check_storage(),
    }
    return {"status": "ok" if all(c["ok"] for c in checks.values()) else "error", **checks}
