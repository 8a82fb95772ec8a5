"""The whole authoring path in the browser: pull from the demo PACS, review the OCR boxes,
black out and crop, write the case, publish; then the published files are checked."""

import time

import numpy as np
import pydicom
import pytest
from django.conf import settings
from playwright.sync_api import expect

from cases.models import Case, Instance
from pacs_bridge.dicom.sample_data import US_COLUMNS, US_ROWS
from tests.e2e.test_editor import READY, Screen, _close, _saved

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.django_db(transaction=True)]
PLANTED = (b"DEMO^ULTRASOUND", b"DEMO-0003", b"DEMOACC0003", b"19700101")


def test_an_author_pulls_edits_writes_and_publishes_a_case(
    page, live_server, sign_in, celery_worker, listener, node, make_user, artifacts
):
    from accounts.roles import Role

    make_user("publisher", Role.AUTHOR)
    sign_in("publisher", "publisher-pw-123")

    # Pull the ultrasound cine with the burned-in header from the demo PACS.
    page.get_by_role("link", name="Find in PACS").click()
    page.get_by_label("Patient ID").fill("DEMO-0003")
    page.get_by_role("button", name="Search").click()
    page.get_by_test_id("studies").get_by_role("link", name="Open").click()
    page.get_by_role("row").filter(has_text="LIVER CINE").get_by_role("checkbox").check()
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_test_id("job-status")).to_have_text("Done", timeout=90_000)
    page.get_by_role("link", name="Go to the case").click()
    case = Case.objects.get(author__username="publisher")
    cine = Instance.objects.get(series__case=case)
    assert cine.status == Instance.Status.NEEDS_REVIEW

    # Review: accept every proposed box that matches the header, add a box on all frames,
    # crop the header band away.
    page.get_by_role("link", name="Review and edit the images").click()
    page.wait_for_function(READY, timeout=30_000)
    identifying = [r["id"] for r in cine.proposed_regions if r["matches"]]
    assert identifying, cine.proposed_regions
    expect(page.get_by_test_id(f"accept-{identifying[0]}")).to_be_visible()
    page.get_by_test_id("accept-all-confirm").click()
    _saved(page)
    expect(page.get_by_test_id("reviewed")).to_be_visible()
    for pid in identifying:
        expect(page.get_by_test_id(f"proposal-{pid}")).to_have_attribute("data-status", "accepted")
    viewport = page.get_by_test_id("viewport")
    page.get_by_test_id("box-mode").click()
    page.get_by_test_id("scope").select_option("instance")
    own_box = Screen(viewport.bounding_box(), US_COLUMNS, US_ROWS).drag(
        page, (420.3, 300.3), (520.6, 360.6)
    )
    _saved(page)
    page.get_by_test_id("crop-mode").click()
    dragged_crop = Screen(viewport.bounding_box(), US_COLUMNS, US_ROWS).drag(
        page, (20.2, 30.2), (620.4, 470.4)
    )
    _saved(page)
    page.wait_for_timeout(300)
    page.screenshot(path=artifacts / "authoring-editor.png", full_page=True)

    # Write the case, confirm the checklist, publish.
    page.get_by_role("link", name="Back to the case").click()
    page.get_by_role("link", name="Write the case").click()
    page.get_by_label("Title", exact=True).fill("Liver on ultrasound")
    page.get_by_label("Diagnosis", exact=True).fill("Normal liver")
    page.get_by_label("Findings", exact=True).fill("Homogeneous echotexture.")
    page.get_by_role("button", name="Save").click()
    # Review the text that will be published (series and study descriptions): accept each.
    accept = page.get_by_test_id("free-text").get_by_test_id("accept-text")
    expect(accept.first).to_be_visible()
    while accept.count():
        with page.expect_navigation():
            accept.first.click()
    for box in page.get_by_test_id("author-actions").get_by_role("checkbox").all():
        box.check()
    page.get_by_role("button", name="Publish").click()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        case.refresh_from_db()
        if case.status != Case.Status.PUBLISHING:
            break
        time.sleep(0.3)
    assert case.status == Case.Status.PUBLISHED, case.publish_error
    page.reload()
    expect(page.get_by_text("Published", exact=True)).to_be_visible()
    page.screenshot(path=artifacts / "authoring-published.png", full_page=True)

    # The published file: boxes black on every frame, the crop applied, nothing planted.
    cine.refresh_from_db()
    crop = cine.series.crop
    assert _close(crop, dragged_crop), (crop, dragged_crop)
    path = settings.PUBLISHED_ROOT / cine.published_file
    data = path.read_bytes()
    assert not any(p in data for p in PLANTED)
    ds = pydicom.dcmread(path)
    assert (ds.Rows, ds.Columns) == (crop["height"], crop["width"])
    frames = ds.pixel_array
    assert frames.shape[0] == cine.number_of_frames
    for box in cine.blackouts:
        assert box["frames"] == "all"  # accepted OCR boxes cover every frame of the cine
        x0, y0 = max(box["x"] - crop["x"], 0), max(box["y"] - crop["y"], 0)
        x1 = min(box["x"] + box["width"] - crop["x"], crop["width"])
        y1 = min(box["y"] + box["height"] - crop["y"], crop["height"])
        if x1 > x0 and y1 > y0:
            assert np.all(frames[:, y0:y1, x0:x1] == 0), box
    assert any(_close(b, own_box) and b["frames"] == "all" for b in cine.blackouts)
    assert ds.BurnedInAnnotation == "NO"
    assert ds.PatientName == case.pseudonym
    assert ds.SeriesDescription == cine.series.description != ""  # as the author accepted it
