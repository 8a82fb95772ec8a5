"""/healthz: a real database round trip under a deadline; anyone learns only "ok" or
"unavailable", staff get the report of each part."""

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from django.db import connection
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def broker_down(settings):
    from teachingfile.celery import app

    old = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    yield
    app.conf.broker_url = old


@pytest.mark.django_db
def test_staff_see_database_broker_and_storage_as_green_json(client, admin_user):
    client.force_login(admin_user)
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    report = response.json()
    assert report["status"] == "ok"
    assert report["database"] == {"ok": True, "vendor": "postgresql"}
    assert report["broker"]["ok"] is True
    assert report["broker"]["transport"] == "redis"
    assert set(report["storage"]["roots"]) == {"incoming", "quarantine", "working", "published"}


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["anonymous", "author"])
def test_everyone_else_learns_only_ok(client, author, who):
    if who == "author":
        client.force_login(author)
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.content == b"ok\n"
    assert response["Content-Type"].startswith("text/plain")
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_is_503_when_the_broker_is_down(client, admin_user, broker_down):
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.content == b"unavailable\n"
    client.force_login(admin_user)
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["broker"]["ok"] is False


@pytest.fixture
def table_locked(db):
    """Another session holds the lock a schema change takes on the cases table."""
    params = connection.settings_dict
    other = psycopg.connect(
        dbname=connection.settings_dict["NAME"],
        user=params["USER"] or None,
        password=params["PASSWORD"] or None,
        host=params["HOST"] or None,
        port=params["PORT"] or None,
        autocommit=False,
    )
    other.execute("SET lock_timeout = '5s'")
    other.execute("LOCK TABLE cases_case IN ACCESS EXCLUSIVE MODE")
    yield
    other.rollback()
    other.close()


def test_a_locked_postgresql_table_is_unavailable_within_the_deadline(
    client, table_locked, monkeypatch
):
    from teachingfile import health

    monkeypatch.setattr(health, "DB_TIMEOUT_SECONDS", 0.5)
    started = time.monotonic()
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.content == b"unavailable\n"
    assert time.monotonic() - started < 3
    assert health.check_database(timeout=0.5)["ok"] is False


PROBE = """
from teachingfile.health import check_database
print(check_database(timeout=0.5))
"""


def test_a_locked_sqlite_database_is_unavailable(tmp_path):
    """A writer holding the database (the dev default) makes the probe fail in time."""
    database = tmp_path / "locked.sqlite3"
    with sqlite3.connect(database) as db:
        db.execute("CREATE TABLE django_session (session_key TEXT)")
        db.execute("CREATE TABLE cases_case (id INTEGER)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEACHINGFILE", "DJANGO"))}
    env.update(
        TEACHINGFILE_DEV="1",
        TEACHINGFILE_VAR_DIR=str(tmp_path / "var"),
        DATABASE_URL=f"sqlite:///{database}",
    )

    def probe() -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", "shell", "-v", "0", "-c", PROBE],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert "'ok': True" in probe()
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO cases_case VALUES (1)")
    try:
        answer = probe()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "'ok': False" in answer and "OperationalError" in answer
