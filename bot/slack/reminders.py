"""Reminders in Slack: a direct message to each participant shortly before a room opens.

Posted with `chat.postMessage` to the person's user id, which Slack delivers in the app's
Messages tab: `chat:write` is enough, with no `im:write` (`conversations.open`) needed. Its
Join button is the room card's (`blocks.ACTION_JOIN`), answered with the person's own link;
its block id marks it as a reminder's, so the App Home's Join listener answers it (with a
direct message: a channel that roombot is limited to is not where this button lives).

Every reminder carries message metadata (`REMINDER_EVENT`, with the reminder's id, its room
and opening). When an earlier attempt's outcome is unknown (a replica died after Slack took
the message), `already_sent` looks for it in the person's DM before it is posted again: with
`manifest.history.yml`'s `im:write` (`conversations.open`, to learn the DM's id) and
`im:history` (`conversations.history` with `include_all_metadata`). Without them the reminder
is posted again and the log says why: a reminder shown twice rather than never, the room
card's trade.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.domain import Reminder, RoomRecord
from bot.service.reminders import ReminderNotSent
from bot.slack import blocks
from bot.slack.errors import error_code
from bot.slack.people import SlackPeople
from bot.slack.scopes import GrantedScopes
from bot.slack.tagged_history import find_tagged, tagged
from bot.slack.workspaces import acting_for

logger = logging.getLogger("roombot.reminders")

REMINDER_BLOCK_PREFIX = "reminder:"
REMINDER_EVENT = "roombot_reminder"
"""The metadata event type on every reminder; its payload names the reminder and its room."""
CANNOT_LOOK = frozenset(
    {
        "missing_scope",  # a scope taken away since the token's scopes were read
        "user_not_found",
        "cannot_dm_bot",
        "user_disabled",
        "channel_not_found",
        "not_allowed_token_type",
    }
)
"""Errors that will not go away by waiting: the reminder is posted again instead. Any other
(rate limits, Slack unavailable) leaves the outcome unknown, and the dispatcher tries later."""


def reminder_blocks(
    room: RoomRecord, *, tz: str, now: datetime, join_url: str | None
) -> list[blocks.Block]:
    """`⏰ Design review opens in 5 minutes`, its window, and Join."""
    minutes = max(0, math.ceil((room.valid_from - now).total_seconds() / 60))
    when = "now" if minutes == 0 else f"in {minutes} minute{'s' * (minutes != 1)}"
    title = f"*{room.title}*" if room.title else f"Room `{room.room_id}`"
    join = blocks.join_button(room, join_url)
    return [
        blocks.section(
            f":alarm_clock: {title} opens {when}: "
            f"{blocks.window_text(room.valid_from, room.valid_until, tz)}"
        ),
        {
            "type": "actions",
            "block_id": f"{REMINDER_BLOCK_PREFIX}{room.room_id}",
            "elements": [join],
        },
        blocks.context(
            f"You are in room `{room.room_id}` (<#{room.channel_id}>). "
            "Reminders can be turned off in roombot's Home tab."
        ),
    ]


def reminder_text(room: RoomRecord) -> str:
    """The notification: no link, and the title only (lock screens show it)."""
    return f"{room.title or 'Room ' + room.room_id} opens soon"


def pressed_in_reminder(body: dict[str, Any]) -> bool:
    """Whether a block action is a reminder's Join (its block id says so)."""
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
        return False
    return str(actions[0].get("block_id") or "").startswith(REMINDER_BLOCK_PREFIX)


def reminder_metadata(reminder: Reminder) -> dict[str, Any]:
    """What tags a reminder's message, so a later attempt can tell it was delivered. The
    opening is in it: a room moved to a new opening reuses the reminder's id."""
    return {
        "event_type": REMINDER_EVENT,
        "event_payload": {
            "reminder_id": reminder.id,
            "room_id": reminder.room_id,
            "opens_at": int(reminder.opens_at.timestamp()),
        },
    }


def _is_reminder(message: dict[str, Any], reminder: Reminder) -> bool:
    expected = reminder_metadata(reminder)["event_payload"]
    return tagged(
        message,
        REMINDER_EVENT,
        reminder_id=expected["reminder_id"],
        opens_at=expected["opens_at"],
    )


class SlackReminders:
    """The dispatcher's `ReminderSender`: a direct message from the app."""

    def __init__(
        self,
        people: SlackPeople,
        *,
        join_url: str | None = None,
        scopes: GrantedScopes | None = None,
    ) -> None:
        self._people = people
        self._join_url = join_url
        self._scopes = scopes or GrantedScopes(people.client)

    async def remind(self, reminder: Reminder, room: RoomRecord, *, now: datetime) -> None:
        with acting_for(reminder.team_id):  # off any request: say whose workspace
            tz = blocks.room_zone(room, await self._zone(reminder))
            try:
                await self._people.client.chat_postMessage(
                    channel=reminder.user_id,
                    text=reminder_text(room),
                    blocks=reminder_blocks(room, tz=tz, now=now, join_url=self._join_url),
                    unfurl_links=False,
                    metadata=reminder_metadata(reminder),
                )
            except SlackApiError as exc:  # Slack answered: it did not take the message
                raise ReminderNotSent(error_code(exc)) from exc

    async def already_sent(self, reminder: Reminder) -> bool:
        """Whether an earlier attempt's message is in the person's DM, found by its metadata;
        False when it is not, or when the token may not look (see the module's docstring)."""
        with acting_for(reminder.team_id):
            if not await self._scopes.can_read_direct_messages():
                logger.info(
                    "reminder %s: an earlier attempt may have been delivered, but without the "
                    "im:history and im:write scopes (manifest.history.yml) its DM cannot be "
                    "read, so it is sent again",
                    reminder.id,
                )
                return False
            try:
                return await self._find(reminder)
            except SlackApiError as exc:
                if error_code(exc) not in CANNOT_LOOK:
                    raise  # rate limited, Slack down: the dispatcher tries again later
                logger.warning(
                    "reminder %s: could not look for an earlier attempt (%s); sending it again",
                    reminder.id,
                    error_code(exc),
                )
                return False

    async def _find(self, reminder: Reminder) -> bool:
        client = self._people.client
        opened = await client.conversations_open(users=reminder.user_id)
        channel = str((opened.get("channel") or {}).get("id") or "")
        since = reminder.first_claimed_at or reminder.due_at
        found = await find_tagged(
            client, channel, since=since, matches=lambda m: _is_reminder(m, reminder)
        )
        return found is not None

    async def _zone(self, reminder: Reminder) -> str | None:
        try:
            return (await self._people.zone(reminder.team_id, reminder.user_id)).tz
        except Exception:  # the message matters more than the zone of its fallback text
            return None
