"""Server-side tokens for the studies of a PACS search (writes and reads).

The search page links each match through an opaque token; the original Study Instance
UID behind it is kept encrypted in the database (``SearchToken``), only for the author
who searched and only for ``settings.PACS_SEARCH_TOKEN_TTL``. Nothing from the PACS goes
into the session.
"""

import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from cases.ingest import reid_decrypt, reid_encrypt
from pacs_bridge.models import PacsNode, SearchToken


def search_tokens_issue(
    *, user: AbstractBaseUser, node: PacsNode, study_instance_uids: list[str]
) -> list[str]:
    """One new token per study, in order. Expired tokens of everyone are purged first."""
    search_tokens_purge_expired()
    expires_at = timezone.now() + settings.PACS_SEARCH_TOKEN_TTL
    rows = [
        SearchToken(
            token=secrets.token_urlsafe(16),
            user=user,
            node=node,
            study_ciphertext=reid_encrypt({"study": uid}),
            expires_at=expires_at,
        )
        for uid in study_instance_uids
    ]
    SearchToken.objects.bulk_create(rows)
    return [row.token for row in rows]


def search_token_resolve(*, user: AbstractBaseUser, node: PacsNode, token: str) -> str | None:
    """The Study Instance UID behind ``token``, if it is this user's, for this node, and
    not expired; otherwise None."""
    row = SearchToken.objects.filter(
        token=token, user=user, node=node, expires_at__gt=timezone.now()
    ).first()
    if row is None:
        return None
    return str(reid_decrypt(row.study_ciphertext)["study"])


def search_tokens_purge_expired() -> int:
    """Delete every expired token; returns how many."""
    deleted, _ = SearchToken.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted
