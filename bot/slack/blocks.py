"""Block Kit for every message roombot posts: pure functions from results to block lists.

All user-facing wording lives here. Times are shown with Slack's `<!date^…>` token so each
reader sees their own zone; the fallback (for clients that cannot render it, and for
notifications) is written in a named zone: a room card's in its creator's (kept with the
room), a list's or `show`'s in the reader's when known, else each room's. People are
`<@U…>` mentions, which Slack shows by name to every reader.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain import CardChange, Role, RoomRecord, RoomState
from bot.mrkdwn import escape
from bot.service.limits import EXTEND_BUTTON_STEP, extend_button_works
from bot.service.outcomes import ParticipantChanges

Block = dict[str, Any]

ACTION_JOIN = "room_join"
ACTION_EXTEND = "room_extend"
ACTION_DELETE = "room_delete"

EXAMPLE = "/room create tomorrow 9am-5pm <@you> presenter"
SECTION_LIMIT = 3000
_ROLE_ORDER = (Role.PRESENTER, Role.COLLABORATOR, Role.ATTENDEE, Role.CONSUMER)
_ROLE_TITLES = {
    Role.PRESENTER: "Presenters",
    Role.COLLABORATOR: "Collaborators",
    Role.ATTENDEE: "Attendees",
    Role.CONSUMER: "Consumers",
}


def join_button(room: RoomRecord, join_url: str | None) -> Block:
    """The Join button of a room, the same on its card, in a reminder and in an unfurl: pressed,
    it gives the person their own link (with ROOMBOT_JOIN_URL, it opens the team's own calling
    app at that URL)."""
    join: Block = {
        "type": "button",
        "action_id": ACTION_JOIN,
        "text": {"type": "plain_text", "text": "Join"},
        "style": "primary",
        "value": room.room_id,
    }
    if join_url:
        join["url"] = join_url.format(room_id=room.room_id)
    return join


def _text(markdown: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": _clip(markdown)}


def _clip(text: str, limit: int = SECTION_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def section(markdown: str) -> Block:
    return {"type": "section", "text": _text(markdown)}


def context(*markdown: str) -> Block:
    return {"type": "context", "elements": [_text(m) for m in markdown][:10]}


def local_fallback(moment: datetime, tz: str) -> str:
    """`Wed, Jan 14 2027 09:00 CET (Europe/Paris)` in the invoker's zone, named.

    This is what a client that cannot render `<!date>` shows, and what notifications say.
    """
    local = moment.astimezone(ZoneInfo(tz))
    name = "" if tz == "UTC" else f" ({tz})"
    # What `%a, %b … %Y %H:%M` gives in the C locale (Python never sets LC_TIME), without
    # strftime: it cost more than the rest of a room card together, four times a card.
    day, month = _DAYS[local.weekday()], _MONTHS[local.month - 1]
    clock = f"{local.hour:02d}:{local.minute:02d}"
    return f"{day}, {month} {local.day} {local.year} {clock} {local.tzname()}{name}"


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def slack_date(moment: datetime, tz: str) -> str:
    """A `<!date>` token: each reader sees *moment* in their own zone."""
    epoch = int(moment.timestamp())
    return f"<!date^{epoch}^{{date_short_pretty}} at {{time}}|{local_fallback(moment, tz)}>"


def room_zone(room: RoomRecord, reader_tz: str | None = None) -> str:
    """The zone a room's date fallbacks are written in: the reader's when known, else the
    creator's, kept with the room (so a restart, which forgets people's zones, changes
    nothing), else UTC for rooms recorded before rooms kept it."""
    return reader_tz or room.tz or "UTC"


def window_text(valid_from: datetime, valid_until: datetime, tz: str) -> str:
    return f"{slack_date(valid_from, tz)} → {slack_date(valid_until, tz)}"


def participants_text(room: RoomRecord) -> str:
    by_role: dict[Role, list[str]] = {}
    for participant in room.participants:
        by_role.setdefault(participant.role, []).append(f"<@{participant.slack_user_id}>")
    lines = [
        f"*{_ROLE_TITLES[role]}:* {', '.join(by_role[role])}"
        for role in _ROLE_ORDER
        if role in by_role
    ]
    return "\n".join(lines) or "_No participants yet._"


CHANGE_HEADLINES = {
    "extend": ":calendar: *Room extended* by <@{actor}>",
    "reschedule": ":calendar: *Room rescheduled* by <@{actor}>",
    "rename": ":pencil2: *Room renamed* by <@{actor}>",
    "add": ":busts_in_silhouette: *Participants updated* by <@{actor}>",
    "remove": ":busts_in_silhouette: *Participants updated* by <@{actor}>",
}
"""A card's headline after each change; other verbs keep "Room ready"."""


