"""Startup in production mode: every missing or unusable secret is a named check error with
a way to make a good one, never a traceback; demo accounts only in development mode; the
development mode's files are owner-only and the broker keeps its folders under var/."""

import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]

GOOD = {
    "DJANGO_SETTINGS_MODULE": "teachingfile.settings",
    "DJANGO_SECRET_KEY": "startup-check-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
    "DJANGO_ALLOWED_HOSTS": "teachingfile.example.org",
    "TEACHINGFILE_DEID_SECRET": "startup-check-deid-secret-0123456789-abcdef",
    "TEACHINGFILE_REID_KEY": Fernet.generate_key().decode(),
}


def _manage(
    tmp_path: Path, *args: str, env: dict[str, str], cwd: Path = ROOT
) -> subprocess.CompletedProcess:
    """manage.py with a clean environment: nothing of ours or Django's from the outside
    (so no TEACHINGFILE_DEV), the var folder in ``tmp_path``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TEACHINGFILE", "DJANGO"))}
    clean.update({"TEACHINGFILE_VAR_DIR": str(tmp_path / "var"), **env})
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=cwd,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _without(name: str) -> dict[str, str]:
    return {k: v for k, v in GOOD.items() if k != name}


def test_good_production_secrets_pass_check_deploy(tmp_path):
    result = _manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", env=GOOD)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("variable", "how"),
    [
        ("DJANGO_SECRET_KEY", "secrets.token_urlsafe"),
        ("TEACHINGFILE_DEID_SECRET", "secrets.token_urlsafe"),
        ("TEACHINGFILE_REID_KEY", "Fernet.generate_key()"),
    ],
)
def test_a_missing_secret_is_named_with_how_to_make_one_and_no_traceback(tmp_path, variable, how):
    result = _manage(tmp_path, "check", "--deploy", env=_without(variable))
    assert result.returncode != 0
    assert f"(teachingfile.E001) {variable} is not set." in result.stderr, result.stderr
    assert how in result.stderr and "TEACHINGFILE_DEV=1" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_re_identification_key_that_fernet_refuses_is_an_error(tmp_path):
    env = {**GOOD, "TEACHINGFILE_REID_KEY": "dGVzdA=="}  # base64, but 4 bytes
    result = _manage(tmp_path, "check", "--deploy", env=env)
    assert result.returncode != 0
    assert "(teachingfile.E002) TEACHINGFILE_REID_KEY is not a valid Fernet key" in result.stderr
    assert "Fernet.generate_key()" in result.stderr and "Traceback" not in result.stderr


def test_a_de_identification_secret_too_short_for_the_engine_is_an_error(tmp_path):
    result = _manage(tmp_path, "check", env={**GOOD, "TEACHINGFILE_DEID_SECRET": "deid-secret"})
    assert result.returncode != 0
    assert "(teachingfile.E003) TEACHINGFILE_DEID_SECRET is shorter than 16 bytes" in (
        result.stderr
    )


def test_a_short_de_identification_secret_is_a_deploy_warning(tmp_path):
    env = {**GOOD, "TEACHINGFILE_DEID_SECRET": "twenty-characters-ok"}
    assert _manage(tmp_path, "check", env=env).returncode == 0
    result = _manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode != 0
    assert "teachingfile.W001" in result.stderr


@pytest.mark.parametrize(
    ("env", "error"),
    [
        ({"DJANGO_SECRET_KEY": "abc"}, "(teachingfile.E005) DJANGO_SECRET_KEY is shorter"),
        ({"TEACHINGFILE_TRUSTED_PROXIES": "not-an-ip"}, "(teachingfile.E004)"),
    ],
)
def test_a_guessable_signing_key_or_an_unreadable_proxy_list_is_an_error(tmp_path, env, error):
    result = _manage(tmp_path, "check", env={**GOOD, **env})
    assert result.returncode != 0 and error in result.stderr, result.stderr


def test_gunicorn_and_the_worker_refuse_to_start_without_their_secrets(tmp_path):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TEACHINGFILE", "DJANGO"))}
    clean.update(
        {"TEACHINGFILE_VAR_DIR": str(tmp_path / "var"), **_without("TEACHINGFILE_REID_KEY")}
    )
    for code in (
        "import teachingfile.wsgi",
        "from teachingfile.celery import _refuse_to_start_misconfigured as f; f()",
    ):
        result = subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env=clean,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 1, result.stderr
        assert "Teachingfile cannot start: TEACHINGFILE_REID_KEY is not set." in result.stderr


def test_demo_accounts_are_refused_outside_development_mode(tmp_path):
    result = _manage(tmp_path, "ensure_demo_accounts", env=GOOD)
    assert result.returncode != 0
    assert "only made in development mode (TEACHINGFILE_DEV=1" in result.stderr
    assert "Traceback" not in result.stderr
    assert "author" not in result.stdout


@pytest.mark.django_db
def test_the_demo_accounts_command_creates_nothing_outside_development_mode(settings):
    from django.contrib.auth.models import User
    from django.core.management import CommandError, call_command

    settings.DEV = False
    with pytest.raises(CommandError, match="development mode"):
        call_command("ensure_demo_accounts")
    assert not User.objects.exists()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_development_files_are_owner_only_even_if_an_older_run_left_them_open(tmp_path):
    var = tmp_path / "var"
    var.mkdir(mode=0o755)
    var.chmod(0o755)
    database = var / "teachingfile.sqlite3"
    sqlite3.connect(database).close()
    database.chmod(0o644)
    dev = {"TEACHINGFILE_DEV": "1"}
    result = _manage(tmp_path, "shell", "-v", "0", "-c", "pass", env=dev)
    assert result.returncode == 0, result.stderr
    assert _mode(var) == 0o700
    assert _mode(var / "secrets.json") == 0o600
    assert _mode(database) == 0o600


def test_a_new_development_database_is_created_owner_only(tmp_path):
    result = _manage(tmp_path, "migrate", "--noinput", "-v", "0", env={"TEACHINGFILE_DEV": "1"})
    assert result.returncode == 0, result.stderr
    var = tmp_path / "var"
    assert _mode(var) == 0o700
    assert _mode(var / "teachingfile.sqlite3") == 0o600
    assert _mode(var / "secrets.json") == 0o600


def test_the_filesystem_broker_keeps_its_control_folder_under_var(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    send = "from teachingfile.tasks import worker_health; worker_health.delay()"
    result = _manage(
        tmp_path, "shell", "-v", "0", "-c", send, env={"TEACHINGFILE_DEV": "1"}, cwd=elsewhere
    )
    assert result.returncode == 0, result.stderr
    assert not (elsewhere / "control").exists()
    assert any((tmp_path / "var" / "broker" / "control").iterdir())
    assert any((tmp_path / "var" / "broker" / "queue").iterdir())
