"""A real headless Chromium for the join page's tests (pytest fixtures; a plugin of tests/conftest).

Debian's `chromium` is driven by playwright-python with `executable_path`: playwright's own
browser download (`npx playwright install`) cannot reach its CDN here, and the distribution's
browser is what `make chromium` installs. One browser serves the whole session (starting it
costs about a second); every test gets a fresh context, so cookies and storage never leak
between tests.

Playwright's async objects belong to the event loop that made them, so tests that use
`browser_page` run on the session loop: mark them
`pytestmark = pytest.mark.asyncio(loop_scope="session")`.

When the browser cannot be had, the tests skip with the reason printed; under `CI=true` that is a
failure instead, because CI installs the browser (`make test` → `make chromium`).
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio

if TYPE_CHECKING:
    from playwright.async_api import Browser, ConsoleMessage, Error, Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CSP_VIOLATION = re.compile(r"Content Security Policy", re.IGNORECASE)


def _unavailable(reason: str) -> None:
    """Skip with *reason*, or fail under CI, where the browser must be there."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but the browser tests cannot run: {reason}")
    pytest.skip(reason)


@dataclass
class BrowserPage:
    """A page in a fresh context, with what its console said and a screenshot helper."""

    page: Page
    shots: Path
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def csp_violations(self) -> list[str]:
        """Console lines in which Chromium reports something the policy blocked."""
        return [line for line in self.console if CSP_VIOLATION.search(line)]

    async def screenshot(self, name: str) -> Path:
        """Saves the full page as *name*.png in this session's screenshot folder."""
        path = self.shots / f"{name}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        print(f"screenshot: {path}")
        return path

    def _on_console(self, message: ConsoleMessage) -> None:
        line = f"{message.type}: {message.text}"
        self.console.append(line)
        if message.type == "error":
            self.errors.append(message.text)

    def _on_page_error(self, error: Error) -> None:
        self.errors.append(f"uncaught: {error}")


@pytest.fixture(name="screenshot_dir", scope="session")
def _screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("screenshots")


def chromium_or_skip(path: Path = CHROMIUM) -> Path:
    """The browser binary at *path*, or a skip (a failure under CI) saying how to get it."""
    if not path.is_file():
        _unavailable(f"{path} is missing; `make chromium` installs it (as root)")
    return path


@pytest.fixture(name="chromium", scope="session")
def _chromium() -> Path:
    return chromium_or_skip()


@pytest_asyncio.fixture(name="browser", scope="session", loop_scope="session")
async def _browser(chromium: Path) -> AsyncIterator[Browser]:
    try:
        from playwright.async_api import async_playwright  # optional: the test extra
    except ImportError as exc:
        _unavailable(f"playwright is not installed ({exc}); `pip install -e '.[test]'`")
        raise  # unreachable: _unavailable raises
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            await browser.close()


@pytest_asyncio.fixture(name="browser_page", loop_scope="session")
async def _browser_page(browser: Browser, screenshot_dir: Path) -> AsyncIterator[BrowserPage]:
    context = await browser.new_context(viewport={"width": 1024, "height": 720})
    try:
        page = await context.new_page()
        page.set_default_timeout(15_000)
        result = BrowserPage(page=page, shots=screenshot_dir)
        page.on("console", result._on_console)
        page.on("pageerror", result._on_page_error)
        yield result
    finally:
        await context.close()
