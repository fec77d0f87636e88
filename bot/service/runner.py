"""CommandRunner: takes one journal entry from wherever it stopped to answered.

    accepted ──resolve & pin──> accepted(resolved) ──apply──> room_created ──answer──> answered
        └──────── refused / failed for good ─────> failed ──────answer──────────────┘

Each step is recorded before the next starts, so a crash at any point resumes at that step:
the resolved command is pinned before ACS is touched (a re-run repeats the same change), and
the answer is sent only once the outcome is recorded. While ACS is unreachable the entry is
released with a growing delay and the user hears once that it is taking longer; after
`give_up_after` it fails with a clear message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.mrkdwn import escape
from bot.service.interpret import Interpreter
from bot.service.outcomes import Outcome, Refused, RoomChanged, ServiceError, TryLater
from bot.service.ports import Answerer
from bot.service.resolved import RESOLVED, ResolvedCommand, note_shown, with_note_shown
from bot.service.rooms import RoomService
from bot.store.journal import Journal
from bot.store.records import JournalEntry, JournalState
from bot.store.rooms import RoomRegistry

logger = logging.getLogger("roombot.runner")

GIVE_UP_AFTER = timedelta(minutes=25)  # inside the response_url's 30 minutes
MAX_RETRY_DELAY = timedelta(seconds=30)


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
        worker_id: Callable[[], str],
        clock: Callable[[], datetime] | None = None,
        give_up_after: timedelta = GIVE_UP_AFTER,
        on_delay: Callable[[], None] | None = None,
    ) -> None:
        self._service = service
        self._interpreter = interpreter
        self._journal = journal
        self._registry = registry
        self._answerer = answerer
        self._worker_id = worker_id
        self._clock = clock or (lambda: datetime.now(UTC))
        self._give_up_after = give_up_after
        self._on_delay = on_delay

    async def __call__(self, entry: JournalEntry) -> None:
        worker = self._worker_id()
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
        shown = None
        if message is not None and isinstance(outcome, RoomChanged):
            shown = (outcome.room.room_id, message)
        await self._journal.mark_answered(entry.key, worker, now=self._clock(), room_message=shown)

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
            return await self._later(entry, worker, delay.reason)
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

    async def _later(self, entry: JournalEntry, worker: str, reason: str) -> Outcome | None:
        now = self._clock()
        if now - entry.accepted_at >= self._give_up_after:
            message = (
                f"Azure Communication Services could not be reached for "
                f"{int((now - entry.accepted_at).total_seconds() // 60)} minutes, so the room "
                f"was not created. {escape(reason)}"
            )
            await self._journal.mark_failed(entry.key, "acs_unavailable", message, worker, now=now)
            return Refused("acs_unavailable", message, "/room create tomorrow")
        if entry.last_error is None:  # the first delay of this command: say so, once
            await self._answerer.delayed(entry, reason)
        delay = min(timedelta(seconds=2 ** min(entry.attempts, 10)), MAX_RETRY_DELAY)
        await self._journal.release(entry.key, worker, now=now, error=reason, retry_at=now + delay)
        logger.info("command %s delayed %ss: %s", entry.key, delay.total_seconds(), reason)
        if self._on_delay is not None:
            self._on_delay()  # e.g. watch for ACS to come back, and retry at once when it does
        return None

    async def _recorded_change(self, entry: JournalEntry) -> Outcome:
        assert entry.room_id is not None, "room_created always records the room"
        room = await self._registry.get(entry.room_id)
        command = ResolvedCommand.from_json(entry.command)
        if room is None:
            return Refused("room_not_found", f"Room `{entry.room_id}` is no longer known.")
        return RoomChanged(verb=command.action, room=room, actor_id=entry.user_id, tz=command.tz)


def _with_example(refusal: ServiceError) -> str:
    return refusal.message + (f"\nTry: `{refusal.example}`" if refusal.example else "")
