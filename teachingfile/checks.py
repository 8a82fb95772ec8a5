"""Startup checks of the secrets and the trusted proxies: each missing or unusable one is
named, with its environment variable and a command that makes a good one (``manage.py
check``). gunicorn and the Celery worker run them too (``exit_if_misconfigured``) and
refuse to start, since neither runs Django's checks by itself."""

import ipaddress
import sys

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured

#: The de-identification engine refuses shorter secrets (anonymizer.keys.Keys).
DEID_SECRET_MIN_BYTES = 16
#: What ``check --deploy`` asks for: as long as a generated one.
DEID_SECRET_GOOD_LENGTH = 32
#: Django's own advice (security.W009): a signing key anyone can guess signs anything.
SECRET_KEY_MIN_LENGTH = 32

MAKE_TOKEN = 'python3 -c "import secrets; print(secrets.token_urlsafe(50))"'
MAKE_FERNET_KEY = (
    'python3 -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)
DEV_HINT = "or set TEACHINGFILE_DEV=1 for a development setup, which keeps its own"

SECRETS = {  # setting -> (environment variable, how to make one)
    "SECRET_KEY": ("DJANGO_SECRET_KEY", MAKE_TOKEN),
    "DEID_SECRET": ("TEACHINGFILE_DEID_SECRET", MAKE_TOKEN),
    "REID_ENCRYPTION_KEY": ("TEACHINGFILE_REID_KEY", MAKE_FERNET_KEY),
}


def _setting(name: str) -> str:
    """A secret setting's value; "" when unset. Django refuses to even read an empty
    SECRET_KEY (ImproperlyConfigured), which is why a missing one used to be a traceback
    instead of this check's message."""
    try:
        return str(getattr(settings, name, "") or "")
    except ImproperlyConfigured:
        return ""


def _hint(variable: str, make: str, *, missing: bool = False) -> str:
    hint = f"Set {variable} in the environment to a new secret made with:  {make}"
    return f"{hint}  ({DEV_HINT})." if missing else hint


@register()
def check_secrets(app_configs: object, **kwargs: object) -> list[Error]:
    errors = []
    for name, (variable, make) in SECRETS.items():
        if not _setting(name):
            errors.append(
                Error(
                    f"{variable} is not set.",
                    hint=_hint(variable, make, missing=True),
                    id="teachingfile.E001",
                )
            )
    reid_key = _setting("REID_ENCRYPTION_KEY")
    if reid_key:
        from cryptography.fernet import Fernet

        try:
            Fernet(reid_key.encode())
        except (ValueError, TypeError):
            errors.append(
                Error(
                    "TEACHINGFILE_REID_KEY is not a valid Fernet key (32 bytes in URL-safe "
                    "base64): re-identification keys could not be stored.",
                    hint=_hint("TEACHINGFILE_REID_KEY", MAKE_FERNET_KEY)
                    + "  Once keys are stored, changing it makes them unreadable.",
                    id="teachingfile.E002",
                )
            )
    secret_key = _setting("SECRET_KEY")
    if secret_key and len(secret_key) < SECRET_KEY_MIN_LENGTH and not settings.DEV:
        errors.append(
            Error(
                f"DJANGO_SECRET_KEY is shorter than {SECRET_KEY_MIN_LENGTH} characters: "
                "sessions and sign-in could be forged by whoever guesses it.",
                hint=_hint("DJANGO_SECRET_KEY", MAKE_TOKEN),
                id="teachingfile.E005",
            )
        )
    deid_secret = _setting("DEID_SECRET")
    if deid_secret and len(deid_secret.encode()) < DEID_SECRET_MIN_BYTES:
        errors.append(
            Error(
                f"TEACHINGFILE_DEID_SECRET is shorter than {DEID_SECRET_MIN_BYTES} bytes: "
                "de-identification would refuse it.",
                hint=_hint("TEACHINGFILE_DEID_SECRET", MAKE_TOKEN)
                + "  Changing it changes every new UID and date offset.",
                id="teachingfile.E003",
            )
        )
    return errors


@register(Tags.security, deploy=True)
def check_secret_strength(app_configs: object, **kwargs: object) -> list[Warning]:
    deid_secret = _setting("DEID_SECRET")
    if DEID_SECRET_MIN_BYTES <= len(deid_secret.encode()) < DEID_SECRET_GOOD_LENGTH:
        return [
            Warning(
                f"TEACHINGFILE_DEID_SECRET is shorter than {DEID_SECRET_GOOD_LENGTH} "
                "characters; anyone who guesses it can link new UIDs back to the originals.",
                hint=_hint("TEACHINGFILE_DEID_SECRET", MAKE_TOKEN),
                id="teachingfile.W001",
            )
        ]
    return []


@register()
def check_trusted_proxies(app_configs: object, **kwargs: object) -> list[Error]:
    bad = []
    for value in settings.TEACHINGFILE_TRUSTED_PROXIES:
        try:
            ipaddress.ip_network(value.strip(), strict=False)
        except ValueError:
            bad.append(value)
    if not bad:
        return []
    return [
        Error(
            f"TEACHINGFILE_TRUSTED_PROXIES holds {len(bad)} value(s) that are not an IP "
            "address or network: every request would fail.",
            hint="Give a comma-separated list such as 10.0.0.2,172.30.253.0/24.",
            id="teachingfile.E004",
        )
    ]


def exit_if_misconfigured() -> None:
    """Stop a server process (gunicorn, the Celery worker) that could not work safely."""
    errors = check_secrets(None) + check_trusted_proxies(None)
    if errors:
        for error in errors:
            print(f"Teachingfile cannot start: {error.msg}\n  {error.hint}", file=sys.stderr)
        raise SystemExit(1)
