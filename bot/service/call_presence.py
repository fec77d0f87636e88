"""Who is in a room's call, from ACS's Event Grid events, kept in Slack and on the card.

Event Grid delivers each event at least once, in any order, in batches, and retries a
delivery that is not answered 2xx. So each event is first recorded (`CallRecords`, where an
event changes a row only when it is newer than what the row holds: a redelivery changes
nothing), then Slack is brought in line with the record: its call's participants
(`calls.participants.add` / `remove`, only where what Slack was told differs) and the room's
card. If Slack fails, the delivery fails (503) and Event Grid delivers it again; the record
is already there, and the next attempt tells Slack what it missed.

ACS identities are Slack people again through the room's roster, else the identity
directory; an identity roombot does not know is shown by the name ACS gives.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from bot.domain import RoomCall, RoomRecord
from bot.eventgrid.events import CallEvent, CallEventKind
from bot.store.calls import CallRecords
from bot.store.rooms import RoomRegistry

logger = logging.getLogger("roombot.calls")


class CallSlack(Protocol):
    """What the presence service needs of Slack (`bot.slack.calls.SlackCallCards`)."""

    async def tell_participants(self, call: RoomCall) -> None: ...

    async def refresh_card(self, room: RoomRecord) -> None: ...

    async def end(self, call: RoomCall) -> None: ...


class CallPresence:
    """Applies calling events to rooms' calls and shows the result in Slack."""

    def __init__(
        self,
        *,
        records: CallRecords,
        registry: RoomRegistry,
        slack: CallSlack,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._records = records
        self._registry = registry
        self._slack = slack
        self._clock = clock or (lambda: datetime.now(UTC))
        self._sweeper: asyncio.Task[None] | None = None
        self._showing: dict[str, asyncio.Lock] = {}

    async def handle(self, events: list[CallEvent]) -> int:
        """Record *events* (oldest first) and update Slack for each room they touched;
        how many changed anything."""
        changed = 0
        rooms: dict[str, RoomRecord | None] = {}
        for event in events:
            if event.room_id not in rooms:
                rooms[event.room_id] = await self._registry.get(event.room_id)
            room = rooms[event.room_id]
            if room is None:
                continue  # not a room of roombot's (another app on the same resource)
            if await self._apply(event, room):
                changed += 1
        for room in rooms.values():
            if room is not None:
                await self._show(room)
        return changed

    async def _apply(self, event: CallEvent, room: RoomRecord) -> bool:
        records, at = self._records, event.at
        if event.kind is CallEventKind.STARTED:
            return await records.call_started(room.room_id, acs_call_id=event.server_call_id, at=at)
        if event.kind is CallEventKind.ENDED:
            return await records.call_ended(
                room.room_id, acs_call_id=event.server_call_id, at=at, duration=event.duration
            )
        raw_id = event.user_raw_id or ""
        member = next((p for p in room.participants if p.acs_raw_id == raw_id), None)
        slack_user = member.slack_user_id if member is not None else None
        if slack_user is None:
            slack_user = await records.slack_user_for(room.team_id, raw_id)
        present = event.kind is CallEventKind.PARTICIPANT_ADDED
        if present:
            # A participant added is a call going on, even when CallStarted is yet to come.
            await records.call_started(room.room_id, acs_call_id=event.server_call_id, at=at)
        return await records.presence(
            room.room_id,
            acs_raw_id=raw_id,
            present=present,
            at=at,
            slack_user_id=slack_user,
            display_name=event.display_name,
        )

    async def _show(self, room: RoomRecord) -> None:
        # One delivery at a time per room here, so two at once do not both tell Slack the
        # same change (across replicas a repeat is harmless: Slack answers `bad_users`).
        async with self._showing.setdefault(room.room_id, asyncio.Lock()):
            call = await self._records.get(room.room_id)
            if call is None:
                return
            await self._slack.tell_participants(call)
            await self._slack.refresh_card(room)

    async def end_closed(self) -> int:
        """End the Slack call of every room that closed (or went) with its call still open."""
        ended = 0
        for room_id in await self._records.closed_unended(now=self._clock()):
            call = await self._records.get(room_id)
            if call is not None:
                await self._slack.end(call)
                ended += 1
        return ended

    def start_sweeping(self, every: timedelta) -> None:
        """End closed rooms' calls every *every* (and once now), in the background."""
        if self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep(every), name="end-closed-calls")

    async def aclose(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None

    async def _sweep(self, every: timedelta) -> None:
        while True:
            try:
                await self.end_closed()
            except Exception:
                logger.exception("could not end the calls of closed rooms; trying again later")
            await asyncio.sleep(every.total_seconds())
