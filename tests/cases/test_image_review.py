"""Image review: proposals without text, a decision on each, explicit confirmation per
image or series, safe areas, the final check's places, leaving an image out."""

import importlib
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from anonymizer.pipeline import Status
from anonymizer.pixels import Blackout, Rect
from cases import review
from cases.editing import EditsInvalid, instance_edits_save
from cases.ingest import files_ingest
from cases.models import AuditEvent, Case, Instance, QuarantineItem, Series
from cases.publish import CHECKLIST, case_publish_request, case_publish_run, publish_blockers
from cases.selectors import editor_config
from cases.services import case_create
from tests.anonymizer.dirty import PLANTED, dirty_ct, us_cine_with_name, write
from tests.cases.freetext_review import accept_all_text

pytestmark = pytest.mark.django_db
CONFIRMED = dict.fromkeys(CHECKLIST, True)
NAME_WORDS = ("ZEBRAFISH", "QUENTIN")


def _proposal(number: int, **over) -> dict:
    return {
        "id": f"p{number}", "frame": None, "x": 0, "y": 10 * number, "width": 100, "height": 8,
        "kind": "text", "matches": None, "confidence": 0.9, **over,
    }  # fmt: skip


@pytest.fixture
def cine(author, tmp_path) -> Instance:
    """A flagged cine with a name burned in, as the first pass records it."""
    case = case_create(author=author, title="Cine")
    path = write(us_cine_with_name(), settings.INCOMING_ROOT / f"rv-{tmp_path.name}" / "c.dcm")
    files_ingest(case=case, paths=[path])
    accept_all_text(case, author)
    return Instance.objects.get(series__case=case)


@pytest.fixture
def flagged(cine) -> Instance:
    """The cine with two known proposals (independent of what the detector finds)."""
    cine.proposed_regions = [_proposal(0, matches="PatientName"), _proposal(1)]
    cine.proposal_decisions = {}
    cine.blackouts = []
    cine.save()
    return cine


# --- 1. no recognised text at rest ------------------------------------------------------


def test_no_proposal_text_is_stored_or_sent_to_the_editor(cine):
    assert cine.proposed_regions, "the burned-in name should be proposed"
    assert [p["id"] for p in cine.proposed_regions] == [
        f"p{i}" for i in range(len(cine.proposed_regions))
    ]
    for proposal in cine.proposed_regions:
        assert "text" not in proposal
        assert set(proposal) <= set(review.PROPOSAL_KEYS)
    stored = json.dumps(list(Instance.objects.filter(pk=cine.pk).values()), default=str)
    sent = json.dumps(editor_config(case=cine.series.case))
    for word in (*NAME_WORDS, PLANTED["PatientID"]):
        assert word not in stored.upper() and word not in sent.upper()
    assert any(
        p.get("matches") == "PatientName"
        for p in json.loads(sent)["series"][0]["instances"][0]["proposed"]
    )


def test_proposals_are_cleaned_of_text_and_given_ids():
    clean = review.proposals_clean(
        [
            {"frame": 1, "x": 1, "y": 2, "width": 3, "height": 4, "text": "ZEBRAFISH"},
            {"id": "p0", "frame": None, "x": 0, "y": 0, "width": 1, "height": 1,
             "kind": "static-overlay"},
        ]
    )  # fmt: skip
    assert [p["id"] for p in clean] == ["p0", "p1"]
    assert all("text" not in p for p in clean)
    assert [p["kind"] for p in clean] == ["text", "static-overlay"]


