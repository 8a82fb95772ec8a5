"""Free text reviewed by a person: every text value that will be published is shown to the
author, encrypted until accepted, and blocks publishing until accepted, edited or cleared."""

import pydicom
import pytest
from django.conf import settings
from django.db import connection
from django.urls import reverse

from anonymizer.pipeline import PassResult, Status
from cases import freetext
from cases.ingest import files_ingest
from cases.models import AuditEvent, Case, FreeTextValue, Instance, Series
from cases.publish import CHECKLIST, PublishBlocked, case_publish_request, case_publish_run
from cases.selectors import editor_config, viewer_config
from cases.services import case_create
from tests.anonymizer.dirty import dirty_ct, write
from tests.cases.freetext_review import accept_all_text
from tests.cases.image_review import confirm_all_images

pytestmark = pytest.mark.django_db
CONFIRMED = dict.fromkeys(CHECKLIST, True)
# A name that appears nowhere else in the header: Clean Descriptors cannot know it.
NAMED = "CT ABDOMEN MARGARET THOMPSON"


def _ct(index: int, description: str = NAMED):
    ds = dirty_ct(index)
    ds.SeriesDescription = description
    ds.StudyDescription = "CT ABDOMEN"
    return ds


@pytest.fixture
def case(author, tmp_path):
    case = case_create(author=author, title="Liver lesion")
    root = settings.INCOMING_ROOT / f"ft-{tmp_path.name}"
    files_ingest(case=case, paths=[write(_ct(i), root / f"ct{i}.dcm") for i in (1, 2, 3)])
    return case


def _series_value(case: Case) -> FreeTextValue:
    return FreeTextValue.objects.get(case=case, keyword="SeriesDescription")


def test_each_value_is_recorded_once_per_series_encrypted_and_flagged(case):
    value = _series_value(case)
    assert value.instances.count() == 3  # three images share one value
    assert value.status == FreeTextValue.Status.PENDING
    assert value.accepted_value == ""
    assert freetext.value_original(value) == NAMED
    assert {"person-name"} <= {f["kind"] for f in value.findings}
    assert all(set(f) == {"start", "end", "kind"} for f in value.findings)
    study = FreeTextValue.objects.get(case=case, keyword="StudyDescription")
    assert study.series is None  # study-level text is reviewed once for the study


def test_the_database_holds_no_unreviewed_value_in_clear(case):
    assert Series.objects.get(case=case).description == ""
    with connection.cursor() as cursor:
        for table in ("cases_series", "cases_freetextvalue", "cases_instance", "cases_auditevent"):
            cursor.execute(f"SELECT * FROM {table}")
            dump = repr(cursor.fetchall()).upper()
            assert "THOMPSON" not in dump, table
            assert "MARGARET" not in dump, table


def test_a_reimport_of_the_same_series_adds_no_value(case, author, tmp_path):
    root = settings.INCOMING_ROOT / f"ft2-{tmp_path.name}"
    files_ingest(case=case, paths=[write(_ct(i), root / f"ct{i}.dcm") for i in (3, 4)])
    assert FreeTextValue.objects.filter(case=case, keyword="SeriesDescription").count() == 1
    assert _series_value(case).instances.count() == 4


def test_trainees_and_the_editor_see_the_description_only_once_accepted(case, author):
    assert editor_config(case=case)["series"][0]["description"] == ""
    freetext.free_text_decide(value=_series_value(case), by=author, action="edit",
                              text="CT abdomen portal venous")  # fmt: skip
    assert Series.objects.get(case=case).description == "CT abdomen portal venous"
    assert editor_config(case=case)["series"][0]["description"] == "CT abdomen portal venous"
    Instance.objects.filter(series__case=case).update(status="published")
    assert viewer_config(case=case)["series"][0]["description"] == "CT abdomen portal venous"


def test_accept_edit_and_clear_are_recorded_without_the_value(case, author):
    value = _series_value(case)
    freetext.free_text_decide(value=value, by=author, action="accept")
    value.refresh_from_db()
    assert (value.status, value.accepted_value, value.decided_by) == ("accepted", NAMED, author)
    assert Series.objects.get(case=case).description == NAMED
    freetext.free_text_decide(value=value, by=author, action="clear")
    value.refresh_from_db()
    assert (value.status, value.accepted_value) == ("cleared", "")
    assert Series.objects.get(case=case).description == ""
    events = AuditEvent.objects.filter(case=case, action__startswith="free_text.")
    assert [e.action for e in events.order_by("pk")] == ["free_text.accepted", "free_text.cleared"]
    assert all("THOMPSON" not in repr(e.detail).upper() for e in events)


