"""A room's native Slack call: `calls.add` / `update` / `end`, its participants, its card.

With ROOMBOT_PUBLIC_URL set, a room's card carries a `call` block, so Slack draws its own call
UI (who is in it, a Join button) from the call object roombot registers with `calls.add`
(`external_unique_id` = room id, `join_url` = the room's shareable link). The card also says
who is in the call ("3 in the call: @ann, @bob, @cy") or how the last call ended, from ACS's
Event Grid events (`bot/service/call_presence.py`).

`SlackCallCards.for_card` runs inside the journalled answer of a command (after the ack): a
room is registered once (the call id is kept in `room_calls`; a re-run finds it there), its
call is updated when its title or window changes, and ended when the room is deleted or ended.
Rooms that simply close are ended by `CallPresence.end_closed`, every minute.

The crash window. Slack documents no idempotency for `calls.add` (a second call with the same
`external_unique_id` registers a second call) and no way to find a call but by the id
`calls.add` answers (`calls.info` takes only that id). So if roombot stops after Slack
registered a call and before `room_calls` holds its id (the process dies, or the connection
drops after Slack took the request), the journal's retry registers another, and the first is
an orphan: a call object no message refers to, which nobody sees, and which roombot cannot
end because it never learnt its id. What roombot does about it:

- the window is as short as it can be: `calls.add` and recording its answer run as one task,
  shielded from cancellation (a shutdown or a lost lease does not cut it between the two), and
  nothing else runs between them;
- a call roombot registered but could not keep (the record failed, or another replica
  recorded the room's call first) is ended at once: roombot knows its id;
- the card is drawn from `room_calls` only, so it always carries exactly one call, the one
  recorded; an orphan is never shown.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain import Presence, RoomCall, RoomRecord
from bot.mrkdwn import escape
from bot.service.ports import CallRecordsPort
from bot.slack import blocks
from bot.slack.errors import error_code
from bot.slack.workspaces import acting_for

logger = logging.getLogger("roombot.calls")

ALREADY_ENDED = frozenset({"inactive_call", "invalid_call_id"})
"""`calls.*` errors that mean Slack's call is over (or gone): nothing more to tell it."""
TRANSIENT = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable"})
"""`calls.add` errors worth the journal's retry; any other leaves the card without a call."""
CHANGES_TITLE = frozenset({"rename", "extend", "reschedule"})
MAX_NAMED = 10
"""People named on the card; more are counted ("and 4 more")."""


def call_title(room: RoomRecord) -> str:
    return room.title or f"Room {room.room_id}"


def presence_text(call: RoomCall, tz: str) -> str:
    """ "3 in the call: @ann, @bob, @cy", or "Call ended 11:42, 47 min", or "" before any."""
    present = call.in_call()
    if present:
        names = [_who(person) for person in present[:MAX_NAMED]]
        more = len(present) - MAX_NAMED
        tail = f" and {more} more" if more > 0 else ""
        return f":telephone_receiver: {len(present)} in the call: {', '.join(names)}{tail}"
    if call.acs_ended_at is not None:
        ended = call.acs_ended_at
        epoch = int(ended.timestamp())
        fallback = ended.astimezone(ZoneInfo(tz)).strftime("%H:%M")
        length = ""
        if call.acs_started_at is not None:
            minutes = max(0, round((ended - call.acs_started_at).total_seconds() / 60))
            length = f", {minutes} min"
        return f":telephone_receiver: Call ended <!date^{epoch}^{{time}}|{fallback}>{length}"
    if call.acs_started_at is not None:
        return ":telephone_receiver: The call has started; nobody is in it right now."
    return ""


def _who(person: Presence) -> str:
    if person.slack_user_id:
        return f"<@{person.slack_user_id}>"
    return escape(person.display_name or "a guest")


def with_call(
    room_blocks: list[blocks.Block], call: RoomCall | None, tz: str
) -> list[blocks.Block]:
    """The card with the call block (and who is in the call) before its buttons."""
    if call is None or call.slack_ended_at is not None:
        return room_blocks
    extra: list[blocks.Block] = [{"type": "call", "call_id": call.slack_call_id}]
    text = presence_text(call, tz)
    if text:
        extra.append(blocks.context(text))
    at = len(room_blocks)
    if room_blocks and room_blocks[-1].get("type") == "actions":
        at -= 1
    return [*room_blocks[:at], *extra, *room_blocks[at:]]


def slack_user(person: Presence) -> dict[str, str]:
    """A Calls API user: the Slack member, or an external one named as ACS named them."""
    if person.slack_user_id:
        return {"slack_id": person.slack_user_id}
    return {"external_id": person.acs_raw_id, "display_name": person.display_name or "Guest"}