def test_the_migration_strips_text_and_keeps_what_the_author_had_accepted(cine):
    migration = importlib.import_module("cases.migrations.0006_image_review")
    legacy = [
        {"frame": None, "x": 8, "y": 6, "width": 200, "height": 20, "text": "ZEBRAFISH QUENTIN",
         "confidence": 91.0, "matches": "PatientName"},
        {"frame": 1, "x": 8, "y": 40, "width": 50, "height": 20, "text": "19700101",
         "confidence": 80.0, "matches": None},
    ]  # fmt: skip
    Instance.objects.filter(pk=cine.pk).update(
        proposed_regions=legacy,
        proposal_decisions={},
        blackouts=[{"x": 8, "y": 6, "width": 200, "height": 20, "frames": "all"}],
        reviewed_at=timezone.now(),  # the old rule: one accepted box made it "reviewed"
    )
    from django.apps import apps

    migration.forward(apps, None)
    cine.refresh_from_db()
    assert "ZEBRAFISH" not in json.dumps(cine.proposed_regions)
    assert "19700101" not in json.dumps(cine.proposed_regions)
    assert [p["id"] for p in cine.proposed_regions] == ["p0", "p1"]
    assert cine.proposed_regions[0]["confidence"] == 0.91
    assert cine.proposed_regions[0]["matches"] == "PatientName"
    assert cine.proposal_decisions == {"p0": "accepted"}
    assert cine.reviewed_at is None  # p1 is undecided: the draft needs review again


# --- 2. a decision on every proposal, then an explicit confirmation -----------------------


def test_confirming_is_refused_while_a_proposal_is_undecided(flagged, author):
    instance_edits_save(instance=flagged, by=author, blackouts=[], decisions={"p0": "accepted"})
    flagged.refresh_from_db()
    assert flagged.reviewed_at is None and not review.is_reviewed(flagged)
    assert flagged.blackouts == [{"x": 0, "y": 0, "width": 100, "height": 8, "frames": "all"}]
    with pytest.raises(EditsInvalid, match="1 proposal"):
        review.instance_review_confirm(instance=flagged, by=author)
    case = flagged.series.case
    assert any(
        "1 image(s) still need review" in r
        for r in publish_blockers(case=case, checklist=CONFIRMED)
    )

    instance_edits_save(
        instance=flagged, by=author, blackouts=flagged.blackouts,
        decisions={"p0": "accepted", "p1": "rejected"},
    )  # fmt: skip
    review.instance_review_confirm(instance=flagged, by=author)
    flagged.refresh_from_db()
    assert review.is_reviewed(flagged)
    assert not any(
        "still need review" in r for r in publish_blockers(case=case, checklist=CONFIRMED)
    )
    event = AuditEvent.objects.filter(action="instance.review.confirm").latest("pk")
    assert event.target == f"instance:{flagged.pk}"


def test_a_rejection_is_kept_and_changing_a_decision_withdraws_the_confirmation(
    flagged, author, client
):
    client.force_login(author)
    url = reverse("cases:instance_edits", args=[flagged.series.case_id, flagged.pk])
    body = {"blackouts": [], "decisions": {"p0": "rejected", "p1": "rejected"}, "safe_regions": []}
    assert client.put(url, json.dumps(body), content_type="application/json").status_code == 200
    confirm = reverse("cases:instance_confirm", args=[flagged.series.case_id, flagged.pk])
    response = client.post(confirm, "{}", content_type="application/json")
    assert response.status_code == 200 and response.json()["instances"][0]["reviewed"] is True
    # After a reload the editor gets the rejections back.
    (sent,) = editor_config(case=flagged.series.case)["series"][0]["instances"]
    assert sent["decisions"] == {"p0": "rejected", "p1": "rejected"} and sent["reviewed"]
    body["decisions"]["p0"] = "accepted"
    assert client.put(url, json.dumps(body), content_type="application/json").json() == {
        "ok": True,
        "reviewed": False,
    }
    flagged.refresh_from_db()
    assert flagged.reviewed_at is None
    assert flagged.blackouts == [{"x": 0, "y": 0, "width": 100, "height": 8, "frames": "all"}]


def test_a_decision_on_an_unknown_proposal_or_an_unknown_decision_is_refused(flagged, author):
    with pytest.raises(EditsInvalid, match="does not have"):
        instance_edits_save(instance=flagged, by=author, blackouts=[], decisions={"p9": "accepted"})
    with pytest.raises(EditsInvalid, match="accepted or rejected"):
        instance_edits_save(instance=flagged, by=author, blackouts=[], decisions={"p0": "maybe"})


