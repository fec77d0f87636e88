"""The join page's HTTP routes, mounted beside `/slack/events` by `bot.main.web_app`.

    GET  /join/{code}          the page; consumes nothing (link scanners and unfurlers GET)
    POST /join/{code}/token    uses the code up: the person's ACS token as JSON, or
                               {"error": {"code", "message"}} with a 4xx/5xx status
    GET  /join/static/{file}   join.js, join.css, and call.js once built (web/, by make)

Every answer under /join carries a strict Content-Security-Policy, `Referrer-Policy:
no-referrer` (the code is in the page's address) and `Cache-Control: no-store`.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from bot.join.limits import SlidingWindow
from bot.join.page import JOIN_PAGE
from bot.service.join import JoinRefused, JoinService

logger = logging.getLogger("roombot.join")

STATIC_DIR = Path(__file__).with_name("static")
STATIC_FILES = {
    "join.js": "text/javascript",
    "join.css": "text/css",
    "call.js": "text/javascript",
}

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        # Fluent UI (inside the UI Library) writes its styles at run time.
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "media-src 'self' blob: mediastream:",
        "connect-src 'self' https://*.communication.azure.com wss://*.communication.azure.com "
        "https://*.skype.com wss://*.skype.com https://*.microsoft.com wss://*.microsoft.com",
        "worker-src 'self' blob:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(self), microphone=(self), display-capture=(self)",
}

TOKEN_TRIES_PER_MINUTE = 30
"""Per client address and replica: a person needs one; more only slows guessing down."""

_CODE = re.compile(r"^[A-Za-z0-9_-]{16,128}$")
JOINS_KEY: web.AppKey[JoinService | None] = web.AppKey("joins", JoinService)
TRIES_KEY: web.AppKey[SlidingWindow] = web.AppKey("join_tries", SlidingWindow)

NOT_CONFIGURED = (
    "Joining is not set up on this roombot: an admin must set ROOMBOT_PUBLIC_URL and restart it."
)


def mount(app: web.Application, joins: JoinService | None) -> None:
    """Add the join routes and their security headers to *app*."""
    app[JOINS_KEY] = joins
    app[TRIES_KEY] = SlidingWindow(limit=TOKEN_TRIES_PER_MINUTE, window=60.0)
    app.middlewares.append(_security_headers)
    app.router.add_get("/join/static/{name}", _static)
    app.router.add_get("/join/{code}", _page)
    app.router.add_post("/join/{code}/token", _token)


@web.middleware
async def _security_headers(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    if not request.path.startswith(("/join/", "/rooms/")):
        return await handler(request)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers.update(SECURITY_HEADERS)
        raise
    response.headers.update(SECURITY_HEADERS)
    return response


async def _page(request: web.Request) -> web.Response:
    return web.Response(text=JOIN_PAGE, content_type="text/html", charset="utf-8")


async def _static(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    content_type = STATIC_FILES.get(name)
    path = STATIC_DIR / name
    if content_type is None or not path.is_file():
        raise web.HTTPNotFound(text=f"no such file: {name}")
    response = web.FileResponse(path)
    response.content_type = content_type
    return response


async def _token(request: web.Request) -> web.Response:
    joins = request.app[JOINS_KEY]
    if joins is None:
        return _error(503, "not_configured", NOT_CONFIGURED)
    if not request.app[TRIES_KEY].hit(request.remote or "unknown"):
        return _error(
            429,
            "rate_limited",
            "Too many tries from this address; wait a minute, then reload the page.",
        )
    code = request.match_info["code"]
    if not _CODE.match(code):
        return _error(
            404,
            "code_unknown",
            "This join link is not one roombot made (check it was copied whole). Press Join on "
            "the room's card in Slack for a new one.",
        )
    try:
        session = await joins.redeem(code)
    except JoinRefused as refusal:
        logger.info("join refused: %s", refusal.code)
        return _error(refusal.status, refusal.code, refusal.message)
    logger.info("join token issued for room %s", session.room_id)
    return web.json_response(session.to_json(), dumps=json.dumps)


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response(
        {"error": {"code": code, "message": message}}, status=status, dumps=json.dumps
    )
