"""The reminder dispatcher: each participant hears once, shortly before a room opens.

Every replica runs one. It claims due reminders from the schedule under a lease (as the
journal worker claims commands), checks each against the room as recorded now (still active,
the person still in it, the same opening time) and against the person's own choice (App Home:
reminders off), and hands the rest to the `ReminderSender` (a direct message in Slack). A
reminder is marked sent only by the replica holding its lease, so two replicas never both
send it; one that could not be sent is given back with a growing delay and, after
`MAX_ATTEMPTS`, dropped with a log line (the room's card still stands in the channel).

Between rounds it sleeps until the next reminder is due (at most `poll_interval`), or until
`poke()`: a room made less than its lead before opening reminds at once. The clock and the
sleep are injected, so tests move time instead of waiting for it.

A replica can die after Slack took the message and before the mark is committed (or lose
Slack's answer). Its lease runs out and the schedule hands the reminder on marked
`outcome_unknown`; the next holder first asks the sender whether that message is there
(`ReminderSender.already_sent`: the Slack sender looks in the person's DM for the message's
metadata when its token may read it) and marks it sent if so. A sender that may not look says
so in the log and the reminder is sent again: a second copy, never a missing one. A sender that
knows Slack refused (`ReminderNotSent`) gives the reminder back with its outcome known.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from bot.domain import Reminder, RoomRecord
from bot.store.reminders import HomeStore, ReminderSchedule
from bot.store.rooms import RoomRegistry

logger = logging.getLogger("roombot.reminders")

LEASE = timedelta(seconds=60)
"""Longer than one direct message can take (slack-sdk gives up on a call after 30 s)."""
MAX_ATTEMPTS = 5
FIRST_RETRY = timedelta(seconds=15)

Sleep = Callable[[float], Awaitable[None]]


class ReminderNotSent(Exception):
    """Raised by a `ReminderSender` when the reminder was certainly not delivered (Slack
    answered with an error). Any other exception leaves the outcome unknown: the answer may
    have been lost after Slack took the message."""


class ReminderSender(Protocol):
    """Delivers one reminder (Slack: a direct message with a Join button)."""

    async def remind(self, reminder: Reminder, room: RoomRecord, *, now: datetime) -> None: ...

    async def already_sent(self, reminder: Reminder) -> bool:
        """Whether an earlier attempt of *reminder* was delivered; asked only when its outcome
        is unknown. False when it is not there, or when the sender may not look (it logs
        why); raises when it cannot tell now (tried again later, still unknown)."""
        ...


class ReminderDispatcher:
    """Claims due reminders and sends them; see the module's docstring."""

    def __init__(
        self,
        *,
        schedule: ReminderSchedule,
        registry: RoomRegistry,
        preferences: HomeStore,
        sender: ReminderSender,
        worker_id: str,
        lease: timedelta = LEASE,
        poll_interval: float = 30.0,
        batch: int = 20,
        clock: Callable[[], datetime] | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._schedule = schedule
        self._registry = registry
        self._preferences = preferences
        self._sender = sender
        self._worker_id = worker_id
        self._lease = lease
        self._poll_interval = poll_interval
        self._batch = batch
        self._clock = clock or (lambda: datetime.now(UTC))
        self._sleep = sleep
        self._wake = asyncio.Event()
        self._next_look: datetime | None = None
        """When the loop looks next unless poked; None while it is looking."""
        self._task: asyncio.Task[None] | None = None
        self.sent = 0
        """How many reminders this replica sent (for tests and metrics)."""
        self.found = 0
        """How many it found delivered by an earlier attempt, and marked sent without sending."""

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="reminders")

    def poke(self, due: datetime | None = None) -> None:
        """Look for due reminders now rather than at the next tick; with *due*, only if a
        reminder due then would otherwise wait past it (most are due long after)."""
        if due is None or self._next_look is None or due < self._next_look:
            self._wake.set()

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run_once(self) -> int:
        """Send what is due now; returns how many reminders were sent."""
        now = self._clock()
        due = await self._schedule.claim(
            self._worker_id, lease=self._lease, now=now, limit=self._batch
        )
        sent = 0
        for reminder in due:
            try:
                sent += await self._deliver(reminder)
            except Exception:
                logger.exception("reminder %s could not be handled; it stays due", reminder.id)
        self.sent += sent
        return sent

    async def _deliver(self, reminder: Reminder) -> int:
        room = await self._registry.get(reminder.room_id)
        now = self._clock()
        if (
            room is None
            or not room.active
            or room.participant(reminder.user_id) is None
            or room.valid_from != reminder.opens_at
            or now >= room.valid_until
        ):
            await self._schedule.finish(reminder.id, self._worker_id, sent=False, now=now)
            return 0  # the room changed since: its own sync has the reminder it needs
        preferences = await self._preferences.preferences(reminder.team_id, reminder.user_id)
        if not preferences.reminders:
            await self._schedule.finish(reminder.id, self._worker_id, sent=False, now=now)
            return 0
        if reminder.outcome_unknown:
            try:
                delivered = await self._sender.already_sent(reminder)
            except Exception as exc:
                await self._failed(reminder, exc)
                return 0
            if delivered:
                logger.info("reminder %s was delivered by an earlier attempt", reminder.id)
                await self._schedule.finish(
                    reminder.id, self._worker_id, sent=True, now=self._clock()
                )
                self.found += 1
                return 0
        try:
            await self._sender.remind(reminder, room, now=now)
        except Exception as exc:
            await self._failed(reminder, exc)
            return 0
        if not await self._schedule.finish(
            reminder.id, self._worker_id, sent=True, now=self._clock()
        ):
            logger.warning("reminder %s was sent after its lease passed to another", reminder.id)
        return 1

    async def _failed(self, reminder: Reminder, exc: Exception) -> None:
        now = self._clock()
        name = type(exc).__name__  # never its text: it may hold a token
        if reminder.attempts >= MAX_ATTEMPTS:
            logger.error(
                "reminder %s failed %d times (%s); dropped", reminder.id, MAX_ATTEMPTS, name
            )
            await self._schedule.finish(reminder.id, self._worker_id, sent=False, now=now)
            return
        wait = FIRST_RETRY * 2 ** (reminder.attempts - 1)
        unknown = not isinstance(exc, ReminderNotSent)  # Slack may have taken it
        logger.warning(
            "reminder %s failed (%s%s); again in %ss",
            reminder.id,
            name,
            ", maybe delivered" if unknown else "",
            wait.seconds,
        )
        await self._schedule.release(
            reminder.id, self._worker_id, retry_at=now + wait, now=now, unknown=unknown
        )

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            self._next_look = None
            try:
                await self.run_once()
                wait = await self._until_next()
            except Exception:
                logger.exception("reminder round failed; trying again shortly")
                wait = self._poll_interval
            self._next_look = self._clock() + timedelta(seconds=wait)
            sleeping = asyncio.ensure_future(self._sleep(wait))
            woken = asyncio.ensure_future(self._wake.wait())
            try:
                await asyncio.wait({sleeping, woken}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (sleeping, woken):
                    task.cancel()
                await asyncio.gather(sleeping, woken, return_exceptions=True)

    async def _until_next(self) -> float:
        """Seconds until the next reminder is due, within [0, poll_interval]."""
        due = await self._schedule.next_due()
        if due is None:
            return self._poll_interval
        seconds = (due - self._clock()).total_seconds()
        return min(max(seconds, 0.0), self._poll_interval)
