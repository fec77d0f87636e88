"""ACS calling events in the CloudEvents 1.0 schema, and that schema's webhook handshake.

An Event Grid subscription delivers either its own schema (`bot.eventgrid.events`) or, when it
is created with the CloudEvents v1.0 schema, CloudEvents; ACS publishes both, and `/acs/events`
takes both. With CloudEvents:

- The subscription is validated by the CloudEvents HTTP webhook "abuse protection" handshake
  instead of a SubscriptionValidationEvent: an HTTP OPTIONS request to the endpoint carrying
  `WebHook-Request-Origin` (Event Grid sends `eventgrid.azure.net`). The endpoint consents by
  answering with `WebHook-Allowed-Origin` (that origin) and may grant a rate with
  `WebHook-Allowed-Rate` (`*`: any). Sources: the CloudEvents HTTP Webhook spec, and
  learn.microsoft.com/azure/event-grid/end-point-validation-cloud-events-schema.
- Events come in structured mode: `application/cloudevents+json` is one event (a JSON object),
  `application/cloudevents-batch+json` a JSON array of them. Each has `specversion` "1.0",
  `id`, `source` and `type` (required by the spec), and `subject`, `time`, `data`; `type` and
  `data` are the Event Grid schema's `eventType` and `data`, `time` its `eventTime`.
"""

from __future__ import annotations

from typing import Any

from bot.eventgrid.events import BadEvents

CONTENT_TYPE = "application/cloudevents+json"
BATCH_CONTENT_TYPE = "application/cloudevents-batch+json"
SPEC_VERSION = "1.0"
REQUEST_ORIGIN = "WebHook-Request-Origin"
ALLOWED_ORIGIN = "WebHook-Allowed-Origin"
ALLOWED_RATE = "WebHook-Allowed-Rate"
EVENT_GRID_ORIGIN = "eventgrid.azure.net"
"""The origin Event Grid names in the handshake and sends deliveries from."""
REQUIRED = ("id", "source", "type")
EXAMPLE = (
    '{"specversion": "1.0", "id": "…", "source": "/subscriptions/…", '
    '"type": "Microsoft.Communication.CallStarted", "time": "…", "data": {…}}'
)


def is_cloud_delivery(content_type: str, body: Any) -> bool:
    """A CloudEvents delivery: by its media type, or JSON whose every object has a
    `specversion` (a sender that labels structured CloudEvents `application/json`)."""
    if content_type in (CONTENT_TYPE, BATCH_CONTENT_TYPE):
        return True
    events = body if isinstance(body, list) else [body]
    return bool(events) and all(isinstance(e, dict) and "specversion" in e for e in events)


def delivery(body: Any, content_type: str) -> list[dict[str, Any]]:
    """The CloudEvents of a delivery, each checked for the attributes the spec requires."""
    if content_type == BATCH_CONTENT_TYPE:
        if not isinstance(body, list):
            raise BadEvents(
                f"a {BATCH_CONTENT_TYPE} body is a JSON array of CloudEvents: [{EXAMPLE}]"
            )
        events = body
    elif content_type == CONTENT_TYPE:
        if not isinstance(body, dict):
            raise BadEvents(f"a {CONTENT_TYPE} body is one CloudEvent, a JSON object: {EXAMPLE}")
        events = [body]
    else:
        events = body if isinstance(body, list) else [body]
    for event in events:
        _check(event)
    return events


def _check(event: Any) -> None:
    if not isinstance(event, dict):
        raise BadEvents(f"each CloudEvent is a JSON object: {EXAMPLE}")
    name = event.get("id")
    if event.get("specversion") != SPEC_VERSION:
        raise BadEvents(
            f"event {name!r}: `specversion` must be {SPEC_VERSION!r} "
            f"(got {event.get('specversion')!r})"
        )
    for attribute in REQUIRED:
        value = event.get(attribute)
        if not isinstance(value, str) or not value:
            raise BadEvents(f"event {name!r}: the CloudEvents attribute `{attribute}` is missing")


def consent(origin: str) -> dict[str, str]:
    """The handshake's answer headers: deliveries from *origin* are welcome, at any rate
    (Event Grid's own limits and retries pace them; a 503 slows it down)."""
    return {ALLOWED_ORIGIN: origin, ALLOWED_RATE: "*", "Allow": "POST, OPTIONS"}
