"""The pages carry a Content-Security-Policy, and the browser tests notice a violation."""

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_inline_script_is_refused_and_reported_as_a_violation(page, live_server, csp_violations):
    response = page.goto(f"{live_server.url}/login/")
    policy = response.headers["content-security-policy"]
    assert "'wasm-unsafe-eval'" in policy and "'unsafe-inline'" not in policy
    page.evaluate(
        """() => { const s = document.createElement('script');
        s.textContent = 'window.__inlineRan = true'; document.body.append(s); }"""
    )
    page.wait_for_function("() => true")  # let the console events arrive
    page.wait_for_timeout(200)
    assert page.evaluate("window.__inlineRan === undefined")
    assert any("script-src" in v for v in csp_violations), csp_violations
    csp_violations.clear()  # caused on purpose: the autouse check must not fail this test


def test_a_page_may_compile_webassembly_for_the_image_codecs(page, live_server):
    """cornerstone's codecs (JPEG-LS, JPEG 2000, ...) are WebAssembly: the policy allows
    compiling it ('wasm-unsafe-eval') without allowing JavaScript eval."""
    page.goto(f"{live_server.url}/login/")
    empty_module = "[0, 97, 115, 109, 1, 0, 0, 0]"  # "\\0asm", version 1
    compiled = page.evaluate(
        f"""async () => {{ try {{ await WebAssembly.compile(new Uint8Array({empty_module}));
        return 'ok'; }} catch (e) {{ return String(e); }} }}"""
    )
    assert compiled == "ok"


def test_the_admin_pages_work_under_the_policy(page, live_server, sign_in, make_user):
    """Django's admin (used to set up PACS nodes and users) has no inline code either;
    any violation fails this test through the autouse check in conftest."""
    from accounts.roles import Role

    make_user("amy", Role.ADMIN)
    sign_in("amy", "amy-pw-123")
    for path in (
        "/admin/",
        "/admin/pacs_bridge/pacsnode/add/",
        "/admin/auth/user/",
        "/cases/audit/",
    ):
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, path
        assert "content-security-policy" in response.headers, path
    page.goto(f"{live_server.url}/admin/pacs_bridge/pacsnode/add/")
    page.get_by_label("Name").fill("Example")
    page.wait_for_timeout(300)  # the admin's scripts have run
