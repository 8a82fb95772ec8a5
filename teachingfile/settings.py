"""Settings, read from environment variables with safe defaults.

One module for every mode. Production differs only by environment:

- ``TEACHINGFILE_DEV=1`` turns on DEBUG and lets the app invent and keep its own secrets
  under ``var/`` (the run command sets it). Without it DEBUG is off and every secret
  must come from the environment (``manage.py check --deploy`` passes).
- ``DATABASE_URL`` (default: SQLite under ``var/``), ``REDIS_URL`` (broker and results;
  without it an embedded filesystem broker under ``var/`` works across processes).
- Storage roots: raw incoming files (PHI, owner-only, never served), quarantine (PHI,
  owner-only), first-pass working files, and published files.
"""

from datetime import timedelta
from pathlib import Path

import environ

from teachingfile.dev_secrets import dev_secret, owner_only_dir

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
DEV = env.bool("TEACHINGFILE_DEV", default=False)
VAR_DIR = Path(env.str("TEACHINGFILE_VAR_DIR", default=str(BASE_DIR / "var")))
if DEV:  # the dev database, secrets, broker and files live here: owner-only
    owner_only_dir(VAR_DIR)


def _secret(name: str) -> str:
    """A secret from the environment; in dev mode one kept in ``var/secrets.json``."""
    value = env.str(name, default="")
    if value or not DEV:
        return value
    return dev_secret(VAR_DIR / "secrets.json", name)


DEBUG = env.bool("DJANGO_DEBUG", default=DEV)
SECRET_KEY = _secret("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEV else []
)
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",  # log-in throttling; before accounts, whose audit receivers read its verdict
    "csp",
    "teachingfile",
    "accounts",
    "cases",
    "pacs_bridge",
]

MIDDLEWARE = [
    # First: X-Forwarded-* only from TEACHINGFILE_TRUSTED_PROXIES, before anything reads them.
    "teachingfile.middleware.TrustedProxyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # After WhiteNoise: static files carry no policy (as under runserver and live_server).
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "teachingfile.middleware.IdleSessionMiddleware",
    "teachingfile.middleware.NoStoreMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks
]

ROOT_URLCONF = "teachingfile.urls"
WSGI_APPLICATION = "teachingfile.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.roles",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'teachingfile.sqlite3'}")
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Several processes (web, worker, listener) share the file: wait for locks.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
FRONTEND_DIST = BASE_DIR / "frontend" / "dist"
STATICFILES_DIRS = [BASE_DIR / "static", ("viewer", FRONTEND_DIST)]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEV
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_MIMETYPES = {".wasm": "application/wasm"}

# --- Storage roots -----------------------------------------------------------------
# Raw files as received from a PACS or upload: PHI. Owner-only, never served, deleted
# once the first pass is done.
INCOMING_ROOT = Path(env.str("TEACHINGFILE_INCOMING_ROOT", default=str(VAR_DIR / "incoming")))
# Files that could not be made safe: may hold PHI. Owner-only, never served.
QUARANTINE_ROOT = Path(env.str("TEACHINGFILE_QUARANTINE_ROOT", default=str(VAR_DIR / "quarantine")))
# First-pass (header de-identified) files the author edits; served to authors only.
WORKING_ROOT = Path(env.str("TEACHINGFILE_WORKING_ROOT", default=str(VAR_DIR / "working")))
# Second-pass files of published cases; served to signed-in users.
PUBLISHED_ROOT = Path(env.str("TEACHINGFILE_PUBLISHED_ROOT", default=str(VAR_DIR / "published")))
PRIVATE_STORAGE_ROOTS = (INCOMING_ROOT, QUARANTINE_ROOT)

