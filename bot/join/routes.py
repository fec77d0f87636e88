"""The join page's HTTP routes, mounted beside `/slack/events` by `bot.main.web_app`.

    GET  /join/{code}          the page; consumes nothing (link scanners and unfurlers GET)
    POST /join/{code}/token    uses the code up: the person's ACS token as JSON, or
                               {"error": {"code", "message"}} with a 4xx/5xx status
    GET  /join/static/{file}   join.js, join.css, and call.js once built (web/, by make)
    GET  /rooms/{room_id}      the shareable room link: Sign in with Slack (`signin`), or
                               without it a page saying the Join button in Slack is the way in
    GET  /rooms/signed-in      back from Slack: the same checks as Join, then /join/{code}

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
from bot.join.page import JOIN_PAGE, message_page
from bot.join.signin import COOKIE, COOKIE_LIFETIME, SignedIn, SignInFailed, SlackSignIn
from bot.service.join import JoinLink, JoinRefused, JoinService, NotInvited

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
        # Fluent UI (inside the UI Library) writes its styles at run time; the policy as a whole
        # is the one measured against the calling bundle in docs/join-page.md.
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "media-src 'self' blob: mediastream:",
        "connect-src 'self' https://*.communication.azure.com wss://*.communication.azure.com "
        "https://*.skype.com wss://*.skype.com https://*.microsoft.com wss://*.microsoft.com "
        "https://*.svc.cloud.microsoft wss://*.svc.cloud.microsoft",
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

FAILED_TRIES_PER_MINUTE = 20
"""Refused codes (unknown, used, expired) per client address and replica before further tries
are turned away for a minute: it slows guessing down (hopeless anyway at 192 bits) without
holding up an office whose people all come through one proxy address."""
_GUESSES = frozenset({"code_unknown", "code_used", "code_expired"})

_CODE = re.compile(r"^[A-Za-z0-9_-]{16,128}$")
JOINS_KEY: web.AppKey[JoinService | None] = web.AppKey("joins", JoinService)
TRIES_KEY: web.AppKey[SlidingWindow] = web.AppKey("join_tries", SlidingWindow)
SIGNIN_KEY: web.AppKey[SlackSignIn | None] = web.AppKey("signin", SlackSignIn)

NOT_CONFIGURED = (
    "Joining is not set up on this roombot: an admin must set ROOMBOT_PUBLIC_URL and restart it."
)


def mount(
    app: web.Application, joins: JoinService | None, signin: SlackSignIn | None = None
) -> None:
    """Add the join routes and their security headers to *app*."""
    app[JOINS_KEY] = joins
    app[SIGNIN_KEY] = signin
    app[TRIES_KEY] = SlidingWindow(limit=FAILED_TRIES_PER_MINUTE, window=60.0)
    app.middlewares.append(_security_headers)
    app.router.add_get("/join/static/{name}", _static)
    app.router.add_get("/join/{code}", _page)
    app.router.add_post("/join/{code}/token", _token)
    app.router.add_get("/rooms/signed-in", _signed_in)
    app.router.add_get(r"/rooms/{room_id:\d{1,32}}", _room_link)


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
    cache = response.headers.get("Cache-Control")
    response.headers.update(SECURITY_HEADERS)
    if cache == "no-cache":  # a static file's own choice (see _static)
        response.headers["Cache-Control"] = cache
    return response


async def _page(request: web.Request) -> web.Response:
    return web.Response(text=JOIN_PAGE, content_type="text/html", charset="utf-8")


async def _static(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    content_type = STATIC_FILES.get(name)
    path = STATIC_DIR / name
    if content_type is None or not path.is_file():
        raise web.HTTPNotFound(text=f"no such file: {name}")
    # FileResponse sends call.js's pre-compressed .br/.gz twin when the browser takes it.
    response = web.FileResponse(path)
    response.content_type = content_type
    # Revalidated (ETag), not refetched: the bundle is 8 MB. Pages and tokens stay no-store.
    response.headers["Cache-Control"] = "no-cache"
    return response


async def _token(request: web.Request) -> web.Response:
    joins = request.app[JOINS_KEY]
    if joins is None:
        return _error(503, "not_configured", NOT_CONFIGURED)
    tries, client = request.app[TRIES_KEY], request.remote or "unknown"
    if not tries.allowed(client):
        return _error(
            429,
            "rate_limited",
            "Too many links that did not work came from this address; wait a minute, then "
            "reload the page.",
        )
    code = request.match_info["code"]
    try:
        if not _CODE.match(code):
            raise JoinRefused(
                "code_unknown",
                "This join link is not one roombot made (check it was copied whole). Press Join "
                "on the room's card in Slack for a new one.",
                status=404,
            )
        session = await joins.redeem(code)
    except JoinRefused as refusal:
        logger.info("join refused: %s", refusal.code)
        if refusal.code in _GUESSES:
            tries.add(client)
        return _error(refusal.status, refusal.code, refusal.message)
    except Exception:
        logger.exception("a join token request failed")
        return _error(
            503,
            "unavailable",
            "roombot could not answer just now (its database did not respond). Reload this "
            "page in a minute; if the link was used up, press Join in Slack for a new one.",
        )
    logger.info("join token issued for room %s", session.room_id)
    return web.json_response(session.to_json(), dumps=json.dumps)


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response(
        {"error": {"code": code, "message": message}}, status=status, dumps=json.dumps
    )


# --- the shareable room link ------------------------------------------------------------------

NO_SIGN_IN = (
    "This room link signs you in with Slack, which is not set up on this roombot. Open the "
    "room's card in Slack and press Join: roombot sends you your own link."
)


def _html(heading: str, words: str, *, code: str, status: int = 200) -> web.Response:
    return web.Response(
        text=message_page(heading, words, code=code),
        status=status,
        content_type="text/html",
        charset="utf-8",
    )


async def _room_link(request: web.Request) -> web.StreamResponse:
    if request.app[JOINS_KEY] is None:
        return _html("Joining isn't set up here", NOT_CONFIGURED, code="not_configured", status=503)
    signin = request.app[SIGNIN_KEY]
    if signin is None:
        return _html("Join from Slack", NO_SIGN_IN, code="sign_in_not_configured")
    started = signin.start(request.match_info["room_id"])
    response = web.Response(status=302, headers={"Location": started.authorize_url})
    response.set_cookie(
        COOKIE,
        started.cookie,
        max_age=COOKIE_LIFETIME,
        path="/rooms/",
        httponly=True,
        samesite="Lax",  # sent on Slack's top-level redirect back, not on cross-site requests
        secure=signin.redirect_uri.startswith("https://"),
    )
    return response


async def _signed_in(request: web.Request) -> web.StreamResponse:
    joins, signin = request.app[JOINS_KEY], request.app[SIGNIN_KEY]
    if joins is None or signin is None:
        return _html("Join from Slack", NO_SIGN_IN, code="sign_in_not_configured")
    if not request.app[TRIES_KEY].allowed(request.remote or "unknown"):
        return _html(
            "Too many tries",
            "Wait a minute, then open the room link again.",
            code="rate_limited",
            status=429,
        )
    if "code" not in request.query:
        return _html(
            "You didn't sign in",
            "Slack did not sign you in. Open the room link again and allow roombot to see who "
            "you are, or press Join on the room's card in Slack.",
            code="sign_in_cancelled",
            status=401,
        )
    try:
        who = await signin.finish(
            cookie=request.cookies.get(COOKIE),
            state=request.query.get("state", ""),
            code=request.query["code"],
        )
        link = await _mint_for(joins, who)
    except SignInFailed as failed:
        request.app[TRIES_KEY].add(request.remote or "unknown")
        return _html("Signing in didn't work", failed.message, code=failed.code, status=401)
    except NotInvited:
        return _html(
            "You're not on this room's list",
            "Press Join on the room's card in Slack: roombot asks its creator and presenters "
            "to let you in.",
            code="not_invited",
            status=403,
        )
    except JoinRefused as refusal:
        words = refusal.message.replace("`", "")
        return _html("You can't join this room", words, code=refusal.code, status=refusal.status)
    response = web.Response(status=303, headers={"Location": link.url})
    response.del_cookie(COOKIE, path="/rooms/")
    return response


async def _mint_for(joins: JoinService, who: SignedIn) -> JoinLink:
    """A link for the signed-in person, in the scope that holds the room: their organisation's
    for a room an org-wide install made (`bot.slack.workspaces`), else their workspace's."""
    if who.enterprise_id:
        try:
            return await joins.mint(
                team_id=who.enterprise_id,
                user_id=who.user_id,
                room_id=who.room_id,
                display_name=who.name,
            )
        except JoinRefused as refusal:
            if refusal.code != "room_not_found":
                raise
    return await joins.mint(
        team_id=who.team_id, user_id=who.user_id, room_id=who.room_id, display_name=who.name
    )
