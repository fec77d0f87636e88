"""The emulator's calls: people joining and leaving rooms' calls, sent as Event Grid would.

Real ACS publishes `Microsoft.Communication.CallStarted`, `CallParticipantAdded`,
`CallParticipantRemoved` and `CallEnded` to an Event Grid subscription, which POSTs them (a
JSON array, the Event Grid schema) to a webhook. The emulator has no media, so people join
and leave through an admin endpoint (not signed: it stands for the people, not for roombot):

    POST /_emulator/calls/{room_id}/join   {"user": "8:acs:…", "displayName": "Ann"}
    POST /_emulator/calls/{room_id}/leave  {"user": "8:acs:…"}

The first to join starts the call (CallStarted, then CallParticipantAdded); the last to leave
ends it (CallParticipantRemoved, then CallEnded with `durationOfCall`). With an events URL
(`roombot emulator --events-url URL`), events are delivered in order by one task, retried with
a growing delay while the webhook answers other than 2xx (as Event Grid retries), and, with
`--events-twice`, each delivered twice (Event Grid delivers at least once). At start the
emulator performs the subscription validation handshake, as Event Grid does when a
subscription is created, and logs whether the webhook answered it.

With `--events-schema cloudevents` (a subscription made with the CloudEvents v1.0 schema) the
same events go as CloudEvents: `type`/`time`/`source` for `eventType`/`eventTime`/`topic`, one
event as `application/cloudevents+json`, several as `application/cloudevents-batch+json`, each
with `Origin: eventgrid.azure.net`; and the handshake is CloudEvents' abuse protection (an
OPTIONS request with `WebHook-Request-Origin`, passed when the answer carries
`WebHook-Allowed-Origin`) instead of a SubscriptionValidationEvent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import aiohttp
from aiohttp import web

log = logging.getLogger("bot.local.emulator.events")

ADMIN_PREFIX: Final = "/_emulator/"
TOPIC: Final = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/local/providers/"
    "Microsoft.Communication/communicationServices/emulator"
)
RETRY_DELAYS: Final = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0)
EVENT_GRID: Final = "eventgrid"
CLOUD_EVENTS: Final = "cloudevents"
SCHEMAS: Final = (EVENT_GRID, CLOUD_EVENTS)
ORIGIN: Final = "eventgrid.azure.net"  # what Event Grid names itself in the CloudEvents handshake


@dataclass
class EmulatedCall:
    """A room's call while anyone is in it."""

    server_call_id: str
    started_at: datetime
    started_by: str
    people: dict[str, str] = field(default_factory=dict)  # raw id -> display name


