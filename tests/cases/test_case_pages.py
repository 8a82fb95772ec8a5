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


def test_my_cases_shows_what_each_case_is_waiting_for(client, author, tmp_path):
    from django.conf import settings

    from cases.ingest import files_ingest
    from cases.models import ImportJob
    from tests.anonymizer.dirty import dirty_ct, dirty_us_cine, write

    root = settings.INCOMING_ROOT / f"mc-{tmp_path.name}"
    empty = case_create(author=author, title="Empty one")
    importing = case_create(author=author, title="Importing one")
    ImportJob.objects.create(case=importing, author=author, source="pacs", status="retrieving")
    review = case_create(author=author, title="Review one")
    files_ingest(case=review, paths=[write(dirty_us_cine(), root / "us.dcm")])
    ready = case_create(author=author, title="Ready one")
    files_ingest(case=ready, paths=[write(dirty_ct(1), root / "ct.dcm")])
    client.force_login(author)
    page = client.get(reverse("cases:my_cases")).content.decode()
    rows = {title: page.split(title, 1)[1].split("</tr>", 1)[0] for title in
            ("Empty one", "Importing one", "Review one", "Ready one")}  # fmt: skip
    assert "Empty" in rows["Empty one"]
    assert "Importing" in rows["Importing one"]
    assert "Needs review (1)" in rows["Review one"]
    assert "Ready" in rows["Ready one"]
    assert empty.pk


def test_the_author_orders_the_series_of_a_case(client, author):
    from cases.models import Series

    case = case_create(author=author, title="Two series")
    first = Series.objects.create(
        case=case, series_instance_uid="2.25.1", study_instance_uid="2.25.9", order=0
    )
    second = Series.objects.create(
        case=case, series_instance_uid="2.25.2", study_instance_uid="2.25.9", order=1
    )
    client.force_login(author)
    client.post(reverse("cases:series_move", args=[case.pk, second.pk]), {"to": "up"})
    assert list(case.series.order_by("order").values_list("pk", flat=True)) == [second.pk, first.pk]
    client.post(
        reverse("cases:series_move", args=[case.pk, second.pk]), {"to": "up"}
    )  # already first
    assert list(case.series.order_by("order").values_list("pk", flat=True)) == [second.pk, first.pk]
