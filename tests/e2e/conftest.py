"""What the browser tests share: Debian's Chromium, driven by Playwright."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.conftest import in_ci

# Without the background-networking flags Chromium keeps calling hosts this machine cannot reach.
LAUNCH_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    executable = shutil.which("chromium")
    if executable is None:
        if in_ci():
            pytest.fail("chromium is not installed: scripts/ensure-chromium.sh should have installed it")
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=LAUNCH_FLAGS)
        try:
            yield browser
        finally:
            browser.close()
