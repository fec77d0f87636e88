"""The join page in a real browser (headless Chromium): each state as a person sees it.

The page is served by the real bot server; its token comes from the ACS emulator through a
link pressed in the fake Slack. The browser is `tests/browser.py`'s `browser_page`; each
state's screenshot goes to the session's screenshot folder (its path is printed).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio

from bot.join.routes import STATIC_DIR
from tests.browser import BrowserPage
from tests.join.helpers import ALICE, BOB, create_room, link_in, press_join
from tests.reliability.harness import Bot, running_bot

if TYPE_CHECKING:
    from playwright.async_api import Page

CALL_BUILT = (STATIC_DIR / "call.js").is_file()
pytestmark = pytest.mark.asyncio(loop_scope="session")  # the browser lives on that loop


@pytest_asyncio.fixture(name="bot", loop_scope="session")
async def _bot(sqlite_url: str) -> AsyncIterator[Bot]:
    async with running_bot(sqlite_url, join="public") as running:
        yield running


@pytest_asyncio.fixture(name="view", loop_scope="session")
async def _view(browser_page: BrowserPage) -> AsyncIterator[BrowserPage]:
    """A fresh page; afterwards, nothing the Content-Security-Policy blocked, no page error."""
    yield browser_page
    assert browser_page.csp_violations() == []
    assert [e for e in browser_page.errors if e.startswith("uncaught")] == []


async def state_of(page: Page, state: str) -> None:
    await page.wait_for_function(
        "state => document.body.dataset.state === state", arg=state, timeout=30_000
    )


async def test_a_used_link_reads_as_used_with_what_to_do(bot: Bot, view: BrowserPage) -> None:
    page = view.page
    room_id = await create_room(bot)
    link = link_in(await press_join(bot, room_id, user=BOB))
    async with bot.http.post(link + "/token") as response:
        assert response.status == 200
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))
    await page.goto(link)
    await state_of(page, "refused")
    assert await page.evaluate("() => document.body.dataset.code") == "code_used"
    text = await page.inner_text("main")
    assert "used already" in text
    assert "Press Join on the room's card in Slack for a new one" in text
    await view.screenshot("join-refused-used")
    # The first paint needs the page, its script and its stylesheet; the calling bundle is
    # fetched only with a token in hand, so a refused link never loads it.
    paths = sorted(url.removeprefix(link.rsplit("/", 2)[0]) for url in fetched)
    assert [p for p in paths if "call.js" in p] == []
    assert set(paths) >= {"/join/static/join.js", "/join/static/join.css"}


async def test_an_unknown_link_reads_as_unknown(bot: Bot, view: BrowserPage) -> None:
    page = view.page
    room_id = await create_room(bot)
    link = link_in(await press_join(bot, room_id, user=BOB))
    await page.goto(link[:-4] + "AAAA")
    await state_of(page, "refused")
    assert await page.evaluate("() => document.body.dataset.code") == "code_unknown"
    assert "doesn't work" in await page.inner_text("h1")
    await view.screenshot("join-refused-unknown")


async def test_a_room_that_opens_later_counts_down(bot: Bot, view: BrowserPage) -> None:
    page = view.page
    room_id = await create_room(bot, 'in 2 hours for 1 hour "Design review"')
    link = link_in(await press_join(bot, room_id, user=BOB))
    await page.goto(link)
    await state_of(page, "waiting")
    first = await page.inner_text("#countdown")
    assert re.fullmatch(r"Opens in (01:5\d:\d\d|02:00:00)", first), first  # about 2 h
    await page.wait_for_function(
        "first => document.getElementById('countdown').textContent !== first", arg=first
    )
    text = await page.inner_text("main")
    assert f"“Design review” (room {room_id})" in text  # the title the registry keeps
    assert "attendee" in text
    assert "joins the call by itself" in text
    await view.screenshot("join-waiting")


@pytest.mark.parametrize(
    ("change", "code", "heading", "next_step"),
    [
        ("delete", "room_deleted", "This room was deleted", "Ask its creator"),
        ("expire", "code_expired", "This link has expired", "Press Join on the room's card"),
        ("remove", "not_invited", "You're no longer in this room", "Ask its creator"),
    ],
)
async def test_refusals_read_as_they_should(
    bot: Bot, view: BrowserPage, change: str, code: str, heading: str, next_step: str
) -> None:
    page = view.page
    room_id = await create_room(bot)
    link = link_in(await press_join(bot, room_id, user=BOB))
    if change == "delete":
        await bot.command(f"delete {room_id}")
    elif change == "remove":
        await bot.command(f"remove {room_id} <@{BOB}|bob>")
    else:
        bot.clock.advance(timedelta(minutes=6))
    await bot.settle()
    await page.goto(link)
    await state_of(page, "refused")
    assert await page.evaluate("() => document.body.dataset.code") == code
    assert await page.inner_text("h1") == heading
    detail = await page.inner_text("#detail")
    assert next_step in detail
    assert "`" not in detail  # Slack's markup is not shown as such
    await view.screenshot(f"join-refused-{code}")


async def test_a_waiting_page_starts_the_call_when_the_room_opens(
    bot: Bot, view: BrowserPage
) -> None:
    page = view.page
    room_id = await create_room(bot, "in 2 hours for 1 hour")
    link = link_in(await press_join(bot, room_id, user=BOB))
    await page.clock.install()
    await page.goto(link + "?call-timeout=2000")
    await state_of(page, "waiting")
    await page.clock.fast_forward("02:00:01")
    await page.wait_for_function(
        "() => ['calling', 'refused'].includes(document.body.dataset.state)"
    )
    expected = "calling" if CALL_BUILT else "refused"
    assert await page.evaluate("() => document.body.dataset.state") == expected


@pytest.mark.skipif(CALL_BUILT, reason="the calling component is built: see the calling test")
async def test_without_the_calling_component_the_page_says_how_to_build_it(
    bot: Bot, view: BrowserPage
) -> None:
    page = view.page
    room_id = await create_room(bot)
    await page.goto(link_in(await press_join(bot, room_id, user=ALICE)))
    await state_of(page, "refused")
    assert await page.evaluate("() => document.body.dataset.code") == "call_not_built"
    assert "make run" in await page.inner_text("main")
    await view.screenshot("join-not-built")


@pytest.mark.skipif(not CALL_BUILT, reason="bot/join/static/call.js is not built (make builds it)")
async def test_the_page_asks_the_ui_library_for_the_rooms_call_then_times_out_in_words(
    bot: Bot, view: BrowserPage
) -> None:
    """Everything up to the call works for real; against the emulator the call agent never
    comes up, and the page says so in plain words (with no CSP violation: see `view`)."""
    page = view.page
    room_id = await create_room(bot)
    link = link_in(await press_join(bot, room_id, user=ALICE))
    await page.goto(link + "?call-timeout=3000")
    await state_of(page, "calling")
    assert f"Room {room_id}" in await page.inner_text("main")
    await page.wait_for_function("() => document.body.dataset.call !== undefined")
    await view.screenshot("join-calling")
    await page.wait_for_function("() => document.body.dataset.call === 'offline'", timeout=30_000)
    assert "emulator" in await page.inner_text("#call")
    await view.screenshot("join-offline")
