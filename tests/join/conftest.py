"""Join fixtures: the reliability fixtures (SQLite and PostgreSQL URLs), and a browser.

The browser is this file's own small fixture until the calling bundle's shared one lands.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.reliability.conftest import _postgres_url, _sqlite_url

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

__all__ = ["_postgres_url", "_sqlite_url"]


# --- a headless Chromium, driven by playwright-python -----------------------------------------

CHROMIUM = Path(os.environ.get("ROOMBOT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FOUND = CHROMIUM.exists()  # read once, at import (not on the event loop)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]
SHOTS = Path(os.environ.get("ROOMBOT_SCREENSHOTS", "var/screenshots"))


@pytest.fixture(name="browser")
async def _browser() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless; skipped with the reason where it or playwright is missing."""
    if not CHROMIUM_FOUND:
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium; make test does it)")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture(name="page")
async def _page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1000, "height": 720})
    page = await context.new_page()
    try:
        yield page
    finally:
        await context.close()
