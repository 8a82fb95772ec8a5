"""An author finds a study in the demo PACS and pulls it, all in the browser."""

import pytest
from playwright.sync_api import expect

from cases.models import Instance

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_an_author_searches_the_pacs_pulls_a_series_and_follows_the_job(
    page, sign_in, celery_worker, listener, node, make_user, artifacts
):
    from accounts.roles import Role

    make_user("radiologist", Role.AUTHOR)
    sign_in("radiologist", "radiologist-pw-123")
    page.get_by_role("link", name="Find in PACS").click()
    page.get_by_label("Patient ID").fill("DEMO-0003")
    page.get_by_role("button", name="Search").click()
    studies = page.get_by_test_id("studies")
    expect(studies).to_contain_text("DEMO^ULTRASOUND")
    studies.get_by_role("link", name="Open").click()
    series = page.get_by_test_id("series")
    for box in series.get_by_role("checkbox").all():
        box.check()
    page.screenshot(path=artifacts / "pacs-series.png")
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_test_id("job-status")).to_have_text("Done", timeout=90_000)
    page.screenshot(path=artifacts / "pacs-job-done.png")
    assert "DEMO-0003" not in page.url
    page.get_by_role("link", name="Go to the case").click()
    expect(page.get_by_role("heading", name="Series")).to_be_visible()
    assert Instance.objects.filter(status="needs-review").exists()
