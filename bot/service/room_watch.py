"""What follows a room change besides its answer: reminders moved, and people's Homes redrawn.

`RoomWatch` is that follow-up, for whatever changed the room: a command (through
`WatchedAnswerer`) or a knock admitted from the join flow (`JoinService.admit`), so a person
let in by knocking is reminded and sees the room in their Home exactly as one added by
`/room add` does.

`WatchedAnswerer` wraps the `Answerer` the runner uses. Every command that changed a room is
answered through it, both when it ran now and when a replica resumed it after a crash (the
runner answers before it marks the entry answered), so the reminder schedule is brought in
line with the room, durably, before the command counts as done: a crash in between repeats
the (idempotent) sync. The people whose rooms changed are then handed to *on_people* (the App
Home's refresh), which may fail without harm to the command.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.domain import DEFAULT_REMINDER_LEAD, JournalEntry, PostedMessage, RoomRecord
from bot.service.outcomes import Outcome, RoomChanged
from bot.service.ports import Answerer
from bot.service.resolved import RESOLVED
from bot.store.journal import Journal
from bot.store.reminders import ReminderSchedule

logger = logging.getLogger("roombot.room_watch")

REMIND_KEY = "remind_minutes"
"""Where a resolved create carries its reminder lead time, in minutes (`remind 15m`)."""

PeopleChanged = Callable[[str, frozenset[str]], None]
RemindersDue = Callable[[datetime], None]


def reminder_lead(command: Mapping[str, Any]) -> timedelta | None:
    """The lead time a journalled command asked for, if any."""
    minutes = command.get(REMIND_KEY)
    if isinstance(minutes, int) and not isinstance(minutes, bool) and minutes >= 0:
        return timedelta(minutes=minutes)
    return None


class RoomWatch:
    """Keeps a room's reminders, then its people's Homes, in step with the room as recorded.

    `sync` is the durable half (the schedule's rows, in the database) and runs before the
    change counts as done, so a crash in between repeats it (it is idempotent); `tell` hands
    the people to *on_people* (the App Home's refresh), which may fail without harm.
    """

    def __init__(
        self,
        schedule: ReminderSchedule,
        *,
        on_people: PeopleChanged | None = None,
        on_due: RemindersDue | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.schedule = schedule
        self._on_people = on_people
        self._on_due = on_due
        self._clock = clock or (lambda: datetime.now(UTC))

    async def sync(
        self, room: RoomRecord, *, also: Iterable[str] = (), lead: timedelta | None = None
    ) -> frozenset[str]:
        """Bring *room*'s reminders in line with it; returns whose Homes show it (its people,
        its creator, *also* — people just removed — and whoever had a reminder of it).

        *lead*, when the caller knows it (a create), saves reading it back. A reminder set
        or moved wakes the dispatcher through *on_due*, which it ignores unless the reminder
        is due before its next look (a room made less than its lead before opening)."""
        people = {p.slack_user_id for p in room.participants} | {room.creator_id} | set(also)
        synced = await self.schedule.sync(room, now=self._clock(), lead=lead)
        if synced.earliest_due is not None and self._on_due is not None:
            self._on_due(synced.earliest_due)
        return frozenset(people | synced.people)

    def tell(self, team_id: str, people: frozenset[str]) -> None:
        """Redraw *people*'s Homes, in the background."""
        if not people or self._on_people is None:
            return
        try:
            self._on_people(team_id, people)
        except Exception:
            logger.exception("could not start refreshing the Homes of a room's people")


class WatchedAnswerer:
    """An `Answerer` that also keeps reminders and Homes in step with every room change."""

    def __init__(
        self,
        inner: Answerer,
        *,
        watch: RoomWatch | None = None,
        journal: Journal | None = None,
    ) -> None:
        self._inner = inner
        self._watch = watch
        self._journal = journal

    async def answer(self, entry: JournalEntry, outcome: Outcome) -> PostedMessage | None:
        if not isinstance(outcome, RoomChanged) or self._watch is None:
            return await self._inner.answer(entry, outcome)
        room = outcome.room
        lead = None
        if outcome.verb == "create":
            lead = await self._asked_lead(entry)
            if lead is not None:
                await self._watch.schedule.set_lead(room.room_id, lead)
            if lead is None:  # a new room has no other (`remind 0m` is a lead of its own)
                lead = DEFAULT_REMINDER_LEAD
        removed = outcome.changes.removed if outcome.changes is not None else ()
        people = await self._watch.sync(room, also=removed, lead=lead)
        message = await self._inner.answer(entry, outcome)
        self._watch.tell(room.team_id, people)
        return message

    async def _asked_lead(self, entry: JournalEntry) -> timedelta | None:
        """The `remind` lead a create asked for: in its resolved command, which for a command
        journalled as typed text is the one the runner pinned (read back from the journal)."""
        command = entry.command
        if command.get("kind") != RESOLVED and self._journal is not None:
            pinned = await self._journal.get(entry.key)
            command = pinned.command if pinned is not None else command
        return reminder_lead(command)

    async def delayed(self, entry: JournalEntry, reason: str) -> None:
        await self._inner.delayed(entry, reason)

    async def last_word(self, entry: JournalEntry, outcome: Outcome) -> bool:
        return await self._inner.last_word(entry, outcome)