class SlackCallCards:
    """Keeps each room's Slack call object in step with the room, and its card with the call."""

    def __init__(
        self,
        *,
        client: AsyncWebClient,
        records: CallRecordsPort,
        public_url: str,
        join_url: str | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._client = client
        self._records = records
        self._public_url = public_url.rstrip("/")
        self._join_url = join_url
        self._clock = clock or (lambda: datetime.now(UTC))
        self._locks: dict[str, asyncio.Lock] = {}

    def room_link(self, room_id: str) -> str:
        """The shareable room link (`docs/join.md`), which is the call's join URL."""
        return f"{self._public_url}/rooms/{room_id}"

    async def for_card(
        self, room: RoomRecord, room_blocks: list[blocks.Block], *, verb: str, created_by: str
    ) -> list[blocks.Block]:
        """*room_blocks* with the room's call; registers, updates or ends the call first."""
        now = self._clock()
        call = await self._records.get(room.room_id)
        if not room.active or room.valid_until <= now:
            if call is not None:
                await self.end(call)
            return room_blocks
        if call is None:
            try:
                # Shielded: once `calls.add` is sent, its answer is recorded even if this
                # answer is cancelled meanwhile (see the module's note on the crash window).
                call = await asyncio.shield(self._register(room, created_by))
            except SlackApiError as exc:
                if error_code(exc) in TRANSIENT or error_code(exc).startswith("http_5"):
                    raise  # the journal tries the answer again
                # Waiting will not cure it (no calls:write scope, say): the card goes without.
                logger.warning("room %s: calls.add refused (%s)", room.room_id, error_code(exc))
                return room_blocks
        elif verb in CHANGES_TITLE and call.slack_ended_at is None:
            await self._update(call, room)
        return with_call(room_blocks, call, room.tz or "UTC")

    async def _register(self, room: RoomRecord, created_by: str) -> RoomCall:
        response = await self._client.calls_add(
            external_unique_id=room.room_id,
            join_url=self.room_link(room.room_id),
            created_by=created_by,
            title=call_title(room),
            external_display_id=room.room_id,
            date_start=int(room.valid_from.timestamp()),  # when the room opens, not now
        )
        call = response.get("call")
        call_id = call.get("id") if isinstance(call, dict) else None
        if not isinstance(call_id, str) or not call_id:
            raise RuntimeError("calls.add answered without a call id")
        try:
            kept = await self._records.register(
                room_id=room.room_id, team_id=room.team_id, slack_call_id=call_id, now=self._clock()
            )
        except BaseException:
            await self._end_unkept(room.room_id, call_id)
            raise
        if kept.slack_call_id != call_id:  # another replica registered the room's call first
            await self._end_unkept(room.room_id, call_id)
        logger.info("room %s registered as Slack call %s", room.room_id, kept.slack_call_id)
        return kept

    async def _end_unkept(self, room_id: str, call_id: str) -> None:
        """End *call_id*, just registered, unless `room_calls` holds it: an orphan no card
        will show. Best effort: when this fails too, the orphan stays (and is logged)."""
        try:
            recorded = await self._records.get(room_id)
            if recorded is not None and recorded.slack_call_id == call_id:
                return  # the record was written after all (only its answer was lost)
            await self._client.calls_end(id=call_id)
        except Exception as exc:  # the failure that brought us here is the one raised
            logger.warning(
                "room %s: Slack call %s is registered but not recorded, and could not be "
                "ended (%s)",
                room_id,
                call_id,
                type(exc).__name__,
            )
            return
        logger.info("room %s: ended Slack call %s, registered but not kept", room_id, call_id)

    async def _update(self, call: RoomCall, room: RoomRecord) -> None:
        try:
            await self._client.calls_update(
                id=call.slack_call_id,
                title=call_title(room),
                join_url=self.room_link(room.room_id),
            )
        except SlackApiError as exc:
            if error_code(exc) not in ALREADY_ENDED:
                raise

    async def end(self, call: RoomCall) -> None:
        """Tell Slack the call is over (once; a call Slack already ended counts as told)."""
        with acting_for(call.team_id):  # off any request: say whose workspace
            if call.slack_ended_at is not None:
                return
            duration: int | None = None
            if call.acs_started_at is not None and call.acs_ended_at is not None:
                duration = int((call.acs_ended_at - call.acs_started_at).total_seconds())
            try:
                await self._client.calls_end(id=call.slack_call_id, duration=duration)
            except SlackApiError as exc:
                if error_code(exc) not in ALREADY_ENDED:
                    raise
            await self._records.mark_slack_ended(call.room_id, now=self._clock())
            logger.info("Slack call %s of room %s ended", call.slack_call_id, call.room_id)

    async def tell_participants(self, call: RoomCall) -> None:
        """Bring Slack's participant list in line with who is in the call."""
        with acting_for(call.team_id):  # off any request: say whose workspace
            if call.slack_ended_at is not None:
                return
            present = {person.acs_raw_id for person in call.in_call()}
            for person in call.people:
                wanted = person.acs_raw_id in present
                if wanted == person.told_slack:
                    continue
                users = [slack_user(person)]
                try:
                    if wanted:
                        await self._client.calls_participants_add(
                            id=call.slack_call_id, users=users
                        )
                    else:
                        await self._client.calls_participants_remove(
                            id=call.slack_call_id, users=users
                        )
                except SlackApiError as exc:
                    if error_code(exc) in ALREADY_ENDED:
                        await self._records.mark_slack_ended(call.room_id, now=self._clock())
                        return
                    if error_code(exc) != "bad_users":  # already in (or not in) the call
                        raise
                await self._records.told_slack(call.room_id, person.acs_raw_id, present=wanted)

    async def refresh_card(self, room: RoomRecord) -> None:
        """Redraw the room's card with who is in its call now."""
        with acting_for(room.team_id):  # off any request: say whose workspace
            if room.message is None or not room.active:
                return
            async with self._locks.setdefault(room.room_id, asyncio.Lock()):
                call = await self._records.get(room.room_id)  # read inside: the newest wins
                tz = room.tz or "UTC"
                room_blocks = blocks.room_blocks(
                    room, tz=tz, join_url=self._join_url, now=self._clock()
                )
                await self._client.chat_update(
                    channel=room.message.channel_id,
                    ts=room.message.ts,
                    blocks=with_call(room_blocks, call, tz),
                    text=blocks.room_summary(room, tz),
                )


CLOSING_SWEEP = timedelta(minutes=1)
"""How often rooms that closed have their Slack call ended."""
