"""What follows a room change besides its answer: reminders moved, and people's Homes redrawn.

`RoomWatch` is that follow-up, for whatever changed the room: a command (through the
`CommandRunner`) or a knock admitted from the join flow (`JoinService.admit`), so a person let
in by knocking is reminded and sees the room in their Home exactly as one added by `/room add`
does.

For a command the reminder sync is a step of the journal's answered write
(`Journal.mark_answered_with`): every command that changed a room — run now, or resumed by a
replica after a crash — has its reminders brought in line with the room in the very
transaction that marks it answered, so a command never counts as done without them, and the
sync (with the read of who opened their Home) costs no database call of its own. The people
whose opened Homes show the room are then handed to *on_people* (the App Home's refresh),
which may fail without harm to the command.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from bot.domain import DEFAULT_REMINDER_LEAD, RoomRecord
from bot.service.outcomes import RoomChanged
from bot.store.reminders import ReminderSchedule, ReminderStep, SyncedReminders

logger = logging.getLogger("roombot.room_watch")

PeopleChanged = Callable[[str, frozenset[str]], None]
"""Told (team, people) whose opened Home tabs show a room that changed."""
RemindersDue = Callable[[datetime], None]


class RoomWatch:
    """Keeps a room's reminders, then its people's Homes, in step with the room as recorded.

    The durable half is the reminder sync (the schedule's rows, in the database): `step` for
    a command, run by the journal's answered write; `sync` on its own for other changes. It
    is idempotent, so a crash before it committed repeats it. `settled` then wakes the
    reminder dispatcher if a reminder is due soon and hands the opened Homes to *on_people*.
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

    def step(self, change: RoomChanged) -> ReminderStep:
        """The reminder sync a command's *change* calls for, as a step of the write that marks
        the command answered.

        A create knows its lead: the one it asked for (`remind 15m`, kept with the room), or
        the default (a new room has no other; `remind 0m` is a lead of its own). People a
        command removed are told too: the room leaves their Homes.
        """
        lead: timedelta | None = None
        if change.verb == "create":
            asked = change.reminder_lead
            lead = DEFAULT_REMINDER_LEAD if asked is None else asked  # `remind 0m` is asked
        removed = change.changes.removed if change.changes is not None else ()
        return self.schedule.sync_step(
            change.room,
            now=self._clock(),
            lead=lead,
            set_lead=change.verb == "create" and change.reminder_lead is not None,
            also=removed,
        )

    async def sync(self, room: RoomRecord, *, also: Iterable[str] = ()) -> SyncedReminders:
        """Bring *room*'s reminders in line with it in a write of its own (a knock admitted);
        pass the result to `settled` once the change is done."""
        return await self.schedule.sync(room, now=self._clock(), also=also)

    def settled(self, team_id: str, synced: SyncedReminders) -> None:
        """A change and its reminders are recorded: wake the dispatcher if a reminder it set
        is due before its next look (a room made less than its lead before opening), and
        redraw the opened Homes that show the room, in the background."""
        if synced.earliest_due is not None and self._on_due is not None:
            self._on_due(synced.earliest_due)
        if not synced.opened or self._on_people is None:
            return
        try:
            self._on_people(team_id, synced.opened)
        except Exception:
            logger.exception("could not start refreshing the Homes of a room's people")
