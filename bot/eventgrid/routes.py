"""`/acs/events`: ACS's calling events from an Event Grid webhook subscription.

The subscription may use either event schema: Event Grid's (a JSON array, validated by a
SubscriptionValidationEvent answered with `{"validationResponse": code}`) or CloudEvents 1.0
(`application/cloudevents+json` or `…-batch+json`, validated by an OPTIONS request answered with
`WebHook-Allowed-Origin`; `bot.eventgrid.cloudevents`). Create the subscription on the ACS
resource with the endpoint
`https://YOUR-HOST/acs/events?secret=ROOMBOT_EVENTS_SECRET` (or send the secret in the
`X-Roombot-Events-Secret` header as a delivery property) and the event types CallStarted,
CallEnded, CallParticipantAdded and CallParticipantRemoved. The secret is compared in constant
time and never logged (no access log runs; the handler logs no URL).

Answers: 200 (done, or a validation handshake answered), 400 (not an Event Grid or
CloudEvents delivery: Event Grid does not retry a 400), 401 (no or a wrong secret: the
handshakes are refused too, so a subscription without the secret is never validated), 503
(recorded, but Slack could not be told yet: Event Grid delivers it again).
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable

from aiohttp import web

from bot.eventgrid import cloudevents
from bot.eventgrid.events import (
    CLOUD_EVENTS,
    BadEvents,
    CallEvent,
    call_events,
    delivery,
    validation_code,
)
from bot.service.call_presence import CallPresence

logger = logging.getLogger("roombot.events")

PATH = "/acs/events"
SECRET_PARAM = "secret"  # noqa: S105 - the name of the parameter, not a secret
SECRET_HEADER = "X-Roombot-Events-Secret"  # noqa: S105 - a header name
MAX_BODY = 1024 * 1024
"""Event Grid's largest batch is 1 MB."""


def mount(
    app: web.Application,
    presence: CallPresence | None,
    secret: str | None,
    *,
    on_proven: Callable[[web.Request], None] | None = None,
) -> None:
    """Serve `/acs/events` when roombot has both a call presence service and a secret."""
    if presence is None or not secret:
        return

    def proven(request: web.Request) -> bool:
        given = request.query.get(SECRET_PARAM) or request.headers.get(SECRET_HEADER) or ""
        if not hmac.compare_digest(given.encode(), secret.encode()):
            return False
        if on_proven is not None:
            on_proven(request)
        return True

    async def handshake(request: web.Request) -> web.Response:
        """CloudEvents' abuse protection: consent to deliveries from the origin asking."""
        if not proven(request):
            return _error(401, "unauthorized", "the events secret is missing or wrong")
        origin = request.headers.get(cloudevents.REQUEST_ORIGIN, "").strip()
        if not origin:  # a plain OPTIONS: say what is allowed, consent to nothing
            return web.Response(headers={"Allow": "POST, OPTIONS"})
        logger.info("CloudEvents subscription validated")
        return web.Response(headers=cloudevents.consent(origin))

    async def events(request: web.Request) -> web.Response:
        if not proven(request):
            return _error(401, "unauthorized", "the events secret is missing or wrong")
        body = await request.read()
        if len(body) > MAX_BODY:
            return _error(413, "too_large", f"a delivery is at most {MAX_BODY} bytes")
        try:
            parsed = json.loads(body)
            calls: list[CallEvent]
            if cloudevents.is_cloud_delivery(request.content_type, parsed):
                calls = call_events(
                    cloudevents.delivery(parsed, request.content_type), CLOUD_EVENTS
                )
            else:
                events = delivery(parsed)
                code = validation_code(events)
                if code is not None:
                    logger.info("Event Grid subscription validated")
                    return web.json_response({"validationResponse": code})
                calls = call_events(events)
        except ValueError as exc:  # BadEvents, or JSON that does not parse
            message = str(exc) if isinstance(exc, BadEvents) else "the body is not JSON"
            return _error(400, "bad_events", message)
        try:
            changed = await presence.handle(calls)
        except Exception as exc:
            logger.warning(
                "calling events recorded but not yet shown in Slack (%s); Event Grid will "
                "deliver them again",
                type(exc).__name__,
                exc_info=exc,
            )
            return _error(503, "try_again", "could not update Slack; deliver again")
        logger.info("%d calling events, %d changed a call", len(calls), changed)
        return web.json_response({"ok": True, "events": len(calls), "changed": changed})

    app.router.add_post(PATH, events)
    app.router.add_route("OPTIONS", PATH, handshake)


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)
