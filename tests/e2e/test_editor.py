"""An author decides on each proposed box, confirms, blacks out burned-in text, marks an
area safe and crops a cine in the browser editor."""

import math

import pytest
from django.conf import settings
from playwright.sync_api import expect

from cases.ingest import files_ingest
from cases.models import Instance, Series
from cases.services import case_create
from tests.anonymizer.dirty import us_cine_with_name, write

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
ROWS, COLUMNS = 240, 320
# A function, not an expression: Playwright polls an expression with eval(), which the
# Content-Security-Policy refuses.
READY = "() => window.__editorReady === true || (window.__editorErrors || []).length > 0"


def _open_editor(page, url: str) -> None:
    page.goto(url)
    page.wait_for_function(READY, timeout=30_000)
    assert page.evaluate("window.__editorErrors") == []


class Screen:
    """Maps image pixels to page coordinates, for an image fitted and centred in the viewport."""

    def __init__(self, box: dict[str, float], columns: int = COLUMNS, rows: int = ROWS):
        self.box = box
        self.scale = min(box["width"] / columns, box["height"] / rows)
        self.left = box["x"] + (box["width"] - columns * self.scale) / 2
        self.top = box["y"] + (box["height"] - rows * self.scale) / 2

    def page_point(self, x: float, y: float) -> tuple[float, float]:
        return self.left + x * self.scale, self.top + y * self.scale

    def pixel(self, px: float, py: float) -> tuple[float, float]:
        return (px - self.left) / self.scale, (py - self.top) / self.scale

    def drag(self, page, start: tuple[float, float], end: tuple[float, float]) -> dict[str, int]:
        """Drag between two pixel positions; returns the pixel rect the drag covers."""
        # Chromium reports mouse events at whole CSS pixels: expect what it will deliver.
        a, b = (tuple(map(math.floor, self.page_point(*p))) for p in (start, end))
        page.mouse.move(*a)
        page.mouse.down()
        page.mouse.move((a[0] + b[0]) / 2, (a[1] + b[1]) / 2, steps=4)
        page.mouse.move(*b, steps=4)
        page.mouse.up()
        (x0, y0), (x1, y1) = self.pixel(*a), self.pixel(*b)
        x, y = math.floor(x0), math.floor(y0)
        return {"x": x, "y": y, "width": math.ceil(x1) - x, "height": math.ceil(y1) - y}


def _close(actual: dict, expected: dict, tolerance: int = 1) -> bool:
    return all(abs(actual[k] - expected[k]) <= tolerance for k in ("x", "y", "width", "height"))


def _saved(page) -> None:
    expect(page.get_by_test_id("save-status")).to_have_text("All changes saved")
    expect(page.get_by_role("alert")).to_be_empty()


