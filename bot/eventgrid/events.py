"""ACS calling events as Event Grid delivers them, parsed.

In the Event Grid schema, Event Grid POSTs a JSON array of events: `id`, `eventType`,
`eventTime`, `subject`, `data`. In the CloudEvents 1.0 schema (`bot.eventgrid.cloudevents`)
the same events name the type `type` and the time `time`; `data` is the same.
The four roombot reads carry `data.room.id` for a Rooms call, `data.serverCallId`, and for
participants `data.user.rawId` and `data.displayName`; `CallEnded` has `durationOfCall`
(seconds). Schema: learn.microsoft.com/azure/event-grid/communication-services-voice-video-events
Events of other types, or of calls that are not a room's, are ignored (counted, not refused):
a subscription may carry more than roombot asks for.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

VALIDATION_EVENT = "Microsoft.EventGrid.SubscriptionValidationEvent"


class CallEventKind(enum.StrEnum):
    STARTED = "Microsoft.Communication.CallStarted"
    ENDED = "Microsoft.Communication.CallEnded"
    PARTICIPANT_ADDED = "Microsoft.Communication.CallParticipantAdded"
    PARTICIPANT_REMOVED = "Microsoft.Communication.CallParticipantRemoved"


class BadEvents(ValueError):
    """The body is not an Event Grid delivery; the message says what was wrong."""


@dataclass(frozen=True, slots=True)
class Schema:
    """Where a schema keeps an event's type and time; the rest is read alike."""

    type_field: str
    time_field: str


EVENT_GRID = Schema(type_field="eventType", time_field="eventTime")
CLOUD_EVENTS = Schema(type_field="type", time_field="time")


@dataclass(frozen=True, slots=True)
class CallEvent:
    """One calling event of a room's call."""

    id: str
    kind: CallEventKind
    at: datetime
    room_id: str
    server_call_id: str
    user_raw_id: str | None = None
    display_name: str = ""
    duration: timedelta | None = None


def validation_code(events: list[dict[str, Any]]) -> str | None:
    """The code of a subscription validation handshake, when this delivery is one."""
    for event in events:
        if event.get("eventType") == VALIDATION_EVENT:
            data = event.get("data")
            code = data.get("validationCode") if isinstance(data, dict) else None
            if not isinstance(code, str) or not code:
                raise BadEvents("a SubscriptionValidationEvent without data.validationCode")
            return code
    return None


def delivery(body: Any) -> list[dict[str, Any]]:
    """The events of a delivery: a JSON array of objects (one object is taken as one event)."""
    events = [body] if isinstance(body, dict) else body
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        raise BadEvents(
            'expected a JSON array of Event Grid events, e.g. [{"id": "…", "eventType": '
            '"Microsoft.Communication.CallStarted", "eventTime": "…", "data": {…}}], or '
            "CloudEvents 1.0 sent as application/cloudevents+json"
        )
    return events


def call_events(events: list[dict[str, Any]], schema: Schema = EVENT_GRID) -> list[CallEvent]:
    """The room call events among *events*, oldest first; others are left out."""
    parsed = [event for event in (_call_event(e, schema) for e in events) if event is not None]
    return sorted(parsed, key=lambda event: event.at)


def _call_event(event: dict[str, Any], schema: Schema) -> CallEvent | None:
    try:
        kind = CallEventKind(str(event.get(schema.type_field)))
    except ValueError:
        return None
    data = event.get("data")
    if not isinstance(data, dict):
        raise BadEvents(f"event {event.get('id')!r}: `data` must be an object")
    room = data.get("room")
    room_id = room.get("id") if isinstance(room, dict) else None
    if not isinstance(room_id, str) or not room_id:
        return None  # a group or two-party call, not a room's
    at = _time(event, schema.time_field)
    user = data.get("user")
    raw_id = user.get("rawId") if isinstance(user, dict) else None
    if kind in (CallEventKind.PARTICIPANT_ADDED, CallEventKind.PARTICIPANT_REMOVED) and not (
        isinstance(raw_id, str) and raw_id
    ):
        raise BadEvents(f"event {event.get('id')!r}: `data.user.rawId` is missing")
    duration = data.get("durationOfCall")
    name = data.get("displayName")
    return CallEvent(
        id=str(event.get("id") or ""),
        kind=kind,
        at=at,
        room_id=room_id,
        server_call_id=str(data.get("serverCallId") or ""),
        user_raw_id=raw_id if isinstance(raw_id, str) else None,
        display_name=name if isinstance(name, str) else "",
        duration=(
            timedelta(seconds=float(duration))
            if isinstance(duration, int | float) and duration >= 0
            else None
        ),
    )


def _time(event: dict[str, Any], field: str) -> datetime:
    value = event.get(field)
    if isinstance(value, str):
        # Event Grid writes 7 fractional digits ("…38.6905856Z"); Python reads at most 6.
        text = value.strip().replace("Z", "+00:00")
        head, dot, rest = text.partition(".")
        if dot:
            digits = rest[: len(rest) - len(rest.lstrip("0123456789"))]
            zone = rest[len(digits) :]
            text = f"{head}.{digits[:6]}{zone}"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            if moment.utcoffset() is not None:
                return moment
    raise BadEvents(
        f"event {event.get('id')!r}: `{field}` must be an ISO 8601 time with a zone, "
        'e.g. "2026-12-02T17:02:38.6905856Z"'
    )
