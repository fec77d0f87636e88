"""The join page's calling bundle (`bot/join/static/call.js`, built from web/) in a real browser.

A tiny aiohttp server stands in for the join page: it sends the page's strict
Content-Security-Policy, hands out a session whose token the ACS emulator minted (through our
own signed IdentityClient) for a room the emulator created, and loads the bundle only once the
token is in hand, as the real page does. Headless Chromium runs it; the states are read from the
page's own `document.body.dataset.call` (recorded by a MutationObserver in the page, so a state
that lasts one tick is not missed), never from a mock of the UI Library.

No route to Azure exists here: the UI Library really starts creating its call agent (its first
request, to Azure's configuration service, fails) and never finishes, so the bundle's injected
timeout turns that into plain words.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web

from bot.acs.client import IdentityClient, RoomsClient
from bot.domain import Role
from bot.local.emulator import EmulatorServer
from tests.browser import BrowserPage

pytestmark = pytest.mark.asyncio(loop_scope="session")

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "bot" / "join" / "static" / "call.js"

# What docs/join-page.md asks the join page to send; the bundle must run under it unchanged.
CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "worker-src 'self' blob:",
        "connect-src 'self' https://*.communication.azure.com https://*.microsoft.com"
        " wss://*.microsoft.com https://*.skype.com wss://*.skype.com"
        " https://*.svc.cloud.microsoft wss://*.svc.cloud.microsoft",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)

EMULATOR_WORDS = "This is the local ACS emulator: calls need a real Azure resource."
AZURE_WORDS = "Can't reach Azure's calling service."

# The light page: what the join page paints before it holds a token. No inline script or style.
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Join the room</title>
<link rel="icon" href="data:,"><link rel="stylesheet" href="/page.css"></head>
<body><main><h1>Join the room</h1><p id="status">Getting your place in the room…</p>
<div id="call"></div></main><script src="/page.js"></script></body></html>
"""
PAGE_CSS = "body{font-family:system-ui,sans-serif;margin:0}main{padding:1rem}#call{height:560px}"

# The page's own script: records every data-call state, fetches the session by POST (never in
# a URL), and loads the bundle only when `?start=1` asks it to (the light page measures without).
PAGE_JS = """
window.callStates = [];
new MutationObserver(() => {
  const state = document.body.dataset.call;
  if (state && window.callStates[window.callStates.length - 1] !== state) {
    window.callStates.push(state);
  }
}).observe(document.body, { attributes: true, attributeFilter: ["data-call"] });

async function join() {
  const response = await fetch("/session", { method: "POST" });
  const session = await response.json();
  performance.mark("bundle-requested");
  await new Promise((loaded, failed) => {
    const script = document.createElement("script");
    script.src = "/join/static/call.js";
    script.onload = () => { performance.mark("bundle-loaded"); loaded(); };
    script.onerror = () => failed(new Error("call.js did not load"));
    document.head.append(script);
  });
  document.getElementById("status").textContent = "";
  await window.RoombotCall.start(document.getElementById("call"), session);
  window.callStarted = true;
}
if (new URLSearchParams(location.search).get("start") === "1") {
  join();
}
"""


@dataclass
class CallPage:
    """The stand-in join page, its session and the requests it served."""

    origin: str
    session: dict[str, Any]
    served: list[str]

    def url(self, *, start: bool = True, host: str = "localhost") -> str:
        return self.origin.replace("localhost", host) + ("/?start=1" if start else "/")


def _need_bundle() -> None:
    if not BUNDLE.is_file():
        reason = f"{BUNDLE.relative_to(ROOT)} is not built; `make bundle` builds it"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


def _in_region(token: str, region: str) -> str:
    """The emulator's token with its `rgn` claim changed: what a real resource's token carries.

    The signature no longer matches, which nothing here can notice: the credential only reads
    `exp`, and nothing here reaches Azure to check it.
    """
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["rgn"] = region
    raw = json.dumps(claims, separators=(",", ":")).encode()
    return f"{header}.{base64.urlsafe_b64encode(raw).decode().rstrip('=')}.{signature}"


