"""PACS search results are opened through server-side tokens: the session holds nothing
from the PACS, the study UID is stored encrypted, and a token is its author's alone."""

import json
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from pacs_bridge.models import PacsNode, SearchToken
from pacs_bridge.search_tokens import (
    search_token_resolve,
    search_tokens_issue,
    search_tokens_purge_expired,
)

pytestmark = pytest.mark.django_db


def _search(client, node, **fields):
    response = client.post(reverse("pacs_bridge:search"), {"node": node.pk, **fields})
    assert response.status_code == 200
    return response


def _stored_session(client) -> str:
    """Everything the session store holds for this client, decoded."""
    key = client.cookies["sessionid"].value
    return json.dumps(Session.objects.get(session_key=key).get_decoded())


def test_after_a_search_the_session_holds_no_uid_and_no_patient_name(client, author, node):
    client.force_login(author)
    page = _search(client, node, patient_name="DEMO*").content.decode()
    assert "DEMO^CHEST CT" in page  # the author sees the results...
    rows = SearchToken.objects.filter(user=author)
    assert rows.count() >= 2
    uids = [search_token_resolve(user=author, node=node, token=r.token) for r in rows]
    stored = _stored_session(client)
    for uid in uids:
        assert uid and uid not in stored and uid not in page  # ...and no UID anywhere
    assert "DEMO" not in stored and "pacs" not in stored.lower()
    # In the database the UID is encrypted, not merely encoded.
    for row, uid in zip(rows, uids, strict=True):
        assert uid.encode() not in bytes(row.study_ciphertext)


def test_a_token_opens_the_study_for_its_author_only(client, author, make_user, node):
    client.force_login(author)
    _search(client, node, patient_id="DEMO-0001")
    token = SearchToken.objects.get(user=author).token
    url = reverse("pacs_bridge:study", args=[node.pk, token])
    assert client.get(url).status_code == 200
    client.force_login(make_user("bob", Role.AUTHOR))
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == reverse("pacs_bridge:search")


def test_a_token_is_bound_to_its_node(author, node):
    other = PacsNode.objects.create(name="Other", ae_title="OTHER", host="127.0.0.1", port=1)
    (token,) = search_tokens_issue(user=author, node=node, study_instance_uids=["1.2.3"])
    assert search_token_resolve(user=author, node=node, token=token) == "1.2.3"
    assert search_token_resolve(user=author, node=other, token=token) is None


def test_an_expired_token_does_not_open_and_is_purged(settings, client, author, node):
    (old,) = search_tokens_issue(user=author, node=node, study_instance_uids=["1.2.3"])
    SearchToken.objects.filter(token=old).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert search_token_resolve(user=author, node=node, token=old) is None
    client.force_login(author)
    response = client.get(reverse("pacs_bridge:study", args=[node.pk, old]))
    assert response.status_code == 302
    # The next search purges every expired token.
    (fresh,) = search_tokens_issue(user=author, node=node, study_instance_uids=["1.2.4"])
    assert list(SearchToken.objects.values_list("token", flat=True)) == [fresh]
    row = SearchToken.objects.get()
    ttl = row.expires_at - row.created_at
    assert abs(ttl - settings.PACS_SEARCH_TOKEN_TTL) < timedelta(seconds=5)
    assert timedelta(hours=2) == settings.PACS_SEARCH_TOKEN_TTL
    assert search_tokens_purge_expired() == 0