def test_an_author_decides_on_every_proposal_confirms_draws_a_box_and_crops(
    page, live_server, sign_in, make_user, artifacts
):
    from accounts.roles import Role

    author = make_user("editor", Role.AUTHOR)
    case = case_create(author=author, title="Cine with a name")
    root = settings.INCOMING_ROOT / "e2e"
    files_ingest(case=case, paths=[write(us_cine_with_name(), root / "us-editor.dcm")])
    cine = Instance.objects.get(series__case=case)
    assert cine.status == Instance.Status.NEEDS_REVIEW and cine.reviewed_at is None
    name_box = next(r for r in cine.proposed_regions if r["matches"] == "PatientName")
    others = [r["id"] for r in cine.proposed_regions if r is not name_box]

    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in("editor", "editor-pw-123")
    url = f"{live_server.url}/cases/{case.pk}/edit/"
    _open_editor(page, url)
    expect(page.get_by_test_id("frame-counter")).to_have_text("image 1 of 1 · frame 1 of 3")
    expect(page.get_by_test_id("needs-review")).to_be_visible()

    # Scrolling the stack moves through the cine's frames.
    viewport = page.get_by_test_id("viewport")
    viewport.hover()
    page.mouse.wheel(0, 120)
    expect(page.get_by_test_id("frame-counter")).to_have_text("image 1 of 1 · frame 2 of 3")

    # Cine plays the frames of this image and pauses.
    page.get_by_test_id("cine").click()
    expect(page.get_by_test_id("frame-counter")).to_have_text("image 1 of 1 · frame 1 of 3")
    page.get_by_test_id("cine").click()
    expect(page.get_by_test_id("cine")).to_have_text("Play")

    # Proposals are labelled by what they match, never by text read from the pixels.
    proposals = page.get_by_test_id("proposals")
    expect(page.get_by_test_id(f"proposal-{name_box['id']}")).to_contain_text("matches PatientName")
    assert "ZEBRAFISH" not in page.content().upper()

    # Accepting one proposal does not review the image: every one needs a decision, and
    # then an explicit confirmation.
    page.get_by_test_id(f"accept-{name_box['id']}").click()
    _saved(page)
    expect(page.get_by_test_id("needs-review")).to_be_visible()
    confirm = page.get_by_test_id("confirm")
    if others:
        expect(confirm).to_be_disabled()
    for pid in others:
        page.get_by_test_id(f"reject-{pid}").click()
        _saved(page)
    expect(page.get_by_test_id("pending-count")).to_have_text("Every proposed box is decided.")
    expect(confirm).to_be_enabled()
    confirm.click()
    _saved(page)
    expect(page.get_by_test_id("reviewed")).to_be_visible()

    page.get_by_test_id("box-mode").click()
    page.get_by_test_id("scope").select_option("instance")
    screen = Screen(viewport.bounding_box())
    dragged = screen.drag(page, (100.3, 100.3), (200.6, 150.6))
    _saved(page)

    page.get_by_test_id("crop-mode").click()
    screen = Screen(viewport.bounding_box())
    cropped = screen.drag(page, (15.2, 25.2), (305.4, 235.4))
    _saved(page)

    cine.refresh_from_db()
    assert cine.reviewed_at is not None  # a new box does not withdraw the confirmation
    assert cine.proposal_decisions == {
        name_box["id"]: "accepted",
        **dict.fromkeys(others, "rejected"),
    }
    accepted, drawn = cine.blackouts
    assert accepted == {**{k: name_box[k] for k in ("x", "y", "width", "height")}, "frames": "all"}
    assert drawn["frames"] == "all"
    assert _close(drawn, dragged), (drawn, dragged)
    crop = Series.objects.get(pk=cine.series_id).crop
    assert _close(crop, cropped), (crop, cropped)
    for rect in (drawn, crop):
        assert rect["x"] >= 0 and rect["y"] >= 0
        assert rect["x"] + rect["width"] <= COLUMNS and rect["y"] + rect["height"] <= ROWS

    # Undo takes the crop back off, on the server too; crop again for the screenshot.
    page.get_by_test_id("undo").click()
    _saved(page)
    assert Series.objects.get(pk=cine.series_id).crop is None
    page.get_by_test_id("crop-mode").click()
    Screen(viewport.bounding_box()).drag(page, (15.2, 25.2), (305.4, 235.4))
    _saved(page)

    page.reload()
    page.wait_for_function(READY, timeout=30_000)
    boxes = page.get_by_test_id("blackout-list").get_by_role("listitem")
    expect(boxes).to_have_count(2)
    expect(boxes.nth(1)).to_contain_text(
        f"{drawn['width']}×{drawn['height']} at ({drawn['x']}, {drawn['y']})"
    )
    expect(page.get_by_test_id("crop-info")).to_contain_text(f"at ({crop['x']}, {crop['y']})")
    # Decisions survive a reload: rejected proposals do not come back.
    expect(page.get_by_test_id(f"proposal-{name_box['id']}")).to_have_attribute(
        "data-status", "accepted"
    )
    for pid in others:
        expect(page.get_by_test_id(f"proposal-{pid}")).to_have_attribute("data-status", "rejected")
    expect(proposals.locator('li[data-status="pending"]')).to_have_count(0)
    expect(page.get_by_test_id("needs-review")).to_have_count(0)
    expect(page.get_by_test_id("reviewed")).to_be_visible()
    page.wait_for_timeout(300)
    page.screenshot(path=artifacts / "editor.png", full_page=True)
    assert errors == []


def test_a_box_that_does_not_fit_is_reported_in_the_alert_area(
    page, live_server, sign_in, make_user
):
    from accounts.roles import Role

    author = make_user("editor2", Role.AUTHOR)
    case = case_create(author=author, title="Cine")
    root = settings.INCOMING_ROOT / "e2e"
    files_ingest(case=case, paths=[write(us_cine_with_name(), root / "us-editor2.dcm")])
    cine = Instance.objects.get(series__case=case)
    # The server refuses the save (as it would a box that does not fit the image).
    sign_in("editor2", "editor2-pw-123")
    page.route(
        f"**/cases/{case.pk}/instances/{cine.pk}/edits/",
        lambda route: route.fulfill(status=400, json={"error": "the box does not fit"}),
    )
    _open_editor(page, f"{live_server.url}/cases/{case.pk}/edit/")
    page.get_by_test_id("proposals").get_by_role("button", name="Reject").first.click()
    expect(page.get_by_role("alert")).to_have_text("the box does not fit")
    expect(page.get_by_test_id("save-status")).to_have_text("Not saved")


