"""Reminders in Slack: a direct message to each participant shortly before a room opens.

Posted with `chat.postMessage` to the person's user id, which Slack delivers in the app's
Messages tab: `chat:write` is enough, with no `im:write` (`conversations.open`) needed. Its
Join button is the room card's (`blocks.ACTION_JOIN`), answered with the person's own link;
its block id marks it as a reminder's, so the App Home's Join listener answers it (with a
direct message: a channel that roombot is limited to is not where this button lives).
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from bot.domain import Reminder, RoomRecord
from bot.slack import blocks
from bot.slack.people import SlackPeople
from bot.slack.workspaces import acting_for

REMINDER_BLOCK_PREFIX = "reminder:"


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


class SlackReminders:
    """The dispatcher's `ReminderSender`: a direct message from the app."""

    def __init__(self, people: SlackPeople, *, join_url: str | None = None) -> None:
        self._people = people
        self._join_url = join_url

    async def remind(self, reminder: Reminder, room: RoomRecord, *, now: datetime) -> None:
        with acting_for(reminder.team_id):  # off any request: say whose workspace
            tz = blocks.room_zone(room, await self._zone(reminder))
            await self._people.client.chat_postMessage(
                channel=reminder.user_id,
                text=reminder_text(room),
                blocks=reminder_blocks(room, tz=tz, now=now, join_url=self._join_url),
                unfurl_links=False,
            )

    async def _zone(self, reminder: Reminder) -> str | None:
        try:
            return (await self._people.zone(reminder.team_id, reminder.user_id)).tz
        except Exception:  # the message matters more than the zone of its fallback text
            return None