def test_accept_all_and_confirm_accepts_what_is_undecided_and_keeps_rejections(
    flagged, author, client
):
    instance_edits_save(instance=flagged, by=author, blackouts=[], decisions={"p1": "rejected"})
    client.force_login(author)
    url = reverse("cases:instance_confirm", args=[flagged.series.case_id, flagged.pk])
    response = client.post(url, json.dumps({"accept_all": True}), content_type="application/json")
    assert response.status_code == 200
    flagged.refresh_from_db()
    assert flagged.proposal_decisions == {"p0": "accepted", "p1": "rejected"}
    assert len(flagged.blackouts) == 1 and review.is_reviewed(flagged)


def test_a_series_is_accepted_and_confirmed_in_one_action_recorded_per_image(author, tmp_path):
    case = case_create(author=author, title="Two slices")
    root = settings.INCOMING_ROOT / f"sr-{tmp_path.name}"
    files_ingest(case=case, paths=[write(dirty_ct(i), root / f"ct{i}.dcm") for i in (1, 2)])
    series = Series.objects.get(case=case)
    Instance.objects.filter(series=series).update(
        status=Instance.Status.NEEDS_REVIEW, proposed_regions=[_proposal(0), _proposal(1)]
    )
    assert len(review.images_to_review(case=case)) == 2
    review.series_review_confirm(series=series, by=author)
    for instance in series.instances.all():
        assert instance.reviewed_at is not None
        assert instance.proposal_decisions == {"p0": "accepted", "p1": "accepted"}
        assert len(instance.blackouts) == 2
    events = AuditEvent.objects.filter(case=case, action="series.review.confirm")
    assert events.count() == 1 and events.get().detail == {"images": 2, "accepted": 4}
    assert review.images_to_review(case=case) == []


def test_the_case_page_lists_the_images_to_review_with_a_link_into_the_editor(
    flagged, author, client
):
    client.force_login(author)
    page = client.get(flagged.series.case.get_absolute_url()).content.decode()
    assert "1 image(s) still need review" in page
    assert 'data-testid="review-todo"' in page
    assert f"?image={flagged.pk}" in page
    assert "2 proposed box(es) to accept or reject" in page


def test_my_cases_counts_an_image_with_a_safe_area_as_waiting_for_review(flagged, author):
    from cases.selectors import case_list_for_author

    review.instance_review_confirm(instance=flagged, by=author, accept_all=True)
    case = case_list_for_author(user=author).get(pk=flagged.series.case_id)
    assert case.n_to_review == 0
    Instance.objects.filter(pk=flagged.pk).update(
        status=Instance.Status.CLEAN, proposed_regions=[], reviewed_at=None,
        safe_regions=[{"x": 0, "y": 0, "width": 5, "height": 5, "frames": "all"}],
    )  # fmt: skip
    assert case_list_for_author(user=author).get(pk=flagged.series.case_id).n_to_review == 1


def test_edits_and_confirmations_of_a_published_case_are_refused(flagged, author):
    Case.objects.filter(pk=flagged.series.case_id).update(status=Case.Status.PUBLISHED)
    flagged.refresh_from_db()
    with pytest.raises(EditsInvalid, match="closed"):
        review.instance_review_confirm(instance=flagged, by=author, accept_all=True)
    with pytest.raises(EditsInvalid, match="closed"):
        review.series_review_confirm(series=flagged.series, by=author)


# --- 3. safe areas and the final check's places ------------------------------------------

SAFE = {"x": 250, "y": 200, "width": 60, "height": 30, "frames": "all"}


