"""Playwright with Debian's Chromium (`playwright install` cannot download here).

Every browser test also fails on any Content-Security-Policy violation: the pages,
the viewer and the editor must work under the policy in settings.
"""

import os
from pathlib import Path

import pytest

from tests.conftest import require

CHROMIUM = os.environ.get("TEACHINGFILE_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    require(Path(CHROMIUM).exists(), f"Chromium at {CHROMIUM}")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": FLAGS}


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def sign_in(page, live_server):
    def sign_in(username: str, password: str) -> None:
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()

    return sign_in


# Each page reports every CSP violation (``securitypolicyviolation`` event) to the console;
# Chromium also logs a console error of its own for each refusal.
_REPORT_VIOLATIONS = """
document.addEventListener('securitypolicyviolation', (e) => {
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`
    + ` at ${e.sourceFile || ''}:${e.lineNumber || 0}`);
});
"""


def _is_csp_violation(text: str) -> bool:
    return text.startswith("CSP violation:") or "Content Security Policy" in text


@pytest.fixture
def csp_violations(request) -> list[str]:
    """The CSP violations seen so far in this test's browser context (tests may clear
    the list after causing one on purpose)."""
    seen: list[str] = []
    if "page" not in request.fixturenames:
        return seen
    context = request.getfixturevalue("context")
    context.add_init_script(_REPORT_VIOLATIONS)
    context.on(
        "console",
        lambda message: _is_csp_violation(message.text) and seen.append(message.text),
    )
    return seen


@pytest.fixture(autouse=True)
def _no_csp_violations(request, csp_violations):
    yield
    if csp_violations:
        pytest.fail(
            "Content-Security-Policy violations:\n" + "\n".join(dict.fromkeys(csp_violations)),
            pytrace=False,
        )
