"""Production mode passes `check --deploy`; a missing secret is a clear startup error."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "teachingfile.settings",
    "DJANGO_SECRET_KEY": "k" * 20 + "-production-like-secret-0123456789-abcdefghij",
    "DJANGO_ALLOWED_HOSTS": "teachingfile.example.org",
    "TEACHINGFILE_DEID_SECRET": "production-like-deid-secret-0123456789-abcdef",
    "TEACHINGFILE_REID_KEY": "dGVzdC1vbmx5LXJlaWQta2V5LTAxMjM0NTY3ODk9PT0=",
}


def _manage(tmp_path, *args: str, extra: dict[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEACHINGFILE", "DJANGO"))}
    env.update({"TEACHINGFILE_VAR_DIR": str(tmp_path), **extra})
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_production_settings_pass_check_deploy(tmp_path):
    result = _manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", extra=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_without_secrets_refuses_to_start(tmp_path):
    env = dict(PRODUCTION_ENV)
    del env["TEACHINGFILE_DEID_SECRET"]
    result = _manage(tmp_path, "check", extra=env)
    assert result.returncode != 0
    assert "TEACHINGFILE_DEID_SECRET is not set" in result.stderr


def test_dev_mode_invents_secrets_once_and_keeps_them_private(tmp_path):
    dev = {"TEACHINGFILE_DEV": "1"}
    cmd = "from django.conf import settings; print(settings.DEID_SECRET)"
    first = _manage(tmp_path, "shell", "-v", "0", "-c", cmd, extra=dev)
    second = _manage(tmp_path, "shell", "-v", "0", "-c", cmd, extra=dev)
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    assert len(first.stdout.strip()) > 40
    assert (tmp_path / "secrets.json").stat().st_mode & 0o077 == 0


def test_dev_mode_defaults_to_sqlite_and_the_filesystem_broker(tmp_path):
    cmd = (
        "from django.conf import settings; "
        "print(settings.DATABASES['default']['ENGINE'], settings.CELERY_BROKER_URL)"
    )
    result = _manage(tmp_path, "shell", "-v", "0", "-c", cmd, extra={"TEACHINGFILE_DEV": "1"})
    assert result.stdout.split() == ["django.db.backends.sqlite3", "filesystem://"], result.stderr