# --- Uploads ---------------------------------------------------------------------------
# An upload streams to disk (INCOMING_ROOT/uploads/.partial), never into memory; more files
# or bytes than these are refused with a message while the request is received, nothing
# kept. A worker then converts and de-identifies each file on its own (cases/uploads.py).
UPLOAD_MAX_FILES = env.int("TEACHINGFILE_UPLOAD_MAX_FILES", default=1000)
UPLOAD_MAX_FILE_BYTES = env.int("TEACHINGFILE_UPLOAD_MAX_FILE_BYTES", default=512 * 2**20)
UPLOAD_MAX_TOTAL_BYTES = env.int("TEACHINGFILE_UPLOAD_MAX_TOTAL_BYTES", default=2 * 2**30)
# A picture (JPEG/PNG) above this many pixels is refused from its header, before decoding.
# 25 MP holds a phone's 12 MP photo and a 24 MP camera's; the first pass (text detection
# and OCR of the whole picture) peaks near 1 GB at 12 MP and 2 GB at 24 MP, and a
# 7900 x 7900 PNG (62 MP) would need far more. Converting one picture needs its decoded
# pixels once (about 100 MB at 25 MP) plus a few megabytes.
UPLOAD_MAX_IMAGE_PIXELS = env.int("TEACHINGFILE_UPLOAD_MAX_IMAGE_PIXELS", default=25_000_000)
# All the pictures of one upload together (each costs the worker's text detection).
UPLOAD_MAX_TOTAL_PIXELS = env.int("TEACHINGFILE_UPLOAD_MAX_TOTAL_PIXELS", default=100_000_000)
# Django's own count check (a bare 400) must not come before ours (a message).
DATA_UPLOAD_MAX_NUMBER_FILES = UPLOAD_MAX_FILES + 1

# --- De-identification keys ---------------------------------------------------------
# Keyed hashes for UIDs, date offsets and pseudonyms. Changing it changes every mapping.
DEID_SECRET = _secret("TEACHINGFILE_DEID_SECRET")
# Fernet key that encrypts the re-identification mapping (admin-only).
REID_ENCRYPTION_KEY = _secret("TEACHINGFILE_REID_KEY")

# --- DICOM -----------------------------------------------------------------------------
DICOM_AE_TITLE = env.str("TEACHINGFILE_AE_TITLE", default="TEACHFILE")
DICOM_LISTEN_HOST = env.str("TEACHINGFILE_DICOM_HOST", default="127.0.0.1")
DICOM_LISTEN_PORT = env.int("TEACHINGFILE_DICOM_PORT", default=11112)
# The listener's limits (ADR 0006): associations at once, and bytes received but not
# yet stored across them (an instance beyond is refused with 0xA700, Out of Resources).
DICOM_MAX_ASSOCIATIONS = env.int("TEACHINGFILE_DICOM_MAX_ASSOCIATIONS", default=8)
DICOM_MAX_BYTES_IN_FLIGHT = env.int("TEACHINGFILE_DICOM_MAX_BYTES_IN_FLIGHT", default=4 << 30)

# --- Celery -----------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
CELERY_RESULT_BACKEND = env.str(
    "CELERY_RESULT_BACKEND", default=REDIS_URL or f"file://{VAR_DIR / 'celery-results'}"
)
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # The queue folder must be the same for producers and consumers.
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        # Where kombu keeps its exchange tables (default: "control" in the working folder).
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
        "polling_interval": 0.1,
    }
# The embedded broker and result store are plain folders; both ends need them to exist.
for _url, _folders in (
    (CELERY_BROKER_URL, [BROKER_DIR / "queue", BROKER_DIR / "processed", BROKER_DIR / "control"]),
    (CELERY_RESULT_BACKEND, [VAR_DIR / "celery-results"]),
):
    if _url.startswith(("filesystem://", "file://")):
        for _folder in _folders:
            _folder.mkdir(parents=True, exist_ok=True)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)

# --- Security (production unless DEV) -------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = not DEV
CSRF_COOKIE_SECURE = not DEV
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEV)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # the container's own health check speaks plain HTTP
# The reverse proxies (IPs or CIDRs) whose X-Forwarded-Proto/-For are believed; empty: none.
# teachingfile.middleware.TrustedProxyMiddleware strips X-Forwarded-* from anyone else,
# so the header below only ever comes from one of them.
TEACHINGFILE_TRUSTED_PROXIES = env.list("TEACHINGFILE_TRUSTED_PROXIES", default=[])
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=0 if DEV else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEV
SECURE_HSTS_PRELOAD = not DEV
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Sessions: signed out after this many minutes without a request (IdleSessionMiddleware),
# and by default when the browser closes. Sessions hold no PHI and no original UIDs
# (PACS search results are server-side tokens, pacs_bridge.search_tokens).
SESSION_IDLE_TIMEOUT = env.int("TEACHINGFILE_SESSION_IDLE_MINUTES", default=30) * 60
SESSION_COOKIE_AGE = SESSION_IDLE_TIMEOUT
SESSION_EXPIRE_AT_BROWSER_CLOSE = env.bool("TEACHINGFILE_SESSION_EXPIRE_AT_CLOSE", default=True)
PACS_SEARCH_TOKEN_TTL = timedelta(hours=env.float("TEACHINGFILE_PACS_TOKEN_HOURS", default=2))

