"""aiohttp <-> Bolt at the edge, with slack-bolt 1.30's form-body bug fixed.

Bolt's `parse_body` treats any form body that merely *contains* the text "payload" (a
command's text, a channel or team name…) as an interactivity payload, finds no `payload=`
field and returns `{}`, so `/room create payload review tomorrow` would 404. We let Bolt
build its request as usual (it must keep the raw body for signature verification), then
re-parse a form body by its fields, not by substring, and rebuild the context from it.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

from bot.slack.after_ack import collecting

logger = logging.getLogger("roombot.slack")


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
        request = AsyncBoltRequest(body=raw_body, query=query, headers=headers)  # type: ignore[arg-type]
        if body != request.body:
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
    app: AsyncApp, *, signing_secret: str, guard: ReplayGuard | None = None
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The aiohttp handler for `POST /slack/events`: replays refused, then Bolt."""
    verifier = SignatureVerifier(signing_secret)
    replays = guard or ReplayGuard()

    async def handle(request: web.Request) -> web.Response:
        raw = await request.read()
        headers = dict(request.headers)
        if not _signed(verifier, raw, headers):  # before anything else is read from it
            return _refusal(401, "invalid request")
        try:
            raw_body = raw.decode("utf-8")
        except UnicodeDecodeError:
            return _refusal(400, "the body is not UTF-8")
        if not replays.first_time(headers.get("X-Slack-Signature", "")):
            logger.warning("refused a replayed Slack request")
            return _refusal(401, "invalid request")
        try:
            bolt_request = to_bolt_request(raw_body, request.query_string, headers)
        except ValueError:
            logger.warning("refused a signed request whose body is not a Slack payload")
            return _refusal(400, "the body is not a Slack payload")
        with collecting() as started_later:
            bolt_response = await app.async_dispatch(bolt_request)
        response = await to_aiohttp_response(bolt_response)
        if started_later:
            await response.prepare(request)
            await response.write_eof()  # Slack has its ack: now start the slow part
            for start in started_later:
                start()
        return response

    return handle


def _signed(verifier: SignatureVerifier, body: bytes, headers: dict[str, str]) -> bool:
    """Whether Slack signed this request; malformed headers are simply not signed."""
    try:
        return bool(verifier.is_valid_request(body, headers))
    except (ValueError, TypeError, UnicodeError, OverflowError):
        return False


def _refusal(status: int, reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=status)


class ReplayGuard:
    """Refuses a signed request seen before within Slack's five-minute signature window.

    Bolt checks that a signature is fresh, not that it is new: a captured request replayed
    within five minutes would pass. Signatures are remembered here (per replica) once they
    verify; across replicas, the journal key derived from the signature does the same job.
    """

    def __init__(self, window: float = 300.0, monotonic: Callable[[], float] = time.monotonic):
        self._window = window
        self._monotonic = monotonic
        self._seen: dict[str, float] = {}

    def first_time(self, signature: str) -> bool:
        """True (and remembered) the first time *signature* is offered within the window."""
        now = self._monotonic()
        if len(self._seen) > 10_000 or (self._seen and next(iter(self._seen.values())) < now):
            self._seen = {s: until for s, until in self._seen.items() if until >= now}
        if signature in self._seen and self._seen[signature] >= now:
            return False
        self._seen[signature] = now + self._window
        return True
