"""A JSON value kept encrypted in the database (Fernet with ``settings.REID_ENCRYPTION_KEY``,
the key of the re-identification mappings).

For values that hold original identifiers while work needs them, such as the original
UIDs an import retrieves (``ImportJob.request``): the code sees a dict, the database a
token. An empty value is stored as "" so that ``filter(field={})`` and
``update(field={})`` still work; anything else cannot be looked up by content.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet
from django.conf import settings
from django.db import models


def seal(value: Any) -> bytes:
    """A Fernet token of ``value``'s JSON (also the re-identification mappings' form)."""
    return Fernet(settings.REID_ENCRYPTION_KEY.encode()).encrypt(json.dumps(value).encode())


def unseal(token: bytes) -> Any:
    return json.loads(Fernet(settings.REID_ENCRYPTION_KEY.encode()).decrypt(bytes(token)))


def encrypt_json(value: Any) -> str:
    """The stored form: "" for an empty value, else a Fernet token of its JSON."""
    return seal(value).decode() if value else ""


def decrypt_json(stored: str | None) -> Any:
    return unseal(stored.encode()) if stored else {}


class EncryptedJSONField(models.TextField):  # type: ignore[type-arg]
    description = "JSON, encrypted at rest"

    def from_db_value(self, value: str | None, expression: object, connection: object) -> Any:
        return decrypt_json(value)

    def to_python(self, value: Any) -> Any:
        return decrypt_json(value) if isinstance(value, str) else (value or {})

    def get_prep_value(self, value: Any) -> str:
        return encrypt_json(value)
