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

from pathlib import Path

import environ

from teachingfile.dev_secrets import dev_secret

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
DEV = env.bool("TEACHINGFILE_DEV", default=False)
VAR_DIR = Path(env.str("TEACHINGFILE_VAR_DIR", default=str(BASE_DIR / "var")))


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
    "teachingfile",
    "accounts",
    "cases",
    "pacs_bridge",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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

# --- De-identification keys ---------------------------------------------------------
# Keyed hashes for UIDs, date offsets and pseudonyms. Changing it changes every mapping.
DEID_SECRET = _secret("TEACHINGFILE_DEID_SECRET")
# Fernet key that encrypts the re-identification mapping (admin-only).
REID_ENCRYPTION_KEY = _secret("TEACHINGFILE_REID_KEY")

# --- DICOM -----------------------------------------------------------------------------
DICOM_AE_TITLE = env.str("TEACHINGFILE_AE_TITLE", default="TEACHFILE")
DICOM_LISTEN_HOST = env.str("TEACHINGFILE_DICOM_HOST", default="127.0.0.1")
DICOM_LISTEN_PORT = env.int("TEACHINGFILE_DICOM_PORT", default=11112)

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
        "store_processed": False,
        "polling_interval": 0.1,
    }
# The embedded broker and result store are plain folders; both ends need them to exist.
for _url, _folders in (
    (CELERY_BROKER_URL, [BROKER_DIR / "queue", BROKER_DIR / "processed"]),
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
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=0 if DEV else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEV
SECURE_HSTS_PRELOAD = not DEV
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
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
