"""A trainee scrolls through a published case's images in the read-only library viewer."""

import json

import pytest
from django.conf import settings
from playwright.sync_api import expect

from cases.editing import instance_edits_save, series_crop_save
from cases.ingest import files_ingest
from cases.models import Case, Instance
from cases.publish import CHECKLIST, case_publish_request, case_publish_run
from cases.services import case_create
from tests.anonymizer.dirty import us_cine_with_name, write
from tests.cases.freetext_review import accept_all_text
from tests.cases.image_review import confirm_all_images
from tests.e2e.test_editor import READY as EDITOR_READY
from tests.e2e.test_editor import Screen, _saved

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
# A function, not an expression: Playwright polls an expression with eval(), which the
# Content-Security-Policy refuses.
READY = "() => window.__viewerReady === true || (window.__viewerErrors || []).length > 0"
CROP = {"x": 10, "y": 40, "width": 300, "height": 190}
EDITING_CONTROLS = (
    "box-mode", "safe-mode", "crop-mode", "nav-mode", "scope", "undo", "remove-crop",
    "confirm", "confirm-series", "blackout-list", "proposals", "save-status",
)  # fmt: skip


def _draft_case(author) -> Case:
    case = case_create(author=author, title="Liver cine")
    root = settings.INCOMING_ROOT / "e2e"
    files_ingest(case=case, paths=[write(us_cine_with_name(), root / f"us-viewer-{case.pk}.dcm")])
    return case


def _published_case(author, case: Case | None = None) -> Case:
    case = case or _draft_case(author)
    cine = Instance.objects.get(series__case=case)
    name_band = {"x": 0, "y": 0, "width": 320, "height": 40, "frames": "all"}
    instance_edits_save(instance=cine, by=author, blackouts=[name_band])
    confirm_all_images(case, author)
    series_crop_save(series=cine.series, by=author, crop=CROP)
    accept_all_text(case, author)
    checklist = dict.fromkeys(CHECKLIST, True)
    case_publish_request(case=case, by=author, checklist=checklist, enqueue=False)
    case = case_publish_run(case.pk)
    assert case.status == Case.Status.PUBLISHED, case.publish_error
    return case


def test_a_trainee_scrolls_a_published_case_without_editing_tools(
    page, live_server, sign_in, make_user, artifacts
):
    from accounts.roles import Role

    author = make_user("viewer-author", Role.AUTHOR)
    case = _published_case(author)
    cine = Instance.objects.get(series__case=case)
    make_user("student", Role.TRAINEE)

    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in("student", "student-pw-123")
    page.goto(f"{live_server.url}/cases/{case.pk}/")
    page.wait_for_function(READY, timeout=30_000)
    assert page.evaluate("window.__viewerErrors") == []

    config = json.loads(page.locator("#viewer-config").text_content())
    assert config["readonly"] is True
    (instance,) = config["series"][0]["instances"]
    assert instance["url"] == f"/cases/{case.pk}/published/{cine.pk}/dicom"
    assert (instance["frames"], instance["rows"], instance["columns"]) == (3, 190, 300)

    counter = page.get_by_test_id("frame-counter")
    expect(counter).to_have_text("image 1 of 1 · frame 1 of 3")
    page.get_by_test_id("viewport").hover()
    page.mouse.wheel(0, 120)
    expect(counter).to_have_text("image 1 of 1 · frame 2 of 3")
    page.mouse.wheel(0, 120)
    expect(counter).to_have_text("image 1 of 1 · frame 3 of 3")

    # The shared view controls are there; the editing tools are not.
    for testid in ("preset-soft-tissue", "preset-lung", "preset-bone", "reset-view", "cine"):
        expect(page.get_by_test_id(testid)).to_be_visible()
    for testid in EDITING_CONTROLS:
        expect(page.get_by_test_id(testid)).to_have_count(0)
    expect(page.get_by_test_id("author-actions")).to_have_count(0)
    expect(page.get_by_role("link", name="Review and edit the images")).to_have_count(0)

    page.get_by_test_id("cine").click()
    expect(page.get_by_test_id("cine")).to_have_text("Pause")
    page.get_by_test_id("cine").click()
    expect(page.get_by_test_id("cine")).to_have_text("Play")
    page.get_by_test_id("preset-soft-tissue").click()
    page.get_by_test_id("reset-view").click()

    page.wait_for_timeout(300)
    page.screenshot(path=artifacts / "library-viewer.png", full_page=True)
    assert errors == []
    assert page.evaluate("window.__viewerErrors") == []


