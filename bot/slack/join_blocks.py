"""Block Kit for joining a call: the personal link, knocks, and what a person hears otherwise.

Kept apart from `blocks.py` (room cards, lists, help) because it speaks only to one person.
"""

from __future__ import annotations

from bot.domain import Knock, KnockState, RoomRecord
from bot.service.join import JoinLink
from bot.slack.blocks import Block, context, section, slack_date, window_text

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


# --- knocks ---------------------------------------------------------------------------------

ACTION_ADMIT = "room_knock_admit"
ACTION_DENY = "room_knock_deny"


def knock_request_blocks(knock: Knock, room: RoomRecord, *, tz: str) -> list[Block]:
    """To the room's creator and presenters: someone not invited asks to join."""
    return [
        section(f":wave: <@{knock.user_id}> is not on room `{room.room_id}` and asks to join."),
        context(f"Open {window_text(room.valid_from, room.valid_until, tz)}"),
        {
            "type": "actions",
            "block_id": f"knock:{knock.id}",
            "elements": [
                {
                    "type": "button",
                    "action_id": ACTION_ADMIT,
                    "text": {"type": "plain_text", "text": "Admit as attendee"},
                    "style": "primary",
                    "value": knock.id,
                },
                {
                    "type": "button",
                    "action_id": ACTION_DENY,
                    "text": {"type": "plain_text", "text": "Deny"},
                    "value": knock.id,
                },
            ],
        },
    ]


def knock_request_text(knock: Knock, room: RoomRecord) -> str:
    return f"<@{knock.user_id}> asks to join room {room.room_id}"


def knock_sent_message(room_id: str, asked: int) -> str:
    if asked == 0:
        return (
            f"You are not on room `{room_id}`'s list, and roombot could not reach its creator "
            "or presenters to ask for you. Ask them in Slack to add you."
        )
    return (
        f"You are not on room `{room_id}`'s list, so roombot asked its creator and presenters "
        f"({asked}) to let you in. You'll get a message with your link when one of them does."
    )


def knock_settled_blocks(knock: Knock, *, first: bool) -> list[Block]:
    """The asking message, once answered: who answered and how (buttons gone)."""
    verb = "let" if knock.state is KnockState.ADMITTED else "declined"
    if knock.state is KnockState.ADMITTED:
        outcome = f"<@{knock.decided_by}> let <@{knock.user_id}> into room `{knock.room_id}`"
        outcome += " as attendee."
    else:
        outcome = (
            f"<@{knock.decided_by}> {verb} <@{knock.user_id}>'s request to join room "
            f"`{knock.room_id}`."
        )
    icon = ":white_check_mark:" if knock.state is KnockState.ADMITTED else ":no_entry_sign:"
    lines = [section(f"{icon} {outcome}")]
    if not first:
        lines.append(context("Someone had answered already; nothing more was done."))
    return lines


def admitted_blocks(link: JoinLink, by: str, *, tz: str) -> list[Block]:
    """To the person who knocked: they are in, and here is their link."""
    return [
        section(f":tada: <@{by}> let you into room `{link.room.room_id}`."),
        *personal_link_blocks(link, tz=tz),
    ]


def denied_message(room_id: str) -> str:
    return f"Your request to join room `{room_id}` was declined."