def test_marking_an_area_safe_is_audited_and_needs_a_new_confirmation(flagged, author):
    review.instance_review_confirm(instance=flagged, by=author, accept_all=True)
    flagged.refresh_from_db()
    instance_edits_save(
        instance=flagged, by=author, blackouts=flagged.blackouts, safe_regions=[SAFE]
    )
    flagged.refresh_from_db()
    assert flagged.safe_regions == [SAFE] and flagged.reviewed_at is None
    event = AuditEvent.objects.filter(action="instance.safe_regions").latest("pk")
    assert event.detail == {"areas": 1, "marked": True}
    with pytest.raises(EditsInvalid, match="does not fit"):
        instance_edits_save(
            instance=flagged, by=author, blackouts=[], safe_regions=[{**SAFE, "x": 300}]
        )
    with pytest.raises(EditsInvalid, match="frame"):
        instance_edits_save(
            instance=flagged, by=author, blackouts=[], safe_regions=[{**SAFE, "frames": [5]}]
        )


class FakeSecondPass:
    """Stands in for anonymizer.pipeline.second_pass: blocks the images named in
    ``block`` with a residual-text reason and a place, publishes the others."""

    def __init__(self, block: set[int] | None = None):
        self.block = block or set()
        self.calls: list[dict] = []

    def __call__(self, source: Path, out_dir: Path, **kwargs):
        self.calls.append({"source": source, **kwargs})
        blocked = Instance.objects.filter(pk__in=self.block)
        if any(source.name == Path(i.working_file).name for i in blocked):
            return SimpleNamespace(
                status=Status.QUARANTINED,
                output=None,
                reasons=["text-like marks at 250,200 60x30 on frame 2 are not blacked out: "
                         "add a box there, mark the area as safe, or leave the image out"],
                regions=[{"frame": 1, "x": 250, "y": 200, "width": 60, "height": 30}],
            )  # fmt: skip
        out_dir.mkdir(parents=True, exist_ok=True)
        output = out_dir / source.name
        output.write_bytes(source.read_bytes())
        return SimpleNamespace(status=Status.PUBLISHED, output=output, reasons=[], regions=[])


def _publish(case, author, monkeypatch, fake) -> Case:
    monkeypatch.setattr("cases.publish.second_pass", fake)
    case_publish_request(case=case, by=author, checklist=CONFIRMED, enqueue=False)
    return case_publish_run(case.pk)


def test_safe_areas_reach_the_final_check_as_blackouts(flagged, author, monkeypatch):
    instance_edits_save(instance=flagged, by=author, blackouts=[], safe_regions=[SAFE])
    review.instance_review_confirm(instance=flagged, by=author, accept_all=True)
    fake = FakeSecondPass()
    case = _publish(flagged.series.case, author, monkeypatch, fake)
    assert case.status == Case.Status.PUBLISHED, case.publish_error
    (call,) = fake.calls
    assert call["safe_regions"] == (Blackout(Rect(250, 200, 60, 30), None),)


def test_a_blocked_image_keeps_the_places_and_a_retry_replaces_its_quarantine_item(
    flagged, author, monkeypatch, client
):
    review.instance_review_confirm(instance=flagged, by=author, accept_all=True)
    case = flagged.series.case
    fake = FakeSecondPass(block={flagged.pk})
    case = _publish(case, author, monkeypatch, fake)
    assert case.status == Case.Status.DRAFT
    flagged.refresh_from_db()
    assert flagged.gate_regions == [{"frame": 1, "x": 250, "y": 200, "width": 60, "height": 30}]
    first = QuarantineItem.objects.get(case=case, stage="second-pass")
    assert first.instance == flagged and first.status == "open"
    first_file = settings.QUARANTINE_ROOT / first.file

    (sent,) = editor_config(case=case)["series"][0]["instances"]
    assert sent["gate_regions"] == flagged.gate_regions

    client.force_login(author)
    page = client.get(case.get_absolute_url()).content.decode()
    assert 'data-testid="publish-failures"' in page
    assert f"?image={flagged.pk}&amp;frame=2" in page
    assert reverse("cases:instance_leave_out", args=[case.pk, flagged.pk]) in page
    assert "mark the area safe" in page

    case = _publish(case, author, monkeypatch, fake)  # a retry, still blocked
    (item,) = QuarantineItem.objects.filter(case=case, stage="second-pass")
    assert item.pk == first.pk and item.status == "open"
    assert not first_file.exists() and (settings.QUARANTINE_ROOT / item.file).exists()
    assert AuditEvent.objects.filter(action="quarantine.replace", case=case).count() == 1

    # The author marks the place safe, confirms again; the image is published and its
    # quarantine item closes by itself.
    flagged.refresh_from_db()
    instance_edits_save(
        instance=flagged, by=author, blackouts=flagged.blackouts,
        safe_regions=[{"x": 250, "y": 200, "width": 60, "height": 30, "frames": "all"}],
    )  # fmt: skip
    assert any("still need review" in r for r in publish_blockers(case=case, checklist=CONFIRMED))
    review.instance_review_confirm(instance=flagged, by=author)
    case = _publish(case, author, monkeypatch, FakeSecondPass())
    assert case.status == Case.Status.PUBLISHED, case.publish_error
    item.refresh_from_db()
    assert item.status == QuarantineItem.Status.RESOLVED and item.resolved_at is not None
    assert item.file == "" and not list(settings.QUARANTINE_ROOT.glob(f"*{Path(first.file).stem}*"))
    resolved = AuditEvent.objects.filter(action="quarantine.resolve")
    assert resolved.filter(target=f"quarantine:{item.pk}").exists()
    flagged.refresh_from_db()
    assert flagged.gate_regions == []


