"""The API documentation pages in a real browser with the network cut off at our own server:
everything they need comes from us, and they run under a content security policy without a
single violation."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.live_server import ServerProcess, run_cli

pytestmark = pytest.mark.slow
# Recorded before the page's own script runs; the policy cannot stop a listener added this way.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  window.__violations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} (${where})`);
});
"""
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('docs') / 'store.db'}"
    run_cli(url, "db", "upgrade")
    process = ServerProcess(url)
    process.start()
    try:
        yield process.base
    finally:
        process.stop()


class OfflineTab:
    """A tab whose every request to another host is aborted and written down, with its console
    errors and policy violations."""

    def __init__(self, chromium, base: str) -> None:
        self.local = urlsplit(base).netloc
        self.context = chromium.new_context(base_url=base, service_workers="block")
        self.elsewhere: list[str] = []
        self.problems: list[str] = []
        self.context.route("**/*", self._only_local)
        self.context.add_init_script(RECORD_VIOLATIONS)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.problems.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))

    def _only_local(self, route) -> None:
        url = route.request.url
        if urlsplit(url).scheme in ("data", "blob") or urlsplit(url).netloc == self.local:
            route.continue_()
        else:
            self.elsewhere.append(url)
            route.abort()

    def violations(self) -> list[str]:
        return self.page.evaluate("window.__violations")


@pytest.fixture
def tab(chromium, server) -> Iterator[OfflineTab]:
    opened = OfflineTab(chromium, server)
    yield opened
    opened.context.close()


def test_swagger_ui_lists_the_operations_offline_under_a_policy_without_inline_script(tab):
    answer = tab.page.goto("/docs")
    assert answer is not None and answer.status == 200
    policy = answer.headers["content-security-policy"]
    script_src = next(d for d in policy.split(";") if d.strip().startswith("script-src"))
    assert script_src.split() == ["script-src", "'self'"]
    orders = tab.page.locator('.opblock-summary-path[data-path="/api/v1/orders"]')
    orders.first.wait_for(state="visible", timeout=60_000)
    assert tab.page.locator(".opblock").count() > 40  # every operation, not just a few
    tab.page.locator(".opblock-summary").first.click()  # an operation opens: the UI is live
    tab.page.locator(".opblock-body").first.wait_for(state="visible")
    assert tab.elsewhere == []
    assert tab.violations() == []
    assert tab.problems == []


def test_redoc_renders_the_operations_offline_with_only_its_vendor_logo_refused(tab):
    answer = tab.page.goto("/redoc")
    assert answer is not None and answer.status == 200
    assert "script-src 'self';" in answer.headers["content-security-policy"]
    operations = tab.page.locator('[data-section-id^="operation/"]')
    operations.first.wait_for(state="attached", timeout=90_000)
    assert operations.count() > 40
    assert tab.page.locator('[data-section-id="operation/place_order"]').count() == 1
    # ReDoc's bundle always asks for its vendor's logo from a CDN: the policy refuses it before any
    # request is made, and ReDoc hides the broken image. Nothing else is refused.
    assert tab.violations() == [f"img-src blocked {REDOC_LOGO} (:0)"]
    assert [p for p in tab.problems if REDOC_LOGO not in p] == []
    assert tab.elsewhere == []
