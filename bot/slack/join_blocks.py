"""Block Kit for joining a call: the personal link, and what a person hears when there is none.

Kept apart from `blocks.py` (room cards, lists, help) because it speaks only to one person.
"""

from __future__ import annotations

from bot.service.join import JoinLink
from bot.slack.blocks import Block, context, section, slack_date

ACTION_OPEN_LINK = "room_join_open"
"""The personal link's own button: it opens the page; Slack still sends us the click to ack."""

NO_PUBLIC_URL = (
    "Joining from Slack is not set up here: an admin must set ROOMBOT_PUBLIC_URL (the bot's "
    "public address, e.g. https://roombot.example.com) and restart roombot."
)


def personal_link_blocks(link: JoinLink, *, tz: str) -> list[Block]:
    """Ephemeral: your link, your role, the window in your zone; it works once, for you."""
    room = link.room
    expires = f"<!date^{int(link.expires_at.timestamp())}^{{time}}|in 5 minutes>"
    return [
        section(
            f":link: *Your personal link to room `{room.room_id}`*\n"
            f"<{link.url}|Join the call> as *{link.role.value.lower()}*."
        ),
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": ACTION_OPEN_LINK,
                    "text": {"type": "plain_text", "text": "Open the call"},
                    "url": link.url,
                    "style": "primary",
                }
            ],
        },
        context(
            f"Opens {slack_date(room.valid_from, tz)} · closes {slack_date(room.valid_until, tz)}",
            f"Works once, only for you, until {expires}: do not share it. "
            "Press Join again for a new one.",
        ),
    ]


def personal_link_text(link: JoinLink) -> str:
    """The notification text: no link in it (notifications are shown on lock screens)."""
    return f"Your personal link to room {link.room.room_id} (as {link.role.value.lower()})"