async def _serve(session: dict[str, Any]) -> tuple[web.AppRunner, CallPage]:
    served: list[str] = []
    headers = {"Content-Security-Policy": CSP, "Cache-Control": "no-store"}

    @web.middleware
    async def record(request: web.Request, handler: Any) -> web.StreamResponse:
        served.append(f"{request.method} {request.path_qs}")
        response: web.StreamResponse = await handler(request)
        response.headers.update(headers)
        return response

    def text(body: str, content_type: str) -> Callable[[web.Request], Any]:
        async def handler(_: web.Request) -> web.Response:
            return web.Response(text=body, content_type=content_type)

        return handler

    async def session_handler(_: web.Request) -> web.Response:
        return web.json_response(session)

    async def bundle(_: web.Request) -> web.FileResponse:
        return web.FileResponse(BUNDLE)

    app = web.Application(middlewares=[record])
    app.router.add_get("/", text(PAGE, "text/html"))
    app.router.add_get("/page.js", text(PAGE_JS, "text/javascript"))
    app.router.add_get("/page.css", text(PAGE_CSS, "text/css"))
    app.router.add_post("/session", session_handler)
    app.router.add_get("/join/static/call.js", bundle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, CallPage(f"http://localhost:{port}", session, served)


@pytest_asyncio.fixture(name="emulator_session", loop_scope="session")
async def _emulator_session() -> AsyncIterator[dict[str, Any]]:
    """A session as POST /join/{code}/token gives it: a real emulator token for a real room."""
    _need_bundle()
    async with EmulatorServer() as emulator:
        async with IdentityClient(emulator.endpoint, emulator.access_key) as identities:
            issued = await identities.create_user_and_token(["voip"], expires_in_minutes=60)
        assert issued.access_token is not None
        now = datetime.now(UTC)
        async with RoomsClient(emulator.endpoint, emulator.access_key) as rooms:
            room = await rooms.create_room(
                valid_from=now,
                valid_until=now + timedelta(hours=1),
                participants={issued.identity.id: Role.PRESENTER},
            )
        yield {
            "token": issued.access_token.token,
            "userId": issued.identity.id,
            "displayName": "Ann Example",
            "roomId": room.id,
            "role": "Presenter",
            "expiresOn": issued.access_token.expires_on.isoformat(),
            "timeoutMs": 1500,
        }


@pytest_asyncio.fixture(name="call_page", loop_scope="session")
async def _call_page(emulator_session: dict[str, Any]) -> AsyncIterator[CallPage]:
    runner, page = await _serve(emulator_session)
    try:
        yield page
    finally:
        await runner.cleanup()


def call_page_requests(page: CallPage) -> list[str]:
    """What the page asked the stand-in server for, beyond fetching its files."""
    return [line for line in page.served if not line.startswith("GET ")]


async def _states_until(browser_page: BrowserPage, final: str) -> list[str]:
    """The recorded data-call states once an outcome is reached (a selector wait: no eval).

    Any outcome ends the wait, so a wrong one fails at once with the words the page shows.
    """
    outcomes = ", ".join(f"body[data-call={state}]" for state in ("offline", "error", "joined"))
    await browser_page.page.wait_for_selector(outcomes, state="attached")
    states: list[str] = await browser_page.page.evaluate("window.callStates")
    if states[-1] != final:
        words = await browser_page.page.inner_text("#call")
        pytest.fail(f"states {states}, not ending in {final!r}; the page says: {words}")
    return states


async def test_emulator_token_asks_for_the_room_adapter_then_says_calls_need_azure(
    browser_page: BrowserPage, call_page: CallPage
) -> None:
    requests: list[str] = []
    browser_page.page.on("request", lambda request: requests.append(request.url))

    await browser_page.page.goto(call_page.url())
    await browser_page.page.wait_for_selector("body[data-call=adapter]", state="attached")
    await browser_page.screenshot("call-adapter-waiting")

    assert await _states_until(browser_page, "offline") == ["adapter", "offline"]
    words = await browser_page.page.inner_text("#call")
    assert EMULATOR_WORDS in words
    assert "Starting the call" not in words
    assert "ACS_CONNECTION_STRING" in words  # what to do next
    await browser_page.screenshot("call-offline-emulator")
    # The library really tried to reach Azure: its first request is the configuration service.
    assert any(url.startswith("https://ecs.communication.microsoft.com/") for url in requests)
    assert browser_page.csp_violations() == []
    assert not [e for e in browser_page.errors if e.startswith("uncaught")]
    token = call_page.session["token"]
    assert not [url for url in requests if token in url], "the token went into a URL"
    assert not [line for line in browser_page.console if token in line], "the token was logged"
    assert call_page.served.count("GET /join/static/call.js") == 1


async def test_azure_token_without_a_route_says_azure_cannot_be_reached(
    browser_page: BrowserPage, emulator_session: dict[str, Any]
) -> None:
    session = emulator_session | {"token": _in_region(emulator_session["token"], "westeurope")}
    runner, page = await _serve(session)
    try:
        await browser_page.page.goto(page.url())
        assert await _states_until(browser_page, "offline") == ["adapter", "offline"]
        words = await browser_page.page.inner_text("#call")
        assert AZURE_WORDS in words
        assert "emulator" not in words
        assert "press Try again" in words  # not "reload": the link is used up by now
        await browser_page.screenshot("call-offline-azure")

        # Try again reuses the token in memory: the adapter is asked for once more.
        await browser_page.page.get_by_role("button", name="Try again").click()
        await browser_page.page.wait_for_selector("body[data-call=adapter]", state="attached")
        assert await _states_until(browser_page, "offline") == [
            "adapter",
            "offline",
            "adapter",
            "offline",
        ]
        assert call_page_requests(page) == ["POST /session"]  # no second token
        assert browser_page.csp_violations() == []
    finally:
        await runner.cleanup()


async def test_the_server_can_say_emulator_for_a_token_that_does_not(
    browser_page: BrowserPage, emulator_session: dict[str, Any]
) -> None:
    session = emulator_session | {
        "token": _in_region(emulator_session["token"], "westeurope"),
        "emulator": True,
    }
    runner, page = await _serve(session)
    try:
        await browser_page.page.goto(page.url())
        assert await _states_until(browser_page, "offline") == ["adapter", "offline"]
        assert EMULATOR_WORDS in await browser_page.page.inner_text("#call")
        # Against the emulator trying again cannot help: no button offers it.
        assert await browser_page.page.get_by_role("button", name="Try again").count() == 0
    finally:
        await runner.cleanup()


async def test_a_session_missing_fields_is_an_error_naming_them_and_asks_for_no_adapter(
    browser_page: BrowserPage, emulator_session: dict[str, Any]
) -> None:
    session = {k: v for k, v in emulator_session.items() if k not in {"roomId", "userId"}}
    runner, page = await _serve(session)
    try:
        await browser_page.page.goto(page.url())
        assert await _states_until(browser_page, "error") == ["error"]
        words = await browser_page.page.inner_text("#call")
        assert "userId, roomId" in words
        assert "new join link" in words
        await browser_page.screenshot("call-error-missing-fields")
    finally:
        await runner.cleanup()


async def test_an_expired_token_is_an_error_asking_for_a_new_link_before_any_adapter(
    browser_page: BrowserPage, emulator_session: dict[str, Any]
) -> None:
    expired = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    runner, page = await _serve(emulator_session | {"expiresOn": expired})
    try:
        await browser_page.page.goto(page.url())
        assert await _states_until(browser_page, "error") == ["error"]
        words = await browser_page.page.inner_text("#call")
        assert "your token for this room has expired" in words
        assert "new join link" in words
    finally:
        await runner.cleanup()


async def test_a_page_not_on_https_or_localhost_is_an_error_saying_so(
    browser_page: BrowserPage, call_page: CallPage
) -> None:
    """The Calling SDK refuses plain http except on localhost: the words must say why."""
    await browser_page.page.goto(call_page.url(host="127.0.0.1"))

    assert await _states_until(browser_page, "error") == ["adapter", "error"]
    words = await browser_page.page.inner_text("#call")
    assert "calls need this page on https" in words
    assert "must be used through https" in words  # the library's own reason, shown as detail
    assert "(ROOMBOT_PUBLIC_URL) must be https" in words
    assert await browser_page.page.get_by_role("button", name="Try again").count() == 0
    await browser_page.screenshot("call-error-not-https")
    assert browser_page.csp_violations() == []


async def test_the_timeout_can_come_from_the_container_attribute(
    browser_page: BrowserPage, emulator_session: dict[str, Any]
) -> None:
    session = {k: v for k, v in emulator_session.items() if k != "timeoutMs"}
    runner, page = await _serve(session)
    try:
        await browser_page.page.goto(page.url(start=False))
        await browser_page.page.locator("#call").evaluate(
            "element => { element.dataset.callTimeout = '300'; }"
        )
        started = time.monotonic()
        await browser_page.page.evaluate("join()")
        assert await _states_until(browser_page, "offline") == ["adapter", "offline"]
        # Far below the 20 s default: the attribute was used.
        assert time.monotonic() - started < 10
    finally:
        await runner.cleanup()


async def test_the_light_page_paints_without_the_bundle_which_loads_only_with_a_token(
    browser_page: BrowserPage, call_page: CallPage
) -> None:
    """Measures what docs/join-page.md reports: first paint without the bundle, the time from
    start() to the adapter being asked for, and the bundle's size."""
    page = browser_page.page
    await page.goto(call_page.url(start=False))
    await page.wait_for_selector("h1")
    light_paint: float = await page.evaluate(
        """() => new Promise(done => new PerformanceObserver((list, observer) => {
             const entry = list.getEntriesByName("first-contentful-paint")[0];
             if (entry) { observer.disconnect(); done(entry.startTime); }
           }).observe({ type: "paint", buffered: true }))"""
    )
    light_bytes: int = await page.evaluate(
        """() => performance.getEntriesByType("resource")
             .concat(performance.getEntriesByType("navigation"))
             .reduce((sum, entry) => sum + entry.encodedBodySize, 0)"""
    )
    assert "GET /join/static/call.js" not in call_page.served
    assert light_bytes < 10_000

    await page.evaluate("join()")
    await _states_until(browser_page, "offline")
    to_adapter: float = await page.evaluate(
        """() => performance.measure("to-adapter", "roombot-call-start",
                                     "roombot-call-adapter").duration"""
    )
    bundle_load: float = await page.evaluate(
        """() => performance.measure("bundle", "bundle-requested", "bundle-loaded").duration"""
    )
    bundle_bytes: int = await page.evaluate(
        """() => performance.getEntriesByType("resource")
             .find(entry => entry.name.endsWith("/join/static/call.js")).encodedBodySize"""
    )
    raw = BUNDLE.read_bytes()
    # aiohttp's FileResponse sends the pre-compressed sibling the build writes: ~2 MB, not 8.
    assert bundle_bytes < len(raw) / 3
    print(
        f"\nlight page: first contentful paint {light_paint:.0f} ms, {light_bytes} bytes"
        f"\ncall.js fetched and run (loopback, no cache): {bundle_load:.0f} ms,"
        f" {bundle_bytes} bytes on the wire"
        f"\nstart() to adapter asked for: {to_adapter:.0f} ms"
        f"\ncall.js: {len(raw) / 1e6:.2f} MB raw, {len(gzip.compress(raw, 9)) / 1e6:.2f} MB gzip"
    )
    assert call_page.served.count("GET /join/static/call.js") == 1