# --- 4. leaving an image out --------------------------------------------------------------


def test_leaving_an_image_out_deletes_it_and_its_working_file(
    flagged, author, client, django_capture_on_commit_callbacks
):
    case = flagged.series.case
    working = settings.WORKING_ROOT / flagged.working_file
    assert working.exists()
    client.force_login(author)
    url = reverse("cases:instance_leave_out", args=[case.pk, flagged.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url)
    assert response.status_code == 302
    assert not Instance.objects.filter(pk=flagged.pk).exists()
    assert not Series.objects.filter(case=case).exists()  # its only image
    assert not working.exists()
    event = AuditEvent.objects.get(action="instance.leave_out", case=case)
    assert event.target == f"instance:{flagged.pk}" and event.detail["series_removed"] is True


def test_leaving_an_image_out_is_refused_on_a_published_case_and_for_others(
    flagged, author, client, make_user
):
    from accounts.roles import Role

    case = flagged.series.case
    url = reverse("cases:instance_leave_out", args=[case.pk, flagged.pk])
    client.force_login(make_user("other", Role.AUTHOR))
    assert client.post(url).status_code == 403
    Case.objects.filter(pk=case.pk).update(status=Case.Status.PUBLISHED)
    client.force_login(author)
    client.post(url)
    assert Instance.objects.filter(pk=flagged.pk).exists()
    flagged.refresh_from_db()
    with pytest.raises(EditsInvalid, match="closed"):
        review.instance_leave_out(instance=flagged, by=author)


def test_a_safe_area_larger_than_a_marker_is_refused(flagged, author):
    whole = {"x": 0, "y": 0, "width": flagged.columns, "height": flagged.rows, "frames": "all"}
    with pytest.raises(EditsInvalid, match="at most 5%"):
        instance_edits_save(instance=flagged, by=author, blackouts=[], safe_regions=[whole])


def test_an_image_the_final_check_stopped_needs_confirming_again(cine, author):
    Instance.objects.filter(pk=cine.pk).update(
        gate_regions=[{"frame": None, "x": 0, "y": 0, "width": 8, "height": 8}],
        reviewed_at=None,
    )
    assert cine in review.images_to_review(case=cine.series.case)


def test_leaving_out_the_only_image_with_a_text_value_drops_that_value_from_the_review(
    flagged, author
):
    from cases import freetext

    case = flagged.series.case
    other = Instance.objects.filter(series__case=case).exclude(pk=flagged.pk)
    if other.exists():
        pytest.skip("the fixture case has more than one image")
    review.instance_leave_out(instance=flagged, by=author)
    assert freetext.free_text_review(case=case) == []
    assert not any("text value" in r for r in freetext.free_text_blockers(case=case))