def test_an_author_marks_the_second_image_as_the_key_image(page, live_server, sign_in, make_user):
    from accounts.roles import Role
    from tests.anonymizer.dirty import dirty_ct

    author = make_user("keyer", Role.AUTHOR)
    case = case_create(author=author, title="Two slices")
    root = settings.INCOMING_ROOT / "e2e"
    files_ingest(case=case, paths=[write(dirty_ct(i), root / f"ct-key-{i}.dcm") for i in (1, 2)])
    series = Series.objects.get(case=case)
    _, second = series.instances.all()

    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in("keyer", "keyer-pw-123")
    _open_editor(page, f"{live_server.url}/cases/{case.pk}/edit/")
    counter = page.get_by_test_id("frame-counter")
    expect(counter).to_have_text("image 1 of 2 · frame 1 of 1")
    expect(page.get_by_test_id("key-badge")).to_have_count(0)

    page.get_by_test_id("viewport").hover()
    page.mouse.wheel(0, 120)
    expect(counter).to_have_text("image 2 of 2 · frame 1 of 1")
    page.get_by_test_id("key-image").click()
    _saved(page)
    expect(page.get_by_test_id("key-badge")).to_be_visible()
    expect(page.get_by_test_id("key-image")).to_be_disabled()
    series.refresh_from_db()
    assert series.key_instance_id == second.pk

    page.reload()
    page.wait_for_function(READY, timeout=30_000)
    expect(counter).to_have_text("image 1 of 2 · frame 1 of 1")
    expect(page.get_by_test_id("key-badge")).to_have_count(0)
    page.get_by_test_id("viewport").hover()
    page.mouse.wheel(0, 120)
    expect(counter).to_have_text("image 2 of 2 · frame 1 of 1")
    expect(page.get_by_test_id("key-badge")).to_be_visible()
    assert errors == []


def test_the_final_checks_places_are_shown_and_an_area_is_marked_safe_then_the_series_confirmed(
    page, live_server, sign_in, make_user, artifacts
):
    from accounts.roles import Role

    author = make_user("gatekeeper", Role.AUTHOR)
    case = case_create(author=author, title="Cine stopped by the final check")
    root = settings.INCOMING_ROOT / "e2e"
    files_ingest(case=case, paths=[write(us_cine_with_name(), root / "us-gate.dcm")])
    cine = Instance.objects.get(series__case=case)
    place = {"frame": 1, "x": 250, "y": 200, "width": 60, "height": 30}
    Instance.objects.filter(pk=cine.pk).update(gate_regions=[place])

    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in("gatekeeper", "gatekeeper-pw-123")
    # The case page's link opens the editor at the image and frame of the place.
    _open_editor(page, f"{live_server.url}/cases/{case.pk}/edit/?image={cine.pk}&frame=2")
    expect(page.get_by_test_id("frame-counter")).to_have_text("image 1 of 1 · frame 2 of 3")
    expect(page.locator("svg .ed-gate")).to_have_count(1)
    gate = page.get_by_test_id("gate-list").get_by_role("listitem")
    expect(gate).to_have_attribute("data-status", "open")

    page.get_by_test_id("gate-safe-0").click()
    _saved(page)
    expect(gate).to_have_attribute("data-status", "safe")
    expect(page.locator("svg .ed-safe")).to_have_count(1)
    cine.refresh_from_db()
    assert cine.safe_regions == [{**{k: place[k] for k in ("x", "y", "width", "height")},
                                  "frames": "all"}]  # fmt: skip
    assert cine.reviewed_at is None

    # A safe area drawn by hand, on this frame only.
    page.get_by_test_id("safe-mode").click()
    page.get_by_test_id("scope").select_option("frame")
    drawn = Screen(page.get_by_test_id("viewport").bounding_box()).drag(
        page, (20.3, 70.3), (60.6, 100.6)
    )
    _saved(page)
    expect(page.get_by_test_id("safe-list").get_by_role("listitem")).to_have_count(2)
    page.wait_for_timeout(300)
    page.screenshot(path=artifacts / "editor-final-check.png", full_page=True)

    page.get_by_test_id("confirm-series").click()
    _saved(page)
    expect(page.get_by_test_id("reviewed")).to_be_visible()
    cine.refresh_from_db()
    assert cine.reviewed_at is not None
    assert set(cine.proposal_decisions.values()) <= {"accepted"}
    assert len(cine.proposal_decisions) == len(cine.proposed_regions)
    hand = cine.safe_regions[1]
    assert hand["frames"] == [1] and _close(hand, drawn), (hand, drawn)
    assert errors == []