class CallEvents:
    """Who is in each room's call, and the Event Grid events that say so."""

    def __init__(
        self,
        url: str | None,
        *,
        twice: bool = False,
        schema: str = EVENT_GRID,
        join_on_token: float | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
    ) -> None:
        if schema not in SCHEMAS:
            raise ValueError(f"the events schema is one of {', '.join(SCHEMAS)}, not {schema!r}")
        self.url = url
        self.twice = twice
        self.schema = schema
        self.join_on_token = join_on_token  # seconds a person stays; None: tokens join no call
        self._leaving: set[asyncio.TimerHandle] = set()
        self._clock = clock
        self._retry_delays = retry_delays
        self.calls: dict[str, EmulatedCall] = {}
        self.sent: list[dict[str, Any]] = []  # every event made, in order
        self.delivered = 0  # deliveries the webhook answered 2xx
        self.validated: bool | None = None
        self._queue: asyncio.Queue[list[dict[str, Any]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None

    # --- people ------------------------------------------------------------------------------

    def join(self, room_id: str, raw_id: str, display_name: str) -> list[dict[str, Any]]:
        """*raw_id* joins the room's call (starting it); the events this makes (none if in)."""
        now = self._clock()
        call = self.calls.get(room_id)
        events: list[dict[str, Any]] = []
        if call is None:
            call = EmulatedCall(server_call_id=uuid.uuid4().hex, started_at=now, started_by=raw_id)
            self.calls[room_id] = call
            events.append(self._event("CallStarted", room_id, call, now))
        if raw_id in call.people:
            return events
        call.people[raw_id] = display_name
        events.append(
            self._event("CallParticipantAdded", room_id, call, now, user=raw_id, name=display_name)
        )
        self._emit(events)
        return events

    def leave(self, room_id: str, raw_id: str) -> list[dict[str, Any]]:
        """*raw_id* leaves the room's call (ending it when the last leaves)."""
        call = self.calls.get(room_id)
        if call is None or raw_id not in call.people:
            return []
        now = self._clock()
        name = call.people.pop(raw_id)
        events = [self._event("CallParticipantRemoved", room_id, call, now, user=raw_id, name=name)]
        if not call.people:
            del self.calls[room_id]
            ended = self._event("CallEnded", room_id, call, now)
            ended["data"]["durationOfCall"] = (now - call.started_at).total_seconds()
            events.append(ended)
        self._emit(events)
        return events

    def token_issued(self, raw_id: str, open_rooms: list[str]) -> None:
        """With `--join-on-token`: a VoIP token joins its person to the open rooms they are
        in, for `join_on_token` seconds: what a join page does in a real call."""
        if self.join_on_token is None:
            return
        loop = asyncio.get_running_loop()
        for room_id in open_rooms:
            self.join(room_id, raw_id, "")
            handle = loop.call_later(self.join_on_token, self.leave, room_id, raw_id)
            self._leaving.add(handle)

    def end_room(self, room_id: str) -> list[dict[str, Any]]:
        """The room went (deleted): everyone leaves its call."""
        events: list[dict[str, Any]] = []
        call = self.calls.get(room_id)
        for raw_id in list(call.people if call else []):
            events += self.leave(room_id, raw_id)
        return events

    def _event(
        self,
        kind: str,
        room_id: str,
        call: EmulatedCall,
        at: datetime,
        *,
        user: str | None = None,
        name: str = "",
    ) -> dict[str, Any]:
        data: dict[str, Any] = {
            "startedBy": _participant(call.started_by),
            "serverCallId": call.server_call_id,
            "group": {"id": "00000000-0000-0000-0000-000000000000"},
            "room": {"id": room_id},
            "isTwoParty": False,
            "correlationId": str(uuid.uuid4()),
            "isRoomsCall": True,
        }
        subject = f"call/{call.server_call_id}"
        if user is not None:
            data["user"] = _participant(user)
            data["displayName"] = name
            data["participantId"] = str(uuid.uuid4())
            subject += f"/participant/{user}"
        event = {
            "id": str(uuid.uuid4()),
            "topic": TOPIC,
            "subject": subject,
            "data": data,
            "eventType": f"Microsoft.Communication.{kind}",
            "dataVersion": "1.0",
            "metadataVersion": "1",
            "eventTime": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z"),
        }
        if self.schema == CLOUD_EVENTS:
            event = _cloud_event(event)
        self.sent.append(event)
        return event

    # --- delivery ----------------------------------------------------------------------------

    def _emit(self, events: list[dict[str, Any]]) -> None:
        if self.url is not None and events:
            self._queue.put_nowait(events)
            if self.twice:
                self._queue.put_nowait(events)

    async def start(self) -> None:
        if self.url is None or self._task is not None:
            return
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        self._task = asyncio.create_task(self._deliver_all(), name="emulator-events")

    async def aclose(self) -> None:
        for handle in self._leaving:
            handle.cancel()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def idle(self) -> None:
        """Wait until every event made so far was delivered (or given up on)."""
        await self._queue.join()

    async def _deliver_all(self) -> None:
        await self._validate()
        while True:
            batch = await self._queue.get()
            try:
                await self._deliver(batch)
            finally:
                self._queue.task_done()

    async def _validate(self) -> None:
        """Event Grid's subscription validation handshake: the webhook echoes the code."""
        if self.schema == CLOUD_EVENTS:
            await self._validate_cloud()
            return
        code = uuid.uuid4().hex
        event = {
            "id": str(uuid.uuid4()),
            "topic": TOPIC,
            "subject": "",
            "data": {"validationCode": code},
            "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
            "eventTime": self._clock().astimezone(UTC).isoformat(),
            "metadataVersion": "1",
            "dataVersion": "2",
        }
        body = None
        for delay in (*self._retry_delays, None):
            body = await self._post([event])
            if body is not None or delay is None:
                break
            await asyncio.sleep(delay)  # the webhook may start after the emulator
        self.validated = isinstance(body, dict) and body.get("validationResponse") == code
        log.info(
            "events webhook %s the subscription validation",
            "passed" if self.validated else "failed",
        )

    async def _validate_cloud(self) -> None:
        """CloudEvents' abuse protection: OPTIONS, and the webhook names the origin allowed."""
        assert self._session is not None
        assert self.url is not None
        allowed: str | None = None
        for delay in (*self._retry_delays, None):
            try:
                headers = {"WebHook-Request-Origin": ORIGIN}
                async with self._session.options(self.url, headers=headers) as response:
                    if 200 <= response.status < 300:
                        allowed = response.headers.get("WebHook-Allowed-Origin", "")
                        break
                    log.info("events webhook answered the handshake %d", response.status)
            except (aiohttp.ClientError, TimeoutError) as exc:
                log.info("events webhook unreachable (%s)", type(exc).__name__)
            if delay is None:
                break
            await asyncio.sleep(delay)  # the webhook may start after the emulator
        self.validated = allowed in (ORIGIN, "*")
        log.info(
            "events webhook %s the CloudEvents handshake",
            "passed" if self.validated else "failed",
        )

    async def _deliver(self, batch: list[dict[str, Any]]) -> None:
        for delay in (*self._retry_delays, None):
            if await self._post(batch) is not None:
                self.delivered += 1
                return
            if delay is None:
                break
            await asyncio.sleep(delay)
        log.warning("gave up delivering %d events", len(batch))

    async def _post(self, events: list[dict[str, Any]]) -> Any:
        """POST *events*; the JSON answer (or {}) on 2xx, None otherwise."""
        assert self._session is not None
        assert self.url is not None
        headers = {"aeg-event-type": _aeg_type(events)}
        body: Any = events
        if self.schema == CLOUD_EVENTS:
            # One event alone, several as a batch: CloudEvents' two structured media types.
            single = len(events) == 1
            body = events[0] if single else events
            headers["Content-Type"] = (
                "application/cloudevents+json" if single else "application/cloudevents-batch+json"
            )
            headers["Origin"] = ORIGIN
        try:
            data = json.dumps(body).encode()
            if "Content-Type" not in headers:
                headers["Content-Type"] = "application/json"
            async with self._session.post(self.url, data=data, headers=headers) as response:
                if 200 <= response.status < 300:
                    with contextlib.suppress(ValueError, aiohttp.ContentTypeError):
                        return await response.json()
                    return {}
                log.info("events webhook answered %d", response.status)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.info("events webhook unreachable (%s)", type(exc).__name__)
        return None


def _aeg_type(events: list[dict[str, Any]]) -> str:
    validation = "Microsoft.EventGrid.SubscriptionValidationEvent"
    kind = events[0].get("eventType", events[0].get("type"))
    return "SubscriptionValidation" if kind == validation else "Notification"


def _cloud_event(event: dict[str, Any]) -> dict[str, Any]:
    """*event* (Event Grid schema) in the CloudEvents 1.0 schema, as Event Grid maps it; the
    same `data` object, so what is added to it later shows in both."""
    return {
        "specversion": "1.0",
        "id": event["id"],
        "source": event["topic"],
        "subject": event["subject"],
        "type": event["eventType"],
        "time": event["eventTime"],
        "datacontenttype": "application/json",
        "data": event["data"],
    }


def _participant(raw_id: str) -> dict[str, Any]:
    return {"rawId": raw_id, "communicationUser": {"id": raw_id}, "role": "attendee"}


# --- the admin endpoint ----------------------------------------------------------------------

EVENTS_KEY: web.AppKey[CallEvents] = web.AppKey("call_events")


def mount(
    app: web.Application,
    events: CallEvents,
    room_check: Callable[[str, str], str | None],
) -> None:
    """Serve the join/leave endpoints; *room_check(room, user)* names why one may not join."""
    app[EVENTS_KEY] = events

    async def join(request: web.Request) -> web.Response:
        room_id, body = request.match_info["room_id"], await _body(request)
        user = body.get("user")
        if not isinstance(user, str) or not user:
            return _refuse(400, 'give the identity: {"user": "8:acs:…", "displayName": "Ann"}')
        problem = room_check(room_id, user)
        if problem is not None:
            return _refuse(409, problem)
        name = body.get("displayName")
        made = events.join(room_id, user, name if isinstance(name, str) else "")
        return web.json_response({"events": made})

    async def leave(request: web.Request) -> web.Response:
        room_id, body = request.match_info["room_id"], await _body(request)
        user = body.get("user")
        if not isinstance(user, str) or not user:
            return _refuse(400, 'give the identity: {"user": "8:acs:…"}')
        return web.json_response({"events": events.leave(room_id, user)})

    async def calls(request: web.Request) -> web.Response:
        return web.json_response({room: sorted(call.people) for room, call in events.calls.items()})

    app.router.add_post(ADMIN_PREFIX + "calls/{room_id}/join", join)
    app.router.add_post(ADMIN_PREFIX + "calls/{room_id}/leave", leave)
    app.router.add_get(ADMIN_PREFIX + "calls", calls)

    async def on_startup(_: web.Application) -> None:
        await events.start()

    async def on_cleanup(_: web.Application) -> None:
        await events.aclose()

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)


async def _body(request: web.Request) -> dict[str, Any]:
    with contextlib.suppress(ValueError):
        body = await request.json()
        if isinstance(body, dict):
            return body
    return {}


def _refuse(status: int, message: str) -> web.Response:
    return web.json_response({"error": {"code": "BadRequest", "message": message}}, status=status)