@pytest.mark.parametrize(
    ("text", "why"),
    [("A" * 65, "at most 64 characters"), ("CT\\MR", "backslash"), ("CT\nMR", "single line")],
)
def test_an_edit_that_does_not_fit_the_attribute_is_refused(case, author, text, why):
    with pytest.raises(freetext.FreeTextInvalid, match=why):
        freetext.free_text_decide(value=_series_value(case), by=author, action="edit", text=text)


def test_the_case_page_lists_every_value_with_flagged_words_highlighted(client, case, author):
    client.force_login(author)
    page = client.get(case.get_absolute_url()).content.decode()
    assert "Text that will be published" in page
    assert page.count('data-testid="free-text-value"') == 2
    assert "<mark" in page and "THOMPSON</mark>" in page
    assert "Series description" in page and "Study description" in page


def test_values_are_rendered_escaped(client, author):
    case = case_create(author=author, title="T")
    from cases.ingest import reid_encrypt

    text = "<script>alert(1)</script> Margaret"
    findings = [
        {"start": 0, "end": 8, "kind": "code"},
        {"start": 26, "end": 34, "kind": "person-name"},
    ]
    value = FreeTextValue.objects.create(
        case=case, keyword="SeriesDescription", digest="x",
        ciphertext=reid_encrypt({"value": text}), findings=findings,
    )  # fmt: skip
    series = Series.objects.create(
        case=case, series_instance_uid="2.25.1", study_instance_uid="2.25.2"
    )
    value.instances.add(
        Instance.objects.create(series=series, sop_instance_uid="2.25.3", sop_class_uid="1.2")
    )
    client.force_login(author)
    page = client.get(case.get_absolute_url()).content.decode()
    assert "<script>alert" not in page
    assert "&lt;script&gt;" in page
    assert "Margaret</mark>" in page


def test_the_author_decides_through_the_case_page(client, case, author):
    client.force_login(author)
    value = _series_value(case)
    url = reverse("cases:free_text_decide", args=[case.pk, value.pk])
    assert client.post(url, {"action": "edit", "text": "CT abdomen"}).status_code == 302
    value.refresh_from_db()
    assert (value.status, value.accepted_value) == ("edited", "CT abdomen")
    response = client.post(url, {"action": "edit", "text": "x" * 80}, follow=True)
    assert "at most 64 characters" in response.content.decode()


def test_another_author_cannot_decide_on_my_text(client, case, make_user):
    from accounts.roles import Role

    client.force_login(make_user("other", Role.AUTHOR))
    value = _series_value(case)
    url = reverse("cases:free_text_decide", args=[case.pk, value.pk])
    assert client.post(url, {"action": "accept"}).status_code == 403
    value.refresh_from_db()
    assert value.status == "pending"


def test_pending_text_blocks_publishing(case, author):
    confirm_all_images(case, author)
    with pytest.raises(PublishBlocked) as blocked:
        case_publish_request(case=case, by=author, checklist=CONFIRMED, enqueue=False)
    assert "2 text value(s) that will be published still need review" in str(blocked.value)
    accept_all_text(case, author)
    case_publish_request(case=case, by=author, checklist=CONFIRMED, enqueue=False)


def test_a_name_in_the_write_up_blocks_until_edited_or_acknowledged(client, author):
    case = case_create(author=author, title="Morton neuroma")
    case.findings = "Fracture of the distal radius."
    case.save()
    blockers = freetext.free_text_blockers(case=case)
    assert len(blockers) == 1 and blockers[0].startswith("Title contains what looks like")
    client.force_login(author)
    page = client.get(case.get_absolute_url()).content.decode()
    assert "Morton</mark>" in page
    item = freetext.own_text_checked(case=case)[0]
    finding = item.findings[0]
    response = client.post(
        reverse("cases:text_acknowledge", args=[case.pk]),
        {"where": item.where, "start": finding["start"], "end": finding["end"]},
    )
    assert response.status_code == 302
    assert freetext.free_text_blockers(case=case) == []
    event = AuditEvent.objects.get(case=case, action="text.acknowledge")
    assert "morton" not in repr(event.detail).lower()
    page = client.get(case.get_absolute_url()).content.decode()
    assert "you said this is not an identifier" in page


