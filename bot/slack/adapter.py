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
        parsed: dict[str, Any] = json.loads(fields["payload"])
        return parsed
    return fields


def to_bolt_request(raw_body: str, query: str, headers: dict[str, str]) -> AsyncBoltRequest:
    """Bolt's request for this HTTP request, with the form body parsed correctly."""
    request = AsyncBoltRequest(body=raw_body, query=query, headers=headers)  # type: ignore[arg-type]
    is_form = (
        raw_body and not raw_body.startswith("{") and request.content_type != "application/json"
    )
    if is_form:
        body = parse_form_body(raw_body)
        if body != request.body:
            request.body = body
            request.context = build_async_context(AsyncBoltContext({}), body)
    return request


def slack_events_handler(
    app: AsyncApp, *, signing_secret: str, guard: ReplayGuard | None = None
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The aiohttp handler for `POST /slack/events`: replays refused, then Bolt."""
    verifier = SignatureVerifier(signing_secret)
    replays = guard or ReplayGuard()

    async def handle(request: web.Request) -> web.Response:
        raw_body = await request.text()
        signature = request.headers.get("X-Slack-Signature", "")
        if verifier.is_valid_request(raw_body, dict(request.headers)) and not replays.first_time(
            signature
        ):
            logger.warning("refused a replayed Slack request")
            return web.json_response({"error": "invalid request"}, status=401)
        bolt_request = to_bolt_request(raw_body, request.query_string, dict(request.headers))
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
