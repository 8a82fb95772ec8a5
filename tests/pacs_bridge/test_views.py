"""The author's PACS pages against the demo PACS on loopback (no worker needed)."""

import socket

import pytest
from django.urls import reverse

from cases.models import ImportJob
from pacs_bridge import search_tokens
from pacs_bridge.models import PacsNode, SearchToken
from pacs_bridge.search_tokens import search_token_resolve

pytestmark = pytest.mark.django_db


def test_search_is_posted_and_results_open_through_opaque_tokens(client, author, node):
    client.force_login(author)
    response = client.post(
        reverse("pacs_bridge:search"), {"node": node.pk, "patient_id": "DEMO-0001"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "DEMO^CHEST CT" in page
    (row,) = SearchToken.objects.filter(user=author)
    token = row.token
    study_uid = search_token_resolve(user=author, node=node, token=token)
    assert study_uid not in page  # original UIDs never reach a URL or the page
    response = client.get(reverse("pacs_bridge:study", args=[node.pk, token]))
    assert response.status_code == 200
    assert "CT" in response.content.decode()


def test_an_unreachable_pacs_is_explained_on_the_search_page(client, author):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dead = PacsNode.objects.create(name="Dead", ae_title="DEAD", host="127.0.0.1", port=port)
    client.force_login(author)
    response = client.post(reverse("pacs_bridge:search"), {"node": dead.pk, "patient_id": "X"})
    assert "did not answer" in response.content.decode()


def test_choosing_series_starts_an_import_job_for_a_new_draft_case(client, author, node):
    client.force_login(author)
    [token] = search_tokens.search_tokens_issue(
        user=author, node=node, study_instance_uids=["1.2.3"]
    )
    response = client.post(
        reverse("pacs_bridge:import_start"),
        {"node": node.pk, "token": token, "series": ["1.2.3.4"]},
    )
    job = ImportJob.objects.get()
    assert response["Location"] == reverse("pacs_bridge:job", args=[job.pk])
    assert job.case.author == author and job.status == ImportJob.Status.QUEUED
    status = client.get(reverse("pacs_bridge:job_status", args=[job.pk])).json()
    assert status["status"] == "queued" and "1.2.3" not in str(status)


def test_an_import_names_its_study_by_the_search_token_never_by_uid(
    client, author, node, make_user
):
    from accounts.roles import Role

    other = make_user("other-author", Role.AUTHOR)
    [token] = search_tokens.search_tokens_issue(
        user=other, node=node, study_instance_uids=["1.2.3"]
    )
    client.force_login(author)
    response = client.post(
        reverse("pacs_bridge:import_start"),
        {"node": node.pk, "token": token, "series": ["1.2.3.4"]},
        follow=True,
    )
    assert "expired" in response.content.decode()
    assert not ImportJob.objects.exists()
