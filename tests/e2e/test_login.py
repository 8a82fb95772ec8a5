import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_accounts(db):
    from accounts.services import demo_accounts_ensure

    return {a.role.value: a for a in demo_accounts_ensure()}


@pytest.mark.parametrize(
    ("role", "heading"),
    [("author", "My cases"), ("trainee", "Teaching library"), ("admin", "Quarantine")],
)
def test_each_demo_role_signs_in_to_its_home_page(
    page, sign_in, demo_accounts, role, heading, artifacts
):
    account = demo_accounts[role]
    sign_in(account.username, account.password)
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    expect(page.get_by_test_id("who")).to_contain_text(role)
    page.screenshot(path=artifacts / f"home-{role}.png")


def test_a_wrong_password_is_refused_with_a_message(page, sign_in, demo_accounts):
    sign_in("author", "not-the-password")
    expect(page.get_by_role("alert")).to_contain_text("didn't match")


def test_signing_out_returns_to_the_sign_in_page(page, sign_in, demo_accounts, live_server):
    sign_in("trainee", demo_accounts["trainee"].password)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    page.goto(f"{live_server.url}/cases/library/")
    expect(page).to_have_url(f"{live_server.url}/login/?next=/cases/library/")


def test_the_frontend_bundle_is_served_and_runs(page, sign_in, demo_accounts):
    """The Vite build's entry loads: a data-confirm form asks before it submits."""
    sign_in("author", demo_accounts["author"].password)
    asked = []
    page.on("dialog", lambda d: (asked.append(d.message), d.dismiss()))
    page.evaluate(
        """() => { const f = document.createElement('form'); f.method = 'post';
        f.dataset.confirm = 'Really?'; f.innerHTML = '<button id=go>go</button>';
        document.body.append(f); }"""
    )
    page.click("#go")
    assert asked == ["Really?"]
