"""CommandRunner: takes one journal entry from wherever it stopped to answered.

    accepted ──resolve & pin──> accepted(resolved) ──apply──> room_created ──answer──> answered
        └──────── refused / failed for good ─────> failed ──────answer──────────────┘

Each step is recorded before the next starts, so a crash at any point resumes at that step:
the resolved command is pinned before ACS is touched (a re-run repeats the same change), and
the answer is sent only once the outcome is recorded. While ACS is unreachable the entry is
released with a growing delay and the user hears once that it is taking longer; after
`give_up_after` it fails with a clear message.

Anything else that goes wrong (a bug, an answer Slack will not take) is counted in the
journal and retried with a growing delay (2, 4, 8, 16 s); after `max_failures` attempts the
runner gives up for good: the entry is answered, its person told how it ended by any route
still open (a direct message when the channel is gone), and `on_failure` counts it.

With a `RoomWatch`, a command that changed a room has that room's reminders brought in line in
the same transaction that marks it answered (`Journal.mark_answered_with`), then the opened
Homes that show the room redrawn.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.domain import JournalEntry, JournalState, PostedMessage
from bot.mrkdwn import escape
from bot.service.interpret import Interpreter
from bot.service.outcomes import Outcome, Refused, RoomChanged, ServiceError, TryLater
from bot.service.ports import Answerer
from bot.service.resolved import RESOLVED, ResolvedCommand, note_shown, with_note_shown
from bot.service.room_watch import RoomWatch
from bot.service.rooms import RoomService
from bot.store.errors import LeaseLost
from bot.store.journal import Journal
from bot.store.rooms import RoomRegistry

logger = logging.getLogger("roombot.runner")

GIVE_UP_AFTER = timedelta(minutes=25)  # inside the response_url's 30 minutes
MAX_RETRY_DELAY = timedelta(seconds=30)
MAX_FAILURES = 5
"""Attempts that end in an unexpected error before the runner gives up on a command."""
FIRST_FAILURE_DELAY = timedelta(seconds=2)
"""The wait after the first unexpected failure; it doubles after each further one."""


class CommandRunner:
    """The journal worker's `process`: resolve, apply, answer — resumable at each step."""

    def __init__(
        self,
        *,
        service: RoomService,
        interpreter: Interpreter,
        journal: Journal,
        registry: RoomRegistry,
        answerer: Answerer,
        worker_id: str,
        clock: Callable[[], datetime] | None = None,
        give_up_after: timedelta = GIVE_UP_AFTER,
        max_failures: int = MAX_FAILURES,
        first_failure_delay: timedelta = FIRST_FAILURE_DELAY,
        on_delay: Callable[[], None] | None = None,
        on_failure: Callable[[str], None] | None = None,
        watch: RoomWatch | None = None,
    ) -> None:
        self._service = service
        self._watch = watch
        self._interpreter = interpreter
        self._journal = journal
        self._registry = registry
        self._answerer = answerer
        self.worker_id = worker_id  # the journal worker's: its leases are the ones we hold
        self._clock = clock or (lambda: datetime.now(UTC))
        self._give_up_after = give_up_after
        self._on_delay = on_delay
        self._max_failures = max_failures
        self._first_failure_delay = first_failure_delay
        self._on_failure = on_failure

    async def __call__(self, entry: JournalEntry) -> None:
        worker = self.worker_id
        try:
            await self._advance(entry, worker)
        except LeaseLost:
            logger.info("command %s was taken over by another worker", entry.key)
        except Exception as exc:
            await self._failed(entry, worker, exc)

    async def _advance(self, entry: JournalEntry, worker: str) -> None:
        outcome: Outcome | None
        if entry.state is JournalState.ACCEPTED:
            outcome = await self._decide(entry, worker)
            if outcome is None:
                return  # released for a later retry
        elif entry.state is JournalState.ROOM_CREATED:
            outcome = await self._recorded_change(entry)
        elif entry.state is JournalState.FAILED:
            outcome = Refused(entry.error_code or "failed", entry.error_message or "It failed.")
        else:
            return
        message = await self._answerer.answer(entry, outcome)
        await self._mark_answered(entry, worker, outcome, message)

    async def _mark_answered(
        self,
        entry: JournalEntry,
        worker: str,
        outcome: Outcome | None,
        message: PostedMessage | None = None,
    ) -> None:
        """Mark the entry answered; for a room change, with the room's reminders brought in
        line in the same transaction (`RoomWatch`), then its people's Homes redrawn.

        *message* is the Slack message that now shows the room, remembered with the room."""
        if not isinstance(outcome, RoomChanged):
            await self._journal.mark_answered(entry.key, worker, now=self._clock())
            return
        shown = (outcome.room.room_id, message) if message is not None else None
        if self._watch is None:
            await self._journal.mark_answered(
                entry.key, worker, now=self._clock(), room_message=shown
            )
            return
        answered, synced = await self._journal.mark_answered_with(
            entry.key, worker, self._watch.step(outcome), now=self._clock(), room_message=shown
        )
        if answered and synced is not None:  # else answered before, its reminders with it
            self._watch.settled(outcome.room.team_id, synced)

    async def _decide(self, entry: JournalEntry, worker: str) -> Outcome | None:
        try:
            command = await self._resolved(entry, worker)
            changed = await self._service.apply(entry, command)
        except ServiceError as refusal:
            await self._journal.mark_failed(
                entry.key, refusal.code, _with_example(refusal), worker, now=self._clock()
            )
            return Refused(refusal.code, refusal.message, refusal.example)
        except TryLater as delay:
            return await self._later(entry, worker, delay)
        if not changed.journalled:
            await self._journal.mark_room_created(
                entry.key, changed.room.room_id, worker, now=self._clock()
            )
        return changed

    async def _resolved(self, entry: JournalEntry, worker: str) -> ResolvedCommand:
        if entry.command.get("kind") == RESOLVED:
            return ResolvedCommand.from_json(entry.command)
        command = await self._interpreter.resolve(entry)
        pinned = command.to_json()
        if note_shown(entry.command):
            pinned = with_note_shown(pinned)  # the answer still replaces the ack's note
        await self._journal.pin_command(entry.key, pinned, worker, now=self._clock())
        return command

    async def _later(self, entry: JournalEntry, worker: str, delay: TryLater) -> Outcome | None:
        now, reason = self._clock(), delay.reason
        if now - entry.accepted_at >= self._give_up_after:
            message = (
                f"{delay.service} could not be reached for "
                f"{int((now - entry.accepted_at).total_seconds() // 60)} minutes, so the room "
                f"was not created. {escape(reason)}"
            )
            await self._journal.mark_failed(entry.key, "acs_unavailable", message, worker, now=now)
            return Refused("acs_unavailable", message, "/room create tomorrow")
        if entry.last_error is None:  # the first delay of this command: say so, once
            await self._answerer.delayed(entry, reason)
        wait = min(timedelta(seconds=2 ** min(entry.attempts, 10)), MAX_RETRY_DELAY)
        await self._journal.release(entry.key, worker, now=now, error=reason, retry_at=now + wait)
        logger.info("command %s delayed %ss: %s", entry.key, wait.total_seconds(), reason)
        if self._on_delay is not None:
            self._on_delay()  # e.g. watch for ACS to come back, and retry at once when it does
        return None

    async def _failed(self, entry: JournalEntry, worker: str, exc: Exception) -> None:
        """An attempt ended in an unexpected error: retry later, or give up for good."""
        failures = entry.failures + 1
        error = _error_name(exc)
        now = self._clock()
        if failures < self._max_failures:
            wait = self._first_failure_delay * 2 ** (failures - 1)
            logger.warning(
                "command %s failed unexpectedly (%s), attempt %d of %d; retrying in %ss",
                entry.key,
                error,
                failures,
                self._max_failures,
                wait.total_seconds(),
                exc_info=exc,
            )
            await self._journal.record_failure(
                entry.key, worker, now=now, error=error, retry_at=now + wait
            )
            self._count("retried")
            return
        logger.error(
            "command %s failed unexpectedly (%s) %d times; giving up",
            entry.key,
            error,
            failures,
            exc_info=exc,
        )
        told = False
        outcome: Outcome | None = None
        try:
            outcome = await self._final_outcome(entry, worker, error, failures)
            told = await self._answerer.last_word(entry, outcome)
        except Exception:
            logger.exception("command %s: could not say how it ended", entry.key)
        try:  # a room it made still reminds its people, who may hear of it no other way
            await self._mark_answered(entry, worker, outcome)
        except LeaseLost:
            raise
        except Exception:  # the end is recorded even if the reminders cannot be
            logger.exception("command %s: its room's reminders could not be set", entry.key)
            await self._journal.mark_answered(entry.key, worker, now=self._clock())
        if not told:
            logger.error("command %s ended and nobody could be told", entry.key)
        self._count("gave_up_told" if told else "gave_up_untold")

    async def _final_outcome(
        self, entry: JournalEntry, worker: str, error: str, failures: int
    ) -> Outcome:
        """How a command the runner gives up on ended, recorded where the journal allows."""
        if entry.state is JournalState.ROOM_CREATED:
            return await self._recorded_change(entry)
        if entry.state is JournalState.FAILED:
            return Refused(entry.error_code or "failed", entry.error_message or "It failed.")
        message = (
            f"I could not finish your command: it failed {failures} times ({error}), so I "
            f"stopped trying. Please try again; if it keeps failing, tell your Slack admin "
            f"(reference `{entry.key[:8]}`)."
        )
        await self._journal.mark_failed(entry.key, GAVE_UP, message, worker, now=self._clock())
        return Refused(GAVE_UP, message)

    def _count(self, outcome: str) -> None:
        if self._on_failure is not None:
            self._on_failure(outcome)

    async def _recorded_change(self, entry: JournalEntry) -> Outcome:
        assert entry.room_id is not None, "room_created always records the room"
        room = await self._registry.get(entry.room_id)
        command = ResolvedCommand.from_json(entry.command)
        if room is None:
            return Refused("room_not_found", f"Room `{entry.room_id}` is no longer known.")
        return RoomChanged(
            verb=command.action,
            room=room,
            actor_id=entry.user_id,
            tz=command.tz,
            reminder_lead=command.reminder_lead,
        )


GAVE_UP = "gave_up"


def _error_name(exc: Exception) -> str:
    """What went wrong, for the journal and the person: the exception's type, never its
    text, which may hold a response_url or a token."""
    return type(exc).__name__


def _with_example(refusal: ServiceError) -> str:
    return refusal.message + (f"\nTry: `{refusal.example}`" if refusal.example else "")
