"""Startup checks of the secrets: each missing or unusable one is named, with its
environment variable and a command that makes a good one (``manage.py check``)."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured

#: The de-identification engine refuses shorter secrets (anonymizer.keys.Keys).
DEID_SECRET_MIN_BYTES = 16
#: What ``check --deploy`` asks for: as long as a generated one.
DEID_SECRET_GOOD_LENGTH = 32

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