# Log-in throttling (django-axes): after N failures for one username from one address,
# that pair is refused for the cool-off (each failure meanwhile restarts it). Every
# success, failure and lock-out is in the audit log (accounts.signals).
AUTHENTICATION_BACKENDS = [
    "accounts.backends.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("TEACHINGFILE_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("TEACHINGFILE_LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.views.locked_out"  # the sign-in page with a message, 429
AXES_DISABLE_ACCESS_LOG = True  # successful sign-ins are in our audit log instead
AXES_VERBOSE = False

# Content-Security-Policy (django-csp 4). No inline script or style anywhere (data for
# the TypeScript side goes through json_script); cornerstone's image codecs compile
# WebAssembly, which needs 'wasm-unsafe-eval' (not 'unsafe-eval').
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", "'wasm-unsafe-eval'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],  # cornerstone's tool cursors are blob: SVGs
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
if env.str("TEACHINGFILE_CSP_REPORT_URI", default=""):
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["report-uri"] = env.str("TEACHINGFILE_CSP_REPORT_URI")
SILENCED_SYSTEM_CHECKS = env.list("DJANGO_SILENCED_SYSTEM_CHECKS", default=[])

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # pynetdicom logs dataset contents at DEBUG: never let PHI reach the log.
    "loggers": {"pynetdicom": {"level": "WARNING"}},
}

# --- Stuck work ------------------------------------------------------------------------
# Import jobs and publishes write a heartbeat while a worker runs them. The sweeper
# (teachingfile/sweeper.py: a Celery beat task every SWEEP_EVERY_SECONDS, and
# `manage.py sweep_stuck_work` for cron) re-runs or ends work whose worker stopped (no
# heartbeat for STUCK_AFTER_SECONDS) or that no worker took (queued for
# QUEUED_TOO_LONG_SECONDS): an import is started again at most STUCK_MAX_ATTEMPTS times,
# then failed with its reason and its raw files deleted; a publish goes back to draft.
STUCK_AFTER_SECONDS = env.int("TEACHINGFILE_STUCK_AFTER_SECONDS", default=600)
QUEUED_TOO_LONG_SECONDS = env.int("TEACHINGFILE_QUEUED_TOO_LONG_SECONDS", default=1800)
STUCK_MAX_ATTEMPTS = env.int("TEACHINGFILE_STUCK_MAX_ATTEMPTS", default=3)
# A failed or incomplete import keeps the original UIDs it needs for "retry" this long.
RETRY_KEEP_SECONDS = env.int("TEACHINGFILE_RETRY_KEEP_SECONDS", default=7 * 24 * 3600)
SWEEP_EVERY_SECONDS = env.int("TEACHINGFILE_SWEEP_EVERY_SECONDS", default=60)
# A write that meets a short database lock ("database is locked", a PostgreSQL lock
# timeout or deadlock) is tried this many times, waiting 1, 2, 4… times the backoff.
DB_LOCK_TRIES = env.int("TEACHINGFILE_DB_LOCK_TRIES", default=5)
DB_LOCK_BACKOFF_SECONDS = env.float("TEACHINGFILE_DB_LOCK_BACKOFF_SECONDS", default=0.5)
CELERY_BEAT_SCHEDULE = {
    "sweep-stuck-work": {
        "task": "teachingfile.sweep_stuck_work",
        "schedule": SWEEP_EVERY_SECONDS,
        # A sweep that waited longer than the next one is dropped (no pile-up while the
        # worker is down).
        "options": {"expires": SWEEP_EVERY_SECONDS},
    }
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