def test_an_author_annotates_a_key_image_and_a_trainee_can_hide_the_annotations(
    page, live_server, sign_in, make_user, artifacts
):
    from accounts.roles import Role

    author = make_user("annotator", Role.AUTHOR)
    case = _draft_case(author)
    cine = Instance.objects.get(series__case=case)

    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in("annotator", "annotator-pw-123")
    page.goto(f"{live_server.url}/cases/{case.pk}/edit/")
    page.wait_for_function(EDITOR_READY, timeout=30_000)
    viewport = page.get_by_test_id("viewport")
    viewport.hover()
    page.mouse.wheel(0, 120)  # the key image is frame 2
    expect(page.get_by_test_id("frame-counter")).to_have_text("image 1 of 1 · frame 2 of 3")

    page.get_by_test_id("arrow-mode").click()
    Screen(viewport.bounding_box()).drag(page, (250, 200), (170, 140))
    _saved(page)
    page.get_by_test_id("ellipse-mode").click()
    Screen(viewport.bounding_box()).drag(page, (120, 100), (200, 160))
    _saved(page)
    page.get_by_test_id("text-mode").click()
    page.once("dialog", lambda dialog: dialog.accept("Mass"))
    screen = Screen(viewport.bounding_box())
    page.mouse.click(*screen.page_point(60, 180))
    _saved(page)
    expect(page.get_by_test_id("annotation-list").get_by_role("listitem")).to_have_count(3)

    cine.refresh_from_db()
    arrow, ellipse, label = cine.annotations
    assert [a["type"] for a in cine.annotations] == ["arrow", "ellipse", "text"]
    assert {a["frame"] for a in cine.annotations} == {1}
    assert abs(arrow["x2"] - 170) <= 2 and abs(arrow["y2"] - 140) <= 2
    assert abs(ellipse["x"] - 120) <= 2 and abs(ellipse["width"] - 80) <= 2
    assert label["text"] == "Mass" and abs(label["x"] - 60) <= 2
    assert cine.blackouts == []  # annotations are data, never boxes burned into the pixels

    # The annotations come back from the server after a reload.
    page.reload()
    page.wait_for_function(EDITOR_READY, timeout=30_000)
    page.get_by_test_id("viewport").hover()
    page.mouse.wheel(0, 120)
    expect(page.get_by_test_id("annotation-list").get_by_role("listitem")).to_have_count(3)

    case = _published_case(author, case)
    cine.refresh_from_db()
    assert len(cine.annotations) == 3
    page.get_by_role("button", name="Sign out").click()
    make_user("student2", Role.TRAINEE)
    sign_in("student2", "student2-pw-123")
    page.goto(f"{live_server.url}/cases/{case.pk}/")
    page.wait_for_function(READY, timeout=30_000)
    config = json.loads(page.locator("#viewer-config").text_content())
    shown = config["series"][0]["instances"][0]["annotations"]
    assert shown[1]["x"] == ellipse["x"] - CROP["x"] and shown[1]["y"] == ellipse["y"] - CROP["y"]

    overlay = page.locator(".ed-overlay")
    expect(overlay.locator("[data-annotation]")).to_have_count(0)  # frame 1: none
    page.get_by_test_id("viewport").hover()
    page.mouse.wheel(0, 120)
    expect(page.get_by_test_id("frame-counter")).to_have_text("image 1 of 1 · frame 2 of 3")
    for kind in ("arrow", "ellipse", "text"):
        expect(overlay.locator(f'[data-annotation="{kind}"]')).to_be_visible()
    expect(overlay.locator('[data-annotation="text"]')).to_have_text("Mass")
    page.wait_for_timeout(300)
    page.screenshot(path=artifacts / "library-viewer-annotations.png", full_page=True)

    toggle = page.get_by_test_id("annotations-toggle")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "false")
    for kind in ("arrow", "ellipse", "text"):
        expect(overlay.locator(f'[data-annotation="{kind}"]')).to_be_hidden()
    toggle.click()
    expect(overlay.locator('[data-annotation="arrow"]')).to_be_visible()
    assert errors == []
