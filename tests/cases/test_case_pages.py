"""The author's case page: the write-up, what stands in the way, and publishing."""

import pytest
from django.urls import reverse

from cases.models import Case
from cases.publish import CHECKLIST
from cases.services import case_create

pytestmark = pytest.mark.django_db


def test_the_author_writes_the_case_and_sees_what_stands_in_the_way(client, author):
    case = case_create(author=author)
    client.force_login(author)
    response = client.post(
        reverse("cases:case_write", args=[case.pk]),
        {"title": "Tension pneumothorax", "diagnosis": "Pneumothorax", "difficulty": "resident"},
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.title, case.difficulty) == ("Tension pneumothorax", "resident")
    page = client.get(case.get_absolute_url()).content.decode()
    assert "The case has no images." in page
    assert CHECKLIST["not_identifying_on_its_own"] in page


def test_publishing_without_the_checklist_is_refused_with_each_reason(client, author):
    case = case_create(author=author, title="T")
    client.force_login(author)
    response = client.post(reverse("cases:case_publish", args=[case.pk]), follow=True)
    page = response.content.decode()
    assert "Confirm: Every image was checked for burned-in text." in page
    case.refresh_from_db()
    assert case.status == Case.Status.DRAFT


def test_another_author_cannot_write_or_publish_my_case(client, author, make_user):
    from accounts.roles import Role

    case = case_create(author=author, title="Mine")
    client.force_login(make_user("other", Role.AUTHOR))
    assert client.get(reverse("cases:case_write", args=[case.pk])).status_code == 403
    assert client.post(reverse("cases:case_publish", args=[case.pk])).status_code == 403