def change_headline(change: CardChange | None) -> str | None:
    """The headline announcing *change* ("Room extended by @ann"); None for none."""
    if change is None:
        return None
    return CHANGE_HEADLINES.get(change.verb, "").format(actor=change.actor_id) or None


def room_blocks(
    room: RoomRecord,
    *,
    tz: str,
    join_url: str | None,
    headline: str | None = None,
    now: datetime | None = None,
) -> list[Block]:
    """The channel message that shows a room, with its buttons while it is active.

    The Extend button is offered only when one press would be taken by ACS at *now* (the room
    stays within 180 days, and a day more does not still end in the past); without *now* it
    is judged on the room's window alone.
    """
    if room.state is RoomState.ENDED:
        return ended_room_blocks(room, tz=tz)
    if not room.active:
        return [
            section(f":wastebasket: ~Room `{room.room_id}`~{_titled(room)} was deleted."),
            context(f"It was scheduled for {window_text(room.valid_from, room.valid_until, tz)}"),
        ]
    # Without a headline of its own (a redraw for a call event, a knock), the card keeps the
    # one its last change gave it.
    title = (
        headline
        or change_headline(room.last_change)
        or f":video_camera: *Room ready* — created by <@{room.creator_id}>"
    )
    blocks: list[Block] = [
        *title_blocks(room),
        section(title),
        {
            "type": "section",
            "fields": [
                _text(f"*Room id*\n`{room.room_id}`"),
                _text(f"*Dial-out (PSTN)*\n{'On' if room.pstn_dial_out else 'Off'}"),
                _text(f"*Opens*\n{slack_date(room.valid_from, tz)}"),
                _text(f"*Closes*\n{slack_date(room.valid_until, tz)}"),
            ],
        },
        section(participants_text(room)),
    ]
    buttons: list[Block] = [join_button(room, join_url)]  # every card has Join
    if extend_button_works(room.valid_from, room.valid_until, now or room.valid_from):
        buttons.append(
            {
                "type": "button",
                "action_id": ACTION_EXTEND,
                "text": {"type": "plain_text", "text": f"Extend {EXTEND_BUTTON_STEP}"},
                "value": room.room_id,
            }
        )
    buttons.append(
        {
            "type": "button",
            "action_id": ACTION_DELETE,
            "text": {"type": "plain_text", "text": "Delete"},
            "style": "danger",
            "value": room.room_id,
            "confirm": {
                "title": {"type": "plain_text", "text": "Delete this room?"},
                "text": {
                    "type": "mrkdwn",
                    "text": f"Room `{room.room_id}` will close for everyone at once.",
                },
                "confirm": {"type": "plain_text", "text": "Delete"},
                "deny": {"type": "plain_text", "text": "Keep it"},
                "style": "danger",
            },
        }
    )
    blocks.append({"type": "actions", "block_id": f"room:{room.room_id}", "elements": buttons})
    return blocks


def title_blocks(room: RoomRecord) -> list[Block]:
    """A header with the room's title, which heads its card; none for a room without one."""
    if not room.title:
        return []
    return [{"type": "header", "text": {"type": "plain_text", "text": room.title[:150]}}]


def _titled(room: RoomRecord) -> str:
    """`` “Design review”`` after a room's id in a sentence, escaped; empty without a title."""
    return f" “{escape(room.title)}”" if room.title else ""


def ended_room_blocks(room: RoomRecord, *, tz: str) -> list[Block]:
    """The card of a room closed early with `end`: when it closed, and no buttons."""
    return [
        section(f":checkered_flag: Room `{room.room_id}`{_titled(room)} has ended."),
        context(f"It was open {window_text(room.valid_from, room.valid_until, tz)}"),
    ]


def room_summary(room: RoomRecord, tz: str) -> str:
    """The notification text of a room message (no Block Kit there)."""
    state = {RoomState.ACTIVE: "ready", RoomState.ENDED: "ended"}.get(room.state, "deleted")
    return (
        f"Room {room.room_id}{_titled(room)} {state}: {local_fallback(room.valid_from, tz)} → "
        f"{local_fallback(room.valid_until, tz)}"
    )


def _a(role: Role) -> str:
    return f"{'an' if role.value[0] in 'AEIOU' else 'a'} {role.value}"


