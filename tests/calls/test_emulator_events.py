"""The emulator's calling events: Event Grid's shapes, its handshake, at-least-once delivery
and ACS's rules for who may join a room's call, against a real webhook on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.domain import Role
from bot.eventgrid.events import CallEventKind, call_events
from bot.local.emulator import EmulatorServer, Room
from tests.reliability.harness import eventually

ROOM = "99000000000000001"
ANN = "8:acs:emulator_ann"


class Webhook:
    """A webhook that answers the handshake and records every delivery."""

    def __init__(self) -> None:
        self.deliveries: list[list[dict[str, Any]]] = []
        self.fail_next = 0
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        events = await request.json()
        first = events[0]
        if first["eventType"] == "Microsoft.EventGrid.SubscriptionValidationEvent":
            assert request.headers["aeg-event-type"] == "SubscriptionValidation"
            return web.json_response({"validationResponse": first["data"]["validationCode"]})
        if self.fail_next:
            self.fail_next -= 1
            return web.Response(status=503)
        assert request.headers["aeg-event-type"] == "Notification"
        self.deliveries.append(events)
        return web.json_response({})

    async def __aenter__(self) -> Webhook:
        app = web.Application()
        app.router.add_post("/events", self.handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/events"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


@pytest.fixture(name="webhook")
async def _webhook() -> AsyncIterator[Webhook]:
    async with Webhook() as hook:
        yield hook


def _open_room(emulator: EmulatorServer, *, opens_in: timedelta = timedelta(0)) -> None:
    now = datetime.now(UTC)
    emulator.state.add_room(
        Room(
            id=ROOM,
            created_at=now,
            valid_from=now + opens_in - timedelta(minutes=1),
            valid_until=now + opens_in + timedelta(hours=1),
            participants={ANN: Role.ATTENDEE},
        )
    )


async def _post(emulator: EmulatorServer, verb: str, body: dict[str, Any]) -> tuple[int, Any]:
    url = f"{emulator.endpoint}_emulator/calls/{ROOM}/{verb}"
    async with aiohttp.ClientSession() as http, http.post(url, json=body) as response:
        return response.status, await response.json()


async def test_a_call_is_told_in_order_and_each_delivery_twice(webhook: Webhook) -> None:
    async with EmulatorServer(events_url=webhook.url, events_twice=True) as emulator:
        assert emulator.events is not None
        _open_room(emulator)
        webhook.fail_next = 1  # Event Grid retries what the webhook did not take
        assert (await _post(emulator, "join", {"user": ANN, "displayName": "Ann"}))[0] == 200
        assert (await _post(emulator, "leave", {"user": ANN}))[0] == 200
        await eventually(lambda: len(webhook.deliveries) == 4, what="four deliveries")
        assert emulator.events.validated
        assert webhook.deliveries[0] == webhook.deliveries[1]
        parsed = call_events([e for batch in webhook.deliveries[::2] for e in batch])
        assert [e.kind for e in parsed] == [
            CallEventKind.STARTED,
            CallEventKind.PARTICIPANT_ADDED,
            CallEventKind.PARTICIPANT_REMOVED,
            CallEventKind.ENDED,
        ]
        assert {e.room_id for e in parsed} == {ROOM}
        assert parsed[1].user_raw_id == ANN
        assert parsed[1].display_name == "Ann"
        assert parsed[3].duration is not None


async def test_only_a_participant_joins_and_only_while_the_room_is_open(
    webhook: Webhook,
) -> None:
    async with EmulatorServer(events_url=webhook.url) as emulator:
        _open_room(emulator, opens_in=timedelta(hours=2))
        status, answer = await _post(emulator, "join", {"user": ANN})
        assert status == 409
        assert "not now" in answer["error"]["message"]
        status, answer = await _post(emulator, "join", {"user": "8:acs:someone_else"})
        assert status == 409
        assert "not a participant" in answer["error"]["message"]
        status, answer = await _post(emulator, "join", {})
        assert status == 400
        assert '{"user": "8:acs:' in answer["error"]["message"]
        assert webhook.deliveries == []
