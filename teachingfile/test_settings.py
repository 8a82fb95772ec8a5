"""Test overrides only: real PostgreSQL and Redis, fixed secrets, fast hashing.

The Celery worker that integration tests start uses this module too, with the test
database's name and the session's storage folder passed through the environment.
"""

import os
import socket
import tempfile
from pathlib import Path

from teachingfile.settings import *  # noqa: F403
from teachingfile.settings import env

DATABASES = {
    "default": env.db(
        "TEST_DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/teachingfile"
    )
}
if env.str("TEST_DATABASE_NAME", default=""):  # set for the worker subprocess
    DATABASES["default"]["NAME"] = env.str("TEST_DATABASE_NAME")

DEBUG = False
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SECRET_KEY = "test-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
DEID_SECRET = "test-only-deid-secret"
REID_ENCRYPTION_KEY = "dGVzdC1vbmx5LXJlaWQta2V5LTAxMjM0NTY3ODk9PT0="
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

VAR_DIR = Path(
    env.str("TEACHINGFILE_TEST_VAR_DIR", default="") or tempfile.mkdtemp(prefix="tf-test-")
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# Our DICOM listener's port for this test session; subprocesses (the Celery worker)
# inherit it, and the storage folder, through the environment.
DICOM_LISTEN_PORT = env.int("TEACHINGFILE_DICOM_PORT", default=0) or _free_port()
os.environ["TEACHINGFILE_DICOM_PORT"] = str(DICOM_LISTEN_PORT)
os.environ["TEACHINGFILE_TEST_VAR_DIR"] = str(VAR_DIR)
INCOMING_ROOT = VAR_DIR / "incoming"
QUARANTINE_ROOT = VAR_DIR / "quarantine"
WORKING_ROOT = VAR_DIR / "working"
PUBLISHED_ROOT = VAR_DIR / "published"
PRIVATE_STORAGE_ROOTS = (INCOMING_ROOT, QUARANTINE_ROOT)

TEST_REDIS_URL = env.str("TEST_REDIS_URL", default="redis://127.0.0.1:6379/15")
CELERY_BROKER_URL = CELERY_RESULT_BACKEND = TEST_REDIS_URL
# A task of a killed worker comes back after this many seconds (Redis visibility timeout).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 5}
CELERY_TASK_DEFAULT_QUEUE = env.str("TEACHINGFILE_TEST_QUEUE", default="teachingfile-test")
# Stuck work: deadlines in seconds, quick retries of a locked database.
STUCK_AFTER_SECONDS = 3
QUEUED_TOO_LONG_SECONDS = 3
DB_LOCK_BACKOFF_SECONDS = 0.05
