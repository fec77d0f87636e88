"""aiohttp <-> Bolt at the edge, with slack-bolt 1.30's form-body bug fixed.

Bolt's `parse_body` treats any form body that merely *contains* the text "payload" (a
command's text, a channel or team name…) as an interactivity payload, finds no `payload=`
field and returns `{}`, so `/room create payload review tomorrow` would 404. We parse a form
body by its fields, not by substring, and give Bolt's request that body (and the raw one, as
Bolt keeps it), with the context built from it: the body is parsed once, by us.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import hdrs, web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

from bot.slack.after_ack import collecting
from bot.slack.replay import ReplayGuard
from bot.slack.workspaces import dispatch_scope

logger = logging.getLogger("roombot.slack")

BODY_TIMEOUT = 5.0
"""Seconds a request's body may take to arrive once its headers have (Slack waits 3 s)."""

SIGNATURE = "x-slack-signature"
TIMESTAMP = "x-slack-request-timestamp"


def parse_form_body(raw_body: str) -> dict[str, Any]:
    """A Slack form body: the JSON in its `payload` field if it has one, else its fields."""
    fields = dict(parse_qsl(raw_body, keep_blank_values=True))
    if set(fields) == {"payload"}:
        parsed = json.loads(fields["payload"])
        if not isinstance(parsed, dict):
            raise ValueError("the payload is not a JSON object")
        return parsed
    return fields


def to_bolt_request(raw_body: str, query: str, headers: dict[str, str]) -> AsyncBoltRequest:
    """Bolt's request for this HTTP request; ValueError when the body is no Slack payload.

    The body is parsed by its fields (Bolt's substring test for "payload" is wrong) and its
    shape is checked before Bolt's context-building and matchers index into it.
    """
    content_type = (
        next((v for k, v in headers.items() if k.lower() == "content-type"), "")
        .split(";")[0]
        .strip()
    )
    try:
        if content_type == "application/json" or raw_body.startswith("{"):
            body = json.loads(raw_body) if raw_body else {}
        else:
            body = parse_form_body(raw_body)
    except (ValueError, TypeError) as exc:  # json.JSONDecodeError is a ValueError
        raise ValueError("not a Slack payload") from exc
    if not isinstance(body, dict):
        raise ValueError("a Slack payload is a JSON object")
    for name, kind in _SHAPES.items():
        if name in body and not isinstance(body[name], kind):
            raise ValueError(f"a Slack payload's {name} is a {kind.__name__}")
    try:
        # Built on an empty body, then given ours: Bolt's own parse would read the whole
        # body a second time only for its result to be replaced (and its context with it).
        request = AsyncBoltRequest(body="", query=query, headers=headers)  # type: ignore[arg-type]
        request.raw_body = raw_body
        request.body = body
        request.context = build_async_context(AsyncBoltContext({}), body)
    except (ValueError, TypeError, AttributeError, KeyError, IndexError) as exc:
        raise ValueError("not a Slack payload") from exc
    return request


# The parts of an interactivity payload Bolt's matchers index into without checking.
_SHAPES: dict[str, type] = {
    "view": dict,
    "user": dict,
    "team": dict,
    "channel": dict,
    "container": dict,
    "actions": list,
    "response_urls": list,
    "enterprise": dict,
}


def slack_events_handler(
    app: AsyncApp,
    *,
    signing_secret: str,
    guard: ReplayGuard | None = None,
    body_timeout: float = BODY_TIMEOUT,
    on_signed: Callable[[web.Request], None] | None = None,
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The aiohttp handler for `POST /slack/events`: replays refused, then Bolt.

    Nothing is parsed, decompressed or logged before the signature is checked, and the body
    must arrive within *body_timeout* seconds (Slack gives up after 3 s anyway).
    *on_signed* hears of every request whose signature verified (the edge stops counting its
    connection as a stranger's).
    """
    verifier = SignatureVerifier(signing_secret)
    replays = guard or ReplayGuard()

    async def handle(request: web.Request) -> web.StreamResponse:
        encoding = request.headers.get(hdrs.CONTENT_ENCODING, "identity").strip().lower()
        if encoding != "identity":
            # Slack never compresses its requests; aiohttp would inflate the body (and log
            # three tracebacks when it is not what it claims) before any signature is seen.
            return _refusal(415, "Slack requests are not compressed (no Content-Encoding)")
        try:
            raw = await _body(request, body_timeout)
        except TimeoutError:
            response = _refusal(408, f"the body did not arrive within {body_timeout:g} s")
            await response.prepare(request)
            await response.write_eof()
            # Closed now: aiohttp would otherwise linger up to 10 s reading the rest.
            request.protocol.force_close()
            return response
        headers = slack_headers(request.headers)
        if headers is None or not _signed(verifier, raw, headers):  # before anything else
            return _refusal(401, "invalid request")
        try:
            raw_body = raw.decode("utf-8")
        except UnicodeDecodeError:
            return _refusal(400, "the body is not UTF-8")
        if not replays.first_time(headers[SIGNATURE]):
            logger.warning("refused a replayed Slack request")
            return _refusal(401, "invalid request")
        if on_signed is not None:  # signed and new: a captured request proves nothing
            on_signed(request)
        try:
            bolt_request = to_bolt_request(raw_body, request.query_string, headers)
        except ValueError:
            logger.warning("refused a signed request whose body is not a Slack payload")
            return _refusal(400, "the body is not a Slack payload")
        with collecting() as started_later, dispatch_scope():
            bolt_response = await app.async_dispatch(bolt_request)
        response = await to_aiohttp_response(bolt_response)
        if started_later:
            await response.prepare(request)
            await response.write_eof()  # Slack has its ack: now start the slow part
            for start in started_later:
                start()
        return response

    return handle


async def _body(request: web.Request, deadline: float) -> bytes:
    """The request's body, which must arrive within *deadline* seconds.

    A Slack request's body almost always came in the same packets as its head, and is
    complete before the handler runs: then no timer is armed (and cancelled) for it.
    """
    if request.content.is_eof():
        return await request.read()  # all buffered: returns without waiting
    async with asyncio.timeout(deadline):
        return await request.read()


def slack_headers(received: Mapping[str, str]) -> dict[str, str] | None:
    """The request's headers keyed by lower-case name, or None when it is ambiguous.

    HTTP header names are case-insensitive, and HTTP/2 front ends (Envoy…) send them in lower
    case: every reader (signature check, replay guard, Bolt, the journal key) must see the
    same values whatever the spelling. A request with two signatures or two timestamps has no
    single meaning, so it counts as unsigned.
    """
    headers: dict[str, str] = {}
    for name, value in received.items():
        lowered = name.lower()
        if lowered in headers:
            if lowered in (SIGNATURE, TIMESTAMP):
                return None
            continue  # as aiohttp's `headers[name]` does: the first one
        headers[lowered] = value
    return headers


def _signed(verifier: SignatureVerifier, body: bytes, headers: dict[str, str]) -> bool:
    """Whether Slack signed this request; malformed headers are simply not signed."""
    try:
        return bool(verifier.is_valid_request(body, headers))
    except (ValueError, TypeError, UnicodeError, OverflowError):
        return False


def _refusal(status: int, reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=status)