def test_an_acknowledgement_does_not_cover_another_word(author):
    case = case_create(author=author, title="Morton neuroma")
    item = freetext.own_text_checked(case=case)[0]
    f = item.findings[0]
    freetext.text_finding_acknowledge(
        case=case, by=author, where=item.where, start=f["start"], end=f["end"]
    )
    case.title = "Morton neuroma, seen by Margaret Thompson"
    case.save()
    assert freetext.free_text_blockers(case=case)


def test_a_word_that_is_not_flagged_cannot_be_acknowledged(author):
    case = case_create(author=author, title="Distal radius fracture")
    with pytest.raises(freetext.FreeTextInvalid):
        freetext.text_finding_acknowledge(
            case=case, by=author, where="write-up:title", start=0, end=6
        )


def test_a_name_in_an_annotation_label_blocks_publishing(case, author):
    instance = Instance.objects.filter(series__case=case).first()
    instance.annotations = [{"type": "text", "x": 1, "y": 1, "frame": 0, "text": "Dr Margaret"}]
    instance.save()
    reasons = freetext.free_text_blockers(case=case)
    assert any(r.startswith("Label on image") for r in reasons)


def test_the_published_files_carry_the_accepted_text(case, author):
    confirm_all_images(case, author)
    freetext.free_text_decide(value=_series_value(case), by=author, action="edit",
                              text="CT abdomen portal venous")  # fmt: skip
    study = FreeTextValue.objects.get(case=case, keyword="StudyDescription")
    freetext.free_text_decide(value=study, by=author, action="clear")
    case_publish_request(case=case, by=author, checklist=CONFIRMED, enqueue=False)
    case = case_publish_run(case.pk)
    assert case.status == Case.Status.PUBLISHED, case.publish_error
    for instance in Instance.objects.filter(series__case=case):
        path = settings.PUBLISHED_ROOT / instance.published_file
        assert b"THOMPSON" not in path.read_bytes()
        ds = pydicom.dcmread(path)
        assert ds.SeriesDescription == "CT abdomen portal venous"
        assert "StudyDescription" not in ds


def test_a_publish_failure_caused_by_text_says_which_value_to_edit(case, author, monkeypatch):
    confirm_all_images(case, author)
    accept_all_text(case, author)
    seen = []

    def refuse(source, out_dir, **kwargs):
        seen.append(kwargs["texts"])
        result = PassResult(
            input=str(source), status=Status.QUARANTINED,
            reasons=["SeriesDescription: a word looks like a person's name"],
        )  # fmt: skip
        result.regions = []  # no place in the pixels: the text is the reason
        return result

    monkeypatch.setattr("cases.publish.second_pass", refuse)
    case_publish_request(case=case, by=author, checklist=CONFIRMED, enqueue=False)
    case = case_publish_run(case.pk)
    assert case.status == Case.Status.DRAFT
    assert "Edit or clear the series description of series 1" in case.publish_error
    assert seen[0] == {"SeriesDescription": NAMED, "StudyDescription": "CT ABDOMEN"}


def test_a_flagged_value_the_author_accepted_is_published_as_accepted(case, author):
    """The author's decision stands: the verifier accepts exactly the accepted value."""
    confirm_all_images(case, author)
    accept_all_text(case, author)
    case_publish_request(case=case, by=author, checklist=CONFIRMED, enqueue=False)
    case = case_publish_run(case.pk)
    assert case.status == Case.Status.PUBLISHED, case.publish_error
    instance = Instance.objects.filter(series__case=case).first()
    ds = pydicom.dcmread(settings.PUBLISHED_ROOT / instance.published_file)
    assert ds.SeriesDescription == NAMED


def test_an_edit_that_still_holds_a_name_is_refused(case, author):
    with pytest.raises(freetext.FreeTextInvalid, match="person's name"):
        freetext.free_text_decide(
            value=_series_value(case), by=author, action="edit", text="CT abdomen Dr Hartmann"
        )