def participant_changes_text(room_id: str, changes: ParticipantChanges) -> str:
    """What an add or remove did, person by person: "Room `R`: added <@c> as Presenter;
    <@d> was not in the room." When nothing changed it says so, and why."""
    parts = [f"added <@{user}> as {role.value}" for user, role in changes.added]
    parts += [f"made <@{user}> {_a(new)} (was {_a(old)})" for user, old, new in changes.changed]
    parts += [f"removed <@{user}>" for user in changes.removed]
    parts += [f"<@{user}> was already {_a(role)}" for user, role in changes.kept]
    parts += [f"<@{user}> was not in the room" for user in changes.absent]
    opening = f"Room `{room_id}`:" if changes.any else f"Nothing changed in room `{room_id}`:"
    return _clip(f"{opening} {'; '.join(parts)}.")


def error_blocks(message: str, *, example: str | None = None) -> list[Block]:
    """An ephemeral refusal: what was wrong and a command that works."""
    blocks = [section(f":warning: {message}")]
    if example:
        blocks.append(context(f"Try: `{example}`"))
    return blocks


def working_blocks(text: str = "Creating your room…") -> list[Block]:
    return [context(f":hourglass_flowing_sand: {text}")]


def rooms_list_blocks(
    rooms: Sequence[RoomRecord], *, tz: str | None, channel_id: str
) -> list[Block]:
    """`/room list`: this channel's current and upcoming rooms; times in *tz* when the
    reader's zone is known, else in each room's own zone (`room_zone`)."""
    if not rooms:
        return [
            section(f"No current or upcoming rooms in <#{channel_id}>."),
            context(f"Create one with `{EXAMPLE}`"),
        ]
    blocks: list[Block] = [section(f"*Rooms in <#{channel_id}>* ({len(rooms)})")]
    for room in rooms[:45]:
        people = len(room.participants)
        blocks.append(
            section(
                f"`{room.room_id}`{_titled(room)} · "
                f"{window_text(room.valid_from, room.valid_until, room_zone(room, tz))}\n"
                f"created by <@{room.creator_id}> · {people} participant{'s' * (people != 1)}"
                f"{' · dial-out' if room.pstn_dial_out else ''}"
            )
        )
    if len(rooms) > 45:
        blocks.append(context(f"…and {len(rooms) - 45} more."))
    return blocks


def help_blocks(limits: Iterable[str] = ()) -> list[Block]:
    """`/room help`: every verb with an example that works as typed."""
    lines = [
        "*Create a room* (the verb is optional):",
        "• `/room create tomorrow for 2 weeks @alice presenter @bob`",
        "• `/room friday 10am-12pm @ann collaborator dial-out`",
        '• `/room tomorrow 3pm "Design review"` — text in quotes is the room\'s title',
        "• `/room tomorrow 9am remind 15m` — its people are reminded 15 minutes before it opens "
        "(5 unless you say)",
        "• `/room 3pm PT` — a zone in the text (`Europe/Paris`, `UTC+2`, `PT`) wins over yours",
        "• `/room from jan 20 to jan 22 @team` (a user group adds every member)",
        "• `/room` with nothing else opens a form.",
        "*Manage rooms:*",
        "• `/room list` — this channel's current and upcoming rooms",
        "• `/room show ROOM_ID`",
        "• `/room extend ROOM_ID by 2 days` or `/room extend ROOM_ID to friday 5pm` "
        "(only later; a room stays open at most 180 days)",
        "• `/room reschedule ROOM_ID friday 10am-12pm` (or `move`) — a whole new window, "
        "any window `create` takes",
        "• `/room end ROOM_ID` — closes an open room now",
        '• `/room rename ROOM_ID "New title"`',
        "• `/room add ROOM_ID @carol presenter` (also changes a role)",
        "• `/room remove ROOM_ID @bob`",
        "• `/room delete ROOM_ID` — cancels a room, open or not",
        "Recurring rooms (`every monday`) are not supported yet: create one room per meeting, "
        "or one that stays open across the weeks (`/room create next monday for 4 weeks`).",
        "Roles: presenter, attendee (the default), collaborator, consumer. "
        "You are added as presenter unless you name yourself with another role.",
        "Times are read in your Slack time zone: `now`, `in 2 hours`, `tomorrow 9am-5pm`, "
        "`tomorrow 3 to 4` (a bare 1 to 6 is afternoon), `friday evening`, `11pm-1am`, "
        "`next week`, `jan 20th 14:00 for 90 minutes`, `1/20 - 1/22`. A start with no end lasts "
        "an hour.",
    ]
    blocks = [section("\n".join(lines))]
    limits = list(limits)
    if limits:
        blocks.append(context("Limits: " + "; ".join(limits)))
    return blocks
